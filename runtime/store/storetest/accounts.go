package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func testUsers(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	u, err := s.UserCreate(ctx, &store.UserCreateParams{Username: "alice", PasswordHash: "$2a$hash-a", Role: "admin"})
	if err != nil || u.Username != "alice" || u.CreatedAt.IsZero() || !u.Active {
		t.Fatalf("UserCreate = %+v, %v; want an active user", u, err)
	}
	if _, err := s.UserCreate(ctx, &store.UserCreateParams{Username: "bob", PasswordHash: "$2a$hash-b", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserCreate(ctx, &store.UserCreateParams{Username: "alice", PasswordHash: "x", Role: "op"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate user: err = %v, want ErrConflict", err)
	}
	for _, bad := range []store.UserCreateParams{{Username: "", PasswordHash: "h", Role: "op"}, {Username: "a b", PasswordHash: "h", Role: "op"},
		{Username: "carol", Role: "op"}, {Username: "carol", PasswordHash: "h"}} {
		if _, err := s.UserCreate(ctx, &bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("UserCreate(%+v): err = %v, want ErrInvalid", bad, err)
		}
	}
	got, err := s.UserGet(ctx, "alice")
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("UserGet = %+v, %v; want %+v", got, err, u)
	}
	if _, err := s.UserGet(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: err = %v, want ErrNotFound", err)
	}
	role := "op"
	up, err := s.UserUpdate(ctx, &store.UserUpdateParams{Username: "bob", Role: &role})
	if err != nil || up.Role != "op" || up.PasswordHash != "$2a$hash-b" {
		t.Errorf("UserUpdate(role) = %+v, %v; want role op, hash kept", up, err)
	}
	hash := "$2a$hash-b2"
	up, err = s.UserUpdate(ctx, &store.UserUpdateParams{Username: "bob", PasswordHash: &hash})
	if err != nil || up.Role != "op" || up.PasswordHash != hash {
		t.Errorf("UserUpdate(password) = %+v, %v; want role kept, new hash", up, err)
	}
	if got, _ := s.UserGet(ctx, "bob"); got == nil || got.PasswordHash != hash || got.Role != "op" {
		t.Errorf("after updates: %+v", got)
	}
	if _, err := s.UserUpdate(ctx, &store.UserUpdateParams{Username: "nobody", Role: &role}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating an unknown user: err = %v, want ErrNotFound", err)
	}
	list, err := s.UserList(ctx)
	if err != nil || len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
		t.Errorf("UserList = %+v, %v", list, err)
	}
	if err := s.UserDelete(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.UserDelete(ctx, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
	}
}

func testAPITokens(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for _, name := range []string{"alice", "bob"} {
		if _, err := s.UserCreate(ctx, &store.UserCreateParams{Username: name, PasswordHash: "h", Role: "op"}); err != nil {
			t.Fatal(err)
		}
	}
	ci, err := s.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "ci", Username: "alice", Hash: "hash-1"})
	if err != nil || ci.ID == 0 || ci.Name != "ci" || ci.CreatedAt.IsZero() {
		t.Fatalf("APITokenCreate = %+v, %v", ci, err)
	}
	if _, err := s.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "ci", Username: "bob", Hash: "hash-2"}); err != nil {
		t.Errorf("the same name for another user: %v", err)
	}
	if _, err := s.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "cron", Username: "alice", Hash: "hash-3"}); err != nil {
		t.Fatal(err)
	}
	conflicts := []store.APITokenCreateParams{{Name: "ci", Username: "alice", Hash: "hash-4"}, {Name: "other", Username: "alice", Hash: "hash-1"}}
	for _, p := range conflicts {
		if _, err := s.APITokenCreate(ctx, &p); !errors.Is(err, store.ErrConflict) {
			t.Errorf("APITokenCreate(%+v): err = %v, want ErrConflict", p, err)
		}
	}
	if _, err := s.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "x", Username: "nobody", Hash: "hash-5"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of an unknown user: err = %v, want ErrNotFound", err)
	}
	if _, err := s.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "", Username: "alice", Hash: "hash-6"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unnamed token: err = %v, want ErrInvalid", err)
	}
	got, err := s.APITokenGetByHash(ctx, "hash-1")
	if err != nil || !reflect.DeepEqual(got, ci) {
		t.Errorf("APITokenGetByHash = %+v, %v; want %+v", got, err, ci)
	}
	if _, err := s.APITokenGetByHash(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: err = %v, want ErrNotFound", err)
	}
	mine, err := s.APITokenList(ctx, "alice")
	if err != nil || len(mine) != 2 || mine[0].Name != "ci" || mine[1].Name != "cron" {
		t.Errorf("APITokenList(alice) = %+v, %v", mine, err)
	}
	all, err := s.APITokenList(ctx, "")
	if err != nil || len(all) != 3 || all[2].Username != "bob" {
		t.Errorf("APITokenList(all) = %+v, %v", all, err)
	}
	if err := s.APITokenDelete(ctx, ci.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenGetByHash(ctx, "hash-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted token: err = %v, want ErrNotFound", err)
	}
	if err := s.APITokenDelete(ctx, ci.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
	}
	// Deactivating a user ends its tokens; activating it again brings
	// none back, and a role or password left alone stays.
	off, on := false, true
	up, err := s.UserUpdate(ctx, &store.UserUpdateParams{Username: "bob", Active: &off})
	if err != nil || up.Active || up.Role != "op" || up.PasswordHash != "h" || up.DeactivatedAt.IsZero() {
		t.Fatalf("UserUpdate(active=false) = %+v, %v", up, err)
	}
	deactivated := up.DeactivatedAt
	if got, err := s.UserGet(ctx, "bob"); err != nil || got.Active || !got.DeactivatedAt.Equal(deactivated) {
		t.Errorf("UserGet after the deactivation = %+v, %v; want inactive since %v", got, err, deactivated)
	}
	if _, err := s.APITokenGetByHash(ctx, "hash-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a deactivated user: err = %v, want ErrNotFound", err)
	}
	if _, err := s.APITokenGetByHash(ctx, "hash-3"); err != nil {
		t.Errorf("another user's token after the deactivation: %v", err)
	}
	if up, err := s.UserUpdate(ctx, &store.UserUpdateParams{Username: "bob", Active: &on}); err != nil || !up.Active || !up.DeactivatedAt.Equal(deactivated) {
		t.Errorf("UserUpdate(active=true) = %+v, %v; want active, the last deactivation kept", up, err)
	}
	if list, err := s.UserList(ctx); err != nil || len(list) != 2 || !list[0].Active || !list[1].Active {
		t.Errorf("UserList after the reactivation = %+v, %v; want both active", list, err)
	}
	// Deleting a user revokes its tokens.
	if err := s.UserDelete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APITokenGetByHash(ctx, "hash-3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a deleted user: err = %v, want ErrNotFound", err)
	}
}

