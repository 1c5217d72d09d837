package loader

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// methodOps maps the methods whose result can be far larger than their
// inputs to the size-checked builtins the rewriter calls instead:
// s.replace("x", s) on a 4 MiB string asks for 16 TiB in one step.
var methodOps = map[string]string{
	"replace": "$replace",
	"join":    "$join",
	"format":  "$format",
	"extend":  "$extend",
	// A split makes a list of up to one element per byte: 4 MiB of
	// commas, 4 Mi strings (about 130 MiB).
	"split":      "$split",
	"rsplit":     "$rsplit",
	"splitlines": "$splitlines",
}

// rewriteMethodCall turns x.m(args) into $m(x, args) when m is one of
// methodOps. The builtin checks the size of the result when x is a string
// (or a list, for extend) and calls x's own method otherwise, so a struct
// or module with a method of the same name behaves as before.
func rewriteMethodCall(e *syntax.CallExpr) {
	dot, ok := e.Fn.(*syntax.DotExpr)
	if !ok {
		return
	}
	op, ok := methodOps[dot.Name.Name]
	if !ok {
		return
	}
	e.Fn = &syntax.Ident{NamePos: dot.NamePos, Name: op}
	e.Args = append([]syntax.Expr{dot.X}, e.Args...)
}

// checkedMethod returns the builtin behind $name: args[0] is the receiver.
func checkedMethod(name string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		recv, rest := args[0], args[1:]
		m, err := attr(recv, name)
		if err != nil {
			return nil, err
		}
		if err := checkMethod(thread, name, recv, rest, kwargs); err != nil {
			return nil, err
		}
		// A builtin method runs without a frame of its own, as when the
		// interpreter calls it: builtins that record their caller's
		// position (thread.CallFrame(1)) still see the user's line.
		var v starlark.Value
		if b, ok := m.(*starlark.Builtin); ok {
			v, err = b.CallInternal(thread, rest, kwargs)
		} else {
			v, err = starlark.Call(thread, m, rest, kwargs)
		}
		if err != nil && name == "format" {
			if _, ok := recv.(starlark.String); ok {
				err = teachFormat(err)
			}
		}
		return v, err
	}
}

// teachFormat adds the Starlark way to the interpreter's error for a
// Python format spec ("{:.2f}".format(x)), which Starlark's format lacks.
func teachFormat(err error) error {
	if !strings.HasPrefix(err.Error(), "format spec features not supported") {
		return err
	}
	return fmt.Errorf("%w (Starlark's format has no format spec such as {:.2f} or {:>5}: write \"{}\".format(round(x, 2)) for two decimals)", err)
}

// teachPercent adds the Starlark way to the interpreter's error for a
// Python width, precision or flag in a % conversion ("%.2f" % x, "%5d"),
// which Starlark's % lacks.
func teachPercent(err error) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "unknown conversion %")
	if !ok || rest == "" || !strings.ContainsRune(".0123456789-+ #*", rune(rest[0])) {
		return err
	}
	return fmt.Errorf("%w (Starlark's %% has no width, precision or flags such as %%.2f or %%5d: write \"%%s\" %% round(x, 2) for two decimals)", err)
}

