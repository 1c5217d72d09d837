package builtins_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// probeSpec has a parameter of every type.
func probeSpec() operators.Spec {
	return operators.Spec{
		Kind:       "probe",
		Positional: 1,
		Params: []operators.Param{
			{Name: "url", Type: operators.ParamString, Required: true, Templated: true},
			{Name: "method", Type: operators.ParamString, Default: "GET", Choices: []string{"GET", "POST", "DELETE"}},
			{Name: "count", Type: operators.ParamInt},
			{Name: "ratio", Type: operators.ParamFloat},
			{Name: "verbose", Type: operators.ParamBool, Default: false},
			{Name: "timeout", Type: operators.ParamDuration},
			{Name: "items", Type: operators.ParamList},
			{Name: "headers", Type: operators.ParamDict},
			{Name: "body", Type: operators.ParamAny},
			{Name: "check", Type: operators.ParamFunction},
			{Name: "sql", Type: operators.ParamStringOrList},
		},
	}
}

func specLoader(specs ...operators.Spec) *loader.Loader {
	return loader.New(loader.Options{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators: specs,
	})
}

func loadSource(t *testing.T, l *loader.Loader, src string) *loader.File {
	t.Helper()
	return l.Load(context.Background(), loader.BundleSource("", map[string]string{"dag.star": src}), "dag.star")
}

func TestSpecBuiltinConfig(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(probeSpec()), `
def ok(resp):
    return True

def build():
    group(group_id = "g", build = lambda: probe("p", "http://x/{{ ds }}",
        method = "POST", count = 3, ratio = 1, verbose = True, timeout = timedelta(minutes = 2),
        items = ("a", 1), headers = {"k": "v"}, body = {"n": [1, 2.5, None]}, check = ok,
        sql = ["select 1", "select 2"], retries = 2, trigger_rule = "all_done"))
    probe(task_id = "defaults", url = "u", timeout = "1h30m", count = None, sql = "select 3")

dag(dag_id = "d", build = build)
`)
	if !f.OK() {
		t.Fatalf("errors: %v", f.Errors)
	}
	d := f.DAG("d")
	p := d.Task("g.p")
	if p == nil || p.Operator != "probe" || p.Retries != 2 || p.TriggerRule != "all_done" {
		t.Fatalf("task g.p = %+v, want a probe task with the common keywords applied", p)
	}
	want := map[string]any{
		"url":     "http://x/{{ ds }}",
		"method":  "POST",
		"count":   int64(3),
		"ratio":   1.0,
		"verbose": true,
		"timeout": 2 * time.Minute,
		"items":   []any{"a", int64(1)},
		"headers": map[string]any{"k": "v"},
		"body":    map[string]any{"n": []any{int64(1), 2.5, nil}},
		"check":   "d/g.p:check",
		"sql":     []any{"select 1", "select 2"},
	}
	if !reflect.DeepEqual(p.Config, want) {
		t.Errorf("Config =\n%#v\nwant\n%#v", p.Config, want)
	}
	if _, ok := f.Function("d/g.p:check"); !ok {
		t.Errorf("the check function is not registered under its key; keys: %v", f.FunctionKeys())
	}
	def := d.Task("defaults").Config
	wantDef := map[string]any{"url": "u", "method": "GET", "verbose": false, "timeout": 90 * time.Minute, "sql": "select 3"}
	if !reflect.DeepEqual(def, wantDef) {
		t.Errorf("Config with defaults = %#v, want %#v (None is like not passing the argument)", def, wantDef)
	}
	// The spec's Args read back exactly what the builtin stored.
	spec := probeSpec()
	args, err := spec.Args(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	if args.Duration("timeout") != 2*time.Minute || args.Strings("sql")[1] != "select 2" {
		t.Errorf("Args do not read the builtin's Config back: %+v", args)
	}
}

