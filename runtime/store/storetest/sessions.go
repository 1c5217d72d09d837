package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// testRevokedSessions checks that revoking a session is idempotent (also
// when racing), keeps the later expiry, and purges the revoked sessions
// whose expiry has passed.
func testRevokedSessions(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	revoked := func(id string) bool {
		t.Helper()
		ok, err := s.SessionRevoked(ctx, id)
		if err != nil {
			t.Fatalf("SessionRevoked(%q): %v", id, err)
		}
		return ok
	}
	rows := func() string {
		t.Helper()
		return h.QueryString(t, s, `SELECT CAST(COUNT(*) AS TEXT) FROM revoked_session`)
	}
	now := time.Now()
	if revoked("a") {
		t.Error("a session never revoked is revoked")
	}
	if err := s.SessionRevoke(ctx, "a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !revoked("a") || revoked("b") {
		t.Errorf("after revoking a: a revoked %v, b revoked %v; want true, false", revoked("a"), revoked("b"))
	}
	if err := s.SessionRevoke(ctx, "a", now.Add(time.Hour)); err != nil {
		t.Errorf("revoking a twice: %v", err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.SessionRevoke(ctx, "a", now.Add(time.Hour)); err != nil {
				t.Errorf("concurrent revoke: %v", err)
			}
		}()
	}
	wg.Wait()
	if !revoked("a") || rows() != "1" {
		t.Errorf("after revoking a six times: revoked %v, %s rows; want true, 1", revoked("a"), rows())
	}

	// b is revoked again with an expiry already passed: the later expiry
	// is kept, so b survives the purge.
	if err := s.SessionRevoke(ctx, "b", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SessionRevoke(ctx, "b", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	// old expired longer ago than the grace: recorded, then purged by the
	// next revoke; recent expired a minute ago and is kept for the grace
	// (a webserver whose clock runs behind must still refuse it).
	if err := s.SessionRevoke(ctx, "old", now.Add(-store.RevokedSessionGrace-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !revoked("old") {
		t.Error("old is not revoked right after SessionRevoke")
	}
	if err := s.SessionRevoke(ctx, "recent", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.SessionRevoke(ctx, "c", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if revoked("old") {
		t.Error("the expired revoked session old was not purged by the next revoke")
	}
	if !revoked("recent") {
		t.Error("recent, expired within the grace, was purged")
	}
	if !revoked("a") || !revoked("b") || !revoked("c") || rows() != "4" {
		t.Errorf("after the purge: a %v b %v c %v, %s rows; want a, b, c (and recent) revoked and 4 rows",
			revoked("a"), revoked("b"), revoked("c"), rows())
	}

	if err := s.SessionRevoke(ctx, "", now.Add(time.Hour)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("revoke without an id: err %v, want ErrInvalid", err)
	}
	if err := s.SessionRevoke(ctx, "d", time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("revoke without an expiry: err %v, want ErrInvalid", err)
	}
}

// testLoginFailures checks failed-login counting: counts per key, a key
// past its window starting over at one, the list with last failure times,
// a reset, and the purge of keys past LoginFailureRetention.
func testLoginFailures(t *testing.T, h Harness) {
	s := h.open(t)
	ctx := ctxT(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	add := func(at time.Time, keys ...string) []store.LoginFailure {
		t.Helper()
		got, err := s.LoginFailureAdd(ctx, &store.LoginFailureAddParams{Keys: keys, At: at, Window: 10 * time.Minute})
		if err != nil {
			t.Fatalf("LoginFailureAdd: %v", err)
		}
		return got
	}
	add(at, "user:ann", "addr:10.0.0.1")
	got := add(at.Add(time.Minute), "user:ann", "addr:10.0.0.1")
	if len(got) != 2 || got[0].Key != "user:ann" || got[0].Failures != 2 || got[1].Failures != 2 {
		t.Fatalf("second failure: %+v, want two keys at 2", got)
	}
	// Past the window, a key starts over at one.
	got = add(at.Add(12*time.Minute), "user:ann")
	if got[0].Failures != 1 {
		t.Fatalf("failure after the window: %d, want 1", got[0].Failures)
	}
	list, err := s.LoginFailureList(ctx, []string{"user:ann", "addr:10.0.0.1", "user:nobody"})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]store.LoginFailure{}
	for _, f := range list {
		byKey[f.Key] = f
	}
	if len(list) != 2 || byKey["user:ann"].Failures != 1 || byKey["addr:10.0.0.1"].Failures != 2 {
		t.Fatalf("list: %+v", list)
	}
	if !byKey["user:ann"].LastFailure.Equal(at.Add(12*time.Minute)) || byKey["user:ann"].LastFailure.Location() != time.UTC {
		t.Fatalf("last failure of ann: %v, want %v in UTC", byKey["user:ann"].LastFailure, at.Add(12*time.Minute))
	}
	if err := s.LoginFailureReset(ctx, "user:ann"); err != nil {
		t.Fatal(err)
	}
	if list, err = s.LoginFailureList(ctx, []string{"user:ann"}); err != nil || len(list) != 0 {
		t.Fatalf("after reset: %+v, %v; want none", list, err)
	}
	// A failure a day later purges the address's old row.
	add(at.Add(store.LoginFailureRetention+time.Hour), "user:bob")
	if list, err = s.LoginFailureList(ctx, []string{"addr:10.0.0.1", "user:bob"}); err != nil || len(list) != 1 || list[0].Key != "user:bob" {
		t.Fatalf("after the retention: %+v, %v; want only user:bob", list, err)
	}
	if _, err := s.LoginFailureAdd(ctx, &store.LoginFailureAddParams{Keys: []string{"k"}, Window: time.Millisecond}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("window under a second: %v, want ErrInvalid", err)
	}
}
