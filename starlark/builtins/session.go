package builtins

import (
	"fmt"
	"path"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Thread-local keys. They are unexported: use Attach, SessionOf, SetRuntime
// and IsRuntime.
const (
	sessionKey = "starflow.builtins.session"
	runtimeKey = "starflow.builtins.runtime"
)

// Session is the state of one DAG-file evaluation: the DAGs defined so far,
// the one whose build function is running, and the callables registered
// under function keys. A session belongs to one thread and is not safe for
// concurrent use.
type Session struct {
	thread   *starlark.Thread
	builders []*dagBuilder
	byID     map[string]*dagBuilder
	current  *dagBuilder
	syntax   map[string]*syntax.File
	defs     map[funcKey]*syntax.DefStmt
	lambdas  map[funcKey]*syntax.LambdaExpr
	findings []dags.Finding
	finished bool
	// readFile reads DAG-folder files for operators.Spec.Files; nil
	// when no DAG folder is at hand.
	readFile operators.FileReader
	// entryDir is the DAG file's folder, a slash path from the DAG
	// folder root ("." for the root): template files are found there.
	entryDir string
}

// SetEntryFile tells the session the DAG file's slash path from the DAG
// folder root, whose folder is where template files are looked up first
// (Airflow's dag.folder). Call it before the thread starts.
func (s *Session) SetEntryFile(rel string) { s.entryDir = path.Dir(rel) }

// SetFileReader lets operator builtins read files of the DAG folder
// (operators.Spec.Files); the loader passes a reader that records what
// was read in the DAG version. Call it before the thread starts.
func (s *Session) SetFileReader(read operators.FileReader) { s.readFile = read }

// fileReader returns the session's file reader, or one that says there is
// no DAG folder.
func (s *Session) fileReader() operators.FileReader {
	if s == nil || s.readFile == nil {
		return func(p string) (string, error) {
			return "", fmt.Errorf("cannot read %s: no DAG folder while this file is evaluated", p)
		}
	}
	return s.readFile
}

// Attach creates a session and attaches it to thread, which must not have
// started executing yet (Starlark's thread-local rule).
func Attach(thread *starlark.Thread) *Session {
	s := &Session{
		thread: thread,
		byID:   map[string]*dagBuilder{},
		syntax: map[string]*syntax.File{},
	}
	thread.SetLocal(sessionKey, s)
	return s
}

// SessionOf returns the session attached to thread, or nil at run time.
func SessionOf(thread *starlark.Thread) *Session {
	s, _ := thread.Local(sessionKey).(*Session)
	return s
}

// SetRuntime marks thread as a run-time thread: one that calls a task
// function after parsing, where the clock may be read and no DAG may be
// defined. It must be called before the thread starts executing.
func SetRuntime(thread *starlark.Thread) { thread.SetLocal(runtimeKey, true) }

// IsRuntime reports whether thread was marked with SetRuntime.
func IsRuntime(thread *starlark.Thread) bool {
	v, _ := thread.Local(runtimeKey).(bool)
	return v
}

// AddSyntax records the syntax tree of a file (the DAG file or a module it
// loads) so that branch functions defined in it can be checked.
func (s *Session) AddSyntax(f *syntax.File) {
	s.syntax[f.Path] = f
	s.defs = nil // rebuilt on demand
}

// Results is what a finished session produced.
type Results struct {
	// DAGs are the valid DAGs in the order of their dag() calls.
	DAGs []*dags.DAG
	// Findings are the problems of invalid DAGs (which are left out of
	// DAGs), sorted by position.
	Findings []dags.Finding
	// Functions maps function keys (dags.Task.Function, callback keys) to
	// the Starlark callables they name. Callers must freeze them.
	Functions map[string]starlark.Callable
}

// Finish ends the session: no DAG may be built or changed afterwards. It
// returns the valid DAGs, the findings of invalid ones and the callables.
func (s *Session) Finish() Results {
	s.finished = true
	var r Results
	for _, b := range s.builders {
		b.done = true
		if len(b.findings) == 0 {
			r.DAGs = append(r.DAGs, b.dag)
		}
		r.Findings = append(r.Findings, b.findings...)
	}
	r.Findings = append(r.Findings, s.findings...)
	sortFindings(r.Findings)
	r.Functions = map[string]starlark.Callable{}
	for _, b := range s.builders {
		if len(b.findings) != 0 {
			continue
		}
		for k, fn := range b.funcs {
			r.Functions[k] = fn
		}
	}
	return r
}

// register records fn under key for the DAG b; keys are per DAG, so a
// rejected DAG with the same id cannot replace a valid one's functions.
func (s *Session) register(b *dagBuilder, key string, fn starlark.Callable) {
	if b.funcs == nil {
		b.funcs = map[string]starlark.Callable{}
	}
	b.funcs[key] = fn
}

// builder returns the DAG whose build function is running, or an error
// naming the builtin that needs one.
func (s *Session) builder(thread *starlark.Thread, fnName string) (*dagBuilder, error) {
	if s == nil || s.finished {
		if IsRuntime(thread) {
			return nil, fmt.Errorf("%s: DAGs and tasks can only be defined while a DAG file is parsed, not when a task runs", fnName)
		}
		return nil, fmt.Errorf("%s: DAGs and tasks can only be defined while a DAG file is parsed", fnName)
	}
	if s.current == nil {
		return nil, fmt.Errorf("%s: tasks must be created inside a DAG's build function: def build(): ...; dag(dag_id = \"my_dag\", build = build)", fnName)
	}
	return s.current, nil
}

// sortFindings orders findings by file, line and column.
func sortFindings(fs []dags.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].Pos, fs[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// ToPos converts a Starlark position to the model's.
func ToPos(p syntax.Position) dags.Pos {
	return dags.Pos{File: p.Filename(), Line: int(p.Line), Col: int(p.Col)}
}

// callerPos returns the position of the Starlark call of the running builtin.
func callerPos(thread *starlark.Thread) dags.Pos {
	// Skip builtins calling builtins (partial(...).expand calls the
	// operator): the position is the user's call.
	for i := 1; i < thread.CallStackDepth(); i++ {
		if f := thread.CallFrame(i); f.Pos.Filename() != "<builtin>" {
			return ToPos(f.Pos)
		}
	}
	return ToPos(thread.CallFrame(1).Pos)
}
