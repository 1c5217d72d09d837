package dags

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ParamTypes are the JSON-schema types a Param may declare.
var ParamTypes = []string{"string", "number", "integer", "boolean", "array", "object", "null"}

// ParamFormats are the string formats a Param's values are checked
// against; other formats (Airflow's "multiline", "duration", ...) only
// shape the trigger form.
var ParamFormats = []string{"date", "date-time", "time", "email", "idn-email", "uri"}

// ParamSpec is a DAG param declared with Param(...): a default and the
// subset of JSON schema Airflow users write, checked when a run is
// triggered (and, for DAGs with a schedule, at parse time for the
// default), as Airflow validates params with jsonschema.
type ParamSpec struct {
	// Default is the value when a run's conf does not set the param;
	// HasDefault says whether there is one (Param() without a default).
	Default    any
	HasDefault bool
	// Types are the allowed JSON types ("integer", "null", ...); empty
	// allows any.
	Types []string
	// Enum, when not nil, lists the only values allowed.
	Enum []any
	// Bounds of numbers; nil when unset.
	Minimum, Maximum, ExclusiveMinimum, ExclusiveMaximum, MultipleOf *float64
	// Bounds of string lengths (in characters) and of array lengths.
	MinLength, MaxLength, MinItems, MaxItems *int
	// Pattern is a regular expression strings must match (unanchored, as
	// in JSON schema); Format is a string format (see ParamFormats).
	Pattern string
	Format  string
	// Title and Description label the param in the trigger form.
	Title       string
	Description string
	// Extra holds the other schema keywords as written (examples,
	// values_display, description_md, section, items, ...), for the
	// trigger form and the API.
	Extra map[string]any
	// Schema is every keyword but default and description as written
	// (type, minimum, title, examples, ...): Airflow's Param.schema, which
	// the REST API shows.
	Schema map[string]any

	pattern *regexp.Regexp
}

// Compile checks the spec itself: known types and formats, a pattern that
// compiles, bounds that fit. Call it once before Validate.
func (p *ParamSpec) Compile() error {
	for _, t := range p.Types {
		if !slices.Contains(ParamTypes, t) {
			return fmt.Errorf("unknown type %q: want one of %s", t, strings.Join(ParamTypes, ", "))
		}
	}
	if p.Format != "" && !slices.Contains(ParamFormats, p.Format) && !slices.Contains(formOnlyFormats, p.Format) {
		return fmt.Errorf("unknown format %q: want one of %s", p.Format, strings.Join(append(slices.Clone(ParamFormats), formOnlyFormats...), ", "))
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			return fmt.Errorf("pattern %q: %v", p.Pattern, err)
		}
		p.pattern = re
	}
	if p.MultipleOf != nil && *p.MultipleOf <= 0 {
		return fmt.Errorf("multipleOf must be greater than 0")
	}
	return nil
}

// formOnlyFormats are formats Airflow's trigger form knows that values are
// not checked against.
var formOnlyFormats = []string{"multiline", "duration"}

// AllowsNull reports whether None is a valid value: no types, or "null"
// among them (and not excluded by enum).
func (p *ParamSpec) AllowsNull() bool {
	if len(p.Types) > 0 && !slices.Contains(p.Types, "null") {
		return false
	}
	return p.Enum == nil || slices.ContainsFunc(p.Enum, func(e any) bool { return e == nil })
}

// Validate checks one value against the spec and returns an error in
// jsonschema's words ("25 is greater than the maximum of 20").
func (p *ParamSpec) Validate(v any) error {
	v = normalizeParamValue(v)
	if len(p.Types) > 0 && !slices.ContainsFunc(p.Types, func(t string) bool { return isJSONType(v, t) }) {
		quoted := make([]string, len(p.Types))
		for i, t := range p.Types {
			quoted[i] = "'" + t + "'"
		}
		return fmt.Errorf("%s is not of type %s", PyRepr(v), strings.Join(quoted, ", "))
	}
	if p.Enum != nil && !slices.ContainsFunc(p.Enum, func(e any) bool { return jsonEqual(normalizeParamValue(e), v) }) {
		return fmt.Errorf("%s is not one of %s", PyRepr(v), PyRepr(p.Enum))
	}
	switch x := v.(type) {
	case int64, float64:
		f := toFloat(x)
		switch {
		case p.Minimum != nil && f < *p.Minimum:
			return fmt.Errorf("%s is less than the minimum of %s", PyRepr(v), pyNum(*p.Minimum))
		case p.Maximum != nil && f > *p.Maximum:
			return fmt.Errorf("%s is greater than the maximum of %s", PyRepr(v), pyNum(*p.Maximum))
		case p.ExclusiveMinimum != nil && f <= *p.ExclusiveMinimum:
			return fmt.Errorf("%s is less than or equal to the minimum of %s", PyRepr(v), pyNum(*p.ExclusiveMinimum))
		case p.ExclusiveMaximum != nil && f >= *p.ExclusiveMaximum:
			return fmt.Errorf("%s is greater than or equal to the maximum of %s", PyRepr(v), pyNum(*p.ExclusiveMaximum))
		case p.MultipleOf != nil && math.Abs(math.Remainder(f, *p.MultipleOf)) > 1e-9:
			return fmt.Errorf("%s is not a multiple of %s", PyRepr(v), pyNum(*p.MultipleOf))
		}
	case string:
		n := utf8.RuneCountInString(x)
		switch {
		case p.MinLength != nil && n < *p.MinLength:
			return fmt.Errorf("%s is too short (at least %d characters)", PyRepr(v), *p.MinLength)
		case p.MaxLength != nil && n > *p.MaxLength:
			return fmt.Errorf("%s is too long (at most %d characters)", PyRepr(v), *p.MaxLength)
		case p.pattern != nil && !p.pattern.MatchString(x):
			return fmt.Errorf("%s does not match %s", PyRepr(v), PyRepr(p.Pattern))
		case p.Format != "" && !formatOK(p.Format, x):
			return fmt.Errorf("%s is not a %s", PyRepr(v), PyRepr(p.Format))
		}
	case []any:
		switch {
		case p.MinItems != nil && len(x) < *p.MinItems:
			return fmt.Errorf("%s should have at least %d items", PyRepr(v), *p.MinItems)
		case p.MaxItems != nil && len(x) > *p.MaxItems:
			return fmt.Errorf("%s should have at most %d items", PyRepr(v), *p.MaxItems)
		}
	}
	return nil
}

