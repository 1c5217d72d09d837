package call

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// versionsDAG defines DAG "etl" with a Starlark task function, loading a
// helper module so that a version has more than one file.
const versionsDAG = `load("//lib/math.star", "double")

def compute(ctx, x):
    return {"double": double(x), "ds": ctx.ds}

def build():
    task(compute, task_id = "compute", args = [21])

dag(dag_id = "etl", build = build, schedule = "@daily", start_date = "2024-01-01")
`

const versionsLib = "def double(x):\n    return 2 * x\n"

// versionsSetup returns a loader and a bundle store keyed by the hash the
// loader gives each bundle, with a fetch function counting its calls.
type versionsSetup struct {
	loader  *loader.Loader
	bundles map[string]Bundle
	fetches atomic.Int64
	delay   time.Duration // how long each fetch takes
	// holdFirst makes the first fetch wait for its context to end.
	holdFirst bool
}

func newVersionsSetup(t *testing.T) *versionsSetup {
	t.Helper()
	return &versionsSetup{
		loader:  loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		bundles: map[string]Bundle{},
	}
}

// put stores a bundle and returns its hash as the loader computes it.
func (s *versionsSetup) put(t *testing.T, entry string, files map[string]string) string {
	t.Helper()
	f := s.loader.Load(context.Background(), loader.BundleSource("dags", files), entry)
	s.bundles[f.Hash] = Bundle{Dir: "dags", EntryFile: entry, Files: files}
	return f.Hash
}

func (s *versionsSetup) fetch(ctx context.Context, hash string) (Bundle, error) {
	if n := s.fetches.Add(1); n == 1 && s.holdFirst {
		<-ctx.Done()
		return Bundle{}, ctx.Err()
	}
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return Bundle{}, ctx.Err()
		}
	}
	b, ok := s.bundles[hash]
	if !ok {
		return Bundle{}, fmt.Errorf("no version %s", hash)
	}
	return b, nil
}

func TestVersionsParseOnceForConcurrentCallers(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	hash := s.put(t, "etl.star", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib})
	s.delay = 50 * time.Millisecond // keep the first evaluation in flight while the others arrive
	v := NewVersions(s.loader, s.fetch, 4)

	const callers = 16
	got := make([]*dags.DAG, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = v.DAG(context.Background(), "etl", hash)
		}()
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("caller %d got a different *DAG: the version was evaluated more than once", i)
		}
	}
	if got[0].SourceHash != hash || got[0].Task("compute") == nil {
		t.Fatalf("DAG = %+v, want etl with task compute at %s", got[0], hash)
	}
	if n := s.fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1", n)
	}
	if n := v.evaluations.Load(); n != 1 {
		t.Errorf("evaluations = %d, want 1", n)
	}
	// Later calls come from the cache.
	if _, err := v.Functions(context.Background(), hash); err != nil {
		t.Fatal(err)
	}
	if n := s.fetches.Load(); n != 1 {
		t.Errorf("fetches after a cached call = %d, want 1", n)
	}
}

func TestVersionsLeaderCancelledOthersRetry(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	hash := s.put(t, "etl.star", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib})
	s.holdFirst = true // the leader's fetch ends only when it is cancelled
	v := NewVersions(s.loader, s.fetch, 4)

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := v.DAG(leaderCtx, "etl", hash)
		leaderErr <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the leader start its fetch
	waiter := make(chan error, 1)
	go func() {
		_, err := v.DAG(context.Background(), "etl", hash)
		waiter <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader error = %v, want context.Canceled", err)
	}
	if err := <-waiter; err != nil {
		t.Errorf("waiter error = %v, want the DAG (it should retry after the leader gave up)", err)
	}
}

func TestVersionsLRUEviction(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	var hashes []string
	for i := range 3 {
		src := strings.Replace(versionsDAG, "[21]", fmt.Sprintf("[%d]", i), 1)
		hashes = append(hashes, s.put(t, "etl.star", map[string]string{"etl.star": src, "lib/math.star": versionsLib}))
	}
	v := NewVersions(s.loader, s.fetch, 2)
	ctx := context.Background()

	steps := []struct {
		hash        string
		wantFetches int64
	}{
		{hashes[0], 1},
		{hashes[1], 2},
		{hashes[0], 2}, // cached; now the most recently used
		{hashes[2], 3}, // evicts hashes[1], the least recently used
		{hashes[0], 3}, // still cached
		{hashes[1], 4}, // evicted: fetched again, evicting hashes[2]
		{hashes[2], 5},
	}
	for i, st := range steps {
		d, err := v.DAG(ctx, "etl", st.hash)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if d.SourceHash != st.hash {
			t.Fatalf("step %d: SourceHash = %s, want %s", i, d.SourceHash, st.hash)
		}
		if n := s.fetches.Load(); n != st.wantFetches {
			t.Fatalf("step %d: fetches = %d, want %d", i, n, st.wantFetches)
		}
		if v.Len() > 2 {
			t.Fatalf("step %d: %d versions cached, want at most 2", i, v.Len())
		}
	}
}

