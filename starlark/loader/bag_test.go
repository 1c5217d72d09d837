package loader_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// dagFile returns a DAG file defining dag id with one task; extra is
// added at the top (a load statement, say).
func dagFile(id, extra string) string {
	return fmt.Sprintf("%s\ndef build():\n    empty(task_id = \"t\")\n\ndag(dag_id = %q, build = build)\n", extra, id)
}

// newBag returns a Bag over dir.
func newBag(dir string) *loader.Bag {
	return loader.NewBag(loader.New(loader.Options{Logger: discardLogger()}), loader.DirSource(dir))
}

func dagIDs(b *loader.Bag) string {
	var ids []string
	for _, d := range b.DAGs() {
		ids = append(ids, d.ID)
	}
	return strings.Join(ids, " ")
}

func TestBagKeepsGoingPastBrokenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.star", dagFile("alpha", ""))
	write(t, dir, "team/b.star", dagFile("beta", `load("//lib/common.star", "x")`))
	write(t, dir, "broken.star", "def build():\n    empty(task_id = 1)\ndag(dag_id = \"broken\", build = build)\n")
	write(t, dir, "lib/common.star", "x = 1\n")
	write(t, dir, "notes.txt", "not a DAG file")
	write(t, dir, ".hidden/c.star", dagFile("hidden", ""))

	b := newBag(dir)
	stats, err := b.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Files != 4 || stats.Evaluated != 4 {
		t.Errorf("stats = %+v, want 4 files evaluated", stats)
	}
	if got := dagIDs(b); got != "alpha beta" {
		t.Errorf("DAGs = %q, want alpha beta", got)
	}
	errs, rules := format(b.Findings())
	want := filepath.Join(dir, "broken.star") + ":2:10: empty: for parameter task_id: got int, want string"
	if len(errs) != 1 || errs[0] != want || rules[0] != loader.RuleImport {
		t.Errorf("findings = %q, want [%s]", errs, want)
	}
	if d, f, ok := b.DAG("beta"); !ok || d.ID != "beta" || f.Path != "team/b.star" {
		t.Errorf("DAG(beta) = %v, %v, %v", d, f, ok)
	}
	if f := b.File("lib/common.star"); f == nil || len(f.DAGs) != 0 || !f.OK() {
		t.Errorf("a helper module is loaded as a file without DAGs and without errors, got %+v", f)
	}
	if f := b.File("a.star"); f == nil || b.FileByHash(f.Hash) != f {
		t.Errorf("FileByHash does not find a.star")
	}
}

func TestBagCachesByContent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.star", dagFile("a", `load("//lib/h.star", "h")`))
	write(t, dir, "b.star", dagFile("b", `load("//lib/h.star", "h")`))
	write(t, dir, "c.star", dagFile("c", ""))
	write(t, dir, "lib/h.star", "h = 1\n")
	write(t, dir, "d.star", dagFile("d", `load("//lib/later.star", "x")`))
	b := newBag(dir)
	ctx := context.Background()

	steps := []struct {
		name      string
		change    func()
		evaluated int
		dags      string
		findings  int
	}{
		{"first refresh evaluates everything", func() {}, 5, "a b c", 1},
		{"unchanged files are not evaluated again", func() {}, 0, "a b c", 1},
		{"a changed file is evaluated again", func() { write(t, dir, "c.star", dagFile("c2", "")) }, 1, "a b c2", 1},
		{"a changed module re-evaluates its dependants", func() { write(t, dir, "lib/h.star", "h = 2\n") }, 3, "a b c2", 1},
		{"a module that appears re-evaluates the files that missed it", func() { write(t, dir, "lib/later.star", "x = 1\n") }, 2, "a b c2 d", 0},
		{"a new file is evaluated", func() { write(t, dir, "e.star", dagFile("e", "")) }, 1, "a b c2 d e", 0},
		{"a removed file disappears", func() { os.Remove(filepath.Join(dir, "e.star")) }, 0, "a b c2 d", 0},
	}
	var total int64
	for _, s := range steps {
		s.change()
		stats, err := b.Refresh(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += int64(s.evaluated)
		if stats.Evaluated != s.evaluated || b.Evaluations() != total {
			t.Errorf("%s: evaluated %d (total %d), want %d (total %d)", s.name, stats.Evaluated, b.Evaluations(), s.evaluated, total)
		}
		if got := dagIDs(b); got != s.dags {
			t.Errorf("%s: DAGs = %q, want %q", s.name, got, s.dags)
		}
		if got := len(b.Findings()); got != s.findings {
			t.Errorf("%s: %d findings, want %d: %v", s.name, got, s.findings, b.Findings())
		}
	}
}

func TestBagDuplicateDAGIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "a.star", dagFile("same", ""))
	write(t, dir, "b.star", dagFile("same", ""))
	b := newBag(dir)
	if _, err := b.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	errs, rules := format(b.Findings())
	want := fmt.Sprintf("%s:5:4: DAG id \"same\" is already defined at %s:5:4", filepath.Join(dir, "b.star"), filepath.Join(dir, "a.star"))
	if len(errs) != 1 || errs[0] != want || rules[0] != "duplicate-dag-id" {
		t.Errorf("findings = %q %v, want %q", errs, rules, want)
	}
	if _, f, _ := b.DAG("same"); f == nil || f.Path != "a.star" {
		t.Errorf("the first file by path should keep the id, got %v", f)
	}
}

func TestBagIgnoreFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, loader.IgnoreFile, "# generated and work in progress\nscratch/\n*_wip.star\nteam/old.star\n")
	write(t, dir, "keep.star", dagFile("keep", ""))
	write(t, dir, "scratch/x.star", dagFile("scratch", ""))
	write(t, dir, "deep/idea_wip.star", dagFile("wip", ""))
	write(t, dir, "team/old.star", dagFile("old", ""))
	write(t, dir, "team/new.star", dagFile("new", ""))
	b := newBag(dir)
	if _, err := b.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := dagIDs(b); got != "keep new" {
		t.Errorf("DAGs = %q, want keep new", got)
	}
}

func TestBagMissingFolder(t *testing.T) {
	t.Parallel()
	b := newBag(filepath.Join(t.TempDir(), "nope"))
	if _, err := b.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "scan DAG folder") {
		t.Fatalf("Refresh of a missing folder: error = %v", err)
	}
}

func TestBagConcurrentUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		write(t, dir, fmt.Sprintf("d%02d.star", i), dagFile(fmt.Sprintf("d%02d", i), ""))
	}
	b := newBag(dir)
	ctx := context.Background()
	if _, err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				if _, err := b.Refresh(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if n := len(b.DAGs()); n != 20 {
					t.Errorf("reader saw %d DAGs, want 20", n)
					return
				}
				if _, _, ok := b.DAG("d07"); !ok {
					t.Error("DAG d07 missing")
					return
				}
				_ = b.Findings()
				_ = b.Files()
			}
		}()
	}
	wg.Wait()
}

// countingFS counts the files opened (read) through it.
type countingFS struct {
	fstest.MapFS
	opens atomic.Int64
}

func (c *countingFS) Open(name string) (fs.File, error) {
	if !strings.HasSuffix(name, ".") && strings.HasSuffix(name, ".star") {
		c.opens.Add(1)
	}
	return c.MapFS.Open(name)
}

func TestBagRefreshStatsBeforeReading(t *testing.T) {
	t.Parallel()
	old := time.Now().Add(-time.Hour)
	m := fstest.MapFS{}
	for i := range 10 {
		m[fmt.Sprintf("f%d.star", i)] = &fstest.MapFile{Data: []byte(dagFile(fmt.Sprintf("d%d", i), "")), ModTime: old}
	}
	cfs := &countingFS{MapFS: m}
	b := loader.NewBag(loader.New(loader.Options{Logger: discardLogger()}), loader.Source{FS: cfs})
	ctx := context.Background()
	refresh := func(name string, evaluated int) int64 {
		t.Helper()
		before := cfs.opens.Load()
		stats, err := b.Refresh(ctx)
		if err != nil || stats.Evaluated != evaluated {
			t.Fatalf("%s: %+v %v, want %d evaluated", name, stats, err, evaluated)
		}
		return cfs.opens.Load() - before
	}
	refresh("first", 10)
	if n := refresh("second", 0); n != 10 {
		t.Errorf("the first unchanged refresh read %d files, want 10 (it records their stats)", n)
	}
	if n := refresh("third", 0); n != 0 {
		t.Errorf("an unchanged folder read %d files, want none (a stat each)", n)
	}
	// Same size, new time: read and compared, then evaluated.
	m["f3.star"] = &fstest.MapFile{Data: []byte(dagFile("e3", "")), ModTime: old.Add(time.Minute)}
	if n := refresh("changed", 1); n < 1 {
		t.Errorf("a file with a new time was not read")
	}
	if got := dagIDs(b); !strings.Contains(got, "e3") {
		t.Errorf("DAGs = %q, want e3 in them", got)
	}
	// A recent time is not trusted: a second write in the same tick
	// with the same size would keep it.
	now := time.Now()
	m["f4.star"] = &fstest.MapFile{Data: []byte(dagFile("e4", "")), ModTime: now}
	refresh("recent", 1)
	m["f4.star"] = &fstest.MapFile{Data: []byte(dagFile("g4", "")), ModTime: now}
	refresh("recent again, same size and time", 1)
	if got := dagIDs(b); !strings.Contains(got, "g4") {
		t.Errorf("DAGs = %q, want g4 in them", got)
	}
}
