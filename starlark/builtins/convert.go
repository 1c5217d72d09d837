package builtins

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// maxDepth bounds the nesting of converted values; it also stops a list
// that contains itself.
const maxDepth = 64

// ToGo converts a JSON-like Starlark value to a plain Go value: None → nil,
// bool, int → int64, float → float64, string, list and tuple → []any, dict
// with string keys → map[string]any; a time.time becomes an RFC 3339
// string and a datetime its isoformat(). Other values (functions, tasks, t.output) are an error.
func ToGo(v starlark.Value) (any, error) { return toGo(v, nil, 0) }

// toGo converts v; onXCom, when not nil, converts t.output references.
func toGo(v starlark.Value, onXCom func(*XComArg) (any, error), depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep (does a list contain itself?)", maxDepth)
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		n, ok := v.Int64()
		if !ok {
			return nil, fmt.Errorf("int %s does not fit in 64 bits", v)
		}
		return n, nil
	case starlark.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("float %s cannot be stored (not a JSON number)", v)
		}
		return f, nil
	case starlark.String:
		return string(v), nil
	case startime.Time:
		return time.Time(v).Format(time.RFC3339Nano), nil
	case DateTime:
		return v.String(), nil
	case *starlark.List:
		out := make([]any, v.Len())
		for i := range out {
			x, err := toGo(v.Index(i), onXCom, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case starlark.Tuple:
		out := make([]any, len(v))
		for i, e := range v {
			x, err := toGo(e, onXCom, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, item := range v.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is a %s; only string keys can be stored", item[0], item[0].Type())
			}
			x, err := toGo(item[1], onXCom, depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = x
		}
		return out, nil
	case *XComArg:
		if onXCom == nil {
			return nil, fmt.Errorf("%s.output can only be passed in the args or kwargs of task()", v.task.task.ID)
		}
		return onXCom(v)
	}
	return nil, fmt.Errorf("a %s is not a JSON-like value (None, bool, int, float, string, list or dict)", v.Type())
}

// FromGo converts a plain Go value to a Starlark value: nil → None, bool,
// integers → int, floats → float, string, json.Number, []any and other
// slices of those → list, map[string]any and map[string]string → dict
// (keys in sorted order), time.Time → RFC 3339 string.
func FromGo(x any) (starlark.Value, error) { return fromGo(x, 0) }

func fromGo(x any, depth int) (starlark.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested more than %d levels deep", maxDepth)
	}
	switch x := x.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return x, nil
	case bool:
		return starlark.Bool(x), nil
	case int:
		return starlark.MakeInt(x), nil
	case int8:
		return starlark.MakeInt64(int64(x)), nil
	case int16:
		return starlark.MakeInt64(int64(x)), nil
	case int32:
		return starlark.MakeInt64(int64(x)), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case uint:
		return starlark.MakeUint64(uint64(x)), nil
	case uint8:
		return starlark.MakeUint64(uint64(x)), nil
	case uint16:
		return starlark.MakeUint64(uint64(x)), nil
	case uint32:
		return starlark.MakeUint64(uint64(x)), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case float32:
		return starlark.Float(x), nil
	case float64:
		return starlark.Float(x), nil
	case string:
		return starlark.String(x), nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return starlark.MakeInt64(n), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		return starlark.Float(f), nil
	case time.Time:
		return starlark.String(x.Format(time.RFC3339Nano)), nil
	case time.Duration:
		return Duration(x), nil
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			v, err := fromGo(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = v
		}
		return starlark.NewList(elems), nil
	case []string:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			elems[i] = starlark.String(e)
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			v, err := fromGo(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), v); err != nil {
				return nil, err
			}
		}
		return d, nil
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			if err := d.SetKey(starlark.String(k), starlark.String(x[k])); err != nil {
				return nil, err
			}
		}
		return d, nil
	case dags.XComRef:
		return nil, fmt.Errorf("unresolved XCom reference to task %q (key %q)", x.TaskID, x.Key)
	}
	return nil, fmt.Errorf("cannot convert a Go %T to a Starlark value", x)
}
