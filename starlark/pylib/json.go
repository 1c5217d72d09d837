package pylib

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// maxJSONDepth bounds the nesting json.dumps follows (and stops a list
// that contains itself).
const maxJSONDepth = 100

// jsonModule returns the json module: Python's dumps and loads, and
// Starlark's encode, decode, encode_indent and indent.
func jsonModule() *starlarkstruct.Module {
	m := starlark.StringDict{}
	for k, v := range starjson.Module.Members {
		m[k] = v
	}
	m["dumps"] = safe("json.dumps", dumps)
	m["loads"] = safe("json.loads", loads)
	return &starlarkstruct.Module{Name: "json", Members: m}
}

// loads implements json.loads(s): JSON integers become ints, other
// numbers floats.
func loads(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s starlark.Value
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "s", &s); err != nil {
		return nil, err
	}
	switch s.(type) {
	case starlark.String, starlark.Bytes:
	default:
		return nil, fmt.Errorf("%s: the JSON object must be str or bytes, not %s", fn.Name(), s.Type())
	}
	decode := starjson.Module.Members["decode"]
	v, err := starlark.Call(thread, decode, starlark.Tuple{starlark.String(strings.TrimSpace(asString(s)))}, nil)
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*starlark.EvalError); ok {
			msg = ee.Msg
		}
		return nil, fmt.Errorf("%s: %s", fn.Name(), strings.TrimPrefix(msg, "json.decode: "))
	}
	return v, nil
}

func asString(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.String:
		return string(v)
	case starlark.Bytes:
		return string(v)
	}
	return ""
}

// dumps implements json.dumps(obj, indent=None, sort_keys=False,
// separators=None, ensure_ascii=True, default=None) with Python's output:
// ", " and ": " between items (", " becomes "," when indenting), dict keys
// in insertion order unless sort_keys, non-ASCII escaped unless
// ensure_ascii=False, NaN and Infinity as Python writes them.
func dumps(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		obj         starlark.Value
		indent      starlark.Value = starlark.None
		sortKeys    bool
		separators  starlark.Value = starlark.None
		ensureASCII                = true
		dflt        starlark.Value = starlark.None
	)
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "obj", &obj, "indent?", &indent, "sort_keys?", &sortKeys,
		"separators?", &separators, "ensure_ascii?", &ensureASCII, "default?", &dflt); err != nil {
		return nil, err
	}
	e := &jsonEncoder{thread: thread, sortKeys: sortKeys, ascii: ensureASCII, itemSep: ", ", keySep: ": "}
	switch v := indent.(type) {
	case starlark.NoneType:
	case starlark.Int:
		n, ok := v.Int64()
		if !ok || n > 100 {
			return nil, fmt.Errorf("%s: indent too large", fn.Name())
		}
		e.indent, e.indenting = strings.Repeat(" ", int(max(n, 0))), true
	case starlark.String:
		e.indent, e.indenting = string(v), true
	default:
		return nil, fmt.Errorf("%s: indent must be None, an int or a string, not %s", fn.Name(), indent.Type())
	}
	if e.indenting {
		e.itemSep = ","
	}
	if separators != starlark.None {
		seq, ok := separators.(starlark.Indexable)
		if !ok || seq.Len() != 2 {
			return nil, fmt.Errorf("%s: separators must be a (item_separator, key_separator) pair", fn.Name())
		}
		a, ok1 := seq.Index(0).(starlark.String)
		b, ok2 := seq.Index(1).(starlark.String)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: separators must be two strings", fn.Name())
		}
		e.itemSep, e.keySep = string(a), string(b)
	}
	if dflt != starlark.None {
		c, ok := dflt.(starlark.Callable)
		if !ok {
			return nil, fmt.Errorf("%s: default must be callable, not %s", fn.Name(), dflt.Type())
		}
		e.dflt = c
	}
	if err := e.encode(obj, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return starlark.String(e.b.String()), nil
}

// jsonEncoder writes Starlark values as Python's json.dumps does.
type jsonEncoder struct {
	thread       *starlark.Thread
	b            strings.Builder
	sortKeys     bool
	ascii        bool
	indenting    bool
	indent       string
	itemSep      string
	keySep       string
	dflt         starlark.Callable
	defaultCalls int
}

