package builtins

import (
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// ParamValue is the value of Param(default, type=..., ...): a DAG param
// with a JSON schema, as Airflow's Param. In a dag()'s params it becomes
// the param's default and its dags.ParamSpec; in a task's params only
// its default counts.
type ParamValue struct {
	spec *dags.ParamSpec
}

var _ starlark.HasAttrs = (*ParamValue)(nil)

// String returns e.g. Param(5, type = "integer").
func (p *ParamValue) String() string {
	var parts []string
	if p.spec.HasDefault {
		parts = append(parts, dags.PyRepr(p.spec.Default))
	}
	if len(p.spec.Types) == 1 {
		parts = append(parts, fmt.Sprintf("type = %q", p.spec.Types[0]))
	} else if len(p.spec.Types) > 1 {
		parts = append(parts, "type = "+dags.PyRepr(stringsToAny(p.spec.Types)))
	}
	return "Param(" + strings.Join(parts, ", ") + ")"
}

// Type returns "Param".
func (p *ParamValue) Type() string { return "Param" }

// Freeze does nothing: a Param does not change.
func (p *ParamValue) Freeze() {}

// Truth returns True.
func (p *ParamValue) Truth() starlark.Bool { return starlark.True }

// Hash fails: Params are not dict keys.
func (p *ParamValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: Param") }

// Attr returns value (the default), description, title and schema.
func (p *ParamValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "value":
		if !p.spec.HasDefault {
			return starlark.None, nil
		}
		return FromGo(p.spec.Default)
	case "description":
		return starlark.String(p.spec.Description), nil
	case "title":
		return starlark.String(p.spec.Title), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (p *ParamValue) AttrNames() []string { return []string{"description", "title", "value"} }

// paramKeywords are the schema keywords Param accepts besides default,
// type, description and title: the ones Starflow checks values against,
// then the ones that only shape the trigger form.
var paramKeywords = []string{
	"enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
	"minLength", "maxLength", "pattern", "format", "minItems", "maxItems",
	"examples", "values_display", "description_md", "section", "items", "uniqueItems", "custom_html_form", "placeholder",
}

// paramFn implements Param(default = <none>, description = None, title =
// None, type = None, **schema).
func paramFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 1 {
		return nil, fmt.Errorf("Param: got %d positional arguments, want at most 1 (default); pass the others by keyword", len(args))
	}
	spec := &dags.ParamSpec{}
	if len(args) == 1 {
		v, err := ToGo(args[0])
		if err != nil {
			return nil, fmt.Errorf("Param: for parameter default: %w", err)
		}
		spec.Default, spec.HasDefault = v, true
	}
	known := append([]string{"default", "description", "title", "type"}, paramKeywords...)
	seen := map[string]bool{}
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if !contains(known, name) {
			return nil, unknownName("Param: unexpected keyword argument "+name, name, known)
		}
		if seen[name] || (name == "default" && len(args) == 1) {
			return nil, fmt.Errorf("Param: got multiple values for parameter %s", name)
		}
		seen[name] = true
		if err := setParamKeyword(spec, name, kv[1]); err != nil {
			return nil, fmt.Errorf("Param: for parameter %s: %w", name, err)
		}
		if name != "default" && name != "description" {
			x, err := ToGo(kv[1])
			if err != nil {
				return nil, fmt.Errorf("Param: for parameter %s: %w", name, err)
			}
			if spec.Schema == nil {
				spec.Schema = map[string]any{}
			}
			spec.Schema[name] = x
		}
	}
	if err := spec.Compile(); err != nil {
		if n := nearest(spec.Format, append(dags.ParamFormats, "multiline", "duration")); strings.HasPrefix(err.Error(), "unknown format") && n != "" {
			return nil, fmt.Errorf("Param: %w (did you mean %q?)", err, n)
		}
		if t := badType(spec.Types); t != "" {
			if n := nearest(t, dags.ParamTypes); n != "" {
				return nil, fmt.Errorf("Param: %w (did you mean %q?)", err, n)
			}
		}
		return nil, fmt.Errorf("Param: %w", err)
	}
	return &ParamValue{spec: spec}, nil
}

func badType(types []string) string {
	for _, t := range types {
		if !contains(dags.ParamTypes, t) {
			return t
		}
	}
	return ""
}

func setParamKeyword(p *dags.ParamSpec, name string, v starlark.Value) error {
	switch name {
	case "default":
		x, err := ToGo(v)
		if err != nil {
			return err
		}
		p.Default, p.HasDefault = x, true
	case "description", "title", "pattern", "format":
		s, ok := v.(starlark.String)
		if !ok {
			if v == starlark.None {
				return nil
			}
			return fmt.Errorf("got %s, want string", v.Type())
		}
		switch name {
		case "description":
			p.Description = string(s)
		case "title":
			p.Title = string(s)
		case "pattern":
			p.Pattern = string(s)
		default:
			p.Format = string(s)
		}
	case "type":
		switch t := v.(type) {
		case starlark.NoneType:
		case starlark.String:
			p.Types = []string{string(t)}
		case *starlark.List, starlark.Tuple:
			it := starlark.Iterate(t)
			defer it.Done()
			var e starlark.Value
			for it.Next(&e) {
				s, ok := e.(starlark.String)
				if !ok {
					return fmt.Errorf("got a list holding %s, want a list of type names", e.Type())
				}
				p.Types = append(p.Types, string(s))
			}
		default:
			return fmt.Errorf("got %s, want a type name or a list of them", v.Type())
		}
	case "enum":
		x, err := ToGo(v)
		if err != nil {
			return err
		}
		l, ok := x.([]any)
		if !ok {
			return fmt.Errorf("got %s, want list", v.Type())
		}
		p.Enum = l
	case "const":
		x, err := ToGo(v)
		if err != nil {
			return err
		}
		p.Enum = []any{x}
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
		f, ok := starlark.AsFloat(v)
		if _, isBool := v.(starlark.Bool); !ok || isBool || math.IsNaN(f) {
			return fmt.Errorf("got %s, want a number", v.Type())
		}
		ptr := map[string]**float64{"minimum": &p.Minimum, "maximum": &p.Maximum, "exclusiveMinimum": &p.ExclusiveMinimum,
			"exclusiveMaximum": &p.ExclusiveMaximum, "multipleOf": &p.MultipleOf}[name]
		*ptr = &f
	case "minLength", "maxLength", "minItems", "maxItems":
		n, err := starlark.AsInt32(v)
		if _, isInt := v.(starlark.Int); err != nil || !isInt || n < 0 {
			return fmt.Errorf("got %s, want a non-negative int", v.String())
		}
		ptr := map[string]**int{"minLength": &p.MinLength, "maxLength": &p.MaxLength, "minItems": &p.MinItems, "maxItems": &p.MaxItems}[name]
		*ptr = &n
	default:
		x, err := ToGo(v)
		if err != nil {
			return err
		}
		if p.Extra == nil {
			p.Extra = map[string]any{}
		}
		p.Extra[name] = x
	}
	return nil
}

// paramsOf reads a params dict: plain values and Param(...) values, whose
// defaults go into the plain map (a Param without a default leaves its
// name out) and whose specs into the second.
func paramsOf(v starlark.Value) (map[string]any, map[string]*dags.ParamSpec, error) {
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, nil, fmt.Errorf("got %s, want dict", v.Type())
	}
	values := make(map[string]any, d.Len())
	var specs map[string]*dags.ParamSpec
	for _, item := range d.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			return nil, nil, fmt.Errorf("got a %s key, want string keys", item[0].Type())
		}
		if p, ok := item[1].(*ParamValue); ok {
			if specs == nil {
				specs = map[string]*dags.ParamSpec{}
			}
			specs[string(k)] = p.spec
			if p.spec.HasDefault {
				values[string(k)] = p.spec.Default
			}
			continue
		}
		x, err := ToGo(item[1])
		if err != nil {
			return nil, nil, err
		}
		values[string(k)] = x
	}
	return values, specs, nil
}

func stringsToAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
