package lint

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// dialect returns the options the loader evaluates DAG files with: sets,
// top-level if and for; no while, recursion or global reassignment.
func dialect() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		While:           false,
		TopLevelControl: true,
		GlobalReassign:  false,
		Recursion:       false,
	}
}

// directivePrefix starts every suppression comment, after the '#'.
const directivePrefix = "starflow:"

// source is what the linter learned from a file's text.
type source struct {
	// lineOff maps a line to the rules disabled by a comment on it.
	lineOff map[int][]string
	// fileOff lists the rules disabled in the whole file.
	fileOff []string
	// unusedLoads are the findings of the unused-load rule.
	unusedLoads []Finding
}

func (s source) hasDirectives() bool { return len(s.lineOff) > 0 || len(s.fileOff) > 0 }

// suppressed reports whether a comment turns rule off at line.
func (s source) suppressed(rule string, line int) bool {
	return slices.Contains(s.fileOff, rule) ||
		slices.Contains(s.lineOff[line], rule) ||
		slices.Contains(s.lineOff[line-1], rule)
}

// scanSource parses src when it has something to say: a load() to check or
// a suppression comment to read. Most DAG files have neither and cost two
// substring searches. A file that does not parse yields nothing: the
// loader reports its syntax error.
func scanSource(path string, src []byte) source {
	var s source
	hasLoad := bytes.Contains(src, []byte("load"))
	hasDirective := bytes.Contains(src, []byte(directivePrefix))
	if !hasLoad && !hasDirective {
		return s
	}
	mode := syntax.Mode(0)
	if hasDirective {
		mode = syntax.RetainComments
	}
	f, err := dialect().Parse(path, src, mode)
	if err != nil {
		return s
	}
	if hasDirective {
		s.readDirectives(f)
	}
	if hasLoad {
		s.unusedLoads = unusedLoads(path, f)
	}
	return s
}

// readDirectives collects the "# starflow: disable…" comments of f.
func (s *source) readDirectives(f *syntax.File) {
	syntax.Walk(f, func(n syntax.Node) bool {
		if n == nil {
			return true
		}
		cs := n.Comments()
		if cs == nil {
			return true
		}
		for _, group := range [][]syntax.Comment{cs.Before, cs.Suffix, cs.After} {
			for _, c := range group {
				s.readDirective(c)
			}
		}
		return true
	})
}

// readDirective records one comment if it is a directive:
// "# starflow: disable=a,b" or "# starflow: disable-file=a,b".
func (s *source) readDirective(c syntax.Comment) {
	text := strings.TrimSpace(strings.TrimPrefix(c.Text, "#"))
	rest, ok := strings.CutPrefix(text, directivePrefix)
	if !ok {
		return
	}
	key, value, ok := strings.Cut(strings.TrimSpace(rest), "=")
	if !ok {
		return
	}
	var ids []string
	for id := range strings.SplitSeq(value, ",") {
		// Allow a trailing explanation: "disable=a  reason".
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, strings.Fields(id)[0])
		}
	}
	switch strings.TrimSpace(key) {
	case "disable":
		if s.lineOff == nil {
			s.lineOff = map[int][]string{}
		}
		line := int(c.Start.Line)
		s.lineOff[line] = append(s.lineOff[line], ids...)
	case "disable-file":
		s.fileOff = append(s.fileOff, ids...)
	}
}

// unusedLoads resolves the names of f and reports each symbol bound by a
// load() statement that no identifier refers to. Names the resolver does not
// know are taken as predeclared, as the linter does not know the loader's
// builtins; resolution errors are the loader's to report.
func unusedLoads(path string, f *syntax.File) []Finding {
	var loads []*syntax.LoadStmt
	for _, st := range f.Stmts {
		if l, ok := st.(*syntax.LoadStmt); ok {
			loads = append(loads, l)
		}
	}
	if len(loads) == 0 {
		return nil
	}
	known := func(string) bool { return true }
	universal := func(string) bool { return false }
	_ = resolve.File(f, known, universal)

	// A variable is known by the identifier that first binds it: a use in
	// a nested function gets a binding of its own (a free variable) that
	// still names the same First.
	used := map[*syntax.Ident]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.LoadStmt:
			return false // its identifiers bind names, they do not use them
		case *syntax.Ident:
			if b, ok := n.Binding.(*resolve.Binding); ok && b.First != nil {
				used[b.First] = true
			}
		}
		return true
	})

	var out []Finding
	for _, l := range loads {
		module, _ := l.Module.Value.(string)
		for i, to := range l.To {
			if used[to] {
				continue
			}
			name := fmt.Sprintf("%q", to.Name)
			if from := l.From[i].Name; from != to.Name {
				name = fmt.Sprintf("%q (%s)", to.Name, from)
			}
			out = append(out, Finding{
				Pos:      dags.Pos{File: path, Line: int(to.NamePos.Line), Col: int(to.NamePos.Col)},
				Rule:     RuleUnusedLoad,
				Severity: SeverityWarning,
				Message:  fmt.Sprintf("%s is loaded from %q but never used: remove it from the load statement", name, module),
			})
		}
	}
	return out
}
