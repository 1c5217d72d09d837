package templates

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// The template engine evaluates +, -, %, comparisons and the other binary
// operators itself, with Go semantics on numbers only: a datetime minus a
// timedelta is 0, '%s-%s' % (a, b) panics (an integer division by zero)
// and 'x=%d' % 7 renders 0. Starflow therefore rewrites every such
// operator of a parsed template into a call of opFuncName, which gives
// Python's meaning to datetimes, timedeltas, string formatting and
// division, and hands every other case back to the engine unchanged.

// opFuncName is the context name of the operator function. Jinja names
// cannot start with "$", but they can with "__"; a template that defines
// this name itself only breaks its own operators.
const opFuncName = "__starflow_binop__"

// rewrittenOps are the operators given to opFunc. "and", "or" and "in"
// keep the engine's meaning (and and or must not evaluate both sides).
var rewrittenOps = map[tokens.Type]bool{
	tokens.Addition: true, tokens.Subtraction: true, tokens.Multiply: true,
	tokens.Division: true, tokens.FloorDivision: true, tokens.Modulo: true,
	tokens.LowerThan: true, tokens.LowerThanOrEqual: true, tokens.GreaterThan: true,
	tokens.GreaterThanOrEqual: true, tokens.Equals: true, tokens.Ne: true,
}

// rewriteOperators finds every binary expression reachable from root and
// turns `x OP y` into `true and __starflow_binop__(OP, x, y, spread)` in
// place, which the engine evaluates to the call's value. spread is true
// when y is a tuple literal, the one case in which Python's % takes its
// right side as several arguments.
//
// The tree holds control structures of the engine's own types with
// unexported fields, so it is walked by reflection; only pointers are
// read from unexported fields, and the nodes changed are the engine's
// exported *nodes.BinaryExpression.
func rewriteOperators(root reflect.Value) {
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() && !rewriteNone(v) {
				walk(v.Elem())
			}
		case reflect.Pointer:
			if v.IsNil() {
				return
			}
			p := uintptr(v.UnsafePointer())
			if seen[p] {
				return
			}
			seen[p] = true
			if v.Type() == reflect.TypeFor[*nodes.BinaryExpression]() {
				b := (*nodes.BinaryExpression)(v.UnsafePointer())
				walk(reflect.ValueOf(b.Left))
				walk(reflect.ValueOf(b.Right))
				rewriteBinary(b)
				return
			}
			if !gonjaType(v.Type().Elem()) {
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			if !gonjaType(v.Type()) {
				return
			}
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				e := it.Value()
				if n := noneNode(e); n != nil && v.CanAddr() && it.Key().Kind() == reflect.String {
					// Keys and maps reached through unexported fields are
					// read-only to reflect: write through fresh values.
					w := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
					key := reflect.ValueOf(it.Key().String()).Convert(it.Key().Type())
					w.SetMapIndex(key, reflect.ValueOf(noneNameNode(n)))
					continue
				}
				walk(e)
			}
		}
	}
	walk(root)
}

// gonjaType reports whether t is one of the template engine's types (its
// nodes and control structures), the only structs worth walking.
func gonjaType(t reflect.Type) bool {
	return strings.HasPrefix(t.PkgPath(), "github.com/nikolalohinski/gonja/")
}

// rewriteBinary turns b into `true and __starflow_binop__(op, x, y, spread)`.
func rewriteBinary(b *nodes.BinaryExpression) {
	op := b.Operator.Token
	if !rewrittenOps[op.Type] {
		return
	}
	_, spread := b.Right.(*nodes.Tuple)
	at := func(typ tokens.Type, val string) *tokens.Token {
		return &tokens.Token{Type: typ, Val: val, Pos: op.Pos, Line: op.Line, Col: op.Col}
	}
	call := &nodes.Call{
		Location: at(tokens.LeftParenthesis, "("),
		Func:     &nodes.Name{Name: at(tokens.Name, opFuncName)},
		Args: []nodes.Expression{
			&nodes.String{Location: at(tokens.String, op.Val), Val: op.Val},
			b.Left,
			b.Right,
			&nodes.Bool{Location: at(tokens.Name, fmt.Sprint(spread)), Val: spread},
		},
		Kwargs: map[string]nodes.Expression{},
	}
	b.Left = &nodes.Bool{Location: at(tokens.Name, "true"), Val: true}
	b.Right = call
	b.Operator = &nodes.BinOperator{Token: at(tokens.And, "and")}
}

