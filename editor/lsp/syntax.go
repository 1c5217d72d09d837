package lsp

import (
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/syntax"
)

// fileOpts parses as leniently as the loader's options allow, so that
// definitions are found in every file the loader accepts.
var fileOpts = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// symbols are the bindings of one parsed file.
type symbols struct {
	// defs maps top-level names (def, assignment) to where they are bound.
	defs map[string]syntax.Position
	// taskVars maps names assigned the result of a call to an operator
	// builtin to that builtin, at any depth (inside build functions).
	taskVars map[string]string
	// taskIDs are the task_id strings of calls of task builtins, for
	// when the file does not load.
	taskIDs []string
	// loads are the file's load statements.
	loads []loadStmt
}

// loadStmt is one load("module", local = "remote", ...).
type loadStmt struct {
	module     string
	start, end syntax.Position // of the module string
	names      map[string]string
	line       int32
}

// parse returns the symbols of a source text; nil when it does not parse.
func parse(name, text string, isTask func(string) bool) *symbols {
	f, err := fileOpts.Parse(name, text, 0)
	if err != nil {
		return nil
	}
	s := &symbols{defs: map[string]syntax.Position{}, taskVars: map[string]string{}}
	for _, stmt := range f.Stmts {
		switch st := stmt.(type) {
		case *syntax.DefStmt:
			s.bind(st.Name)
		case *syntax.AssignStmt:
			s.bindLHS(st.LHS)
		case *syntax.LoadStmt:
			start, end := st.Module.Span()
			l := loadStmt{module: st.ModuleName(), start: start, end: end, names: map[string]string{}, line: st.Load.Line}
			for i, to := range st.To {
				l.names[to.Name] = st.From[i].Name
				s.bind(to)
			}
			s.loads = append(s.loads, l)
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok {
			if fn, ok := call.Fn.(*syntax.Ident); ok && isTask(fn.Name) {
				for _, arg := range call.Args {
					if kv, ok := arg.(*syntax.BinaryExpr); ok && kv.Op == syntax.EQ {
						if k, ok := kv.X.(*syntax.Ident); ok && k.Name == "task_id" {
							if lit, ok := kv.Y.(*syntax.Literal); ok && lit.Token == syntax.STRING {
								s.taskIDs = append(s.taskIDs, lit.Value.(string))
							}
						}
					}
				}
			}
		}
		a, ok := n.(*syntax.AssignStmt)
		if !ok {
			return true
		}
		id, ok1 := a.LHS.(*syntax.Ident)
		call, ok2 := a.RHS.(*syntax.CallExpr)
		if ok1 && ok2 {
			if fn, ok := call.Fn.(*syntax.Ident); ok && isTask(fn.Name) {
				s.taskVars[id.Name] = fn.Name
			}
		}
		return true
	})
	return s
}

func (s *symbols) bind(id *syntax.Ident) {
	if _, ok := s.defs[id.Name]; !ok {
		s.defs[id.Name] = id.NamePos
	}
}

func (s *symbols) bindLHS(e syntax.Expr) {
	switch x := e.(type) {
	case *syntax.Ident:
		s.bind(x)
	case *syntax.TupleExpr:
		for _, y := range x.List {
			s.bindLHS(y)
		}
	case *syntax.ListExpr:
		for _, y := range x.List {
			s.bindLHS(y)
		}
	case *syntax.ParenExpr:
		s.bindLHS(x.X)
	}
}

// modulePath returns the OS path a load() module names: "//a/b.star"
// from the root, anything else beside the loading file.
func modulePath(module, root, from string) string {
	if rest, ok := strings.CutPrefix(module, "//"); ok {
		return filepath.Join(root, filepath.FromSlash(rest))
	}
	return filepath.Join(filepath.Dir(from), filepath.FromSlash(module))
}

// readFile returns a file's text from an open buffer or the disk.
func readFile(path string, buffers map[string]string) (string, bool) {
	if t, ok := buffers[path]; ok {
		return t, true
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return string(b), true
}