// attr is recv.name, with the interpreter's message when there is none.
func attr(recv starlark.Value, name string) (starlark.Value, error) {
	if h, ok := recv.(starlark.HasAttrs); ok {
		v, err := h.Attr(name)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%s has no .%s field or method", recv.Type(), name)
}

// checkMethod charges the result of recv.name(args) before it is built.
// Arguments it cannot read are left to the method, which reports them.
func checkMethod(thread *starlark.Thread, name string, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) error {
	b := budgetOf(thread)
	if b == nil {
		return nil
	}
	switch recv := recv.(type) {
	case starlark.String:
		switch name {
		case "replace":
			return checkReplace(thread, string(recv), args, kwargs)
		case "join":
			return checkJoin(thread, string(recv), args, kwargs)
		case "format":
			return checkFormat(thread, b, string(recv), args, kwargs)
		case "split", "rsplit":
			return checkSplit(thread, name, string(recv), args, kwargs)
		case "splitlines":
			return charge(thread, int64(strings.Count(string(recv), "\n")+strings.Count(string(recv), "\r"))+1, "list")
		}
	case *starlark.List:
		if name == "extend" && len(args) == 1 && len(kwargs) == 0 {
			if seq, ok := args[0].(starlark.Sequence); ok {
				return charge(thread, int64(recv.Len())+int64(seq.Len()), "list")
			}
		}
	}
	return nil
}

// checkSplit charges the list s.split(sep, maxsplit) builds: one element
// more than the separators found (or than the runs of spaces, with no
// separator), at most maxsplit + 1.
func checkSplit(thread *starlark.Thread, name, s string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var sep starlark.Value = starlark.None
	maxsplit := -1
	if starlark.UnpackArgs(name, args, kwargs, "sep?", &sep, "maxsplit?", &maxsplit) != nil {
		return nil
	}
	var n int64
	switch sep := sep.(type) {
	case starlark.String:
		if sep == "" {
			return nil // the method reports the empty separator
		}
		n = int64(strings.Count(s, string(sep))) + 1
	case starlark.NoneType:
		n = fieldsUpTo(s)
	default:
		return nil
	}
	if maxsplit >= 0 && int64(maxsplit)+1 < n {
		n = int64(maxsplit) + 1
	}
	return charge(thread, n, "list")
}

// fieldsUpTo returns how many whitespace-separated fields s has.
func fieldsUpTo(s string) int64 {
	var n int64
	in := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func checkReplace(thread *starlark.Thread, s string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var old, new string
	count := -1
	if starlark.UnpackPositionalArgs("replace", args, kwargs, 2, &old, &new, &count) != nil {
		return nil
	}
	if len(new) <= len(old) {
		return nil
	}
	n := int64(strings.Count(s, old))
	if count >= 0 && int64(count) < n {
		n = int64(count)
	}
	return charge(thread, int64(len(s))+n*int64(len(new)-len(old)), "string")
}

func checkJoin(thread *starlark.Thread, sep string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var iterable starlark.Iterable
	if starlark.UnpackPositionalArgs("join", args, kwargs, 1, &iterable) != nil {
		return nil
	}
	if _, ok := iterable.(starlark.Indexable); !ok {
		return nil // a metered or huge range: its elements are not strings
	}
	limit := budgetOf(thread).MaxStringSize
	var total int64
	it := iterable.Iterate()
	defer it.Done()
	var x starlark.Value
	for i := 0; it.Next(&x); i++ {
		s, ok := x.(starlark.String)
		if !ok {
			return nil // join reports it
		}
		if i > 0 {
			total += int64(len(sep))
		}
		if total += int64(len(s)); total > limit {
			break
		}
	}
	return chargeText(thread, total)
}

// checkFormat charges s.format(args) with the sizes of the fields it will
// fill in, each argument as str() or, with !r, repr() writes it.
func checkFormat(thread *starlark.Thread, b *Budget, s string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	total := int64(len(s))
	auto := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil // format reports it
		}
		field := s[i+1 : i+end]
		i += end
		repr := false
		if k := strings.IndexByte(field, '!'); k >= 0 {
			repr = field[k+1:] == "r"
			field = field[:k]
		}
		var v starlark.Value
		switch n, err := strconv.Atoi(field); {
		case field == "":
			if auto >= len(args) {
				return nil
			}
			v = args[auto]
			auto++
		case err == nil:
			if n < 0 || n >= len(args) {
				return nil
			}
			v = args[n]
		default:
			for _, kv := range kwargs {
				if string(kv[0].(starlark.String)) == field {
					v = kv[1]
				}
			}
			if v == nil {
				return nil
			}
		}
		if total += textSize(v, repr, b.MaxStringSize-total); total > b.MaxStringSize {
			break
		}
	}
	return chargeText(thread, total)
}

// chargeText charges a string whose size n was counted only up to the
// budget's limit: past it, n is a lower bound, and the message says so.
func chargeText(thread *starlark.Thread, n int64) error {
	b := budgetOf(thread)
	if b != nil && n > b.MaxStringSize {
		return &SizeError{Msg: fmt.Sprintf("memory limit: the string would be larger than the limit of %d bytes for %s", b.MaxStringSize, b.Who)}
	}
	return charge(thread, n, "string")
}

// modOp is x % y with a size check when x is a format string.
func modOp(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if s, ok := x.(starlark.String); ok {
		if b := budgetOf(thread); b != nil {
			if err := checkPercent(thread, b, string(s), y); err != nil {
				return nil, err
			}
		}
	}
	v, err := starlark.Binary(syntax.PERCENT, x, y)
	if _, ok := x.(starlark.String); ok && err != nil {
		err = teachPercent(err)
	}
	return v, err
}