// opFunc implements the rewritten operators: datetime and timedelta
// arithmetic and comparison, Python's % formatting of strings, and /,
// // and % on numbers with Python's signs and a ZeroDivisionError instead
// of a crash. Every other case is evaluated by the engine as before.
func opFunc(e *exec.Evaluator, va *exec.VarArgs) (any, error) {
	if len(va.Args) != 4 {
		return nil, fmt.Errorf("operator: internal error: %d arguments", len(va.Args))
	}
	op, l, r, spread := va.Args[0].String(), va.Args[1], va.Args[2], va.Args[3].Bool()
	if (op == "==" || op == "!=") && (isNone(l) || isNone(r)) {
		// None equals only None (the engine's nil and Starflow's None
		// are both None).
		return (isNone(l) && isNone(r)) == (op == "=="), nil
	}
	if v, ok, err := timeOp(op, l, r); ok || err != nil {
		return v, err
	}
	if op == "%" && l.IsString() {
		return pyFormat(l.String(), r, spread)
	}
	if v, ok, err := numberOp(op, l, r); ok || err != nil {
		return v, err
	}
	return engineOp(e, op, l, r)
}

// engineOp evaluates `l op r` with the engine's own rules.
func engineOp(e *exec.Evaluator, op string, l, r *exec.Value) (any, error) {
	tok := &tokens.Token{Val: op, Type: opTokens[op]}
	expr := &nodes.BinaryExpression{
		Left:     &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "l"}},
		Right:    &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: "r"}},
		Operator: &nodes.BinOperator{Token: tok},
	}
	sub := &exec.Evaluator{Config: e.Config, Loader: e.Loader, Environment: &exec.Environment{
		Context:           exec.NewContext(map[string]any{"l": l, "r": r}),
		Filters:           e.Environment.Filters,
		Tests:             e.Environment.Tests,
		ControlStructures: e.Environment.ControlStructures,
		Methods:           e.Environment.Methods,
	}}
	v := sub.Eval(expr)
	if v.IsError() {
		return nil, errors.New(v.Error())
	}
	return v.Interface(), nil
}

// opTokens maps the rewritten operators back to their token types.
var opTokens = func() map[string]tokens.Type {
	m := map[string]tokens.Type{}
	for _, p := range []struct {
		val string
		typ tokens.Type
	}{
		{"+", tokens.Addition}, {"-", tokens.Subtraction}, {"*", tokens.Multiply},
		{"/", tokens.Division}, {"//", tokens.FloorDivision}, {"%", tokens.Modulo},
		{"<", tokens.LowerThan}, {"<=", tokens.LowerThanOrEqual}, {">", tokens.GreaterThan},
		{">=", tokens.GreaterThanOrEqual}, {"==", tokens.Equals}, {"!=", tokens.Ne},
	} {
		m[p.val] = p.typ
	}
	return m
}()

// numberOp implements /, // and % on numbers as Python does: division by
// zero is an error, // and % round toward negative infinity, and int //
// int and int % int stay ints.
func numberOp(op string, l, r *exec.Value) (any, bool, error) {
	if op != "/" && op != "//" && op != "%" {
		return nil, false, nil
	}
	if !isNumber(l) || !isNumber(r) {
		return nil, false, nil
	}
	if r.Float() == 0 {
		if op == "/" {
			return nil, true, fmt.Errorf("ZeroDivisionError: division by zero")
		}
		return nil, true, fmt.Errorf("ZeroDivisionError: integer division or modulo by zero")
	}
	if op == "/" {
		return l.Float() / r.Float(), true, nil
	}
	if l.IsInteger() && r.IsInteger() {
		a, b := l.Integer(), r.Integer()
		q, m := a/b, a%b
		if m != 0 && (m < 0) != (b < 0) {
			q, m = q-1, m+b
		}
		if op == "//" {
			return q, true, nil
		}
		return m, true, nil
	}
	a, b := l.Float(), r.Float()
	q := math.Floor(a / b)
	if op == "//" {
		return q, true, nil
	}
	return a - q*b, true, nil
}

