package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// testTaskInstanceEnd checks the end of a try in one transaction: the
// outcome, the log's tail and the transitions that follow are written
// together when the outcome wins, and none of them when it loses.
func testTaskInstanceEnd(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, "t")
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "d1", "d2", "d3")
	k := key("etl", "r", "t")
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateQueued},
		To: dags.TaskStateRunning, TryNumber: 1, Hostname: "w1", PID: 1, StartDate: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: []byte("flushed line\n")}); err != nil {
		t.Fatal(err)
	}
	none := []dags.TaskState{dags.TaskStateNone}
	end := &store.TaskInstanceEndParams{
		State: store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 1,
			To: dags.TaskStateSuccess, EndDate: base.Add(time.Minute)},
		Log:     []byte("tail line\n"),
		LogFile: &store.TaskLogFile{Key: k, TryNumber: 1, Path: "dag_id=etl/run_id=r/task_id=t/attempt=1.log", Hostname: "w1", Size: 42},
		Then: []*store.TaskInstanceSetStateParams{
			{Key: key("etl", "r", "d1"), From: none, To: dags.TaskStateScheduled},
			{Key: key("etl", "r", "d2"), From: []dags.TaskState{dags.TaskStateScheduled}, To: dags.TaskStateQueued}, // loses: d2 is none
		},
	}
	applied, err := s.TaskInstanceEnd(ctx, end)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false}; !slices.Equal(applied, want) {
		t.Errorf("applied = %v, want %v", applied, want)
	}
	ti := mustTI(t, s, k)
	if ti.State != dags.TaskStateSuccess || !ti.EndDate.Equal(store.Truncate(base.Add(time.Minute))) || ti.Duration != time.Minute {
		t.Errorf("ended instance: state %s, end %v, duration %v; want success, %v, 1m", ti.State, ti.EndDate, ti.Duration, base.Add(time.Minute))
	}
	wantLog := func(want string) {
		t.Helper()
		c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: k, TryNumber: 1})
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Data) != want {
			t.Errorf("log = %q, want %q", c.Data, want)
		}
	}
	wantLog("flushed line\ntail line\n")
	if f, err := s.TaskLogFileGet(ctx, k, 1); err != nil || !reflect.DeepEqual(f, end.LogFile) {
		t.Errorf("log file row recorded with the outcome = %+v, %v; want %+v", f, err, end.LogFile)
	}
	for id, want := range map[string]dags.TaskState{"d1": dags.TaskStateScheduled, "d2": dags.TaskStateNone, "d3": dags.TaskStateNone} {
		if got := mustTI(t, s, key("etl", "r", id)).State; got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}

	// A second end of the same try (a duplicate, or a try whose instance
	// was cleared meanwhile) loses: no log, no transitions.
	again := &store.TaskInstanceEndParams{State: end.State, Log: []byte("late line\n"),
		Then: []*store.TaskInstanceSetStateParams{{Key: key("etl", "r", "d3"), From: none, To: dags.TaskStateSkipped}}}
	again.State.To = dags.TaskStateFailed
	if _, err := s.TaskInstanceEnd(ctx, again); !errors.Is(err, store.ErrStale) {
		t.Errorf("second end: err = %v, want ErrStale", err)
	}
	wantLog("flushed line\ntail line\n")
	if got := mustTI(t, s, key("etl", "r", "d3")).State; got != dags.TaskStateNone {
		t.Errorf("a lost end moved d3 to %s", got)
	}
	if got := mustTI(t, s, k).State; got != dags.TaskStateSuccess {
		t.Errorf("a lost end moved the instance to %s", got)
	}

	missing := &store.TaskInstanceEndParams{State: store.TaskInstanceSetStateParams{Key: key("etl", "r", "nope"),
		From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 1, To: dags.TaskStateSuccess}}
	if _, err := s.TaskInstanceEnd(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("end of a missing instance: err = %v, want ErrNotFound", err)
	}
	noTry := &store.TaskInstanceEndParams{State: store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateRunning},
		To: dags.TaskStateSuccess}, Log: []byte("x\n")}
	if _, err := s.TaskInstanceEnd(ctx, noTry); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a log without a try number: err = %v, want ErrInvalid", err)
	}
	big := &store.TaskInstanceEndParams{State: end.State, Log: make([]byte, store.MaxLogChunkBytes+1)}
	if _, err := s.TaskInstanceEnd(ctx, big); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("a log tail over the chunk limit: err = %v, want ErrTooLarge", err)
	}
}

