package templates

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// fakeXCom is an in-memory XCom of one run.
type fakeXCom struct {
	mu     sync.Mutex
	values map[string]any // "task/key" -> value
	pulls  int
}

func (x *fakeXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pulls++
	if taskID == "broken" {
		return nil, false, errors.New("store is down")
	}
	v, ok := x.values[taskID+"/"+key]
	return v, ok, nil
}

func (x *fakeXCom) Push(_ context.Context, key string, value any) error {
	return errors.New("not used")
}

// fakeVars is an in-memory variable store.
type fakeVars map[string]string

func (v fakeVars) Get(_ context.Context, name string) (string, bool, error) {
	s, ok := v[name]
	return s, ok, nil
}

func setup(t testing.TB) *operators.Call {
	t.Helper()
	d := dags.New("etl", dags.Pos{File: "etl.star", Line: 1, Col: 1})
	d.Description = "nightly load"
	d.Tags = []string{"example"}
	task := dags.NewTask("extract", dags.OperatorBash, dags.Pos{})
	task.Retries = 3
	d.AddTask(task)
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("finalize: %v", f)
	}
	return &operators.Call{
		DAG:       d,
		Task:      task,
		TryNumber: 2,
		MapIndex:  -1,
		Run: operators.RunInfo{
			DAGID:             "etl",
			RunID:             "scheduled__2024-01-15T00:00:00+00:00",
			RunType:           dags.RunTypeScheduled,
			LogicalDate:       time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalStart: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalEnd:   time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC),
			Conf:              map[string]any{"region": "eu"},
		},
		Params: map[string]any{
			"x":     "hello",
			"items": []any{int64(1), int64(2), int64(3)},
			"n":     nil,
			"flag":  true,
			"ratio": 0.5,
		},
		XCom: &fakeXCom{values: map[string]any{
			"extract/return_value": "42 rows",
			"load/return_value":    int64(7),
			"extract/count":        []any{int64(1), nil},
		}},
		Variables: fakeVars{"bucket": "s3://data", "cfg": `{"n": 3, "names": ["a", "b"], "f": 1.5}`},
	}
}

