package dags

import (
	"fmt"
	"sort"
)

// XComZip is a mapped argument that ranges over several XCom values zipped
// together, as Airflow's XComArg.zip: item i is the list of the i-th items
// of Args. Without a fill value it is as long as the shortest of Args;
// with one (HasFill) as long as the longest, the missing items being Fill
// (Python's itertools.zip_longest).
type XComZip struct {
	// Args are the zipped values: XComRef, XComZip or XComConcat.
	Args    []any `json:"zip"`
	Fill    any   `json:"fillvalue,omitempty"`
	HasFill bool  `json:"has_fillvalue,omitempty"`
	// MapFns are the keys of the functions applied, in order, to each
	// zipped item (`a.output.zip(b.output).map(fn)`).
	MapFns []string `json:"map_fns,omitempty"`
}

// XComConcat is a mapped argument that ranges over the items of several
// XCom values one after the other, as Airflow's XComArg.concat.
type XComConcat struct {
	// Args are the chained values: XComRef, XComZip or XComConcat.
	Args []any `json:"concat"`
	// MapFns are the keys of the functions applied, in order, to each item.
	MapFns []string `json:"map_fns,omitempty"`
}

// ReturnValueKey is the XCom key of a task's return value.
const ReturnValueKey = "return_value"

// IsXComValue reports whether v is filled from XComs at run time (an
// XComRef, XComZip or XComConcat) rather than given literally.
func IsXComValue(v any) bool {
	switch v.(type) {
	case XComRef, XComZip, XComConcat:
		return true
	}
	return false
}

// XComRefs returns the XCom references inside v (an XComRef, XComZip or
// XComConcat; nothing for a literal), in the order they were written.
func XComRefs(v any) []XComRef {
	switch v := v.(type) {
	case XComRef:
		return []XComRef{v}
	case XComZip:
		var out []XComRef
		for _, a := range v.Args {
			out = append(out, XComRefs(a)...)
		}
		return out
	case XComConcat:
		var out []XComRef
		for _, a := range v.Args {
			out = append(out, XComRefs(a)...)
		}
		return out
	}
	return nil
}

// seq is the lazy sequence of the items a mapped argument ranges over:
// the length is known without running any map function, and an item is
// computed only when a task instance asks for it (Airflow's _MapResult,
// _ZipResult and _ConcatResult).
type seq interface {
	Len() int
	At(i int) (any, error)
}

// listSeq is a literal list or a resolved XCom value.
type listSeq []any

func (s listSeq) Len() int              { return len(s) }
func (s listSeq) At(i int) (any, error) { return s[i], nil }

// fnSeq applies map functions to the items of base.
type fnSeq struct {
	base    seq
	fns     []string
	mapItem ItemMapper
	what    string
}

func (s fnSeq) Len() int { return s.base.Len() }

func (s fnSeq) At(i int) (any, error) {
	item, err := s.base.At(i)
	if err != nil {
		return nil, err
	}
	for _, fn := range s.fns {
		if s.mapItem == nil {
			return nil, fmt.Errorf("no function runner to apply %s.map()", s.what)
		}
		if item, err = s.mapItem(fn, item); err != nil {
			return nil, fmt.Errorf("map function of %s, item %d: %w", s.what, i, err)
		}
	}
	return item, nil
}

// zipSeq zips its arguments.
type zipSeq struct {
	args    []seq
	fill    any
	hasFill bool
}

func (s zipSeq) Len() int {
	n := -1
	for _, a := range s.args {
		switch l := a.Len(); {
		case n < 0, s.hasFill && l > n, !s.hasFill && l < n:
			n = l
		}
	}
	return max(n, 0)
}

func (s zipSeq) At(i int) (any, error) {
	out := make([]any, len(s.args))
	for j, a := range s.args {
		if i >= a.Len() {
			out[j] = s.fill
			continue
		}
		v, err := a.At(i)
		if err != nil {
			return nil, err
		}
		out[j] = v
	}
	return out, nil
}

// concatSeq chains its arguments.
type concatSeq []seq

func (s concatSeq) Len() int {
	n := 0
	for _, a := range s {
		n += a.Len()
	}
	return n
}

func (s concatSeq) At(i int) (any, error) {
	for _, a := range s {
		if i < a.Len() {
			return a.At(i)
		}
		i -= a.Len()
	}
	return nil, fmt.Errorf("concat: index %d out of range", i)
}

// itemsOf returns the items of a list or a dict (as [key, value] pairs, in
// key order), what names the value in errors.
func itemsOf(v any, what string) ([]any, error) {
	switch v := v.(type) {
	case []any:
		return v, nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = []any{k, v[k]}
		}
		return out, nil
	case nil:
		return nil, fmt.Errorf("%s is None, want a list or a dict", what)
	default:
		return nil, fmt.Errorf("cannot map over %s, a %s: want a list or a dict", what, TypeName(v))
	}
}

// seqOf returns the lazy items of a mapped argument's value: a literal, an
// XComRef (resolved with resolve) or a zip or concat of them.
func seqOf(v any, resolve XComResolver, mapItem ItemMapper) (seq, error) {
	switch v := v.(type) {
	case XComRef:
		what := "the output of " + v.TaskID
		if v.Key != "" && v.Key != ReturnValueKey {
			what = fmt.Sprintf("XCom %q of %s", v.Key, v.TaskID)
		}
		if resolve == nil {
			return nil, fmt.Errorf("no XCom at hand to resolve %s", what)
		}
		got, err := resolve(v)
		if err != nil {
			return nil, err
		}
		items, err := itemsOf(got, what)
		if err != nil {
			return nil, err
		}
		return withFns(listSeq(items), v.MapFns, mapItem, v.TaskID+".output"), nil
	case XComZip:
		if len(v.Args) == 0 {
			return nil, fmt.Errorf("zip of nothing")
		}
		z := zipSeq{fill: v.Fill, hasFill: v.HasFill}
		for _, a := range v.Args {
			s, err := seqOf(a, resolve, mapItem)
			if err != nil {
				return nil, err
			}
			z.args = append(z.args, s)
		}
		return withFns(z, v.MapFns, mapItem, "zip(...)"), nil
	case XComConcat:
		var c concatSeq
		for _, a := range v.Args {
			s, err := seqOf(a, resolve, mapItem)
			if err != nil {
				return nil, err
			}
			c = append(c, s)
		}
		return withFns(c, v.MapFns, mapItem, "concat(...)"), nil
	}
	items, err := itemsOf(v, "the value")
	if err != nil {
		return nil, err
	}
	return listSeq(items), nil
}

// withFns wraps s with the map functions fns, if any.
func withFns(s seq, fns []string, mapItem ItemMapper, what string) seq {
	if len(fns) == 0 {
		return s
	}
	return fnSeq{base: s, fns: fns, mapItem: mapItem, what: what}
}
