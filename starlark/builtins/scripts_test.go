package builtins_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/loader"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata/scripts")

// TestScripts runs every testdata/scripts/*.star file. The scripts check
// values with the assert module; the DAGs they define are compared with
// the file's .golden dump, so both behaviour and the resulting model are
// pinned down.
func TestScripts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "scripts")
	files, err := filepath.Glob(filepath.Join(dir, "*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in %s: %v", dir, err)
	}
	l := loader.New(loader.Options{
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Predeclared: starlark.StringDict{"assert": assertModule()},
	})
	src := loader.Source{FS: os.DirFS(dir)}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".star"), func(t *testing.T) {
			t.Parallel()
			f := l.Load(context.Background(), src, name)
			for _, e := range f.Errors {
				t.Errorf("%s: %s [%s]", e.Pos, e.Message, e.Rule)
			}
			got := dump(f)
			golden := strings.TrimSuffix(path, ".star") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("DAG dump differs from %s (go test -update rewrites it):\n%s", golden, diff(string(want), got))
			}
		})
	}
}

// dump writes the DAGs of a file in a stable, readable form.
func dump(f *loader.File) string {
	var b strings.Builder
	for _, d := range f.DAGs {
		fmt.Fprintf(&b, "dag %s at %s\n", d.ID, d.Pos)
		fmt.Fprintf(&b, "  schedule=%s timezone=%s catchup=%v paused=%v max_active_runs=%d max_active_tasks=%d\n",
			d.Schedule, d.Timezone, d.Catchup, d.IsPausedUponCreation, d.MaxActiveRuns, d.MaxActiveTasks)
		fmt.Fprintf(&b, "  start=%s end=%s dagrun_timeout=%s\n", fmtTime(d.StartDate), fmtTime(d.EndDate), d.DagrunTimeout)
		if d.Description != "" || d.DocMD != "" || len(d.Tags) > 0 {
			fmt.Fprintf(&b, "  description=%q doc_md=%q tags=%v\n", d.Description, d.DocMD, d.Tags)
		}
		if d.DisplayName != "" {
			fmt.Fprintf(&b, "  dag_display_name=%q\n", d.DisplayName)
		}
		if len(d.Params) > 0 {
			fmt.Fprintf(&b, "  params=%s\n", js(d.Params))
		}
		if d.LenientUndefined {
			b.WriteString("  template_undefined=Undefined\n")
		}
		if !d.Callbacks.IsZero() {
			fmt.Fprintf(&b, "  callbacks=%s\n", js(d.Callbacks))
		}
		for _, t := range d.Tasks() {
			fmt.Fprintf(&b, "  task %s (%s) at %s", t.ID, t.Operator, t.Pos)
			if t.Group != "" {
				fmt.Fprintf(&b, " group=%s", t.Group)
			}
			if t.Function != "" {
				fmt.Fprintf(&b, " function=%s", t.Function)
			}
			b.WriteString("\n")
			fmt.Fprintf(&b, "    upstream=%v downstream=%v\n", t.Upstream, t.Downstream)
			for _, down := range t.Downstream {
				if l := d.EdgeLabel(t.ID, down); l != "" {
					fmt.Fprintf(&b, "    edge %s >> %s label=%q\n", t.ID, down, l)
				}
			}
			def := dags.NewTask(t.ID, t.Operator, t.Pos)
			var settings []string
			add := func(name string, v, d any) {
				if fmt.Sprint(v) != fmt.Sprint(d) {
					settings = append(settings, fmt.Sprintf("%s=%v", name, v))
				}
			}
			add("trigger_rule", t.TriggerRule, def.TriggerRule)
			add("retries", t.Retries, def.Retries)
			add("retry_delay", t.RetryDelay, def.RetryDelay)
			add("retry_delay_set", t.RetryDelaySet, def.RetryDelaySet)
			add("backoff", t.RetryExponentialBackoff, def.RetryExponentialBackoff)
			add("max_retry_delay", t.MaxRetryDelay, def.MaxRetryDelay)
			add("execution_timeout", t.ExecutionTimeout, def.ExecutionTimeout)
			add("pool", t.Pool, def.Pool)
			add("pool_slots", t.PoolSlots, def.PoolSlots)
			add("priority_weight", t.PriorityWeight, def.PriorityWeight)
			add("weight_rule", t.WeightRule, def.WeightRule)
			add("queue", t.Queue, def.Queue)
			add("depends_on_past", t.DependsOnPast, def.DependsOnPast)
			add("doc_md", t.DocMD, def.DocMD)
			add("sla", t.SLA, def.SLA)
			add("doc", t.Doc, def.Doc)
			add("task_display_name", t.DisplayName, def.DisplayName)
			add("owner", t.Owner, def.Owner)
			add("email", t.Email, def.Email)
			add("email_on_failure", t.EmailOnFailure, def.EmailOnFailure)
			add("email_on_retry", t.EmailOnRetry, def.EmailOnRetry)
			add("do_xcom_push", t.DoXComPush, def.DoXComPush)
			add("multiple_outputs", t.MultipleOutputs, def.MultipleOutputs)
			add("wait_for_downstream", t.WaitForDownstream, def.WaitForDownstream)
			add("map_index_template", t.MapIndexTemplate, def.MapIndexTemplate)
			add("start_date", fmtTime(t.StartDate), fmtTime(def.StartDate))
			add("end_date", fmtTime(t.EndDate), fmtTime(def.EndDate))
			add("setup", t.IsSetup, def.IsSetup)
			add("teardown", t.IsTeardown, def.IsTeardown)
			add("on_failure_fail_dagrun", t.OnFailureFailDagrun, def.OnFailureFailDagrun)
			if len(t.Params) > 0 {
				settings = append(settings, "params="+js(t.Params))
			}
			if !t.Callbacks.IsZero() {
				settings = append(settings, "callbacks="+js(t.Callbacks))
			}
			if len(t.Inlets) > 0 {
				settings = append(settings, "inlets="+js(t.Inlets))
			}
			if len(t.Outlets) > 0 {
				settings = append(settings, "outlets="+js(t.Outlets))
			}
			if len(settings) > 0 {
				fmt.Fprintf(&b, "    %s\n", strings.Join(settings, " "))
			}
			if len(t.Config) > 0 {
				fmt.Fprintf(&b, "    config=%s\n", js(t.Config))
			}
		}
	}
	keys := f.FunctionKeys()
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintf(&b, "functions %s\n", strings.Join(keys, " "))
	}
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// js marshals v with Go types visible for the numbers that matter
// (int64 versus float64).
func js(v any) string {
	b, err := json.Marshal(typed(v))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// typed marks int64 values with an "i" suffix so the dump shows that the
// loader produced int64, not float64.
func typed(v any) any {
	switch v := v.(type) {
	case int64:
		return fmt.Sprintf("%di", v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = typed(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = typed(e)
		}
		return out
	}
	return v
}

// diff shows the first differing line of two dumps.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant: %s\n got: %s", i+1, a, b)
		}
	}
	return "(same)"
}