func TestRenderContext(t *testing.T) {
	t.Parallel()
	r := NewEngine().Renderer(setup(t))
	tests := []struct{ name, in, want string }{
		{"ds", "{{ ds }}", "2024-01-15"},
		{"ds_nodash", "{{ ds_nodash }}", "20240115"},
		{"ts", "{{ ts }}", "2024-01-15T00:00:00+00:00"},
		{"ts_nodash", "{{ ts_nodash }}", "20240115T000000"},
		{"ts_nodash_with_tz", "{{ ts_nodash_with_tz }}", "20240115T000000+0000"},
		{"logical_date", "{{ logical_date }}", "2024-01-15T00:00:00+00:00"},
		{"data_interval_start", "{{ data_interval_start }}", "2024-01-15T00:00:00+00:00"},
		{"data_interval_end", "{{ data_interval_end }}", "2024-01-16T00:00:00+00:00"},
		{"run_id", "{{ run_id }}", "scheduled__2024-01-15T00:00:00+00:00"},
		{"dag id", "{{ dag.dag_id }}", "etl"},
		{"dag prints as Airflow's", "{{ dag }}", "<DAG: etl>"},
		{"task id", "{{ task.task_id }}", "extract"},
		{"task retries", "{{ task.retries }}", "3"},
		{"ti attributes", "{{ ti.dag_id }}/{{ ti.task_id }}/{{ ti.try_number }}/{{ ti.map_index }}", "etl/extract/2/-1"},
		{"task_instance_key_str", "{{ task_instance_key_str }}", "etl__extract__20240115"},
		{"try_number", "{{ try_number }}", "2"},
		{"params attribute", "{{ params.x }}", "hello"},
		{"params item", "{{ params['x'] }}", "hello"},
		{"params list renders as Jinja", "{{ params.items }}", "[1, 2, 3]"},
		{"None param renders None", "{{ params.n }}", "None"},
		{"bool param renders True", "{{ params.flag }}", "True"},
		{"float param", "{{ params.ratio }}", "0.5"},
		{"undefined renders empty", "[{{ nothing }}][{{ params.missing }}]", "[][]"},
		{"conf", "{{ conf.region }}", "eu"},
		{"dag_run.conf", "{{ dag_run.conf.region }}", "eu"},
		{"dag_run.run_id", "{{ dag_run.run_id }}", "scheduled__2024-01-15T00:00:00+00:00"},
		{"dag_run.logical_date", "{{ dag_run.logical_date | ds }}", "2024-01-15"},
		{"var.value", "{{ var.value.bucket }}", "s3://data"},
		{"var.value item", "{{ var.value['bucket'] }}", "s3://data"},
		{"var.value.get existing", "{{ var.value.get('bucket', 'x') }}", "s3://data"},
		{"var.value.get fallback", "{{ var.value.get('nope', 'fallback') }}", "fallback"},
		{"var.json field", "{{ var.json.cfg.n + 1 }}", "4"},
		{"var.json list", "{{ var.json.cfg.names | join(',') }}", "a,b"},
		{"var.json.get fallback", "{{ var.json.get('nope', 5) }}", "5"},
		{"xcom_pull keyword", "{{ ti.xcom_pull(task_ids='extract') }}", "42 rows"},
		{"xcom_pull positional", "{{ ti.xcom_pull('load') }}", "7"},
		{"xcom_pull with key", "{{ ti.xcom_pull(task_ids='extract', key='count') }}", "[1, None]"},
		{"xcom_pull list", "{{ ti.xcom_pull(task_ids=['extract', 'load', 'missing']) }}", "['42 rows', 7, None]"},
		{"xcom_pull defaults to own task", "{{ ti.xcom_pull() }}", "42 rows"},
		{"task_instance.xcom_pull", "{{ task_instance.xcom_pull(task_ids='load', key='return_value') }}", "7"},
		{"missing xcom renders None", "{{ ti.xcom_pull(task_ids='missing') }}", "None"},
		{"missing xcom is none", "{% if ti.xcom_pull('missing') is none %}none{% endif %}", "none"},
		{"missing xcom is false", "{% if ti.xcom_pull('missing') %}yes{% else %}no{% endif %}", "no"},
		{"xcom_pull default", "{{ ti.xcom_pull('missing', default='d') }}", "d"},
		{"macros.ds_add", "{{ macros.ds_add(ds, 7) }}", "2024-01-22"},
		{"macros.ds_add negative across a month", "{{ macros.ds_add(ds, -15) }}", "2023-12-31"},
		{"macros.ds_format", `{{ macros.ds_format(ds, "%Y-%m-%d", "%d/%m") }}`, "15/01"},
		{"ds filter", "{{ data_interval_end | ds }}", "2024-01-16"},
		{"ds_nodash filter", "{{ data_interval_end | ds_nodash }}", "20240116"},
		{"ts filter", "{{ data_interval_end | ts }}", "2024-01-16T00:00:00+00:00"},
		{"ts_nodash filter", "{{ data_interval_end | ts_nodash }}", "20240116T000000"},
		{"ts_nodash_with_tz filter", "{{ data_interval_end | ts_nodash_with_tz }}", "20240116T000000+0000"},
		{"filter on a date string", "{{ '2024-03-01' | ds_nodash }}", "20240301"},
		{"strftime", "{{ logical_date.strftime('%Y/%m/%d %H') }}", "2024/01/15 00"},
		{"datetime attributes", "{{ logical_date.year }}-{{ logical_date.month }}-{{ logical_date.day }}", "2024-1-15"},
		{"datetime add", "{{ logical_date.add(days=1, hours=2) }}", "2024-01-16T02:00:00+00:00"},
		{"datetime subtract", "{{ data_interval_end.subtract(weeks=1) | ds }}", "2024-01-09"},
		{"loop", "{% for x in params.items %}<{{ x }}>{% endfor %}", "<1><2><3>"},
		{"loop with index", "{% for x in params.items %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}", "1,2,3"},
		{"filter", "{{ params.x | upper }}", "HELLO"},
		{"filter chain", "{{ params.items | map('string') | join('-') }}", "1-2-3"},
		{"conditional", "{% if params.flag %}on{% else %}off{% endif %}", "on"},
		{"set and arithmetic", "{% set n = params.items | length %}{{ n * 2 }}", "6"},
		{"text around", "echo {{ ds }} > /tmp/{{ ds_nodash }}.txt", "echo 2024-01-15 > /tmp/20240115.txt"},
		{"comment", "a{# note #}b{{ '' }}", "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Render(context.Background(), tt.in)
			if err != nil {
				t.Fatalf("Render(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Render(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	r := NewEngine().Renderer(setup(t))
	tests := []struct {
		name, in string
		wants    []string
	}{
		{"syntax error names the line", "line one\n{{ foo( }}", []string{"template syntax error", "Line: 2"}},
		{"unclosed block", "{% if params.flag %}x", []string{"template syntax error"}},
		{"missing variable", "{{ var.value.nope }}", []string{`variable "nope" does not exist`}},
		{"missing json variable", "{{ var.json.nope }}", []string{`variable "nope" does not exist`}},
		{"variable that is not JSON", "{{ var.json.bucket }}", []string{`variable "bucket" is not valid JSON`}},
		{"unknown filter", "{{ ds | nosuch }}", []string{"nosuch"}},
		{"attribute of undefined", "x\n{{ nothing.at.all }}", []string{"line 2", "nothing.at"}},
		{"store error", "{{ ti.xcom_pull('broken') }}", []string{"store is down"}},
		{"bad ds_add argument", "{{ macros.ds_add(ds, 'x') }}", []string{"ds_add: days must be an integer"}},
		{"bad ds_format", `{{ macros.ds_format('15/01', '%Y-%m-%d', '%d') }}`, []string{"ds_format", "does not match"}},
		{"unknown xcom_pull argument", "{{ ti.xcom_pull(task='x') }}", []string{`unexpected keyword argument "task"`}},
		{"cross-DAG xcom_pull", "{{ ti.xcom_pull('x', dag_id='other') }}", []string{"another DAG"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Render(context.Background(), tt.in)
			if err == nil {
				t.Fatalf("Render(%q) = %q, want an error", tt.in, got)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Render(%q) error %q does not contain %q", tt.in, err, w)
				}
			}
			for _, noise := range []string{"github.com/", "unable to execute template"} {
				if strings.Contains(err.Error(), noise) {
					t.Errorf("Render(%q) error %q shows engine internals (%q)", tt.in, err, noise)
				}
			}
		})
	}
}

func TestFastPath(t *testing.T) {
	t.Parallel()
	c := setup(t)
	x := c.XCom.(*fakeXCom)
	// A nil engine would panic if the fast path touched it.
	r := &Renderer{call: c}
	for _, s := range []string{"", "echo hello", "echo ${#array[@]} {x} }}", "a { { b", "{"} {
		got, err := r.Render(context.Background(), s)
		if err != nil || got != s {
			t.Errorf("Render(%q) = %q, %v; want it unchanged", s, got, err)
		}
	}
	if x.pulls != 0 {
		t.Errorf("fast path pulled XComs %d times", x.pulls)
	}
}

func TestNeedsRendering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"plain", false},
		{"{", false},
		{"${#x}", false},
		{"{ {", false},
		{"{{", true},
		{"a {{ b }}", true},
		{"{% if x %}", true},
		{"x{y{%", true},
	}
	for _, tt := range tests {
		if got := NeedsRendering(tt.in); got != tt.want {
			t.Errorf("NeedsRendering(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNoLogicalDate(t *testing.T) {
	t.Parallel()
	c := setup(t)
	c.Run.LogicalDate = time.Time{}
	c.Run.DataIntervalStart = time.Time{}
	c.Run.DataIntervalEnd = time.Time{}
	got, err := NewRenderer(c).Render(context.Background(), "[{{ ds }}][{{ logical_date }}][{{ task_instance_key_str }}]")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[][None][etl__extract__scheduled__2024-01-15T00:00:00+00:00]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMicrosecondsAndZones(t *testing.T) {
	t.Parallel()
	c := setup(t)
	loc := time.FixedZone("X", 2*3600)
	c.Run.LogicalDate = time.Date(2024, 1, 15, 1, 2, 3, 456789000, loc)
	got, err := NewRenderer(c).Render(context.Background(), "{{ ts }} {{ ts_nodash_with_tz }} {{ ds }}")
	if err != nil {
		t.Fatal(err)
	}
	// logical_date is always UTC, as in Airflow.
	if want := "2024-01-14T23:02:03.456789+00:00 20240114T230203.456789+0000 2024-01-14"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestConcurrentRenders(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	c := setup(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.Renderer(c)
			for range 50 {
				got, err := r.Render(context.Background(), "{% for x in params.items %}{{ x }}{% endfor %} {{ ti.xcom_pull('load') }} {{ ds }}")
				if err != nil || got != "123 7 2024-01-15" {
					t.Errorf("goroutine %d: got %q, %v", i, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	e.limit = 4
	r := e.Renderer(setup(t))
	for i := range 10 {
		src := "{{ ds }}" + strings.Repeat("x", i)
		got, err := r.Render(context.Background(), src)
		if err != nil || got != "2024-01-15"+strings.Repeat("x", i) {
			t.Fatalf("Render(%q) = %q, %v", src, got, err)
		}
	}
	if n := len(e.cache); n > 4 {
		t.Errorf("cache holds %d templates, limit 4", n)
	}
}

func BenchmarkRenderPlain(b *testing.B) {
	r := NewEngine().Renderer(setup(b))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Render(ctx, "echo hello world; ls -la /tmp"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderDS(b *testing.B) {
	r := NewEngine().Renderer(setup(b))
	ctx := context.Background()
	for b.Loop() {
		if _, err := r.Render(ctx, "echo {{ ds }}"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderDSNewTask renders for a new task instance each time
// (a fresh context), as the executor does, with a shared engine.
func BenchmarkRenderDSNewTask(b *testing.B) {
	e := NewEngine()
	c := setup(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Renderer(c).Render(ctx, "echo {{ ds }}"); err != nil {
			b.Fatal(err)
		}
	}
}
