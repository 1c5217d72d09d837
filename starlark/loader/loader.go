package loader

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/pylib"
)

// fileOptions are the dialect of DAG files: top-level if and for are
// allowed (to build DAGs in a loop); while, recursion and reassigning a
// global are not, so every file terminates and reads top to bottom.
var fileOptions = syntax.FileOptions{
	Set:             true,
	While:           false,
	TopLevelControl: true,
	GlobalReassign:  false,
	Recursion:       false,
}

// Loader evaluates DAG files. It holds only configuration and the frozen
// predeclared environment, so one Loader may be used from many goroutines.
type Loader struct {
	opts        Options
	predeclared starlark.StringDict
	teacher     *teacher
}

// New returns a Loader with the given options (zero fields take defaults).
func New(opts Options) *Loader {
	opts = opts.withDefaults()
	pre := starlark.StringDict{}
	for k, v := range builtins.Universe(opts.Operators...) {
		pre[k] = v
	}
	for k, v := range runtimeModules() {
		pre[k] = v
	}
	for k, v := range pylib.Universe() {
		pre[k] = v
	}
	for name, members := range opts.RuntimeModules {
		if op, ok := pre[name].(*builtins.Operator); ok {
			pre[name] = op.WithModule(members)
		} else {
			pre[name] = &starlarkstruct.Module{Name: name, Members: members}
		}
	}
	for k, v := range sizeOps() {
		pre[k] = traced(opts.OnPosition, v)
	}
	for k, v := range universeOverrides() {
		pre[k] = traced(opts.OnPosition, v)
	}
	for k, v := range opts.Predeclared {
		pre[k] = v
	}
	pre.Freeze()
	return &Loader{opts: opts, predeclared: pre, teacher: newTeacher(pre)}
}

// Options returns the loader's options, defaults filled in.
func (l *Loader) Options() Options { return l.opts }

// Close closes the loader's Isolator when it has a Close method (the
// parse processes of starlark/sandbox): call it when the loader's owner
// is done with it. The loader still works after Close; an Isolator may
// then start a process per file.
func (l *Loader) Close() error {
	if c, ok := l.opts.Isolator.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// LoadPath evaluates the DAG file at file (an OS path). Its modules are
// loaded relative to dagsFolder when the file lies inside it, otherwise
// relative to the file's own folder, as the DESIGN says.
func (l *Loader) LoadPath(ctx context.Context, dagsFolder, file string) *File {
	if dagsFolder != "" {
		if rel, err := filepath.Rel(dagsFolder, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return l.Load(ctx, DirSource(dagsFolder), filepath.ToSlash(rel))
		}
	}
	return l.Load(ctx, DirSource(filepath.Dir(file)), filepath.Base(file))
}

// evaluation is the state of one Load: the source, the modules loaded so
// far and the flags that tell why the thread was cancelled.
type evaluation struct {
	opts    Options
	src     Source
	loader  *Loader
	session *builtins.Session
	modules map[string]*loadedModule
	stack   []string // paths being executed, outermost first
	sources map[string]string
	reads   map[string]string // every path read, failed ones as missingFile

	parent    context.Context // the caller's context
	stepLimit atomic.Bool
	timedOut  atomic.Bool
	finished  atomic.Bool // set when Load returns; see meteredIterator
}

// loadedModule is the outcome of executing a module.
type loadedModule struct {
	globals starlark.StringDict
	err     error
}

// Load evaluates the file at rel (a slash path relative to src's root)
// and returns its DAGs and findings. It never panics and never returns
// nil; every problem is a finding with a position.
func (l *Loader) Load(ctx context.Context, src Source, rel string) (file *File) {
	start := time.Now()
	rel = path.Clean(strings.TrimPrefix(filepath.ToSlash(rel), "./"))
	file = &File{Path: rel, Name: src.name(rel), Dir: src.Dir}
	if l.isolate(ctx, src, file) {
		file.Duration = time.Since(start)
		return file
	}
	ev := &evaluation{
		opts:    l.opts,
		src:     src,
		loader:  l,
		modules: map[string]*loadedModule{},
		sources: map[string]string{},
		reads:   map[string]string{},
		parent:  ctx,
	}
	thread := &starlark.Thread{Name: "parse " + rel, Load: ev.load}
	thread.Print = func(th *starlark.Thread, msg string) {
		l.opts.Logger.Info(msg, "source", "dag file print", "pos", th.CallFrame(1).Pos.String())
	}
	thread.SetMaxExecutionSteps(l.opts.MaxSteps)
	thread.OnMaxSteps = func(th *starlark.Thread) {
		ev.stepLimit.Store(true)
		th.Cancel("step limit")
	}
	thread.SetLocal(limitsKey, ev)
	thread.SetLocal(budgetKey, &Budget{MaxStringSize: int64(l.opts.MaxStringSize), MaxListLen: int64(l.opts.MaxListLen),
		MaxAlloc: l.opts.MaxAlloc, Who: "DAG files"})
	ev.session = builtins.Attach(thread)
	ev.session.SetFileReader(ev.readFile)
	ev.session.SetEntryFile(rel)

	tctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	stop := context.AfterFunc(tctx, func() {
		if tctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			ev.timedOut.Store(true)
		}
		thread.Cancel("cancelled")
	})
	defer func() {
		ev.finished.Store(true)
		stop()
		if r := recover(); r != nil {
			file.DAGs = nil
			file.Errors = []dags.Finding{{Pos: dags.Pos{File: file.Name, Line: 1, Col: 1}, Rule: RuleImport,
				Message: fmt.Sprintf("internal error while evaluating the file: %v", r)}}
		}
		for i := range file.Errors {
			file.Errors[i].Message = oneLine(file.Errors[i].Message)
		}
		file.Sources = ev.sources
		file.deps = ev.reads
		file.Hash = hashSources(ev.sources)
		file.Steps = thread.ExecutionSteps()
		file.Duration = time.Since(start)
		for _, d := range file.DAGs {
			d.SourceHash = file.Hash
		}
	}()

	ev.stack = []string{rel}
	_, err := ev.exec(thread, rel)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		file.Errors = ev.findings(err, file.Name)
		return file
	}
	res := ev.session.Finish()
	for _, fn := range res.Functions {
		fn.Freeze()
	}
	file.DAGs, file.Errors, file.funcs = res.DAGs, res.Findings, res.Functions
	return file
}

