package templates

import (
	"context"
	"errors"
	"fmt"
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
	x.mu.Lock()
	defer x.mu.Unlock()
	if key == "broken" {
		return errors.New("store is down")
	}
	x.values["pushed/"+key] = value
	return nil
}

// PullLatest returns extract's count, the XCom it pushed last.
func (x *fakeXCom) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if taskID != "extract" {
		return nil, false, nil
	}
	return x.values["extract/count"], true, nil
}

// fakeConns is an in-memory connection store.
type fakeConns map[string]*operators.Connection

func (m fakeConns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if c, ok := m[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("connection %s: %w", id, operators.ErrNotFound)
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
		Connections: fakeConns{"warehouse": {ID: "warehouse", Type: "postgres", Host: "db.example", Port: 5432,
			Schema: "sales", Login: "ada", Password: "pw", Extra: map[string]any{"sslmode": "require"}}},
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
		{"undefined is not defined", "{{ nothing is defined }} {{ params.missing is defined }} {{ params.x is defined }}", "False False True"},
		{"undefined test", "{{ nothing is undefined }} {{ params.missing is undefined }}", "True True"},
		{"default of undefined", "{{ nothing | default('y') }} {{ params.missing | default('z') }} {{ params.x | default('z') }}", "y z hello"},
		{"defined guard", "{% if params.missing is defined and params.missing %}yes{% else %}no{% endif %}", "no"},
		{"undefined is not none", "{{ nothing is none }}", "False"},
		{"params.get fallback", "{{ params.get('missing', 'd') }}", "d"},
		{"params.get of a missing key is None", "{{ params.get('missing') }}", "None"},
		{"params.get of a missing key is none", "{{ params.get('missing') is none }}", "True"},
		{"params.get of a set key", "{{ params.get('x') }}", "hello"},
		{"dict.get in a template is None", "{{ {'a': 1}.get('b') }} {{ {'a': 1}.get('a') }}", "None 1"},
		{"conf.get of a missing key is None", "{{ dag_run.conf.get('missing') }}", "None"},
		{"params.get of a None param is None", "{{ params.get('n') }}", "None"},
		{"params.get with a None default", "{{ params.get('missing', None) }}", "None"},
		{"None literal renders None", "{{ None }} {{ [None, 1] }} {{ {'a': None} }}", "None [None, 1] {'a': None}"},
		{"None in set and macro defaults", "{% set a = None %}{{ a }} {{ a is none }} {% macro m(b=None) %}{{ b }}{% endmacro %}{{ m() }}", "None True None"},
		{"default(None) of undefined", "{{ nothing | default(None) }}", "None"},
		{"None equals None", "{{ params.n == None }} {{ params.n != None }} {{ ti.xcom_pull('missing') == None }} {{ params.x == None }}", "True False True False"},
		{"dict values and items keep None", "{{ params.values() }} {{ params.items()[2] }} {{ params.copy().n }}", "[True, [1, 2, 3], None, 0.5, 'hello'] ['n', None] None"},
		{"get of a dict literal keeps None", "{{ {'a': None}.get('a') }} {{ {'a': None}.get('b', 2) }}", "None 2"},
		{"methods without a result return None", "{{ {'a': 1}.update({'b': 2}) }} {{ [1].append(2) }}", "None None"},
		{"tojson of None is null", "{{ params.n | tojson }} {{ None | tojson }} {{ {'a': params.n} | tojson }} {{ [None, params.n, {'b': [None]}] | tojson }}", `null null {"a":null} [null,null,{"b":[null]}]`},
		{"set names are defined", "{% set x = 1 %}{{ x }}", "1"},
		{"macro default argument", "{% macro m(a, b=2) %}{{ a }}{{ b }}{% endmacro %}{{ m(1) }}", "12"},
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
		{"xcom_pull key=None is any key", "{{ ti.xcom_pull(task_ids='extract', key=None) }}", "[1, None]"},
		{"conn attribute", "{{ conn.warehouse.host }}:{{ conn.warehouse.port }}/{{ conn.warehouse.schema }}", "db.example:5432/sales"},
		{"conn item and login", "{{ conn['warehouse'].login }}", "ada"},
		{"conn.get", "{{ conn.get('warehouse').conn_type }}", "postgres"},
		{"conn.get missing", "{{ conn.get('nowhere') }}", "None"},
		{"conn extra_dejson", "{{ conn.warehouse.extra_dejson.sslmode }}", "require"},
		{"conn get_uri", "{{ conn.warehouse.get_uri() }}", "postgres://ada:pw@db.example:5432/sales?sslmode=require"},
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
		{"percent format of a tuple", "{{ '%s-%s' % (ds, params.x) }}", "2024-01-15-hello"},
		{"percent d", "{{ 'x=%d' % 7 }}", "x=7"},
		{"percent d of a float truncates", "{{ '%d' % 7.9 }}", "7"},
		{"percent r quotes as Python", "{{ '%r' % params.x }}", "'hello'"},
		{"percent r of a string with a quote", `{{ "%r" % "it's" }}`, `"it's"`},
		{"percent r in a tuple", "{{ '%r and %r' % (params.x, 3) }}", "'hello' and 3"},
		{"percent s of a list is one argument", "{{ '%s' % params.items }}", "[1, 2, 3]"},
		{"percent with a mapping", "{{ '%(a)s/%(b)05.1f' % {'a': 'x', 'b': 2.25} }}", "x/002.2"},
		{"percent widths and flags", "{{ '[%5s|%-4d|%+d|%03d|%x|%#o|%.2e]' % ('ab', 7, 3, 5, 255, 8, 12345.678) }}", "[   ab|7   |+3|005|ff|0o10|1.23e+04]"},
		{"percent literal", "{{ '100%% %s' % 'done' }}", "100% done"},
		{"integer modulo keeps Python's sign", "{{ -7 % 3 }} {{ 7 // -2 }}", "2 -4"},
		{"float modulo", "{{ 7.5 % 2 }}", "1.5"},
		{"addition still works", "{{ 1 + 2 }} {{ 'a' + 'b' }} {{ params.items + [4] }}", "3 ab [1, 2, 3, 4]"},
		{"comparisons still work", "{{ 2 < 3 }} {{ 'b' >= 'a' }} {{ params.x == 'hello' }} {{ 1 != 1 }}", "True True True False"},
		{"macros.timedelta", "{{ macros.timedelta(days=1, hours=2) }}", "1 day, 2:00:00"},
		{"timedelta of minutes", "{{ macros.timedelta(minutes=90) }}", "1:30:00"},
		{"negative timedelta", "{{ macros.timedelta(seconds=-1) }}", "-1 day, 23:59:59"},
		{"datetime minus timedelta", `{{ (logical_date - macros.timedelta(days=1)).strftime("%Y-%m-%d") }}`, "2024-01-14"},
		{"datetime minus timedelta, year", `{{ (logical_date - macros.timedelta(days=15)).strftime("%Y") }}`, "2023"},
		{"datetime plus timedelta", "{{ logical_date + macros.timedelta(hours=6) }}", "2024-01-15T06:00:00+00:00"},
		{"timedelta plus datetime", "{{ (macros.timedelta(days=1) + logical_date) | ds }}", "2024-01-16"},
		{"datetime minus datetime", "{{ data_interval_end - data_interval_start }}", "1 day, 0:00:00"},
		{"interval in seconds", "{{ (data_interval_end - data_interval_start).total_seconds() }}", "86400.0"},
		{"datetime comparison", "{{ data_interval_start < data_interval_end }} {{ logical_date == data_interval_start }} {{ logical_date > data_interval_end }}", "True True False"},
		{"timedelta comparison and scaling", "{{ macros.timedelta(hours=1) * 2 == macros.timedelta(minutes=120) }}", "True"},
		{"macros.datetime", "{{ macros.datetime(2024, 2, 29, 12).isoformat() }}", "2024-02-29T12:00:00+00:00"},
		{"macros.datetime comparison", "{{ logical_date >= macros.datetime(2024, 1, 1) }}", "True"},
		{"macros.datetime.strptime", "{{ macros.datetime.strptime('15/01/2024', '%d/%m/%Y') | ds }}", "2024-01-15"},
		{"macros.random is a float in [0, 1)", "{% set r = macros.random() %}{{ r >= 0 and r < 1 }}", "True"},
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

// prevRuns answers PrevSuccess, counting the reads; the other DagRuns
// methods are not used.
type prevRuns struct {
	operators.DagRuns
	mu    sync.Mutex
	reads int
	err   error
}

func (p *prevRuns) PrevSuccess(context.Context, string, time.Time) (*operators.PrevSuccess, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	if p.err != nil {
		return nil, p.err
	}
	day := time.Date(2024, 1, 14, 0, 0, 0, 0, time.UTC)
	return &operators.PrevSuccess{DataIntervalStart: day, DataIntervalEnd: day.AddDate(0, 0, 1), StartDate: day.Add(25 * time.Hour), EndDate: day.Add(25*time.Hour + 90*time.Second)}, nil
}

// TestAirflow3ContextKeys: inlets, outlets, map_index_template and the
// previous successful run's dates, as Airflow 3's context has them; the
// previous run is read only for a template that names one of its keys,
// once per task instance.
func TestAirflow3ContextKeys(t *testing.T) {
	t.Parallel()
	render := func(r *Renderer, src string) string {
		t.Helper()
		got, err := r.Render(context.Background(), src)
		if err != nil {
			t.Fatalf("Render(%q): %v", src, err)
		}
		return got
	}
	c := setup(t)
	r := NewEngine().Renderer(c)
	const prev = "{{ prev_data_interval_start_success }}|{{ prev_data_interval_end_success }}|{{ prev_start_date_success }}|{{ prev_end_date_success }}"
	if got, want := render(r, prev), "None|None|None|None"; got != want {
		t.Errorf("without a previous run (test-dag): %q, want %q", got, want)
	}
	if got, want := render(r, "{{ inlets }} {{ outlets }} {{ map_index_template }}"), "[] [] None"; got != want {
		t.Errorf("a task without assets: %q, want %q", got, want)
	}

	c = setup(t)
	c.Task.Outlets = []string{"s3://bucket/daily"}
	c.Task.MapIndexTemplate = "{{ ds }}"
	runs := &prevRuns{}
	c.DagRuns = runs
	r = NewEngine().Renderer(c)
	if got, want := render(r, "{{ outlets[0].uri }} {{ outlets }} {{ map_index_template }}"), "s3://bucket/daily [Asset(name='s3://bucket/daily', uri='s3://bucket/daily', group='asset', extra={}, watchers=[])] {{ ds }}"; got != want {
		t.Errorf("assets: %q, want %q", got, want)
	}
	if runs.reads != 0 {
		t.Errorf("a template without prev_*_success read the previous run %d times", runs.reads)
	}
	if got, want := render(r, prev), "2024-01-14T00:00:00+00:00|2024-01-15T00:00:00+00:00|2024-01-15T01:00:00+00:00|2024-01-15T01:01:30+00:00"; got != want {
		t.Errorf("with a previous run: %q, want %q", got, want)
	}
	if got, want := render(r, "{{ prev_data_interval_start_success | ds }}"), "2024-01-14"; got != want {
		t.Errorf("a datetime: %q, want %q", got, want)
	}
	if runs.reads != 1 {
		t.Errorf("the previous run was read %d times, want once", runs.reads)
	}

	c = setup(t)
	c.DagRuns = &prevRuns{err: errors.New("store is down")}
	if _, err := NewEngine().Renderer(c).Render(context.Background(), "{{ prev_start_date_success }}"); err == nil || !strings.Contains(err.Error(), "store is down") {
		t.Errorf("a failed read: got %v, want the store's error", err)
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
		{"missing connection", "{{ conn.nowhere.host }}", []string{"the conn_id `nowhere` isn't defined"}},
		{"variable that is not JSON", "{{ var.json.bucket }}", []string{`variable "bucket" is not valid JSON`}},
		{"unknown filter", "{{ ds | nosuch }}", []string{"nosuch"}},
		{"attribute of undefined", "x\n{{ nothing.at.all }}", []string{"line 2: nothing is undefined"}},
		{"undefined name", "{{ nothing }}", []string{"line 1: nothing is undefined", `"is defined"`, `"| default(...)"`}},
		{"undefined param", "a\nb {{ params.missing }}", []string{"line 2: params.missing is undefined"}},
		{"undefined param item", "{{ params['missing'] }}", []string{"params['missing'] is undefined"}},
		{"undefined param as an argument", "{{ params.missing | default(params.other) }}", []string{"params.other is undefined"}},
		{"undefined attribute of an object", "{{ dag.nosuch }}", []string{"dag.nosuch is undefined"}},
		{"undefined in a condition", "{% if params.missing %}x{% endif %}", []string{"params.missing is undefined"}},
		{"undefined in or", "{{ params.missing or 'z' }}", []string{"params.missing is undefined"}},
		{"undefined in a comparison", "{{ nothing == 1 }}", []string{"nothing is undefined"}},
		{"undefined in a loop", "{% for x in nothing %}{% endfor %}", []string{"nothing is undefined"}},
		{"undefined through a filter", "{{ nothing | upper }}", []string{"nothing is undefined"}},
		{"undefined in percent format", "{{ '%s' % nothing }}", []string{"nothing is undefined"}},
		{"undefined concatenated", "{{ 'a' ~ nothing }}", []string{"nothing is undefined"}},
		{"index out of range", "{{ params.items[7] }}", []string{"params.items[7] is undefined"}},
		{"store error", "{{ ti.xcom_pull('broken') }}", []string{"store is down"}},
		{"bad ds_add argument", "{{ macros.ds_add(ds, 'x') }}", []string{"ds_add: days must be an integer"}},
		{"bad ds_format", `{{ macros.ds_format('15/01', '%Y-%m-%d', '%d') }}`, []string{"ds_format", "does not match"}},
		{"unknown xcom_pull argument", "{{ ti.xcom_pull(task='x') }}", []string{`unexpected keyword argument "task"`}},
		{"cross-DAG xcom_pull", "{{ ti.xcom_pull('x', dag_id='other') }}", []string{"another DAG"}},
		{"too few format arguments", "{{ '%s-%s' % ('a',) }}", []string{"not enough arguments for format string"}},
		{"too many format arguments", "{{ '%s' % ('a', 'b') }}", []string{"not all arguments converted"}},
		{"percent d of a string", "{{ '%d' % 'x' }}", []string{"%d format: a real number is required, not str"}},
		{"modulo by zero", "{{ 5 % 0 }}", []string{"ZeroDivisionError"}},
		{"division by zero", "{{ 5 / 0 }}", []string{"ZeroDivisionError"}},
		{"datetime plus datetime", "{{ logical_date + logical_date }}", []string{"unsupported operand type(s) for +: 'DateTime' and 'DateTime'"}},
		{"bad timedelta argument", "{{ macros.timedelta(day=1) }}", []string{`unexpected keyword argument "day"`}},
		{"invalid date", "{{ macros.datetime(2023, 2, 29) }}", []string{"not a valid date"}},
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

func TestXComPush(t *testing.T) {
	t.Parallel()
	c := setup(t)
	r := NewEngine().Renderer(c)
	got, err := r.Render(context.Background(), "echo {{ ti.xcom_push('k', {'a': [1, 'x', None], 'when': logical_date}) }} {{ task_instance.xcom_push(key='n', value=2.5) }}")
	if err != nil {
		t.Fatal(err)
	}
	if want := "echo None None"; got != want {
		t.Errorf("got %q, want %q (xcom_push returns None, as in Airflow)", got, want)
	}
	x := c.XCom.(*fakeXCom)
	want := map[string]any{"a": []any{int64(1), "x", nil}, "when": "2024-01-15T00:00:00+00:00"}
	if got := x.values["pushed/k"]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pushed k = %#v, want %#v", got, want)
	}
	if got := x.values["pushed/n"]; got != 2.5 {
		t.Errorf("pushed n = %#v, want 2.5", got)
	}
	if _, err := r.Render(context.Background(), "{{ ti.xcom_push('broken', 1) }}"); err == nil || !strings.Contains(err.Error(), "store is down") {
		t.Errorf("a failing push: got %v, want the store's error", err)
	}
}

// TestEnginePanicIsAnError checks that a panic inside the template engine
// (here a function of the context that panics) is a render error, not a
// crash of the task.
func TestEnginePanicIsAnError(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	src := "a {{ boom() }} b"
	tmpl, err := e.parse(src, true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.execute(src, tmpl, map[string]any{"boom": func() any { panic("kaboom") }})
	if err == nil || !strings.Contains(err.Error(), "the template engine failed: kaboom") {
		t.Errorf("got %v, want a render error that names the panic", err)
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
	r := NewRenderer(c)
	got, err := r.Render(context.Background(), "[{{ ds | default('') }}][{{ logical_date }}][{{ task_instance_key_str }}]")
	if err != nil {
		t.Fatal(err)
	}
	if want := "[][None][etl__extract__scheduled__2024-01-15T00:00:00+00:00]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Airflow leaves ds and the other logical-date keys out of the context
	// of a run without a logical date, so StrictUndefined fails on them.
	if _, err := r.Render(context.Background(), "{{ ds }}"); err == nil || !strings.Contains(err.Error(), "ds is undefined") {
		t.Errorf("{{ ds }} without a logical date: got %v, want an undefined error", err)
	}
}

// TestLenientUndefined checks DAG(template_undefined = "Undefined"),
// Airflow's jinja2.Undefined: undefined names render empty and are false.
func TestLenientUndefined(t *testing.T) {
	t.Parallel()
	e := NewEngine()
	c := setup(t)
	c.DAG = &dags.DAG{ID: "etl", LenientUndefined: true}
	lenient := e.Renderer(c)
	const src = "[{{ nothing }}][{{ params.missing }}][{% if params.missing %}yes{% else %}no{% endif %}][{{ params.x }}][{{ params.get('missing') }}]"
	got, err := lenient.Render(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[][][no][hello][None]"; got != want {
		t.Errorf("lenient: got %q, want %q", got, want)
	}
	// The same source through the same engine for a strict DAG is an
	// error: a parsed template is cached per mode.
	strict := setup(t)
	strict.DAG = &dags.DAG{ID: "etl"}
	if _, err := e.Renderer(strict).Render(context.Background(), src); err == nil || !strings.Contains(err.Error(), "nothing is undefined") {
		t.Errorf("strict after lenient: got %v, want an undefined error", err)
	}
	if got, err := lenient.Render(context.Background(), src); err != nil || got != "[][][no][hello][None]" {
		t.Errorf("lenient again: got %q, %v", got, err)
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
