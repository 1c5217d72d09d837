package templates

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// noneValue is Python's None as a template sees it: it renders "None", is
// false in conditions and passes the `none` test. A bool kind keeps it out
// of string and number operations.
type noneValue bool

// None is the value templates receive for a Go nil that Python would show
// as None (a missing XCom, a null param).
const None = noneValue(false)

// String returns "None", as Python prints it.
func (noneValue) String() string { return "None" }

// isNone reports whether v is nil or None.
func isNone(v *exec.Value) bool {
	if v == nil || v.IsNil() {
		return true
	}
	_, ok := v.Interface().(noneValue)
	return ok
}

// pyValue returns v with every nil (at any depth of lists and maps)
// replaced by None. Containers are copied only when they hold a nil.
func pyValue(v any) any {
	if !hasNil(v) {
		return v
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = pyValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = pyValue(e)
		}
		return out
	}
	return None
}

// hasNil reports whether v is nil or holds a nil at any depth.
func hasNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		for _, e := range x {
			if hasNil(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNil(e) {
				return true
			}
		}
	}
	return false
}

// fromJSON decodes a JSON document into plain values, with integers as
// int64 as Python's json module gives ints.
func fromJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		if math.IsInf(f, 0) {
			return x.String()
		}
		return f
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	}
	return v
}

// object is a read-only Python-like object: attributes by name, printed as
// Airflow prints the object it stands for. Missing attributes are
// undefined (they render empty), as Jinja treats a missing attribute.
type object struct {
	repr  string
	attrs map[string]any
}

// String returns the object's printed form.
func (o *object) String() string { return o.repr }

// GetAttribute implements exec.AttributeGetter.
func (o *object) GetAttribute(name string) (*exec.Value, bool) {
	v, ok := o.attrs[name]
	if !ok {
		return exec.AsValue(nil), false
	}
	return exec.ToValue(v), true
}

// GetItem implements exec.ItemGetter, so `obj['name']` works too.
func (o *object) GetItem(key any) (*exec.Value, bool) {
	name, ok := key.(string)
	if !ok {
		return exec.AsValue(nil), false
	}
	return o.GetAttribute(name)
}
