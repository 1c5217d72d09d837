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
