package dags

import (
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestResolveParamsValidatesAsJSONSchema(t *testing.T) {
	t.Parallel()
	d := New("p", Pos{})
	d.Schedule = Schedule{Kind: ScheduleNone}
	d.Params = map[string]any{"n": int64(10), "plain": "x", "choice": "foo", "day": "2024-01-01"}
	specs := map[string]*ParamSpec{
		"n":      {Default: int64(10), HasDefault: true, Types: []string{"integer"}, Minimum: ptr(0.0), Maximum: ptr(20.0)},
		"who":    {Types: []string{"string"}, MinLength: ptr(2), MaxLength: ptr(4), Pattern: "^[a-z]+$"},
		"opt":    {Types: []string{"null", "number", "string"}},
		"choice": {Default: "foo", HasDefault: true, Enum: []any{"foo", "bar", int64(42)}},
		"day":    {Default: "2024-01-01", HasDefault: true, Types: []string{"string"}, Format: "date"},
		"tags":   {Default: []any{}, HasDefault: true, Types: []string{"array"}, MaxItems: ptr(2)},
	}
	for _, p := range specs {
		if err := p.Compile(); err != nil {
			t.Fatal(err)
		}
	}
	d.ParamSpecs = specs
	for _, tt := range []struct {
		name string
		conf map[string]any
		want string // "" means valid
	}{
		{"a valid conf", map[string]any{"who": "abc"}, ""},
		{"a float with no fraction is an integer", map[string]any{"who": "abc", "n": 5.0}, ""},
		{"any conf key passes through", map[string]any{"who": "abc", "extra": []any{1}}, ""},
		{"a required param missing", map[string]any{}, "Invalid input for param who: No value passed and Param has no default value"},
		{"above the maximum", map[string]any{"who": "abc", "n": int64(25)}, "Invalid input for param n: 25 is greater than the maximum of 20"},
		{"below the minimum", map[string]any{"who": "abc", "n": int64(-1)}, "Invalid input for param n: -1 is less than the minimum of 0"},
		{"the wrong type", map[string]any{"who": "abc", "n": "ten"}, "Invalid input for param n: 'ten' is not of type 'integer'"},
		{"a fraction is no integer", map[string]any{"who": "abc", "n": 2.5}, "Invalid input for param n: 2.5 is not of type 'integer'"},
		{"too short", map[string]any{"who": "a"}, "Invalid input for param who: 'a' is too short"},
		{"too long", map[string]any{"who": "abcde"}, "Invalid input for param who: 'abcde' is too long"},
		{"no pattern match", map[string]any{"who": "AB"}, "Invalid input for param who: 'AB' does not match '^[a-z]+$'"},
		{"a list of types", map[string]any{"who": "abc", "opt": true}, "Invalid input for param opt: True is not of type 'null', 'number', 'string'"},
		{"null allowed", map[string]any{"who": "abc", "opt": nil}, ""},
		{"not in the enum", map[string]any{"who": "abc", "choice": "baz"}, "Invalid input for param choice: 'baz' is not one of ['foo', 'bar', 42]"},
		{"an enum number", map[string]any{"who": "abc", "choice": 42.0}, ""},
		{"a bad date", map[string]any{"who": "abc", "day": "2024-13-01"}, "Invalid input for param day: '2024-13-01' is not a 'date'"},
		{"too many items", map[string]any{"who": "abc", "tags": []any{"a", "b", "c"}}, "Invalid input for param tags: ['a', 'b', 'c'] should have at most 2 items"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.ResolveParams(tt.conf)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ResolveParams(%v) = %v", tt.conf, err)
				}
				for k, v := range tt.conf {
					if PyRepr(got[k]) != PyRepr(v) {
						t.Errorf("param %s = %v, want the conf's %v", k, got[k], v)
					}
				}
				if _, ok := got["plain"]; !ok {
					t.Errorf("plain param missing from %v", got)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ResolveParams(%v) = %v; want one line starting %q", tt.conf, err, tt.want)
			}
		})
	}
}

func TestCheckParamDefaults(t *testing.T) {
	t.Parallel()
	d := New("p", Pos{})
	d.ParamSpecs = map[string]*ParamSpec{"who": {Types: []string{"string"}}}
	d.Schedule = Schedule{Kind: ScheduleNone}
	if err := d.CheckParamDefaults(); err != nil {
		t.Errorf("schedule None: %v; want params checked at trigger time only", err)
	}
	d.Schedule = Schedule{Kind: ScheduleOnce}
	if err := d.CheckParamDefaults(); err == nil || !strings.Contains(err.Error(), "param who has no default value") {
		t.Errorf("scheduled, no default: %v", err)
	}
	d.ParamSpecs = map[string]*ParamSpec{"who": {Types: []string{"null", "string"}}}
	if err := d.CheckParamDefaults(); err != nil {
		t.Errorf("scheduled, nullable without default: %v", err)
	}
}

// TestCheckTaskParams checks Airflow's process_params at task start: DAG
// params, then the task's, then the conf, each checked against the task's
// Param of that name, else the DAG's.
func TestCheckTaskParams(t *testing.T) {
	t.Parallel()
	compiled := func(p *ParamSpec) *ParamSpec {
		if err := p.Compile(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := New("p", Pos{})
	d.ParamSpecs = map[string]*ParamSpec{"mood": compiled(&ParamSpec{Default: "calm", HasDefault: true, Enum: []any{"happy", "calm"}})}
	task := NewTask("t", "bash", Pos{})
	task.ParamSpecs = map[string]*ParamSpec{"n": compiled(&ParamSpec{Default: int64(3), HasDefault: true, Types: []string{"integer"}, Maximum: ptr(5.0)})}
	for _, tt := range []struct {
		name   string
		params map[string]any
		want   string
	}{
		{"defaults", map[string]any{"mood": "calm", "n": int64(3)}, ""},
		{"a missing value takes the Param's default", map[string]any{}, ""},
		{"the task's Param checks a conf value", map[string]any{"mood": "calm", "n": 9}, "Invalid input for param n: 9 is greater than the maximum of 5"},
		{"the DAG's Param checks a task's plain value", map[string]any{"mood": "grumpy", "n": int64(3)}, "Invalid input for param mood: 'grumpy' is not one of ['happy', 'calm']"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := d.CheckTaskParams(task, tt.params)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.params["n"] != int64(3) || tt.params["mood"] != "calm" {
					t.Errorf("params = %v, want the defaults filled in", tt.params)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