// CheckParamDefaults is the parse-time check of a DAG's params, as
// Airflow's: with a schedule, every param needs a default (or must allow
// None) and every default must be valid; without one (schedule None), params
// are checked only when a run is triggered.
func (d *DAG) CheckParamDefaults() error {
	if d.Schedule.Kind == ScheduleNone {
		return nil
	}
	for _, name := range sortedParamNames(d.ParamSpecs) {
		p := d.ParamSpecs[name]
		if !p.HasDefault {
			if p.AllowsNull() {
				continue
			}
			return fmt.Errorf("param %s has no default value: a DAG with a schedule needs one for every param (or schedule = None, to ask for it at trigger time)", name)
		}
		if err := p.Validate(p.Default); err != nil {
			return fmt.Errorf("param %s: the default is invalid: %v", name, err)
		}
	}
	return nil
}

// ResolveParams returns the params a run sees: the DAG's params overlaid
// with conf (every key of conf, as Airflow's dag_run_conf_overrides_params),
// after checking every Param spec against its value. The error names the
// param and the rule, in one line: "Invalid input for param x: 25 is
// greater than the maximum of 20".
func (d *DAG) ResolveParams(conf map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(d.Params)+len(conf))
	for k, v := range d.Params {
		out[k] = v
	}
	for k, v := range conf {
		out[k] = v
	}
	if err := validateParams(d.ParamSpecs, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckTaskParams validates the params of a try of t, as Airflow's
// process_params does when a task starts: params holds the DAG's params,
// overridden by the task's, overridden by the run's conf; each is checked
// against the task's Param of that name, else the DAG's. A param without a
// value takes its Param's default into params. The error names the param
// and the rule broken.
func (d *DAG) CheckTaskParams(t *Task, params map[string]any) error {
	if len(t.ParamSpecs) == 0 && len(d.ParamSpecs) == 0 {
		return nil
	}
	specs := make(map[string]*ParamSpec, len(d.ParamSpecs)+len(t.ParamSpecs))
	for k, p := range d.ParamSpecs {
		specs[k] = p
	}
	for k, p := range t.ParamSpecs {
		specs[k] = p
	}
	return validateParams(specs, params)
}

// validateParams checks values against specs, giving a param without a
// value its default.
func validateParams(specs map[string]*ParamSpec, out map[string]any) error {
	for _, name := range sortedParamNames(specs) {
		p := specs[name]
		v, ok := out[name]
		if !ok && p.HasDefault {
			v, ok = p.Default, true
			out[name] = v
		}
		if !ok {
			if !p.AllowsNull() {
				return fmt.Errorf("Invalid input for param %s: No value passed and Param has no default value", name)
			}
			out[name] = nil
			continue
		}
		if err := p.Validate(v); err != nil {
			return fmt.Errorf("Invalid input for param %s: %v", name, err)
		}
	}
	return nil
}

func sortedParamNames(m map[string]*ParamSpec) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// normalizeParamValue turns the number forms a conf may hold (int,
// json.Number) into int64 or float64.
func normalizeParamValue(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// isJSONType reports whether v is of the JSON-schema type t; a float
// with no fraction is an integer, as in jsonschema.
func isJSONType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		switch x := v.(type) {
		case int64:
			return true
		case float64:
			return x == math.Trunc(x) && !math.IsInf(x, 0)
		}
	case "number":
		switch v.(type) {
		case int64, float64:
			return true
		}
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// jsonEqual compares two plain values as JSON does: 1 equals 1.0.
func jsonEqual(a, b any) bool {
	switch a.(type) {
	case int64, float64:
		switch b.(type) {
		case int64, float64:
			return toFloat(a) == toFloat(b)
		}
		return false
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

var emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

func formatOK(format, s string) bool {
	switch format {
	case "date":
		_, err := time.Parse("2006-01-02", s)
		return err == nil
	case "date-time":
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	case "time":
		for _, l := range []string{"15:04:05Z07:00", "15:04:05", "15:04"} {
			if _, err := time.Parse(l, s); err == nil {
				return true
			}
		}
		return false
	case "email", "idn-email":
		return emailRE.MatchString(s)
	case "uri":
		i := strings.Index(s, ":")
		return i > 0 && !strings.ContainsAny(s, " \t\n")
	}
	return true
}

// PyRepr writes a plain value as Python's repr does, for messages in
// Airflow's words: 'text', 5, 2.5, True, None, [1, 'a'], {'k': 1}.
func PyRepr(v any) string {
	switch x := normalizeParamValue(v).(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		if strings.Contains(x, "'") && !strings.Contains(x, `"`) {
			return `"` + x + `"`
		}
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), "'", `\'`) + "'"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = PyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = PyRepr(k) + ": " + PyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// pyNum writes a number as Python does: 20 for an int-valued bound
// written as an int, 2.5 for a float.
func pyNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
