package call

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// Errors of Versions that retrying cannot fix: the stored version itself is
// unusable for what was asked.
var (
	// ErrNoDAG marks a version that does not define the requested DAG.
	ErrNoDAG = errors.New("DAG not in version")
	// ErrBadVersion marks a version that fails to load, or whose bundle
	// evaluates to a different hash than the one it is stored under.
	ErrBadVersion = errors.New("broken DAG version")
)

// Bundle is a stored source version: the files a DAG file was built from.
// Dir names the DAG folder in positions, as loader.File.Dir does; EntryFile
// is the path, within Files, of the file to evaluate.
type Bundle struct {
	Dir, EntryFile string
	Files          map[string]string
}

// FetchFunc returns the bundle stored under a source hash, typically read
// from the metadata store (store.DAGVersionGet).
type FetchFunc func(ctx context.Context, sourceHash string) (Bundle, error)

// Versions gives the DAGs and Starlark functions of stored source versions,
// so that workers and the webserver need no DAG folder. Each version is
// fetched and evaluated once per hash: results, including versions that
// fail to load, are kept in an LRU cache, and concurrent requests for a
// hash share one evaluation. A Versions is safe for concurrent use.
type Versions struct {
	loader *loader.Loader
	fetch  FetchFunc
	size   int

	mu       sync.Mutex
	order    *list.List               // of *version, most recently used first
	byHash   map[string]*list.Element // the elements of order
	inflight map[string]*flight

	evaluations atomic.Int64

	// SQL, when set, is given to the function runners of the versions
	// (Runner.SQL); set it before use.
	SQL *sqlop.Pools
	// Isolator, when set, is given to the function runners of the
	// versions (Runner.Isolator); set it before use.
	Isolator Isolator
}

// version is one cached result: a loaded file, or the permanent error of
// a version that cannot be used.
type version struct {
	hash string
	file *loader.File
	err  error
}

// flight is an evaluation in progress that other callers wait for.
type flight struct {
	done chan struct{}
	v    *version
	err  error
	// abandoned is set when the leader's context ended, so waiters whose
	// own context is alive try again instead of sharing its error.
	abandoned bool
}

// NewVersions returns a cache of at most size versions (at least 1) that
// evaluates the bundles fetch returns with l.
func NewVersions(l *loader.Loader, fetch FetchFunc, size int) *Versions {
	return &Versions{
		loader:   l,
		fetch:    fetch,
		size:     max(size, 1),
		order:    list.New(),
		byHash:   map[string]*list.Element{},
		inflight: map[string]*flight{},
	}
}

// DAG returns the DAG dagID as defined by the version sourceHash. The error
// wraps ErrNoDAG when the version does not define it and ErrBadVersion when
// the version does not load; either names the first problem as
// "file:line:col: message" on one line.
func (v *Versions) DAG(ctx context.Context, dagID, sourceHash string) (*dags.DAG, error) {
	f, err := v.File(ctx, sourceHash)
	if err != nil {
		return nil, err
	}
	if d := f.DAG(dagID); d != nil {
		return d, nil
	}
	if len(f.Errors) > 0 {
		return nil, fmt.Errorf("%w: %q in %s (%s defines no valid DAG of that id; %s)",
			ErrNoDAG, dagID, short(sourceHash), f.Name, f.Errors[0].Error())
	}
	return nil, fmt.Errorf("%w: %q in %s (%s defines %s)",
		ErrNoDAG, dagID, short(sourceHash), f.Name, dagIDs(f))
}

// Functions returns a runner for the Starlark functions of the version
// sourceHash. Errors are as for DAG.
func (v *Versions) Functions(ctx context.Context, sourceHash string) (operators.FunctionRunner, error) {
	f, err := v.File(ctx, sourceHash)
	if err != nil {
		return nil, err
	}
	r := New(f)
	r.SQL = v.SQL
	r.Isolator = v.Isolator
	return r, nil
}

