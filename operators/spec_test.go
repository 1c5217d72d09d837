package operators_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func testSpec() operators.Spec {
	return operators.Spec{
		Kind: "probe",
		Params: []operators.Param{
			{Name: "url", Type: operators.ParamString, Required: true, Templated: true},
			{Name: "method", Type: operators.ParamString, Default: "GET", Choices: []string{"GET", "POST"}},
			{Name: "count", Type: operators.ParamInt, Default: int64(3)},
			{Name: "ratio", Type: operators.ParamFloat},
			{Name: "verbose", Type: operators.ParamBool, Default: false},
			{Name: "timeout", Type: operators.ParamDuration, Default: 30 * time.Second},
			{Name: "items", Type: operators.ParamList, Templated: true},
			{Name: "headers", Type: operators.ParamDict, Templated: true},
			{Name: "body", Type: operators.ParamAny},
			{Name: "check", Type: operators.ParamFunction},
			{Name: "sql", Type: operators.ParamStringOrList},
		},
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	good := testSpec()
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name   string
		change func(*operators.Spec)
		want   string
	}{
		{"an empty kind", func(s *operators.Spec) { s.Kind = "" }, "not an identifier"},
		{"a duplicate parameter", func(s *operators.Spec) {
			s.Params = append(s.Params, operators.Param{Name: "url", Type: operators.ParamString})
		}, "declared twice"},
		{"a parameter named task_id", func(s *operators.Spec) { s.Params[0].Name = "task_id" }, "declared twice"},
		{"an unknown type", func(s *operators.Spec) { s.Params[0].Type = "blob" }, "unknown type"},
		{"a default of the wrong type", func(s *operators.Spec) { s.Params[2].Default = "three" }, "default of count: got string, want int"},
		{"a required parameter with a default", func(s *operators.Spec) { s.Params[0].Default = "x" }, "required parameter url has a default"},
		{"choices on an int", func(s *operators.Spec) { s.Params[2].Choices = []string{"1"} }, "has choices but is not a string"},
		{"too many positional parameters", func(s *operators.Spec) { s.Positional = 99 }, "Positional is 99"},
		{"a name with a dash", func(s *operators.Spec) { s.Params[1].Name = "http-method" }, "not an identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := testSpec()
			tt.change(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSpecArgs(t *testing.T) {
	t.Parallel()
	s := testSpec()
	a, err := s.Args(map[string]any{
		"url":     "http://x/{{ ds }}",
		"count":   7,                    // an int from hand-written Config
		"ratio":   int64(2),             // an int for a float
		"timeout": "1m30s",              // a duration string
		"items":   []any{"a", int64(1)}, // a list
		"sql":     "select 1",
		"check":   "d/t:check",
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"url", a.String("url"), "http://x/{{ ds }}"},
		{"method default", a.String("method"), "GET"},
		{"count", a.Int("count"), int64(7)},
		{"ratio", a.Float("ratio"), 2.0},
		{"verbose default", a.Bool("verbose"), false},
		{"timeout", a.Duration("timeout"), 90 * time.Second},
		{"items", a.List("items"), []any{"a", int64(1)}},
		{"sql as a list", a.Strings("sql"), []string{"select 1"}},
		{"check", a.String("check"), "d/t:check"},
		{"headers absent", a.Has("headers"), false},
		{"body absent", a.Value("body"), nil},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestSpecArgsRejectsBadConfig(t *testing.T) {
	t.Parallel()
	s := testSpec()
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"a missing required argument", map[string]any{}, "probe: missing argument url"},
		{"an unknown key", map[string]any{"url": "u", "ulr": "u"}, "probe: unknown argument ulr"},
		{"a wrong type", map[string]any{"url": 3}, "probe: for parameter url: got int, want string"},
		{"a choice not offered", map[string]any{"url": "u", "method": "PUT"}, `for parameter method: got "PUT", want one of GET, POST`},
		{"a bad duration", map[string]any{"url": "u", "timeout": "soon"}, "for parameter timeout"},
		{"a list holding a number", map[string]any{"url": "u", "sql": []any{"a", 1}}, "item 1: got int, want string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Args(tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Args() = %v, want an error containing %q", err, tt.want)
			}
			if !operators.IsFinal(err) {
				t.Errorf("a configuration error must be final (no retry can fix it): %v", err)
			}
		})
	}
}

// upper is a renderer that shows what it rendered.
type upper struct{}

func (upper) Render(_ context.Context, s string) (string, error) {
	if strings.Contains(s, "{{ fail }}") {
		return "", errors.New("boom")
	}
	return strings.ToUpper(s), nil
}

func TestArgsRenderOnlyTemplatedParams(t *testing.T) {
	t.Parallel()
	s := testSpec()
	config := map[string]any{
		"url":     "http://x",
		"items":   []any{"a", map[string]any{"k": "v"}, int64(1)},
		"headers": map[string]any{"x-id": "abc"},
		"body":    "not templated",
	}
	a, err := s.Args(config)
	if err != nil {
		t.Fatal(err)
	}
	c := &operators.Call{Task: dags.NewTask("t", "probe", dags.Pos{}), Renderer: upper{}}
	if err := a.Render(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := a.String("url"); got != "HTTP://X" {
		t.Errorf("url = %q, want it rendered", got)
	}
	if got, want := a.List("items"), []any{"A", map[string]any{"k": "V"}, int64(1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("items = %#v, want %#v", got, want)
	}
	if got := a.Dict("headers"); got["x-id"] != "ABC" {
		t.Errorf("headers = %#v, want the value rendered and the key kept", got)
	}
	if got := a.Value("body"); got != "not templated" {
		t.Errorf("body = %#v, want it left alone (not templated)", got)
	}
	if config["url"] != "http://x" || config["items"].([]any)[0] != "a" {
		t.Errorf("Render changed the task's Config: %#v", config)
	}

	bad, _ := s.Args(map[string]any{"url": "{{ fail }}"})
	if err := bad.Render(context.Background(), c); err == nil || !strings.Contains(err.Error(), "probe: render url: boom") {
		t.Errorf("Render of a failing template = %v", err)
	}
}

type specified struct{ operators.OperatorFunc }

func (specified) Spec() operators.Spec { return operators.Spec{Kind: "whatever", Doc: "d"} }

func TestRegistrySpecs(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	r.Register("plain", operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) { return nil, nil }))
	r.Register("zeta", specified{})
	r.Register("alpha", specified{})
	specs := r.Specs()
	if len(specs) != 2 || specs[0].Kind != "alpha" || specs[1].Kind != "zeta" {
		t.Fatalf("Specs() = %+v, want the two specified operators sorted, named by their registered kinds", specs)
	}
}
