package loader

import "go.starlark.net/syntax"

// Names of the size-checked operators the rewriter calls. A '$' cannot
// appear in a Starlark identifier, so they never clash with user names.
const (
	opAdd  = "$add"
	opMul  = "$mul"
	opIAdd = "$iadd"
	opMod  = "$mod"
)

// rewriteFile replaces, in place, every binary + and * that could build a
// large string or list (x + y, x * y, x += y, x *= y) with a call to a
// size-checked builtin. A single step of Starlark can otherwise allocate
// up to a gigabyte ("x" * 1000000000), which no step limit catches.
// Operations on numeric literals (i + 1, 2 * 3) are left alone.
func rewriteFile(f *syntax.File) {
	f.Stmts = rewriteStmts(f.Stmts)
}

func rewriteStmts(stmts []syntax.Stmt) []syntax.Stmt {
	for i, s := range stmts {
		stmts[i] = rewriteStmt(s)
	}
	return stmts
}

func rewriteStmt(s syntax.Stmt) syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		switch s.Op {
		case syntax.PLUS_EQ, syntax.STAR_EQ, syntax.PERCENT_EQ:
			if read, ok := copyTarget(s.LHS); ok && !(s.Op == syntax.PLUS_EQ && isNumber(s.RHS)) {
				op := opIAdd
				switch s.Op {
				case syntax.STAR_EQ:
					op = opMul
				case syntax.PERCENT_EQ:
					op = opMod
				}
				s.LHS = rewriteTarget(s.LHS)
				s.RHS = checkedCall(op, s.OpPos, rewriteTarget(read), rewriteExpr(s.RHS))
				s.Op = syntax.EQ
				return s
			}
		}
		s.LHS = rewriteTarget(s.LHS)
		s.RHS = rewriteExpr(s.RHS)
	case *syntax.DefStmt:
		rewriteParams(s.Params)
		s.Body = rewriteStmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rewriteExpr(s.X)
	case *syntax.IfStmt:
		s.Cond = rewriteExpr(s.Cond)
		s.True = rewriteStmts(s.True)
		s.False = rewriteStmts(s.False)
	case *syntax.ForStmt:
		s.Vars = rewriteTarget(s.Vars)
		s.X = rewriteExpr(s.X)
		s.Body = rewriteStmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rewriteExpr(s.Cond)
		s.Body = rewriteStmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rewriteExpr(s.Result)
		}
	}
	return s
}

// rewriteTarget rewrites the expressions inside an assignment target
// (indexes, receivers), not the target itself.
func rewriteTarget(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.IndexExpr:
		e.X = rewriteExpr(e.X)
		e.Y = rewriteExpr(e.Y)
	case *syntax.DotExpr:
		e.X = rewriteExpr(e.X)
	case *syntax.ParenExpr:
		e.X = rewriteTarget(e.X)
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rewriteTarget(x)
		}
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rewriteTarget(x)
		}
	}
	return e
}

// copyTarget returns a second copy of an augmented-assignment target
// to read its old value, when evaluating it twice has no side effects:
// a name, or an index or attribute of names and literals.
func copyTarget(e syntax.Expr) (syntax.Expr, bool) {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}, true
	case *syntax.IndexExpr:
		x, ok1 := copySimple(e.X)
		y, ok2 := copySimple(e.Y)
		if ok1 && ok2 {
			return &syntax.IndexExpr{X: x, Lbrack: e.Lbrack, Y: y, Rbrack: e.Rbrack}, true
		}
	case *syntax.DotExpr:
		if x, ok := copySimple(e.X); ok {
			name := &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}
			return &syntax.DotExpr{X: x, Dot: e.Dot, NamePos: e.NamePos, Name: name}, true
		}
	}
	return nil, false
}

func copySimple(e syntax.Expr) (syntax.Expr, bool) {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}, true
	case *syntax.Literal:
		c := *e
		return &c, true
	}
	return nil, false
}

func rewriteParams(params []syntax.Expr) {
	for _, p := range params {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rewriteExpr(b.Y) // default value
		}
	}
}

func rewriteExprs(xs []syntax.Expr) {
	for i, x := range xs {
		xs[i] = rewriteExpr(x)
	}
}

func rewriteExpr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		e.X = rewriteExpr(e.X)
		e.Y = rewriteExpr(e.Y)
		switch e.Op {
		case syntax.PLUS:
			if isNumber(e.X) || isNumber(e.Y) || isString(e.X) && isString(e.Y) {
				return e
			}
			return checkedCall(opAdd, e.OpPos, e.X, e.Y)
		case syntax.STAR:
			if isNumber(e.X) && isNumber(e.Y) {
				return e
			}
			return checkedCall(opMul, e.OpPos, e.X, e.Y)
		case syntax.PERCENT:
			if isNumber(e.X) {
				return e
			}
			return checkedCall(opMod, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = rewriteExpr(e.Fn)
		for i, a := range e.Args {
			switch a := a.(type) {
			case *syntax.BinaryExpr:
				if a.Op == syntax.EQ { // name=value
					a.Y = rewriteExpr(a.Y)
					continue
				}
			case *syntax.UnaryExpr:
				if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
					a.X = rewriteExpr(a.X)
					continue
				}
			}
			e.Args[i] = rewriteExpr(a)
		}
		rewriteMethodCall(e)
	case *syntax.Comprehension:
		e.Body = rewriteExpr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = rewriteTarget(c.Vars)
				c.X = rewriteExpr(c.X)
			case *syntax.IfClause:
				c.Cond = rewriteExpr(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond = rewriteExpr(e.Cond)
		e.True = rewriteExpr(e.True)
		e.False = rewriteExpr(e.False)
	case *syntax.DictExpr:
		for _, x := range e.List {
			if de, ok := x.(*syntax.DictEntry); ok {
				de.Key = rewriteExpr(de.Key)
				de.Value = rewriteExpr(de.Value)
			}
		}
	case *syntax.DotExpr:
		e.X = rewriteExpr(e.X)
	case *syntax.IndexExpr:
		e.X = rewriteExpr(e.X)
		e.Y = rewriteExpr(e.Y)
	case *syntax.SliceExpr:
		e.X = rewriteExpr(e.X)
		if e.Lo != nil {
			e.Lo = rewriteExpr(e.Lo)
		}
		if e.Hi != nil {
			e.Hi = rewriteExpr(e.Hi)
		}
		if e.Step != nil {
			e.Step = rewriteExpr(e.Step)
		}
	case *syntax.LambdaExpr:
		rewriteParams(e.Params)
		e.Body = rewriteExpr(e.Body)
	case *syntax.ListExpr:
		rewriteExprs(e.List)
	case *syntax.TupleExpr:
		rewriteExprs(e.List)
	case *syntax.ParenExpr:
		e.X = rewriteExpr(e.X)
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = rewriteExpr(e.X)
		}
	}
	return e
}

// checkedCall returns the call op(x, y) placed at pos, so that errors are
// reported where the operator was.
func checkedCall(op string, pos syntax.Position, x, y syntax.Expr) syntax.Expr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: op},
		Lparen: pos,
		Args:   []syntax.Expr{x, y},
		Rparen: syntax.End(y),
	}
}

func isNumber(e syntax.Expr) bool {
	lit, ok := e.(*syntax.Literal)
	return ok && (lit.Token == syntax.INT || lit.Token == syntax.FLOAT)
}

func isString(e syntax.Expr) bool {
	lit, ok := e.(*syntax.Literal)
	return ok && lit.Token == syntax.STRING
}
