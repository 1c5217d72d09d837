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
	// lineOff maps a line to the rules disabled on it by comments.
	lineOff map[int][]string
	// fileOff lists the rules disabled in the whole file.
	fileOff []string
	// unusedLoads are the findings of the unused-load rule.
	unusedLoads []Finding
}

func (s source) hasDirectives() bool { return len(s.lineOff) > 0 || len(s.fileOff) > 0 }

// suppressed reports whether a comment turns rule off at line.
func (s source) suppressed(rule string, line int) bool {
	return slices.Contains(s.fileOff, rule) || slices.Contains(s.lineOff[line], rule)
}

// scanSource reads what the linter needs from a file's text: the
// suppression comments, if the text mentions "starflow:", and the unused
// loads, if a line starts with "load". Most DAG files cost two substring searches.
// Only the unused-load rule parses, and not at all when tree (the loader's
// parse of the same text) is given. A file that does not parse yields no
// unused loads: the loader reports its syntax error.
func scanSource(path string, src []byte, tree *syntax.File) source {
	var s source
	if bytes.Contains(src, []byte(directivePrefix)) {
		for _, c := range comments(src) {
			s.readDirective(c)
		}
	}
	if tree == nil && mayLoad(src) {
		if f, err := dialect().Parse(path, src, 0); err == nil {
			tree = f
		}
	}
	if tree != nil {
		s.unusedLoads = unusedLoads(path, tree)
	}
	return s
}

// mayLoad reports whether src may hold a load statement: "load" first on
// a line or after a ";" (blanks aside). A file merely mentioning "load"
// (a task named "loads", a string) is not parsed a second time.
func mayLoad(src []byte) bool {
	for i := 0; ; {
		j := bytes.Index(src[i:], []byte("load"))
		if j < 0 {
			return false
		}
		k := i + j - 1
		for k >= 0 && (src[k] == ' ' || src[k] == '\t') {
			k--
		}
		if k < 0 || src[k] == '\n' || src[k] == '\r' || src[k] == ';' {
			return true
		}
		i += j + len("load")
	}
}

// comment is one "#" comment of a source text.
type comment struct {
	text  string // from the '#' to the end of the line
	line  int
	alone bool // nothing but blanks before it on its line
}

// comments returns the comments of a Starlark text, skipping string
// literals (single, double and triple quoted) so that a "#" inside one is
// not taken for a comment. It never fails: an unterminated string ends at
// the end of its line (or of the text, if triple quoted).
func comments(src []byte) []comment {
	var out []comment
	line, lineStart := 1, 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '\n':
			line++
			lineStart = i + 1
		case '#':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			out = append(out, comment{
				text:  string(bytes.TrimRight(src[i:i+end], "\r")),
				line:  line,
				alone: len(bytes.TrimLeft(src[lineStart:i], " \t\f")) == 0,
			})
			i += end - 1
		case '\'', '"':
			triple := i+2 < len(src) && src[i+1] == c && src[i+2] == c
			if triple {
				i += 2
			}
			for i++; i < len(src); i++ {
				if src[i] == '\\' && i+1 < len(src) {
					if i++; src[i] == '\n' {
						line, lineStart = line+1, i+1
					}
					continue
				}
				if src[i] == '\n' {
					line, lineStart = line+1, i+1
					if !triple {
						break
					}
					continue
				}
				if src[i] == c && (!triple || i+2 < len(src) && src[i+1] == c && src[i+2] == c) {
					if triple {
						i += 2
					}
					break
				}
			}
		}
	}
	return out
}

// readDirective records a comment if it is a directive: "# starflow:
// disable=a,b" covers its own line and, when it stands alone on its line,
// the next one; "# starflow: disable-file=a,b" covers the whole file.
func (s *source) readDirective(c comment) {
	text := strings.TrimSpace(strings.TrimPrefix(c.text, "#"))
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
		if fields := strings.Fields(id); len(fields) > 0 {
			ids = append(ids, fields[0])
		}
	}
	switch strings.TrimSpace(key) {
	case "disable":
		if s.lineOff == nil {
			s.lineOff = map[int][]string{}
		}
		s.lineOff[c.line] = append(s.lineOff[c.line], ids...)
		if c.alone {
			s.lineOff[c.line+1] = append(s.lineOff[c.line+1], ids...)
		}
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
	if f.Module == nil { // not yet resolved
		known := func(string) bool { return true }
		universal := func(string) bool { return false }
		_ = resolve.File(f, known, universal)
	}

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
