package pylib

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/builtins"
)

// builtinFn is the signature of a Starlark builtin's Go function.
type builtinFn = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// safe wraps a builtin so that a Go panic is a Starlark error.
func safe(name string, fn builtinFn) *starlark.Builtin { return builtins.Safe(name, fn) }

// maxPowBits bounds the size of pow's integer results (about 300,000
// decimal digits), so one call cannot take the process's memory.
const maxPowBits = 1 << 20

// sum implements sum(iterable, start=0): the numbers of iterable added to
// start. Strings are refused, as in Python.
func sum(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		iterable starlark.Iterable
		start    starlark.Value = starlark.MakeInt(0)
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "iterable", &iterable, "start?", &start); err != nil {
		return nil, err
	}
	if _, ok := start.(starlark.String); ok {
		return nil, fmt.Errorf("sum: can't sum strings [use ''.join(seq) instead]")
	}
	it := iterable.Iterate()
	defer it.Done()
	acc := start
	var x starlark.Value
	for it.Next(&x) {
		if _, ok := x.(starlark.String); ok {
			return nil, fmt.Errorf("sum: unsupported operand type(s) for +: '%s' and 'string' (use \"\".join(seq) to join strings)", acc.Type())
		}
		v, err := starlark.Binary(syntax.PLUS, acc, x)
		if err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
		acc = v
	}
	return acc, nil
}

// round implements round(number, ndigits=None) as Python: halves round to
// even; without ndigits the result is an int, with ndigits a float for a
// float and an int for an int.
func round(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		x       starlark.Value
		ndigits starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "number", &x, "ndigits?", &ndigits); err != nil {
		return nil, err
	}
	n := 0
	if ndigits != starlark.None {
		if err := starlark.AsInt(ndigits, &n); err != nil {
			return nil, fmt.Errorf("round: ndigits must be an int, not %s", ndigits.Type())
		}
	}
	switch x := x.(type) {
	case starlark.Int:
		if n >= 0 {
			return x, nil
		}
		return roundInt(x, -n), nil
	case starlark.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			if ndigits != starlark.None {
				return x, nil
			}
			return nil, fmt.Errorf("round: cannot convert float %s to integer", x)
		}
		if ndigits == starlark.None {
			r := math.RoundToEven(f)
			if math.Abs(r) < 1<<62 {
				return starlark.MakeInt64(int64(r)), nil
			}
			b, _ := new(big.Float).SetFloat64(r).Int(nil)
			return starlark.MakeBigInt(b), nil
		}
		return starlark.Float(roundFloat(f, n)), nil
	}
	return nil, fmt.Errorf("round: type %s doesn't define __round__ method", x.Type())
}

// roundFloat rounds f to n decimal digits (n may be negative), correctly
// rounded from f's exact value with halves to even, as Python does.
func roundFloat(f float64, n int) float64 {
	if n > 300 {
		return f
	}
	if n >= 0 {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', n, 64), 64)
		return r
	}
	if n < -308 {
		return math.Copysign(0, f)
	}
	p := math.Pow(10, float64(-n))
	return math.RoundToEven(f/p) * p
}

// roundInt rounds x to a multiple of 10**k, halves to even.
func roundInt(x starlark.Int, k int) starlark.Int {
	if k > 400 {
		return starlark.MakeInt(0)
	}
	b := x.BigInt()
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
	q, r := new(big.Int).DivMod(b, p, new(big.Int)) // r >= 0
	twice := new(big.Int).Lsh(r, 1)
	if c := twice.Cmp(p); c > 0 || c == 0 && q.Bit(0) == 1 {
		q.Add(q, big.NewInt(1))
	}
	return starlark.MakeBigInt(q.Mul(q, p))
}

// divmod implements divmod(a, b): (a // b, a % b).
func divmod(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a, b starlark.Value
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 2, &a, &b); err != nil {
		return nil, err
	}
	q, err := starlark.Binary(syntax.SLASHSLASH, a, b)
	if err != nil {
		return nil, fmt.Errorf("divmod: %w", err)
	}
	r, err := starlark.Binary(syntax.PERCENT, a, b)
	if err != nil {
		return nil, fmt.Errorf("divmod: %w", err)
	}
	return starlark.Tuple{q, r}, nil
}

