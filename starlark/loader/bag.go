package loader

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// IgnoreFile is the name of the file, at the root of a DAG folder, whose
// lines are glob patterns of paths the Bag skips (like .airflowignore):
// "lib/" skips a folder, "*_test.star" any file of that name, and
// "tmp/*.star" paths from the root. Lines starting with # are comments.
const IgnoreFile = ".starflowignore"

// Bag is the set of DAGs of one DAG folder. Refresh loads every *.star
// file under the root in parallel, re-evaluating only the files whose
// content, or the content of a module they load, changed since the last
// Refresh. Broken files become findings and never hide the other DAGs.
// A Bag is safe for concurrent use; readers see the last complete Refresh.
type Bag struct {
	loader  *Loader
	src     Source
	workers int

	refresh     sync.Mutex           // serialises Refresh
	stats       map[string]statEntry // by path: what the last Refresh read, guarded by refresh
	mu          sync.RWMutex
	snap        *snapshot
	evaluations atomic.Int64
}

// snapshot is the result of one Refresh.
type snapshot struct {
	files    []*File // by path
	byPath   map[string]*File
	dags     []*dags.DAG // by id, duplicates left out
	byID     map[string]*File
	findings []dags.Finding
	stats    RefreshStats
}

// RefreshStats counts what a Refresh did.
type RefreshStats struct {
	Files     int // *.star files found
	Evaluated int // files evaluated because they are new or changed
	Reused    int // files whose cached result was kept
}

// NewBag returns an empty Bag over src; call Refresh to load it.
func NewBag(l *Loader, src Source) *Bag {
	return &Bag{loader: l, src: src, workers: runtime.NumCPU(), snap: &snapshot{byPath: map[string]*File{}, byID: map[string]*File{}}}
}

// Refresh rescans the folder and loads new and changed files. It returns
// an error only when the folder cannot be listed or ctx ends; problems of
// single files are findings.
func (b *Bag) Refresh(ctx context.Context) (RefreshStats, error) {
	b.refresh.Lock()
	defer b.refresh.Unlock()

	paths, err := b.scan()
	if err != nil {
		return RefreshStats{}, fmt.Errorf("scan DAG folder %s: %w", b.src.Dir, err)
	}
	b.mu.RLock()
	old := b.snap
	b.mu.RUnlock()

	contents := &contentCache{src: b.src, max: b.loader.opts.MaxFileSize, m: map[string]string{}, prev: b.stats, next: map[string]statEntry{}}
	files := make([]*File, len(paths))
	var todo []int
	for i, p := range paths {
		if prev := old.byPath[p]; prev != nil && contents.unchanged(prev) {
			files[i] = prev
			continue
		}
		todo = append(todo, i)
	}

	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(b.workers, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				files[i] = b.loader.Load(ctx, b.src, paths[i])
				b.evaluations.Add(1)
			}
		}()
	}
	for _, i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return RefreshStats{}, fmt.Errorf("refresh DAG folder %s: %w", b.src.Dir, err)
	}

	b.stats = contents.next
	snap := newSnapshot(files)
	snap.stats = RefreshStats{Files: len(files), Evaluated: len(todo), Reused: len(files) - len(todo)}
	b.mu.Lock()
	b.snap = snap
	b.mu.Unlock()
	return snap.stats, nil
}