func testWorkers(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	if list, err := s.WorkerList(ctx); err != nil || len(list) != 0 {
		t.Fatalf("WorkerList on an empty store = %+v, %v", list, err)
	}
	p := store.WorkerHeartbeatParams{Consumer: "host-a-1", Hostname: "host-a", Queues: []string{"default", "gpu"}, Running: 2, Slots: 8,
		StartedAt: base, At: base.Add(time.Minute)}
	if err := s.WorkerHeartbeat(ctx, &p); err != nil {
		t.Fatal(err)
	}
	p2 := p
	p2.Running, p2.At = 5, base.Add(2*time.Minute)
	if err := s.WorkerHeartbeat(ctx, &p2); err != nil {
		t.Fatal(err)
	}
	if err := s.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{Consumer: "host-b-1", Hostname: "host-b", At: base}); err != nil {
		t.Fatal(err)
	}
	list, err := s.WorkerList(ctx)
	want := &store.Worker{Consumer: "host-a-1", Hostname: "host-a", Queues: []string{"default", "gpu"}, Running: 5, Slots: 8,
		StartedAt: store.Truncate(base), LastHeartbeat: store.Truncate(base.Add(2 * time.Minute))}
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], want) || len(list[1].Queues) != 0 || list[1].Queues == nil {
		t.Fatalf("WorkerList = %+v, %v; want first %+v and a second with no queues", list, err, want)
	}
	if err := s.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("heartbeat without consumer: err = %v, want ErrInvalid", err)
	}
	n, err := s.WorkerPrune(ctx, base.Add(time.Minute))
	if err != nil || n != 1 {
		t.Errorf("WorkerPrune = %d, %v; want 1 (host-b)", n, err)
	}
	if err := s.WorkerDelete(ctx, "host-a-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.WorkerDelete(ctx, "host-a-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want ErrNotFound", err)
	}
	if list, _ := s.WorkerList(ctx); len(list) != 0 {
		t.Errorf("after prune and delete: %+v", list)
	}
}

