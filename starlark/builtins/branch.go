package builtins

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// branchReturn is a string literal a branch function may return.
type branchReturn struct {
	id  string
	pos syntax.Position
}

// resolveBranches checks, for each branch task whose function returns
// string literals, that every literal names a direct downstream task or
// the group of one, relative to the branch's own group as Airflow
// resolves it. Each bad literal is a RuleBranchTarget finding at its
// return statement.
func (b *dagBuilder) resolveBranches() {
	for _, br := range b.branches {
		fn, ok := br.fn.(*starlark.Function)
		if !ok {
			continue
		}
		for _, r := range b.session.branchReturns(fn) {
			if branchTargetOK(br.task, r.id) {
				continue
			}
			msg := fmt.Sprintf("branch %q returns %q, which is not a direct downstream task of it or the group of one", br.task.ID, r.id)
			if len(br.task.Downstream) == 0 {
				msg += " (it has no downstream tasks)"
			} else if n := nearest(r.id, br.task.Downstream); n != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", n)
			} else {
				msg += fmt.Sprintf(" (direct downstream: %s)", strings.Join(br.task.Downstream, ", "))
			}
			b.findings = append(b.findings, dags.Finding{Pos: ToPos(r.pos), Rule: dags.RuleBranchTarget, Message: msg})
		}
	}
}

// branchTargetOK reports whether id, as returned by branch task t, names
// a direct downstream task or a group holding one.
func branchTargetOK(t *dags.Task, id string) bool {
	candidates := []string{id}
	if t.Group != "" {
		candidates = append(candidates, t.Group+"."+id)
	}
	for _, c := range candidates {
		for _, d := range t.Downstream {
			if d == c || strings.HasPrefix(d, c+".") {
				return true
			}
		}
	}
	return false
}

// funcKey identifies a function definition by its position.
type funcKey struct {
	file      string
	line, col int32
}

func keyOf(p syntax.Position) funcKey { return funcKey{p.Filename(), p.Line, p.Col} }

// branchReturns returns the string literals fn returns directly, found in
// its syntax tree; nil when the tree is unknown.
func (s *Session) branchReturns(fn *starlark.Function) []branchReturn {
	if s.defs == nil {
		s.indexFunctions()
	}
	k := keyOf(fn.Position())
	if def, ok := s.defs[k]; ok {
		var out []branchReturn
		walkOwnBody(def.Body, func(ret *syntax.ReturnStmt) {
			if ret.Result == nil {
				return
			}
			for _, id := range stringLiterals(ret.Result) {
				out = append(out, branchReturn{id: id, pos: ret.Return})
			}
		})
		return out
	}
	if lam, ok := s.lambdas[k]; ok {
		var out []branchReturn
		for _, id := range stringLiterals(lam.Body) {
			out = append(out, branchReturn{id: id, pos: lam.Lambda})
		}
		return out
	}
	return nil
}

// indexFunctions maps the position of every def and lambda in the
// recorded syntax trees to its node.
func (s *Session) indexFunctions() {
	s.defs = map[funcKey]*syntax.DefStmt{}
	s.lambdas = map[funcKey]*syntax.LambdaExpr{}
	for _, f := range s.syntax {
		syntax.Walk(f, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.DefStmt:
				s.defs[keyOf(n.Def)] = n
			case *syntax.LambdaExpr:
				s.lambdas[keyOf(n.Lambda)] = n
			}
			return true
		})
	}
}

// walkOwnBody calls f for every return statement of a function body,
// not descending into nested functions.
func walkOwnBody(body []syntax.Stmt, f func(*syntax.ReturnStmt)) {
	for _, stmt := range body {
		syntax.Walk(stmt, func(n syntax.Node) bool {
			switch n := n.(type) {
			case *syntax.DefStmt, *syntax.LambdaExpr:
				return false
			case *syntax.ReturnStmt:
				f(n)
			}
			return true
		})
	}
}

// stringLiterals returns the string literals an expression evaluates to
// directly: a literal, a list or tuple of literals, either arm of a
// conditional expression.
func stringLiterals(e syntax.Expr) []string {
	switch e := e.(type) {
	case *syntax.Literal:
		if s, ok := e.Value.(string); ok && e.Token == syntax.STRING {
			return []string{s}
		}
	case *syntax.ParenExpr:
		return stringLiterals(e.X)
	case *syntax.CondExpr:
		return append(stringLiterals(e.True), stringLiterals(e.False)...)
	case *syntax.ListExpr:
		var out []string
		for _, x := range e.List {
			if lit, ok := x.(*syntax.Literal); ok && lit.Token == syntax.STRING {
				out = append(out, lit.Value.(string))
			}
		}
		return out
	case *syntax.TupleExpr:
		var out []string
		for _, x := range e.List {
			if lit, ok := x.(*syntax.Literal); ok && lit.Token == syntax.STRING {
				out = append(out, lit.Value.(string))
			}
		}
		return out
	}
	return nil
}
