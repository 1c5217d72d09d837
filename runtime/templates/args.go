package templates

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// arguments holds the unpacked arguments of a template function call.
type arguments struct {
	fn    string
	names []string
	vals  []*exec.Value
}

// unpack matches a call's arguments to parameter names, as Starlark's
// UnpackArgs does: positional arguments fill the names in order, keywords
// fill them by name, a name ending in "?" is optional.
func unpack(fn string, va *exec.VarArgs, params ...string) (*arguments, error) {
	a := &arguments{fn: fn, names: make([]string, len(params)), vals: make([]*exec.Value, len(params))}
	for i, p := range params {
		a.names[i] = strings.TrimSuffix(p, "?")
	}
	if len(va.Args) > len(params) {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most %d", fn, len(va.Args), len(params))
	}
	copy(a.vals, va.Args)
	keys := make([]string, 0, len(va.KwArgs))
	for k := range va.KwArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		i := indexOf(a.names, k)
		if i < 0 {
			return nil, fmt.Errorf("%s: unexpected keyword argument %q (known: %s)", fn, k, strings.Join(a.names, ", "))
		}
		if a.vals[i] != nil {
			return nil, fmt.Errorf("%s: got multiple values for argument %q", fn, k)
		}
		a.vals[i] = va.KwArgs[k]
	}
	for i, p := range params {
		if a.vals[i] == nil && !strings.HasSuffix(p, "?") {
			return nil, fmt.Errorf("%s: missing argument %q", fn, p)
		}
	}
	return a, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// has reports whether argument i was given.
func (a *arguments) has(i int) bool { return a.vals[i] != nil }

// str returns argument i, which must be a string.
func (a *arguments) str(i int) (string, error) {
	v := a.vals[i]
	if v == nil || !v.IsString() {
		return "", fmt.Errorf("%s: %s must be a string, got %s", a.fn, a.names[i], describe(v))
	}
	return v.String(), nil
}

// integer returns argument i, which must be an integer.
func (a *arguments) integer(i int) (int, error) {
	v := a.vals[i]
	if v == nil || !v.IsInteger() {
		return 0, fmt.Errorf("%s: %s must be an integer, got %s", a.fn, a.names[i], describe(v))
	}
	return v.Integer(), nil
}

// describe names a template value for an error message.
func describe(v *exec.Value) string {
	if v == nil {
		return "nothing"
	}
	if isNone(v) {
		return "None"
	}
	if v.IsString() {
		return fmt.Sprintf("%q", v.String())
	}
	return v.String()
}