func TestVersionsAddSeedsTheCache(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	f := s.loader.Load(context.Background(), loader.BundleSource("dags", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib}), "etl.star")
	v := NewVersions(s.loader, s.fetch, 2)
	v.Add(f)
	d, err := v.DAG(context.Background(), "etl", f.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if d != f.DAG("etl") {
		t.Error("DAG did not return the added file's DAG")
	}
	if n := s.fetches.Load() + v.evaluations.Load(); n != 0 {
		t.Errorf("fetches + evaluations = %d, want 0", n)
	}
}

func TestVersionsErrors(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	good := s.put(t, "etl.star", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib})
	broken := s.put(t, "broken.star", map[string]string{"broken.star": "def build():\n    empty(task_id = 1)\n\ndag(dag_id = \"b\", build = build)\n"})
	syntax := s.put(t, "syntax.star", map[string]string{"syntax.star": "x = (\n"})
	tampered := "0123456789abcdef"
	s.bundles[tampered] = Bundle{Dir: "dags", EntryFile: "etl.star", Files: map[string]string{"etl.star": versionsDAG + "\n# edited\n", "lib/math.star": versionsLib}}
	noEntry := "fedcba9876543210"
	s.bundles[noEntry] = Bundle{Dir: "dags", EntryFile: "gone.star", Files: map[string]string{"etl.star": versionsDAG}}

	tests := []struct {
		name     string
		dagID    string
		hash     string
		sentinel error
		want     string // a substring of the error
	}{
		{"a missing DAG id", "nope", good, ErrNoDAG, `"nope"`},
		{"a missing DAG id lists the known ones", "nope", good, ErrNoDAG, `only "etl"`},
		{"a broken bundle names the position", "b", broken, ErrBadVersion, "dags/broken.star:2:"},
		{"a syntax error names the position", "x", syntax, ErrBadVersion, "dags/syntax.star:2:1:"},
		{"a tampered bundle", "etl", tampered, ErrBadVersion, "tampered"},
		{"a bundle without its entry file", "etl", noEntry, ErrBadVersion, `"gone.star"`},
	}
	v := NewVersions(s.loader, s.fetch, 8)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.DAG(context.Background(), tt.dagID, tt.hash)
			t.Log(err)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("error = %v, want one wrapping %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line containing %q", err, tt.want)
			}
		})
	}

	// Broken versions are cached too: asking again does not fetch.
	before := s.fetches.Load()
	if _, err := v.Functions(context.Background(), broken); !errors.Is(err, ErrBadVersion) {
		t.Errorf("Functions of a broken version: %v, want ErrBadVersion", err)
	}
	if n := s.fetches.Load(); n != before {
		t.Errorf("fetches = %d, want %d (broken version cached)", n, before)
	}

	// A failed fetch is transient: not cached.
	for range 2 {
		if _, err := v.DAG(context.Background(), "etl", "unknown"); err == nil || errors.Is(err, ErrBadVersion) || !strings.Contains(err.Error(), "no version unknown") {
			t.Errorf("fetch failure: %v", err)
		}
	}
	if n := s.fetches.Load(); n != before+2 {
		t.Errorf("fetches = %d, want %d (fetch errors not cached)", n, before+2)
	}
}

func TestVersionsFunctionsCallsATaskFunction(t *testing.T) {
	t.Parallel()
	s := newVersionsSetup(t)
	hash := s.put(t, "etl.star", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib})
	v := NewVersions(s.loader, s.fetch, 2)
	ctx := context.Background()

	d, err := v.DAG(ctx, "etl", hash)
	if err != nil {
		t.Fatal(err)
	}
	task := d.Task("compute")
	runner, err := v.Functions(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	c := &operators.Call{
		DAG:  d,
		Task: task,
		Run: operators.RunInfo{DAGID: "etl", RunID: "scheduled__2024-01-02T00:00:00+00:00",
			LogicalDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		TryNumber: 1,
	}
	args, _ := task.Config["args"].([]any)
	got, err := runner.CallFunction(ctx, c, task.Function, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := got.(map[string]any)
	if !ok || m["double"] != int64(42) || m["ds"] != "2024-01-02" {
		t.Errorf("result = %#v, want {double: 42, ds: 2024-01-02}", got)
	}
	if n := s.fetches.Load(); n != 1 {
		t.Errorf("fetches = %d, want 1 (DAG and Functions share the version)", n)
	}
}

func BenchmarkVersionsCachedDAG(b *testing.B) {
	l := loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f := l.Load(context.Background(), loader.BundleSource("dags", map[string]string{"etl.star": versionsDAG, "lib/math.star": versionsLib}), "etl.star")
	v := NewVersions(l, func(context.Context, string) (Bundle, error) { return Bundle{}, errors.New("not stored") }, 16)
	v.Add(f)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.DAG(ctx, "etl", f.Hash); err != nil {
				b.Fatal(err)
			}
		}
	})
}