// pow implements pow(base, exp, mod=None) as Python (Starlark has no **
// operator): an int to a non-negative int power is an int, to a negative
// one a float; with mod, the modular power of ints.
func pow(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		base, exp starlark.Value
		mod       starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "base", &base, "exp", &exp, "mod?", &mod); err != nil {
		return nil, err
	}
	bi, bInt := base.(starlark.Int)
	ei, eInt := exp.(starlark.Int)
	if mod != starlark.None {
		mi, ok := mod.(starlark.Int)
		if !bInt || !eInt || !ok {
			return nil, fmt.Errorf("pow: 3rd argument not allowed unless all arguments are integers")
		}
		m := mi.BigInt()
		if m.Sign() == 0 {
			return nil, fmt.Errorf("pow: 3rd argument cannot be 0")
		}
		if ei.Sign() < 0 {
			return nil, fmt.Errorf("pow: negative exponents with a modulus are not supported")
		}
		r := new(big.Int).Exp(bi.BigInt(), ei.BigInt(), new(big.Int).Abs(m))
		if m.Sign() < 0 && r.Sign() > 0 {
			r.Add(r, m)
		}
		return starlark.MakeBigInt(r), nil
	}
	if bInt && eInt && ei.Sign() >= 0 {
		b := bi.BigInt()
		e, ok := ei.Int64()
		bits := int64(b.BitLen())
		if bits > 1 && (!ok || e > maxPowBits || bits*e > maxPowBits) {
			return nil, fmt.Errorf("pow: result too large (more than %d bits)", maxPowBits)
		}
		if !ok { // base is 0, 1 or -1
			e = 2 + int64(ei.BigInt().Bit(0))
		}
		return starlark.MakeBigInt(new(big.Int).Exp(b, big.NewInt(e), nil)), nil
	}
	bf, ok1 := starlark.AsFloat(base)
	ef, ok2 := starlark.AsFloat(exp)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pow: unsupported operand type(s): '%s' and '%s'", base.Type(), exp.Type())
	}
	if bf == 0 && ef < 0 {
		return nil, fmt.Errorf("pow: ZeroDivisionError: 0.0 cannot be raised to a negative power")
	}
	r := math.Pow(bf, ef)
	if math.IsNaN(r) && !math.IsNaN(bf) && !math.IsNaN(ef) {
		return nil, fmt.Errorf("pow: a negative number to a fractional power is a complex number, which Starlark does not have")
	}
	return starlark.Float(r), nil
}

// callable implements callable(x).
func callable(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &x); err != nil {
		return nil, err
	}
	_, ok := x.(starlark.Callable)
	return starlark.Bool(ok), nil
}

// mapFn implements map(function, iterable, ...): a list (Python returns an
// iterator; a list iterates the same way).
func mapFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("map: takes no keyword arguments")
	}
	if len(args) < 2 {
		return nil, fmt.Errorf("map: want a function and at least one iterable, got %d arguments", len(args))
	}
	f, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("map: %s is not callable", args[0].Type())
	}
	its := make([]starlark.Iterator, 0, len(args)-1)
	defer func() {
		for _, it := range its {
			it.Done()
		}
	}()
	for _, a := range args[1:] {
		iterable, ok := a.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("map: %s is not iterable", a.Type())
		}
		its = append(its, iterable.Iterate())
	}
	var out []starlark.Value
	for {
		call := make(starlark.Tuple, len(its))
		for i, it := range its {
			if !it.Next(&call[i]) {
				return starlark.NewList(out), nil
			}
		}
		v, err := starlark.Call(thread, f, call, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// filterFn implements filter(function, iterable) as a list; a None
// function keeps the true items.
func filterFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		f        starlark.Value
		iterable starlark.Iterable
	)
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 2, &f, &iterable); err != nil {
		return nil, err
	}
	call, isFn := f.(starlark.Callable)
	if !isFn && f != starlark.None {
		return nil, fmt.Errorf("filter: %s is not callable", f.Type())
	}
	it := iterable.Iterate()
	defer it.Done()
	var out []starlark.Value
	var x starlark.Value
	for it.Next(&x) {
		keep := x.Truth()
		if isFn {
			v, err := starlark.Call(thread, call, starlark.Tuple{x}, nil)
			if err != nil {
				return nil, err
			}
			keep = v.Truth()
		}
		if keep {
			out = append(out, x)
		}
	}
	return starlark.NewList(out), nil
}

// typeNames maps the builtins that name a type (str, int, ...) to the
// Starlark types they stand for in isinstance.
var typeNames = map[string][]string{
	"str":   {"string"},
	"int":   {"int", "bool"}, // bool is a subclass of int in Python
	"float": {"float"},
	"bool":  {"bool"},
	"list":  {"list"},
	"dict":  {"dict"},
	"tuple": {"tuple"},
	"set":   {"set"},
	"bytes": {"bytes"},
}

// isinstance implements isinstance(object, classinfo): classinfo is one
// of the builtins str, int, float, bool, list, dict, tuple, set and bytes,
// a class of the datetime module, or a tuple of those.
func isinstance(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, classinfo starlark.Value
	if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 2, &x, &classinfo); err != nil {
		return nil, err
	}
	ok, err := instanceOf(x, classinfo, 0)
	if err != nil {
		return nil, err
	}
	return starlark.Bool(ok), nil
}

func instanceOf(x, classinfo starlark.Value, depth int) (bool, error) {
	switch c := classinfo.(type) {
	case *starlark.Builtin:
		types, ok := typeNames[c.Name()]
		if !ok || c.Receiver() != nil {
			break
		}
		for _, t := range types {
			if x.Type() == t {
				return true, nil
			}
		}
		return false, nil
	case *class:
		return c.isInstance(x), nil
	case starlark.Tuple:
		if depth > 8 {
			break
		}
		for _, e := range c {
			ok, err := instanceOf(x, e, depth+1)
			if ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("isinstance: arg 2 must be a type or a tuple of types (str, int, float, bool, list, dict, tuple, set, bytes, datetime.datetime, datetime.date, datetime.timedelta), not %s", classinfo.String())
}