// testStartClearsXComs checks ClearXComs: a transition that wins deletes
// the instance's XComs in its transaction, one that loses keeps them.
func testStartClearsXComs(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, "t")
	k := key("etl", "r", "t")
	xcoms := func() int {
		t.Helper()
		xs, err := s.XComList(ctx, &store.XComListParams{DagID: "etl", RunID: "r", TaskID: "t"})
		if err != nil {
			t.Fatal(err)
		}
		return len(xs)
	}
	if err := s.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: k, Key: "return_value", Value: 1}); err != nil {
		t.Fatal(err)
	}
	lose := &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateScheduled}, To: dags.TaskStateRunning,
		TryNumber: 1, ClearXComs: true}
	if _, err := s.TaskInstanceSetState(ctx, lose); !errors.Is(err, store.ErrStale) {
		t.Errorf("a lost start: err = %v, want ErrStale", err)
	}
	if n := xcoms(); n != 1 {
		t.Errorf("a lost start left %d XComs, want 1", n)
	}
	win := &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateQueued}, FromTryNumber: 0, To: dags.TaskStateRunning,
		TryNumber: 1, Hostname: "w1", PID: 7, StartDate: base, ClearXComs: true}
	ti, err := s.TaskInstanceSetState(ctx, win)
	if err != nil {
		t.Fatal(err)
	}
	if ti.State != dags.TaskStateRunning || ti.TryNumber != 1 || ti.Hostname != "w1" || ti.PID != 7 {
		t.Errorf("started instance = %s try %d on %s pid %d", ti.State, ti.TryNumber, ti.Hostname, ti.PID)
	}
	if n := xcoms(); n != 0 {
		t.Errorf("the start left %d XComs, want none", n)
	}
}

// testStartIndexesLogFile checks LogFile of a transition: a start that
// wins records the try's log file row in its transaction (alone, and with
// ClearXComs), one that loses records nothing, and a row already there
// (a try resumed after a reschedule) keeps the larger size.
func testStartIndexesLogFile(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, "a", "b")
	row := func(k store.TaskInstanceKey) *store.TaskLogFile {
		return &store.TaskLogFile{Key: k, TryNumber: 1, Path: "dag_id=etl/" + k.TaskID + ".log", Hostname: "w1"}
	}
	ka, kb := key("etl", "r", "a"), key("etl", "r", "b")
	lose := &store.TaskInstanceSetStateParams{Key: ka, From: []dags.TaskState{dags.TaskStateScheduled}, To: dags.TaskStateRunning,
		TryNumber: 1, ClearXComs: true, LogFile: row(ka)}
	if _, err := s.TaskInstanceSetState(ctx, lose); !errors.Is(err, store.ErrStale) {
		t.Errorf("a lost start: err = %v, want ErrStale", err)
	}
	if _, err := s.TaskLogFileGet(ctx, ka, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a lost start indexed its log file: err = %v, want ErrNotFound", err)
	}
	bad := &store.TaskInstanceSetStateParams{Key: ka, From: []dags.TaskState{dags.TaskStateQueued}, To: dags.TaskStateRunning, TryNumber: 1, LogFile: row(kb)}
	if _, err := s.TaskInstanceSetState(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a start with another instance's log row: err = %v, want ErrInvalid", err)
	}
	for _, c := range []struct {
		k     store.TaskInstanceKey
		clear bool
	}{{ka, true}, {kb, false}} {
		if c.k == kb {
			// b resumes: its row from an earlier part of the try is larger.
			r := row(kb)
			r.Size = 40
			if err := s.TaskLogFileSet(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		ti, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: c.k, From: []dags.TaskState{dags.TaskStateQueued},
			To: dags.TaskStateRunning, TryNumber: 1, StartDate: base, ClearXComs: c.clear, LogFile: row(c.k)})
		if err != nil {
			t.Fatal(err)
		}
		if ti.State != dags.TaskStateRunning {
			t.Errorf("%s started as %s", c.k, ti.State)
		}
		got, err := s.TaskLogFileGet(ctx, c.k, 1)
		if err != nil {
			t.Fatalf("log file row of %s after its start: %v", c.k, err)
		}
		want := row(c.k)
		if c.k == kb {
			want.Size = 40
		}
		if *got != *want {
			t.Errorf("log file row of %s = %+v, want %+v", c.k, got, want)
		}
	}
}