func testSchedulerHeartbeats(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	if list, err := s.SchedulerHeartbeatList(ctx); err != nil || len(list) != 0 {
		t.Fatalf("SchedulerHeartbeatList on an empty store = %+v, %v", list, err)
	}
	for i, id := range []string{"s1", "s2", "s1"} {
		p := &store.SchedulerHeartbeatParams{ID: id, Hostname: "h-" + id, StartedAt: base, At: base.Add(time.Duration(i) * time.Minute)}
		if err := s.SchedulerHeartbeat(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.SchedulerHeartbeatList(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "s1" || !list[0].LastHeartbeat.Equal(store.Truncate(base.Add(2*time.Minute))) ||
		list[1].ID != "s2" || list[1].Hostname != "h-s2" || !list[1].StartedAt.Equal(store.Truncate(base)) {
		t.Errorf("SchedulerHeartbeatList = %+v, %v; want s1 (newest) then s2", list, err)
	}
	if err := s.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("heartbeat without id: err = %v, want ErrInvalid", err)
	}
}

func testStateCounts(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: id, IsPausedUponCreation: id == "b"}); err != nil {
			t.Fatal(err)
		}
	}
	paused, unpaused := true, false
	for _, c := range []struct {
		p    store.DAGListParams
		want int
	}{{store.DAGListParams{}, 3}, {store.DAGListParams{Paused: &paused}, 1}, {store.DAGListParams{Paused: &unpaused, Limit: 1, Offset: 1}, 2}} {
		if n, err := s.DAGCount(ctx, &c.p); err != nil || n != c.want {
			t.Errorf("DAGCount(%+v) = %d, %v; want %d", c.p, n, err, c.want)
		}
	}
	if runs, err := s.RunStateCounts(ctx); err != nil || len(runs) != 0 {
		t.Fatalf("RunStateCounts on an empty store = %v, %v", runs, err)
	}
	mustRun(t, s, "etl", "r1", 0)
	mustRun(t, s, "etl", "r2", 1)
	mustRun(t, s, "other", "r1", 0)
	if _, err := s.RunSetState(ctx, &store.RunSetStateParams{DagID: "etl", RunID: "r2", To: dags.DagRunStateFailed}); err != nil {
		t.Fatal(err)
	}
	mustTIs(t, s, "etl", "r1", dags.TaskStateSuccess, "a", "b")
	mustTIs(t, s, "etl", "r1", dags.TaskStateRunning, "c")
	mustTIs(t, s, "other", "r1", dags.TaskStateSuccess, "a")
	runs, err := s.RunStateCounts(ctx)
	if want := map[dags.DagRunState]int{dags.DagRunStateQueued: 2, dags.DagRunStateFailed: 1}; err != nil || !reflect.DeepEqual(runs, want) {
		t.Errorf("RunStateCounts = %v, %v; want %v", runs, err, want)
	}
	tis, err := s.TaskInstanceStateCounts(ctx)
	if want := map[dags.TaskState]int{dags.TaskStateSuccess: 3, dags.TaskStateRunning: 1}; err != nil || !reflect.DeepEqual(tis, want) {
		t.Errorf("TaskInstanceStateCounts = %v, %v; want %v", tis, err, want)
	}
}
