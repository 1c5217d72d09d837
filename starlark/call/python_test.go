package call_test

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// pythonSource is a DAG file whose task function uses the context's
// datetimes and the Python builtins as an Airflow user writes them.
const pythonSource = `
def report(ctx):
    start, end = ctx.data_interval_start, ctx.data_interval_end
    yesterday = ctx.logical_date - timedelta(days = 1)
    n = ctx.conf.get("n", 1)
    return {
        "year": ctx.logical_date.year, "minute": ctx.logical_date.minute, "hour": end.hour,
        "yesterday": yesterday.strftime("%Y-%m-%d"),
        "iso": ctx.logical_date.isoformat(),
        "hours": (end - start).total_seconds() / 3600,
        "ordered": start < end and end > ctx.logical_date,
        "same": ctx.logical_date == start,
        "is_datetime": isinstance(ctx.logical_date, datetime.datetime),
        "ts_is_str": isinstance(ctx.ts, str),
        "n_is_int": isinstance(n, int),
        "n_times": n * 2,
        "run_conf": ctx.dag_run.conf,
        "after_cutoff": ctx.logical_date >= datetime.datetime(2024, 1, 1, tzinfo = datetime.timezone.utc),
        "total": sum([1, 2, 3]), "rounded": round(2.5), "mod": divmod(7, 2),
        "parsed": json.loads('{"k": 5}')["k"], "digits": re.findall(r"\d+", ctx.run_id)[:3],
        "now_after_run": datetime.datetime.now(datetime.timezone.utc) > ctx.logical_date,
    }

def no_logical_date(ctx):
    return [ctx.logical_date, ctx.data_interval_start]

def build():
    task(report)
    task(no_logical_date)

dag(dag_id = "py", build = build)
`

func TestContextDatetimesAndPythonBuiltins(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f := l.Load(context.Background(), loader.BundleSource("dags", map[string]string{"py.star": pythonSource}), "py.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	d := f.DAGs[0]
	c := &operators.Call{
		DAG:  d,
		Task: d.Task("report"),
		Run: operators.RunInfo{
			DAGID:             "py",
			RunID:             "scheduled__2024-03-10T06:15:00+00:00",
			LogicalDate:       time.Date(2024, 3, 10, 6, 15, 0, 0, time.UTC),
			DataIntervalStart: time.Date(2024, 3, 10, 6, 15, 0, 0, time.UTC),
			DataIntervalEnd:   time.Date(2024, 3, 11, 6, 15, 0, 0, time.UTC),
			Conf:              map[string]any{"n": int64(5)},
		},
		MapIndex: -1,
		Log:      io.Discard,
	}
	got, err := call.New(f).CallFunction(context.Background(), c, d.Task("report").Function, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"year": int64(2024), "minute": int64(15), "hour": int64(6),
		"yesterday": "2024-03-09", "iso": "2024-03-10T06:15:00+00:00", "hours": 24.0,
		"ordered": true, "same": true, "is_datetime": true, "ts_is_str": true,
		"n_is_int": true, "n_times": int64(10), "run_conf": map[string]any{"n": int64(5)},
		"after_cutoff": true, "total": int64(6), "rounded": int64(2), "mod": []any{int64(3), int64(1)},
		"parsed": int64(5), "digits": []any{"2024", "03", "10"}, "now_after_run": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report returned\n %#v\nwant %#v", got, want)
	}

	c.Task = d.Task("no_logical_date")
	c.Run.LogicalDate, c.Run.DataIntervalStart, c.Run.DataIntervalEnd = time.Time{}, time.Time{}, time.Time{}
	got, err = call.New(f).CallFunction(context.Background(), c, c.Task.Function, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []any{nil, nil}) {
		t.Errorf("a run without a logical date: got %#v, want [None, None]", got)
	}
}

// TestDatetimeNowRefusedWhileParsing checks that a DAG file cannot read
// the clock through the datetime module.
func TestDatetimeNowRefusedWhileParsing(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	src := "start = datetime.datetime.now()\n"
	f := l.Load(context.Background(), loader.BundleSource("dags", map[string]string{"now.star": src}), "now.star")
	if f.OK() || !strings.Contains(f.Errors[0].Message, "is not allowed while a DAG file is parsed") || f.Errors[0].Pos.String() != "dags/now.star:1:30" {
		t.Errorf("errors = %v, want datetime.now refused at dags/now.star:1:30", f.Errors)
	}
}
