package dagprocessor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// TestMain checks that Watch and the stores leave no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bagParser is the Parser of a DAG folder on disk through the loader's
// Bag, as cmd/starflow wires it.
type bagParser struct{ bag *loader.Bag }

func newBagParser(dir string) bagParser {
	l := loader.New(loader.Options{Logger: discard()})
	return bagParser{bag: loader.NewBag(l, loader.DirSource(dir))}
}

func (b bagParser) Parse(ctx context.Context) ([]ParsedFile, error) {
	if _, err := b.bag.Refresh(ctx); err != nil {
		return nil, err
	}
	files := b.bag.Files()
	out := make([]ParsedFile, len(files))
	for i, f := range files {
		out[i] = ParsedFile{Name: f.Name, Hash: f.Hash, Dir: f.Dir, EntryFile: f.Path, Files: f.Sources, DAGs: f.DAGs, Errors: f.Errors}
	}
	return out, nil
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// countingStore counts the store calls the processor makes.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	calls map[string]int
}

func newCountingStore(s store.Store) *countingStore {
	return &countingStore{Store: s, calls: map[string]int{}}
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

// take returns the calls counted since the last take.
func (c *countingStore) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

func (c *countingStore) DAGUpsert(ctx context.Context, p *store.DAGUpsertParams) (*store.DAG, error) {
	c.count("DAGUpsert")
	return c.Store.DAGUpsert(ctx, p)
}

func (c *countingStore) DAGList(ctx context.Context, p *store.DAGListParams) ([]*store.DAG, error) {
	c.count("DAGList")
	return c.Store.DAGList(ctx, p)
}

func (c *countingStore) DAGSetNextRun(ctx context.Context, p *store.DAGSetNextRunParams) error {
	c.count("DAGSetNextRun")
	return c.Store.DAGSetNextRun(ctx, p)
}

func (c *countingStore) DAGDeactivate(ctx context.Context, p *store.DAGDeactivateParams) (int, error) {
	c.count("DAGDeactivate")
	return c.Store.DAGDeactivate(ctx, p)
}

func (c *countingStore) DAGVersionPut(ctx context.Context, p *store.DAGVersionPutParams) error {
	c.count("DAGVersionPut")
	return c.Store.DAGVersionPut(ctx, p)
}

func (c *countingStore) ImportErrorsReplace(ctx context.Context, p *store.ImportErrorsReplaceParams) error {
	c.count("ImportErrorsReplace")
	return c.Store.ImportErrorsReplace(ctx, p)
}

func (c *countingStore) ImportErrorList(ctx context.Context) ([]*store.ImportError, error) {
	c.count("ImportErrorList")
	return c.Store.ImportErrorList(ctx)
}

func (c *countingStore) RunList(ctx context.Context, p *store.RunListParams) ([]*store.DagRun, error) {
	c.count("RunList")
	return c.Store.RunList(ctx, p)
}

// writeFile writes content to the root-relative path rel under dir.
func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// date parses an RFC 3339 time.
func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mustSync runs one Sync and fails the test on error.
func mustSync(t *testing.T, p *Processor) SyncStats {
	t.Helper()
	stats, err := p.Sync(context.Background())
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return stats
}

// getDAG reads one DAG row.
func getDAG(t *testing.T, s store.Store, id string) *store.DAG {
	t.Helper()
	d, err := s.DAGGet(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// importErrorsByFile returns the stored import errors by file.
func importErrorsByFile(t *testing.T, s store.Store) map[string][]store.ImportError {
	t.Helper()
	errs, err := s.ImportErrorList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.ImportError{}
	for _, e := range errs {
		out[e.Pos.File] = append(out[e.Pos.File], *e)
	}
	return out
}