// newSnapshot indexes files (sorted by path) and reports DAG ids defined
// by more than one file: the file first in path order keeps the id.
func newSnapshot(files []*File) *snapshot {
	s := &snapshot{files: files, byPath: make(map[string]*File, len(files)), byID: map[string]*File{}}
	for _, f := range files {
		s.byPath[f.Path] = f
		s.findings = append(s.findings, f.Errors...)
		for _, d := range f.DAGs {
			if prev, dup := s.byID[d.ID]; dup {
				s.findings = append(s.findings, dags.Finding{Pos: d.Pos, Rule: dags.RuleDuplicateDAG,
					Message: fmt.Sprintf("DAG id %q is already defined at %s", d.ID, prev.DAG(d.ID).Pos)})
				continue
			}
			s.byID[d.ID] = f
			s.dags = append(s.dags, d)
		}
	}
	sort.Slice(s.dags, func(i, j int) bool { return s.dags[i].ID < s.dags[j].ID })
	sort.SliceStable(s.findings, func(i, j int) bool {
		a, b := s.findings[i].Pos, s.findings[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return s
}

// scan returns the paths of the *.star files under the root, sorted,
// skipping hidden folders and what IgnoreFile excludes.
func (b *Bag) scan() ([]string, error) {
	ignore := readIgnore(b.src)
	var paths []string
	err := fs.WalkDir(b.src.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable sub-folder is skipped
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || ignore.match(p, true) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".star") && !ignore.match(p, false) {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	return paths, err
}

// ignorePatterns are the glob lines of an IgnoreFile.
type ignorePatterns []string

func readIgnore(src Source) ignorePatterns {
	b, err := fs.ReadFile(src.FS, IgnoreFile)
	if err != nil {
		return nil
	}
	var out ignorePatterns
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// match reports whether the root-relative path p is ignored.
func (ig ignorePatterns) match(p string, isDir bool) bool {
	for _, pat := range ig {
		dirOnly := strings.HasSuffix(pat, "/")
		pat = strings.Trim(pat, "/")
		if dirOnly && !isDir {
			continue
		}
		target := p
		if !strings.Contains(pat, "/") {
			target = path.Base(p)
		}
		if ok, _ := path.Match(pat, target); ok {
			return true
		}
	}
	return false
}

// contentCache reads each path at most once per Refresh, and not at all
// when its size and modification time are those of the previous Refresh's
// read: an unchanged folder costs a stat per file.
type contentCache struct {
	src  Source
	max  int64
	m    map[string]string
	prev map[string]statEntry // the previous Refresh's reads
	next map[string]statEntry // this Refresh's, for the next
}

// statEntry is a file's content with the size and modification time it
// had when read.
type statEntry struct {
	size    int64
	modTime time.Time
	content string
}

// racyWindow is how old a modification time must be for a read to be
// reused on an equal stat: a file written twice within the file system's
// timestamp granularity keeps its time, so a recent one proves nothing.
const racyWindow = 2 * time.Second

func (c *contentCache) get(p string) string {
	if s, ok := c.m[p]; ok {
		return s
	}
	st, statErr := fs.Stat(c.src.FS, p)
	if statErr == nil {
		if e, ok := c.prev[p]; ok && e.size == st.Size() && e.modTime.Equal(st.ModTime()) {
			c.m[p], c.next[p] = e.content, e
			return e.content
		}
	}
	s, err := c.src.read(p, c.max)
	if err != nil {
		s = missingFile
	} else if statErr == nil && time.Since(st.ModTime()) > racyWindow && int64(len(s)) == st.Size() {
		c.next[p] = statEntry{size: st.Size(), modTime: st.ModTime(), content: s}
	}
	c.m[p] = s
	return s
}

// unchanged reports whether every file f's evaluation read still has the
// same content (and every missing one is still missing).
func (c *contentCache) unchanged(f *File) bool {
	if len(f.deps) == 0 {
		return false
	}
	for p, content := range f.deps {
		if c.get(p) != content {
			return false
		}
	}
	return true
}

// DAGs returns the valid DAGs, sorted by id.
func (b *Bag) DAGs() []*dags.DAG {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.snap.dags
}

// DAG returns the DAG with the given id and the file that defines it.
func (b *Bag) DAG(id string) (*dags.DAG, *File, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	f, ok := b.snap.byID[id]
	if !ok {
		return nil, nil, false
	}
	return f.DAG(id), f, true
}

// Files returns the loaded files, sorted by path.
func (b *Bag) Files() []*File {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.snap.files
}

// File returns the file at the root-relative path p, or nil.
func (b *Bag) File(p string) *File {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.snap.byPath[p]
}

// FileByHash returns a loaded file with the given content hash, or nil.
func (b *Bag) FileByHash(hash string) *File {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, f := range b.snap.files {
		if f.Hash == hash {
			return f
		}
	}
	return nil
}

// Findings returns every import error, invalid-DAG finding and
// duplicate DAG id, sorted by position.
func (b *Bag) Findings() []dags.Finding {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.snap.findings
}

// Evaluations returns how many file evaluations the Bag has run in total.
func (b *Bag) Evaluations() int64 { return b.evaluations.Load() }