// assertModule is a small assert module for the scripts: assert.eq(x,
// y), assert.ne(x, y), assert.true(x, msg=""), assert.fails(fn, substring).
// A failed assertion is an error at the position of the call.
func assertModule() *starlarkstruct.Module {
	m := &starlarkstruct.Module{Name: "assert", Members: starlark.StringDict{
		"eq": builtins.Safe("eq", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x, y starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
				return nil, err
			}
			ok, err := starlark.Equal(x, y)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("assert.eq: %s != %s", x, y)
			}
			return starlark.None, nil
		}),
		"ne": builtins.Safe("ne", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x, y starlark.Value
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
				return nil, err
			}
			ok, err := starlark.Equal(x, y)
			if err != nil {
				return nil, err
			}
			if ok {
				return nil, fmt.Errorf("assert.ne: %s == %s", x, y)
			}
			return starlark.None, nil
		}),
		"true": builtins.Safe("true", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var x starlark.Value
			msg := "assertion failed"
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x, "msg?", &msg); err != nil {
				return nil, err
			}
			if !x.Truth() {
				return nil, fmt.Errorf("assert.true: %s", msg)
			}
			return starlark.None, nil
		}),
		"fails": builtins.Safe("fails", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var fn starlark.Callable
			var want string
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &fn, &want); err != nil {
				return nil, err
			}
			_, err := starlark.Call(thread, fn, nil, nil)
			if err == nil {
				return nil, fmt.Errorf("assert.fails: %s did not fail", fn.Name())
			}
			msg := err.Error()
			if ee, ok := err.(*starlark.EvalError); ok {
				msg = ee.Msg
			}
			if !strings.Contains(msg, want) {
				return nil, fmt.Errorf("assert.fails: error %q does not contain %q", msg, want)
			}
			return starlark.None, nil
		}),
	}}
	m.Freeze()
	return m
}