// testTaskInstancesEnd checks ends committed together (group commit): each
// end gets its own result, and one that loses writes nothing and does not
// fail the others; through an EndBatcher, concurrent ends all land.
func testTaskInstancesEnd(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	mustRun(t, s, "etl", "r", 0)
	ids := []string{"a", "b", "c"}
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, ids...)
	mustTIs(t, s, "etl", "r", dags.TaskStateNone, "after_a", "after_b")
	start := func(id string) {
		t.Helper()
		if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: key("etl", "r", id),
			From: []dags.TaskState{dags.TaskStateQueued}, To: dags.TaskStateRunning, TryNumber: 1, StartDate: base}); err != nil {
			t.Fatal(err)
		}
	}
	start("a")
	start("c")
	none := []dags.TaskState{dags.TaskStateNone}
	end := func(id string, then string) *store.TaskInstanceEndParams {
		p := &store.TaskInstanceEndParams{
			State: store.TaskInstanceSetStateParams{Key: key("etl", "r", id), From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: 1,
				To: dags.TaskStateSuccess, EndDate: base.Add(time.Second)},
			Log: []byte(id + " says bye\n"),
		}
		if then != "" {
			p.Then = []*store.TaskInstanceSetStateParams{{Key: key("etl", "r", then), From: none, To: dags.TaskStateScheduled}}
		}
		return p
	}
	res, err := s.TaskInstancesEnd(ctx, []*store.TaskInstanceEndParams{end("a", "after_a"), end("b", "after_b"), end("nope", ""), end("c", "")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || res[0].Err != nil || !slices.Equal(res[0].Applied, []bool{true}) ||
		!errors.Is(res[1].Err, store.ErrStale) || !errors.Is(res[2].Err, store.ErrNotFound) || res[3].Err != nil {
		t.Fatalf("results = %+v, want a won, b stale (it is queued), nope not found, c won", res)
	}
	for id, want := range map[string]dags.TaskState{"a": dags.TaskStateSuccess, "b": dags.TaskStateQueued, "c": dags.TaskStateSuccess,
		"after_a": dags.TaskStateScheduled, "after_b": dags.TaskStateNone} {
		if got := mustTI(t, s, key("etl", "r", id)).State; got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	for id, want := range map[string]string{"a": "a says bye\n", "b": "", "c": "c says bye\n"} {
		c, err := s.TaskLogRead(ctx, &store.TaskLogReadParams{Key: key("etl", "r", id), TryNumber: 1})
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Data) != want {
			t.Errorf("log of %s = %q, want %q", id, c.Data, want)
		}
	}

	// Concurrent ends through one EndBatcher, one of them stale.
	const n = 24
	var many []string
	for i := range n {
		many = append(many, fmt.Sprintf("m%02d", i))
	}
	mustTIs(t, s, "etl", "r", dags.TaskStateQueued, many...)
	for _, id := range many[1:] {
		start(id)
	}
	b := store.NewEndBatcher(s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, id := range many {
		wg.Go(func() { _, errs[i] = b.TaskInstanceEnd(ctx, end(id, "")) })
	}
	wg.Wait()
	if !errors.Is(errs[0], store.ErrStale) {
		t.Errorf("the end of a queued instance: err = %v, want ErrStale", errs[0])
	}
	for i, id := range many[1:] {
		if errs[i+1] != nil {
			t.Errorf("end of %s: %v", id, errs[i+1])
		}
		if got := mustTI(t, s, key("etl", "r", id)).State; got != dags.TaskStateSuccess {
			t.Errorf("%s is %s, want success", id, got)
		}
	}
}