// File returns the loaded file of the version sourceHash, fetching and
// evaluating it on first use. A version that evaluates to errors only (no
// DAG) is an error wrapping ErrBadVersion. With NewWithFiles it serves a
// worker: call.NewWithFiles(func(ctx, c) { return v.File(ctx, c.DAG.SourceHash) }).
func (v *Versions) File(ctx context.Context, sourceHash string) (*loader.File, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("DAG version %s: %w", short(sourceHash), err)
		}
		v.mu.Lock()
		if el, ok := v.byHash[sourceHash]; ok {
			v.order.MoveToFront(el)
			ver := el.Value.(*version)
			v.mu.Unlock()
			return ver.result()
		}
		if fl, ok := v.inflight[sourceHash]; ok {
			v.mu.Unlock()
			select {
			case <-fl.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("DAG version %s: %w", short(sourceHash), ctx.Err())
			}
			if fl.abandoned {
				continue // the leader gave up; this caller may lead
			}
			if fl.err != nil {
				return nil, fl.err
			}
			return fl.v.result()
		}
		fl := &flight{done: make(chan struct{})}
		v.inflight[sourceHash] = fl
		v.mu.Unlock()

		fl.v, fl.err = v.evaluate(ctx, sourceHash)
		fl.abandoned = fl.err != nil && ctx.Err() != nil

		v.mu.Lock()
		delete(v.inflight, sourceHash)
		if fl.err == nil {
			v.insert(fl.v)
		}
		v.mu.Unlock()
		close(fl.done)
		if fl.err != nil {
			return nil, fl.err
		}
		return fl.v.result()
	}
}

// Add puts a file the caller has just loaded into the cache, so that its
// version is never evaluated again.
func (v *Versions) Add(f *loader.File) {
	if f == nil || f.Hash == "" {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.insert(&version{hash: f.Hash, file: f})
}

// Len returns the number of cached versions.
func (v *Versions) Len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.order.Len()
}

// insert adds or replaces ver as the most recently used version and
// evicts the least recently used beyond the size. v.mu must be held.
func (v *Versions) insert(ver *version) {
	if el, ok := v.byHash[ver.hash]; ok {
		el.Value = ver
		v.order.MoveToFront(el)
		return
	}
	v.byHash[ver.hash] = v.order.PushFront(ver)
	for v.order.Len() > v.size {
		last := v.order.Back()
		v.order.Remove(last)
		delete(v.byHash, last.Value.(*version).hash)
	}
}

// evaluate fetches and loads one version. A returned error is transient
// (the fetch failed, ctx ended, the evaluation timed out) and is not
// cached; problems of the version itself are kept in the version.
func (v *Versions) evaluate(ctx context.Context, hash string) (*version, error) {
	b, err := v.fetch(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("fetch DAG version %s: %w", short(hash), err)
	}
	if _, ok := b.Files[b.EntryFile]; !ok {
		return &version{hash: hash, err: fmt.Errorf("%w %s: entry file %q is not in the bundle",
			ErrBadVersion, short(hash), b.EntryFile)}, nil
	}
	v.evaluations.Add(1)
	f := v.loader.Load(ctx, loader.BundleSource(b.Dir, b.Files), b.EntryFile)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("evaluate DAG version %s: %w", short(hash), err)
	}
	for _, e := range f.Errors {
		if e.Rule == loader.RuleTimeout {
			return nil, fmt.Errorf("evaluate DAG version %s: %s", short(hash), e.Error())
		}
	}
	if f.Hash != hash {
		return &version{hash: hash, err: fmt.Errorf("%w %s: its bundle evaluates to version %s (tampered or mismatched bundle)",
			ErrBadVersion, short(hash), short(f.Hash))}, nil
	}
	if len(f.DAGs) == 0 && len(f.Errors) > 0 {
		return &version{hash: hash, err: fmt.Errorf("%w %s: %s", ErrBadVersion, short(hash), f.Errors[0].Error())}, nil
	}
	return &version{hash: hash, file: f}, nil
}

// result returns the cached file or the version's permanent error.
func (ver *version) result() (*loader.File, error) {
	if ver.err != nil {
		return nil, ver.err
	}
	return ver.file, nil
}

// short abbreviates a content hash for messages, as git does.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// dagIDs lists the DAG ids of f for an error message.
func dagIDs(f *loader.File) string {
	if len(f.DAGs) == 0 {
		return "no DAG"
	}
	s := ""
	for i, d := range f.DAGs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", d.ID)
	}
	return "only " + s
}