// isNumber reports whether v is an int or a float (not a bool or None).
func isNumber(v *exec.Value) bool {
	if isNone(v) || v.IsBool() {
		return false
	}
	return v.IsInteger() || v.IsFloat()
}

// timeOp implements arithmetic and comparison of datetimes and
// timedeltas: datetime ± timedelta, datetime - datetime, timedelta ±
// timedelta, timedelta * number, and the six comparisons between two
// datetimes or two timedeltas. ok is false when neither side is one.
func timeOp(op string, l, r *exec.Value) (any, bool, error) {
	lt, lIsTime := l.Interface().(dateTime)
	rt, rIsTime := r.Interface().(dateTime)
	ld, lIsDelta := l.Interface().(timeDelta)
	rd, rIsDelta := r.Interface().(timeDelta)
	if !lIsTime && !rIsTime && !lIsDelta && !rIsDelta {
		return nil, false, nil
	}
	switch {
	case lIsTime && rIsTime:
		if op == "-" {
			return timeDelta{lt.t.Sub(rt.t)}, true, nil
		}
		if c, ok := compare(op, lt.t.Compare(rt.t)); ok {
			return c, true, nil
		}
	case lIsTime && rIsDelta:
		switch op {
		case "+":
			return dateTime{lt.t.Add(rd.d)}, true, nil
		case "-":
			return dateTime{lt.t.Add(-rd.d)}, true, nil
		}
	case lIsDelta && rIsTime:
		if op == "+" {
			return dateTime{rt.t.Add(ld.d)}, true, nil
		}
	case lIsDelta && rIsDelta:
		switch op {
		case "+":
			return timeDelta{ld.d + rd.d}, true, nil
		case "-":
			return timeDelta{ld.d - rd.d}, true, nil
		case "/":
			if rd.d == 0 {
				return nil, true, fmt.Errorf("ZeroDivisionError: division by zero")
			}
			return float64(ld.d) / float64(rd.d), true, nil
		}
		var c int
		switch {
		case ld.d < rd.d:
			c = -1
		case ld.d > rd.d:
			c = 1
		}
		if v, ok := compare(op, c); ok {
			return v, true, nil
		}
	case lIsDelta && isNumber(r) && op == "*":
		return timeDelta{time.Duration(float64(ld.d) * r.Float())}, true, nil
	case rIsDelta && isNumber(l) && op == "*":
		return timeDelta{time.Duration(float64(rd.d) * l.Float())}, true, nil
	case lIsDelta && isNumber(r) && (op == "/" || op == "//"):
		if r.Float() == 0 {
			return nil, true, fmt.Errorf("ZeroDivisionError: division by zero")
		}
		return timeDelta{time.Duration(float64(ld.d) / r.Float())}, true, nil
	}
	switch op {
	case "==":
		return false, true, nil
	case "!=":
		return true, true, nil
	}
	return nil, true, fmt.Errorf("TypeError: unsupported operand type(s) for %s: '%s' and '%s'", op, pyTypeName(l), pyTypeName(r))
}

// compare turns a three-way comparison into the result of op.
func compare(op string, c int) (bool, bool) {
	switch op {
	case "<":
		return c < 0, true
	case "<=":
		return c <= 0, true
	case ">":
		return c > 0, true
	case ">=":
		return c >= 0, true
	case "==":
		return c == 0, true
	case "!=":
		return c != 0, true
	}
	return false, false
}

// pyTypeName names a template value's type as Python would.
func pyTypeName(v *exec.Value) string {
	switch v.Interface().(type) {
	case dateTime:
		return "DateTime"
	case timeDelta:
		return "timedelta"
	}
	switch {
	case isNone(v):
		return "NoneType"
	case v.IsBool():
		return "bool"
	case v.IsInteger():
		return "int"
	case v.IsFloat():
		return "float"
	case v.IsString():
		return "str"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "dict"
	}
	return "object"
}
