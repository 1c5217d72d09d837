package loader

import (
	"context"
	"regexp"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// Isolator evaluates a DAG file in a supervised process of its own before
// the loader evaluates it in-process, so that a file that exhausts memory
// or time in a way the in-process budget cannot see (a single Go call
// that never returns, many small allocations) kills that process, not
// the daemon: starlark/sandbox implements it.
type Isolator interface {
	// Check evaluates the file req names in another process. It returns
	// nil when the loader must evaluate the file itself (the process
	// found DAGs, whose functions cannot cross processes, or could not
	// run), and otherwise the outcome: the process's import errors, or a
	// finding at the last position the process reached when it ran out
	// of memory or time.
	Check(ctx context.Context, req CheckRequest) *CheckResult
}

// CheckResult is the outcome of a file that defines no DAG, as an
// isolated process reports it: serializable, unlike a File's functions.
type CheckResult struct {
	Errors []dags.Finding `json:"errors"`
	// Sources and Reads are the File's Sources and the paths it read
	// (missing ones as ""), so a Bag evaluates it again when one changes;
	// nil when the process died (the file's own text is used).
	Sources map[string]string `json:"sources,omitempty"`
	Reads   map[string]string `json:"reads,omitempty"`
	Steps   uint64            `json:"steps,omitempty"`
}

// missingSuffix marks, in CheckResult.Reads, a path that could not be
// read (no path contains a NUL).
const missingSuffix = "\x00missing"

// Result returns f as a CheckResult when it defines no DAG, and false
// otherwise.
func (f *File) Result() (*CheckResult, bool) {
	if len(f.DAGs) > 0 || len(f.Errors) == 0 {
		return nil, false
	}
	reads := make(map[string]string, len(f.deps))
	for p, c := range f.deps {
		if c == missingFile {
			reads[p+missingSuffix] = ""
			continue
		}
		reads[p] = c
	}
	return &CheckResult{Errors: f.Errors, Sources: f.Sources, Reads: reads, Steps: f.Steps}, true
}

// CheckRequest names a file for an Isolator: a DAG folder on disk (Root)
// or the texts of a bundle (Files), and the file's root-relative path.
type CheckRequest struct {
	// Root is the folder on disk of a DirSource; empty for a bundle.
	Root string `json:"root,omitempty"`
	// Files are the texts of a BundleSource by root-relative path.
	Files map[string]string `json:"files,omitempty"`
	// Dir is the Source's Dir, how positions name the root.
	Dir string `json:"dir,omitempty"`
	// Rel is the file's slash path relative to the root.
	Rel string `json:"rel"`
}

// Source returns the Source the request names.
func (r CheckRequest) Source() Source {
	if r.Files != nil {
		return BundleSource(r.Dir, r.Files)
	}
	s := DirSource(r.Root)
	s.Dir = r.Dir
	return s
}

// checkRequest returns the request of the file at rel of src, or false
// when src is neither a folder on disk nor a bundle.
func checkRequest(src Source, rel string) (CheckRequest, bool) {
	switch {
	case src.root != "":
		return CheckRequest{Root: src.root, Dir: src.Dir, Rel: rel}, true
	case src.bundle != nil:
		return CheckRequest{Files: src.bundle, Dir: src.Dir, Rel: rel}, true
	}
	return CheckRequest{}, false
}

// isolate asks the Isolator to evaluate the file first and fills file
// with the finding when the isolated evaluation died. It reports whether
// it did.
func (l *Loader) isolate(ctx context.Context, src Source, file *File) bool {
	if l.opts.Isolator == nil {
		return false
	}
	req, ok := checkRequest(src, file.Path)
	if !ok {
		return false
	}
	res := l.opts.Isolator.Check(ctx, req)
	if res == nil {
		return false
	}
	for _, f := range res.Errors {
		f.Message = oneLine(f.Message)
		file.Errors = append(file.Errors, f)
	}
	file.Steps = res.Steps
	if res.Sources != nil {
		file.Sources = res.Sources
		file.Hash = hashSources(res.Sources)
		file.deps = make(map[string]string, len(res.Reads))
		for p, c := range res.Reads {
			if m, ok := strings.CutSuffix(p, missingSuffix); ok {
				file.deps[m] = missingFile
				continue
			}
			file.deps[p] = c
		}
		return true
	}
	// The process died with what it read: the file's text and the
	// modules its load() statements name, found by parsing them here, so
	// that a Bag evaluates the file again when any of them changes.
	file.deps = l.staticDeps(src, file.Path)
	if content := file.deps[file.Path]; content != missingFile {
		file.Sources = make(map[string]string, len(file.deps))
		for p, c := range file.deps {
			if c != missingFile {
				file.Sources[p] = c
			}
		}
		file.Hash = hashSources(file.Sources)
	}
	return true
}

// mayLoad matches every load statement (and some text that is not one:
// those files are parsed to tell).
var mayLoad = regexp.MustCompile(`\bload[\s\\]*\(`)

// maxStaticDeps bounds the modules staticDeps reads.
const maxStaticDeps = 256

// staticDeps returns the file at rel and the modules it loads, directly
// or not, by root-relative path, each with its content or missingFile:
// load() statements are top-level and name their module with a literal,
// so parsing finds them all without evaluating anything.
func (l *Loader) staticDeps(src Source, rel string) map[string]string {
	deps := map[string]string{}
	queue := []string{rel}
	for len(queue) > 0 && len(deps) < maxStaticDeps {
		p := queue[0]
		queue = queue[1:]
		if _, ok := deps[p]; ok {
			continue
		}
		content, err := src.read(p, l.opts.MaxFileSize)
		if err != nil {
			deps[p] = missingFile
			continue
		}
		deps[p] = content
		if !mayLoad.MatchString(content) {
			// No load statement without "load(": skip the parse (the
			// child parses the file anyway; lint then scans it once).
			continue
		}
		f, err := fileOptions.Parse(src.name(p), content, 0)
		if err != nil {
			continue
		}
		for _, stmt := range f.Stmts {
			load, ok := stmt.(*syntax.LoadStmt)
			if !ok {
				continue
			}
			if m, err := modulePath(load.ModuleName()); err == nil {
				queue = append(queue, m)
			}
		}
	}
	return deps
}

// traced wraps a checked builtin so that it reports its caller's position
// to onPos before it runs (the isolated process reports the last one
// when it dies).
func traced(onPos func(syntax.Position), v starlark.Value) starlark.Value {
	b, ok := v.(*starlark.Builtin)
	if onPos == nil || !ok {
		return v
	}
	return starlark.NewBuiltin(b.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if thread.CallStackDepth() > 1 {
			onPos(thread.CallFrame(1).Pos)
		}
		return b.CallInternal(thread, args, kwargs)
	})
}
