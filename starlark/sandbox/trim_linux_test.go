package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// liveChildren counts the processes whose parent is this test process
// and that have not exited (zombies are not counted: an ended child that
// was not waited for would still show as one).
func liveChildren(t *testing.T) (live, zombies int) {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	me := os.Getpid()
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(string(fields[1])); ppid != me {
			continue
		}
		if string(fields[0]) == "Z" {
			zombies++
		} else {
			live++
		}
	}
	return live, zombies
}

// waitChildren waits until liveChildren is want, or fails after limit.
func waitChildren(t *testing.T, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		live, zombies := liveChildren(t)
		if live == want && zombies == 0 {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("after %s: %d live child processes and %d zombies, want %d and none", limit, live, zombies, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPoolEndsIdleChildren starts three real children, lets them wait
// idle, and observes the process count drop to the warm minimum of one,
// which stays and serves the next file; Close ends the last one.
func TestPoolEndsIdleChildren(t *testing.T) {
	dir := writeFiles(t)
	waitChildren(t, 0, 30*time.Second) // the children of earlier tests are gone
	p := newPool(t, time.Minute)
	p.Max = 3
	p.IdleTimeout = time.Second
	p.MinIdle = 1
	p.Prestart(3)
	waitChildren(t, 3, 30*time.Second)
	// One of them is used: it goes back idle as the most recent.
	if res := p.Check(context.Background(), loader.CheckRequest{Root: dir, Rel: "good.star"}); res != nil {
		t.Fatalf("good.star: got %+v, want nil", res)
	}
	took := waitChildren(t, 1, 30*time.Second)
	t.Logf("idle children trimmed from 3 to 1 in %s (idle timeout %s)", took, p.IdleTimeout)
	// The warm one stays however long it waits.
	time.Sleep(3 * p.IdleTimeout)
	if live, zombies := liveChildren(t); live != 1 || zombies != 0 {
		t.Fatalf("after %s idle: %d live children and %d zombies, want the warm one only", 3*p.IdleTimeout, live, zombies)
	}
	start := time.Now()
	if res := p.Check(context.Background(), loader.CheckRequest{Root: dir, Rel: "replace.star"}); res == nil || len(res.Errors) != 1 {
		t.Fatalf("replace.star after the trim: got %+v, want its memory-limit finding", res)
	}
	t.Logf("a file after the trim took %s", time.Since(start))
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitChildren(t, 0, 5*time.Second)
}