// checkPercent charges s % y: %s and %r directives write their argument as
// str() or repr() does; the others write a number.
func checkPercent(thread *starlark.Thread, b *Budget, s string, y starlark.Value) error {
	total := int64(len(s))
	var argv starlark.Tuple
	dict, _ := y.(starlark.Mapping)
	if t, ok := y.(starlark.Tuple); ok {
		argv = t
	} else {
		argv = starlark.Tuple{y}
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			continue
		}
		i++
		var v starlark.Value
		if s[i] == '(' && dict != nil {
			end := strings.IndexByte(s[i:], ')')
			if end < 0 || i+end+1 >= len(s) {
				return nil
			}
			key := s[i+1 : i+end]
			i += end + 1
			var err error
			if v, _, err = dict.Get(starlark.String(key)); err != nil || v == nil {
				return nil
			}
		} else if s[i] != '%' {
			if n >= len(argv) {
				return nil
			}
			v = argv[n]
			n++
		}
		switch {
		case v == nil: // %%
		case s[i] == 's' || s[i] == 'r':
			total += textSize(v, s[i] == 'r', b.MaxStringSize-total)
		default:
			total += int64(len(v.String()))
		}
		if total > b.MaxStringSize {
			break
		}
	}
	return chargeText(thread, total)
}

// textSize returns an upper bound of the length of str(v), or of repr(v)
// when repr is set, or a number larger than limit once it passes limit. It
// walks shared values as often as str() would, but never further than
// limit bytes, so a list that holds itself a million times over costs
// limit, not the product.
func textSize(v starlark.Value, repr bool, limit int64) int64 {
	w := sizeWalker{limit: limit, seen: map[starlark.Value]bool{}}
	w.walk(v, repr)
	return w.n
}

type sizeWalker struct {
	n, limit int64
	seen     map[starlark.Value]bool // lists and dicts on the path, for cycles
}

func (w *sizeWalker) walk(v starlark.Value, repr bool) {
	if w.n > w.limit {
		return
	}
	switch v := v.(type) {
	case starlark.String:
		if !repr {
			w.n += int64(len(v))
			return
		}
		w.n += 2
		for i := 0; i < len(v); i++ {
			if c := v[i]; c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
				w.n++
			} else {
				w.n += 4 // \x7f, \n, \" or a share of \U0001f600
			}
		}
	case *starlark.List:
		w.nested(v, 2, v.Len(), v.Index)
	case starlark.Tuple:
		w.nested(v, 3, len(v), func(i int) starlark.Value { return v[i] })
	case *starlark.Dict:
		if w.seen[v] {
			w.n += 5
			return
		}
		w.seen[v] = true
		w.n += 2
		for _, kv := range v.Items() {
			w.walk(kv[0], true)
			w.walk(kv[1], true)
			w.n += 4
			if w.n > w.limit {
				break
			}
		}
		delete(w.seen, v)
	default:
		w.n += int64(len(v.String()))
	}
}

// nested adds a list or tuple of n elements; open counts its brackets.
func (w *sizeWalker) nested(v starlark.Value, open int64, n int, at func(int) starlark.Value) {
	if _, isList := v.(*starlark.List); isList {
		if w.seen[v] {
			w.n += 5 // [...]
			return
		}
		w.seen[v] = true
		defer delete(w.seen, v)
	}
	w.n += open
	for i := 0; i < n && w.n <= w.limit; i++ {
		w.walk(at(i), true)
		w.n += 2
	}
}

// strFn and reprFn replace str and repr with versions that check the size
// of the text before building it: str() of a list that holds a big string
// many times over is as large as their product.
func strFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return checkedText(thread, "str", false, args, kwargs)
}

func reprFn(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return checkedText(thread, "repr", true, args, kwargs)
}

func checkedText(thread *starlark.Thread, name string, repr bool, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	real := starlark.Universe[name].(*starlark.Builtin)
	if bud := budgetOf(thread); bud != nil && len(args) == 1 && len(kwargs) == 0 {
		if _, isString := args[0].(starlark.String); !isString || repr {
			if err := chargeText(thread, textSize(args[0], repr, bud.MaxStringSize)); err != nil {
				return nil, err
			}
		}
	}
	return real.CallInternal(thread, args, kwargs)
}