func (e *jsonEncoder) newline(depth int) {
	if e.indenting {
		e.b.WriteByte('\n')
		e.b.WriteString(strings.Repeat(e.indent, depth))
	}
}

func (e *jsonEncoder) encode(v starlark.Value, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("ValueError: value nested more than %d levels deep (circular reference?)", maxJSONDepth)
	}
	if e.b.Len() > 64<<20 {
		return fmt.Errorf("output larger than 64 MiB")
	}
	switch v := v.(type) {
	case starlark.NoneType:
		e.b.WriteString("null")
	case starlark.Bool:
		if v {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case starlark.Int:
		e.b.WriteString(v.String())
	case starlark.Float:
		f := float64(v)
		switch {
		case math.IsNaN(f):
			e.b.WriteString("NaN")
		case math.IsInf(f, 1):
			e.b.WriteString("Infinity")
		case math.IsInf(f, -1):
			e.b.WriteString("-Infinity")
		default:
			e.b.WriteString(pyFloatRepr(f))
		}
	case starlark.String:
		e.quote(string(v))
	case *starlark.List, starlark.Tuple:
		seq := v.(starlark.Indexable)
		if seq.Len() == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i := range seq.Len() {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(depth + 1)
			if err := e.encode(seq.Index(i), depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte(']')
	case *starlark.Dict:
		items := v.Items()
		if len(items) == 0 {
			e.b.WriteString("{}")
			return nil
		}
		type kv struct {
			key string
			val starlark.Value
		}
		pairs := make([]kv, 0, len(items))
		for _, it := range items {
			k, err := jsonKey(it[0])
			if err != nil {
				return err
			}
			pairs = append(pairs, kv{k, it[1]})
		}
		if e.sortKeys {
			sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].key < pairs[j].key })
		}
		e.b.WriteByte('{')
		for i, p := range pairs {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(depth + 1)
			e.quote(p.key)
			e.b.WriteString(e.keySep)
			if err := e.encode(p.val, depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte('}')
	default:
		if e.dflt == nil || e.defaultCalls > 10000 {
			return fmt.Errorf("TypeError: Object of type %s is not JSON serializable (pass default = str to write it as a string)", v.Type())
		}
		e.defaultCalls++
		r, err := starlark.Call(e.thread, e.dflt, starlark.Tuple{v}, nil)
		if err != nil {
			return err
		}
		return e.encode(r, depth+1)
	}
	return nil
}

// jsonKey converts a dict key as Python does: strings as they are, ints,
// floats, bools and None to their JSON text.
func jsonKey(k starlark.Value) (string, error) {
	switch k := k.(type) {
	case starlark.String:
		return string(k), nil
	case starlark.Int:
		return k.String(), nil
	case starlark.Float:
		return pyFloatRepr(float64(k)), nil
	case starlark.Bool:
		if k {
			return "true", nil
		}
		return "false", nil
	case starlark.NoneType:
		return "null", nil
	}
	return "", fmt.Errorf("TypeError: keys must be str, int, float, bool or None, not %s", k.Type())
}

// quote writes s as a JSON string, escaping non-ASCII characters as
// \uXXXX (surrogate pairs beyond the BMP) when e.ascii, as Python does.
func (e *jsonEncoder) quote(s string) {
	b := &e.b
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case r < 0x7f || !e.ascii && r != utf8.RuneError:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		}
	}
	b.WriteByte('"')
}

// pyFloatRepr formats a finite float as Python's repr: the shortest form
// that reads back, "1.0" for integral values, exponents as "1e+16".
func pyFloatRepr(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		exp, _ := strconv.Atoi(s[i+1:])
		if exp >= -4 && exp < 16 {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		} else {
			mant, e := s[:i], s[i+1:]
			sign := "+"
			if e[0] == '-' || e[0] == '+' {
				if e[0] == '-' {
					sign = "-"
				}
				e = e[1:]
			}
			if len(e) < 2 {
				e = "0" + e
			}
			return mant + "e" + sign + e
		}
	}
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
