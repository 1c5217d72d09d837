package dagprocessor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// startWatch runs Watch until the test ends and returns a function that
// stops it and waits for it to return.
func startWatch(t *testing.T, p *Processor, dir string, rescan time.Duration) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Watch(ctx, dir, rescan) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitActive waits until the DAG id is active in the store and returns how
// long that took.
func waitActive(t *testing.T, s store.Store, id string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if d, err := s.DAGGet(context.Background(), id); err == nil && d.IsActive {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("DAG %s not active after %s", id, limit)
	return 0
}

func TestWatchPicksUpChanges(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		e.proc.Now = nil
		e.write(t, "first.star", simpleDAG("", "first"))
		stop := startWatch(t, e.proc, e.dir, time.Hour) // no rescan: events only
		waitActive(t, s, "first", 5*time.Second)        // the Sync at start

		e.write(t, "second.star", simpleDAG("", "second"))
		if took := waitActive(t, s, "second", time.Second); took > time.Second {
			t.Errorf("a new file took %s to reach the store", took)
		}
		// A new sub-folder is watched as well.
		e.write(t, "team/deep/third.star", simpleDAG("", "third"))
		waitActive(t, s, "third", time.Second)
		e.write(t, "team/deep/fourth.star", simpleDAG("", "fourth"))
		waitActive(t, s, "fourth", time.Second)

		e.remove(t, "first.star")
		deadline := time.Now().Add(time.Second)
		for getDAG(t, s, "first").IsActive {
			if time.Now().After(deadline) {
				t.Fatal("the DAG of a deleted file is still active after 1s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
	})
}

// flakyParser fails its first calls, then parses the folder.
type flakyParser struct {
	Parser
	failures int64
	calls    atomic.Int64
}

func (f *flakyParser) Parse(ctx context.Context) ([]ParsedFile, error) {
	if f.calls.Add(1) <= f.failures {
		return nil, errors.New("folder unavailable")
	}
	return f.Parser.Parse(ctx)
}

func TestWatchRetriesAfterFailures(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	e := setup(t, s)
	e.write(t, "a.star", simpleDAG("", "a"))
	fp := &flakyParser{Parser: e.proc.Parser, failures: 2}
	e.proc.Parser = fp
	startWatch(t, e.proc, e.dir, time.Hour)
	// Retries after 250ms and 500ms more.
	took := waitActive(t, s, "a", 5*time.Second)
	if took < 600*time.Millisecond {
		t.Errorf("synced after %s: the retries did not back off", took)
	}
	if n := fp.calls.Load(); n != 3 {
		t.Errorf("Parse called %d times, want 3", n)
	}
}

func TestWatchRescansAMissingFolder(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite(t)
	e := setup(t, s)
	dir := e.dir + "/later"
	e.proc.Parser = newBagParser(dir)
	startWatch(t, e.proc, dir, 200*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the first Sync fails: no folder yet
	writeFile(t, dir, "a.star", simpleDAG("", "a"))
	waitActive(t, s, "a", 3*time.Second)
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures int
		rescan   time.Duration
		want     time.Duration
	}{
		{1, time.Hour, 250 * time.Millisecond},
		{2, time.Hour, 500 * time.Millisecond},
		{4, time.Hour, 2 * time.Second},
		{20, time.Hour, 30 * time.Second},
		{20, 5 * time.Second, 5 * time.Second},
		{1, time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := backoff(tt.failures, tt.rescan); got != tt.want {
			t.Errorf("backoff(%d, %s) = %s, want %s", tt.failures, tt.rescan, got, tt.want)
		}
	}
}