// exec reads, parses and runs the module at rel and returns its frozen
// globals.
func (ev *evaluation) exec(thread *starlark.Thread, rel string) (starlark.StringDict, error) {
	content, err := ev.src.read(rel, ev.opts.MaxFileSize)
	if err != nil {
		ev.reads[rel] = missingFile
		return nil, &readError{path: rel, name: ev.src.name(rel), err: err}
	}
	ev.sources[rel] = content
	ev.reads[rel] = content
	name := ev.src.name(rel)
	f, err := fileOptions.Parse(name, content, 0)
	if err != nil {
		return nil, ev.loader.teacher.rewrite(err, content)
	}
	rewriteFile(f)
	prog, err := starlark.FileProgram(f, ev.loader.predeclared.Has)
	if err != nil {
		return nil, ev.loader.teacher.rewrite(err, content)
	}
	ev.session.AddSyntax(f)
	globals, err := prog.Init(thread, ev.loader.predeclared)
	if err != nil {
		return nil, err
	}
	globals.Freeze()
	return globals, nil
}

// readFile reads a file of the source for an operator's Spec.Files and
// records it in the sources (so in the version and its hash) and in the
// reads (so the Bag notices when it changes, appears or disappears).
func (ev *evaluation) readFile(p string) (string, error) {
	p = strings.TrimPrefix(p, "//")
	clean := path.Clean(p)
	if p == "" || clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(p, "/") || !fs.ValidPath(clean) {
		return "", fmt.Errorf("%s: the path is outside the DAG folder root", p)
	}
	if content, ok := ev.sources[clean]; ok {
		return content, nil
	}
	content, err := ev.src.read(clean, ev.opts.MaxFileSize)
	if err != nil {
		ev.reads[clean] = missingFile
		return "", fmt.Errorf("%s: %w", ev.src.name(clean), err)
	}
	ev.sources[clean] = content
	ev.reads[clean] = content
	return content, nil
}

// load implements load(): the module path must start with "//" and name
// a .star file inside the root. Modules are executed once per evaluation;
// a module that loads itself, directly or not, is an error. The
// interpreter prefixes errors with "cannot load MODULE: ".
func (ev *evaluation) load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	rel, err := modulePath(module)
	if err != nil {
		return nil, err
	}
	for i, p := range ev.stack {
		if p == rel {
			chain := append(append([]string{}, ev.stack[i:]...), rel)
			return nil, fmt.Errorf("load cycle: //%s", strings.Join(chain, " -> //"))
		}
	}
	if m, ok := ev.modules[rel]; ok {
		return m.globals, m.err
	}
	m := &loadedModule{}
	ev.stack = append(ev.stack, rel)
	m.globals, m.err = ev.exec(thread, rel)
	ev.stack = ev.stack[:len(ev.stack)-1]
	ev.modules[rel] = m
	return m.globals, m.err
}

// modulePath checks a load() module string and returns its root-relative path.
func modulePath(module string) (string, error) {
	if !strings.HasPrefix(module, "//") {
		return "", fmt.Errorf(`the path must start with "//" (a path from the DAG folder root, such as "//lib/common.star")`)
	}
	p := module[2:]
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("the path is outside the DAG folder root")
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") || !fs.ValidPath(clean) {
		return "", fmt.Errorf("the path is outside the DAG folder root")
	}
	if !strings.HasSuffix(clean, ".star") || clean == ".star" {
		return "", fmt.Errorf("only .star files can be loaded")
	}
	return clean, nil
}