func TestSpecBuiltinErrors(t *testing.T) {
	t.Parallel()
	l := specLoader(probeSpec())
	tests := []struct {
		name, call, want string
	}{
		{"an unknown keyword with a hint", `probe(task_id = "p", url = "u", methd = "GET")`,
			"dag.star:2:10: probe: unexpected keyword argument methd (did you mean method?)"},
		{"a misspelt common keyword", `probe(task_id = "p", url = "u", retires = 1)`,
			"dag.star:2:10: probe: unexpected keyword argument retires (did you mean retries?)"},
		{"an unknown keyword without a near name", `probe(task_id = "p", url = "u", zzzzzzzzzzzz = 1)`,
			"dag.star:2:10: probe: unexpected keyword argument zzzzzzzzzzzz (known: task_id, url, method,"},
		{"a string given an int", `probe(task_id = "p", url = 3)`,
			"dag.star:2:10: probe: for parameter url: got int, want string"},
		{"a missing required argument", `probe(task_id = "p")`,
			"dag.star:2:10: probe: missing argument for url"},
		{"None for a required argument", `probe(task_id = "p", url = None)`,
			"dag.star:2:10: probe: for parameter url: got None, want string"},
		{"a choice misspelt", `probe(task_id = "p", url = "u", method = "PSOT")`,
			`dag.star:2:10: probe: for parameter method: got "PSOT", want one of "GET", "POST", "DELETE" (did you mean "POST"?)`},
		{"an int given a string", `probe(task_id = "p", url = "u", count = "3")`,
			"dag.star:2:10: probe: for parameter count: got string, want int"},
		{"a float given a bool", `probe(task_id = "p", url = "u", ratio = True)`,
			"dag.star:2:10: probe: for parameter ratio: got bool, want float"},
		{"a bool given an int", `probe(task_id = "p", url = "u", verbose = 1)`,
			"dag.star:2:10: probe: for parameter verbose: got int, want bool"},
		{"a bad duration", `probe(task_id = "p", url = "u", timeout = "soon")`,
			`dag.star:2:10: probe: for parameter timeout: bad duration "soon"`},
		{"a list given a dict", `probe(task_id = "p", url = "u", items = {})`,
			"dag.star:2:10: probe: for parameter items: got dict, want list"},
		{"a dict given a list", `probe(task_id = "p", url = "u", headers = [])`,
			"dag.star:2:10: probe: for parameter headers: got list, want dict"},
		{"a function given a string", `probe(task_id = "p", url = "u", check = "ok")`,
			"dag.star:2:10: probe: for parameter check: got string, want function"},
		{"a list of strings holding an int", `probe(task_id = "p", url = "u", sql = ["a", 2])`,
			"dag.star:2:10: probe: for parameter sql: item 1: got int, want string"},
		{"a value that is not JSON-like", `probe(task_id = "p", url = "u", body = {"f": len})`,
			"dag.star:2:10: probe: for parameter body: a builtin_function_or_method is not a JSON-like value"},
		{"too many positional arguments", `probe("p", "u", "GET")`,
			"dag.star:2:10: probe: got 3 positional arguments, want at most 2 (task_id, url); pass the others by keyword"},
		{"a bad common keyword", `probe(task_id = "p", url = "u", trigger_rule = "all_sucess")`,
			"dag.star:2:10: probe: for parameter trigger_rule: unknown trigger rule \"all_sucess\" (did you mean all_success?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := fmt.Sprintf("def build():\n    %s\n\ndag(dag_id = \"d\", build = build)\n", tt.call)
			f := loadSource(t, l, src)
			if len(f.Errors) != 1 {
				t.Fatalf("errors = %v, want one", f.Errors)
			}
			e := f.Errors[0]
			got := fmt.Sprintf("%s: %s", e.Pos, e.Message)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("error =\n%s\nwant\n%s", got, tt.want)
			}
			if len(f.DAGs) != 0 {
				t.Errorf("a file with an error defined DAGs: %v", f.DAGs)
			}
		})
	}
}

func TestSpecBuiltinOutsideABuild(t *testing.T) {
	t.Parallel()
	f := loadSource(t, specLoader(probeSpec()), "probe(task_id = \"p\", url = \"u\")\n")
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Message, "tasks must be created inside a DAG's build function") ||
		f.Errors[0].Pos.Line != 1 || f.Errors[0].Pos.Col != 6 {
		t.Errorf("errors = %v, want one at 1:6 about the build function", f.Errors)
	}
}

func TestSpecBuiltinMalformedSpec(t *testing.T) {
	t.Parallel()
	bad := operators.Spec{Kind: "bad", Params: []operators.Param{{Name: "retries", Type: operators.ParamInt}}}
	f := loadSource(t, specLoader(bad), "def build():\n    bad(task_id = \"x\")\n\ndag(dag_id = \"d\", build = build)\n")
	if len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Message, "parameter retries is a common task keyword") {
		t.Errorf("errors = %v, want the malformed spec reported at the call", f.Errors)
	}
}

func TestSpecBuiltinModuleMembers(t *testing.T) {
	t.Parallel()
	hello := starlark.NewBuiltin("probe.hello", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return starlark.String("hi"), nil
	})
	l := loader.New(loader.Options{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators:      []operators.Spec{probeSpec()},
		RuntimeModules: map[string]starlark.StringDict{"probe": {"hello": hello}, "other": {"hello": hello}},
	})
	f := loadSource(t, l, `
greeting = probe.hello() + other.hello()
names = dir(probe)

def build():
    probe(task_id = "p", url = greeting)

dag(dag_id = "d", build = build)
`)
	if !f.OK() {
		t.Fatalf("errors: %v", f.Errors)
	}
	if got := f.DAG("d").Task("p").Config["url"]; got != "hihi" {
		t.Errorf("url = %v, want the module members callable on the operator builtin and on their own", got)
	}
	op := builtins.NewOperator(probeSpec()).WithModule(starlark.StringDict{"hello": hello})
	if got := op.AttrNames(); !reflect.DeepEqual(got, []string{"hello"}) {
		t.Errorf("AttrNames = %v", got)
	}
}

// BenchmarkSpecBuiltin measures parsing a DAG of 1,000 tasks made by a
// spec builtin, keyword checking and conversion included.
func BenchmarkSpecBuiltin(b *testing.B) {
	l := specLoader(probeSpec())
	src := `
def ok(resp):
    return True

def build():
    for i in range(1000):
        probe(task_id = "p%d" % i, url = "http://x/{{ ds }}", method = "POST", timeout = "30s",
              headers = {"k": "v"}, body = {"n": [1, 2]}, check = ok, retries = 2)

dag(dag_id = "d", build = build)
`
	files := loader.BundleSource("", map[string]string{"dag.star": src})
	b.ReportAllocs()
	for b.Loop() {
		f := l.Load(context.Background(), files, "dag.star")
		if !f.OK() || f.DAGs[0].Len() != 1000 {
			b.Fatalf("load: %v", f.Errors)
		}
	}
}
