package lint

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

const path = "dags/etl.star"

// now is the injected clock of every test.
var now = time.Date(2024, 1, 11, 10, 0, 0, 0, time.UTC)

// at returns a position in the test file.
func at(line, col int) dags.Pos { return dags.Pos{File: path, Line: line, Col: col} }

// spec describes a DAG to build: tasks in order (task i is on line 10+i),
// edges and DAG settings.
type spec struct {
	id       string
	tasks    []string
	edges    [][2]string
	schedule string
	// sched, when set, is the schedule instead of schedule's parse.
	sched   *dags.Schedule
	start   time.Time
	end     time.Time
	catchup bool
	task    func(*dags.Task) // adjusts every task
}

// build makes and finalizes the DAG described by s, defined at line 1.
func build(t testing.TB, s spec) *dags.DAG {
	t.Helper()
	id := s.id
	if id == "" {
		id = "etl"
	}
	d := dags.New(id, at(1, 1))
	if s.schedule != "" {
		d.Schedule = dags.MustParseSchedule(s.schedule)
	}
	if s.sched != nil {
		d.Schedule = *s.sched
	}
	d.StartDate, d.EndDate, d.Catchup = s.start, s.end, s.catchup
	for i, tid := range s.tasks {
		task := dags.NewTask(tid, dags.OperatorBash, at(10+i, 5))
		if s.task != nil {
			s.task(task)
		}
		d.AddTask(task)
	}
	for i, e := range s.edges {
		d.Connect(e[0], e[1], at(50+i, 1))
	}
	d.Finalize()
	return d
}

// check lints one DAG (with an optional source) at the test clock.
func check(t testing.TB, src string, ds ...*dags.DAG) []Finding {
	t.Helper()
	return Check(File{Path: path, Source: []byte(src), DAGs: ds}, Options{Now: now})
}

// only returns "line:col message" of the findings of one rule.
func only(fs []Finding, rule string) []string {
	var out []string
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, fmt.Sprintf("%d:%d %s", f.Pos.Line, f.Pos.Col, f.Message))
		}
	}
	return out
}

// lines returns "line:col" of the findings of one rule.
func lines(fs []Finding, rule string) []string {
	var out []string
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, fmt.Sprintf("%d:%d", f.Pos.Line, f.Pos.Col))
		}
	}
	return out
}

func TestErrorsPassThrough(t *testing.T) {
	t.Parallel()
	cyclic := build(t, spec{tasks: []string{"a", "b"}, edges: [][2]string{{"a", "b"}, {"b", "a"}}})
	cycle := cyclic.Finalize()
	if len(cycle) != 1 || cycle[0].Rule != dags.RuleCycle {
		t.Fatalf("test DAG should have one cycle finding, got %v", cycle)
	}
	f := File{
		Path: path,
		DAGs: []*dags.DAG{cyclic},
		Errors: []dags.Finding{
			cycle[0], // the loader reported it too: listed once
			{Pos: dags.Pos{Line: 3, Col: 7}, Message: "undefined: bsh"},
			{Pos: dags.Pos{File: "lib/common.star", Line: 2, Col: 1}, Rule: dags.RuleMissingArgument, Message: "bash: missing argument for bash_command"},
		},
	}
	got := Check(f, Options{Now: now})
	want := []string{
		"dags/etl.star:3:7: error: undefined: bsh [import-error]",
		"dags/etl.star:51:1: error: " + cycle[0].Message + " [cycle]",
		"lib/common.star:2:1: error: bash: missing argument for bash_command [missing-argument]",
	}
	if diff := diffLines(strs(got), want); diff != "" {
		t.Fatal(diff)
	}
}

func TestUnconnectedTask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec spec
		want []string
	}{
		{"a DAG of one task is fine", spec{tasks: []string{"only"}}, nil},
		{"connected tasks are fine", spec{tasks: []string{"a", "b", "c"}, edges: [][2]string{{"a", "b"}, {"b", "c"}}}, nil},
		{"a task apart from the others is reported",
			spec{tasks: []string{"a", "b", "lonely"}, edges: [][2]string{{"a", "b"}}},
			[]string{`12:5 task "lonely" in DAG "etl" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG`}},
		{"tasks of a DAG without any edge are independent on purpose", spec{tasks: []string{"a", "b", "c"}}, nil},
		{"two tasks apart from a connected pair are both reported",
			spec{tasks: []string{"a", "b", "x", "y"}, edges: [][2]string{{"a", "b"}}}, []string{
				`12:5 task "x" in DAG "etl" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG`,
				`13:5 task "y" in DAG "etl" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := only(check(t, "", build(t, tt.spec)), RuleUnconnectedTask)
			if diff := diffLines(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestTaskIDNotIdentifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want string // "" when the id is fine
	}{
		{"load_data", ""},
		{"_private", ""},
		{"Step2", ""},
		{"extract.load", ""},
		{"outer.inner.task_1", ""},
		{"load-data", `task id "load-data": "load-data" is not an identifier; use letters, digits and '_' (not starting with a digit), such as "load_data", so templates and XCom pulls can name it plainly`},
		{"my-group.load", `task id "my-group.load": "my-group" is not an identifier; use letters, digits and '_' (not starting with a digit), such as "my_group", so templates and XCom pulls can name it plainly`},
		{"1st", `task id "1st": "1st" is not an identifier; use letters, digits and '_' (not starting with a digit), such as "task_1st", so templates and XCom pulls can name it plainly`},
		{"a..b", `task id "a..b": "" is not an identifier; use letters, digits and '_' (not starting with a digit), such as "task_", so templates and XCom pulls can name it plainly`},
		{"naïve", `task id "naïve": "naïve" is not an identifier; use letters, digits and '_' (not starting with a digit), such as "na_ve", so templates and XCom pulls can name it plainly`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			got := only(check(t, "", build(t, spec{tasks: []string{tt.id}})), RuleTaskIDNotIdentifier)
			var want []string
			if tt.want != "" {
				want = []string{"10:5 " + tt.want}
			}
			if diff := diffLines(got, want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestScheduleWithoutStartDate(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		schedule string
		start    time.Time
		want     []string
	}{
		{"a daily DAG without start_date", "@daily", time.Time{},
			[]string{`1:1 DAG "etl" has schedule "@daily" but no start_date: set start_date (such as "2024-01-11") to say from when it runs`}},
		{"a cron DAG without start_date", "*/5 * * * *", time.Time{},
			[]string{`1:1 DAG "etl" has schedule "*/5 * * * *" but no start_date: set start_date (such as "2024-01-11") to say from when it runs`}},
		{"an interval DAG without start_date", "15m", time.Time{},
			[]string{`1:1 DAG "etl" has schedule "15m" but no start_date: set start_date (such as "2024-01-11") to say from when it runs`}},
		{"a daily DAG with a start_date", "@daily", start, nil},
		{"a manual DAG", "", time.Time{}, nil},
		{"a DAG run once", "@once", time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := build(t, spec{tasks: []string{"a"}, schedule: tt.schedule, start: tt.start})
			got := only(check(t, "", d), RuleScheduleWithoutStartDate)
			if diff := diffLines(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

// TestScheduleOnDatasets: a DAG scheduled on datasets alone needs no
// start_date; one that also runs on a timetable (AssetOrTimeSchedule)
// does, and its catchup counts the timetable's runs.
func TestScheduleOnDatasets(t *testing.T) {
	t.Parallel()
	cond := dags.DatasetCond{Op: dags.DatasetAny, Of: []dags.DatasetCond{dags.DatasetLeaf("s3://a"), dags.DatasetLeaf("s3://b")}}
	onDatasets := dags.DatasetCondSchedule(cond)
	orTime, err := dags.DatasetOrTimeSchedule(cond, dags.MustParseSchedule("@daily"))
	if err != nil {
		t.Fatal(err)
	}
	got := only(check(t, "", build(t, spec{tasks: []string{"a"}, sched: &onDatasets})), RuleScheduleWithoutStartDate)
	if len(got) != 0 {
		t.Errorf("a DAG on s3://a | s3://b got %v, want no finding", got)
	}
	got = only(check(t, "", build(t, spec{tasks: []string{"a"}, sched: &orTime})), RuleScheduleWithoutStartDate)
	want := []string{`1:1 DAG "etl" has schedule "Dataset: s3://a | s3://b; or time: @daily" but no start_date: set start_date (such as "2024-01-11") to say from when it runs`}
	if diff := diffLines(got, want); diff != "" {
		t.Error(diff)
	}
	got = only(check(t, "", build(t, spec{tasks: []string{"a"}, sched: &orTime, catchup: true, start: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)})), RuleCatchupFarPast)
	if len(got) != 1 || !strings.Contains(got[0], "375 runs") {
		t.Errorf("catchup of a dataset-or-time schedule from 2023-01-01 = %v, want one finding counting 375 runs", got)
	}
}

func TestCatchupFarPast(t *testing.T) {
	t.Parallel()
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	msg := func(start string, days int, runs string) []string {
		return []string{fmt.Sprintf(`1:1 DAG "etl" has catchup=True and start_date %s, %d days ago: the scheduler will create %s to catch up; set catchup=False or a later start_date`, start, days, runs)}
	}
	tests := []struct {
		name     string
		schedule string
		start    time.Time
		end      time.Time
		catchup  bool
		want     []string
	}{
		// 2022-01-01 to 2024-01-10 are 740 complete days before now.
		{"daily for two years", "@daily", date(2022, 1, 1), time.Time{}, true, msg("2022-01-01", 740, "740 runs")},
		{"weekly for two years", "@weekly", date(2022, 1, 1), time.Time{}, true, msg("2022-01-01", 740, "105 runs")},
		{"an interval of one day", "1d", date(2022, 1, 1), time.Time{}, true, msg("2022-01-01", 740, "740 runs")},
		{"an end_date bounds the runs", "@daily", date(2022, 1, 1), date(2022, 1, 31), true, msg("2022-01-01", 740, "31 runs")},
		{"every minute is capped", "* * * * *", date(2022, 1, 1), time.Time{}, true, msg("2022-01-01", 740, "more than 100000 runs")},
		{"an interval of a minute is capped", "1m", date(2022, 1, 1), time.Time{}, true, msg("2022-01-01", 740, "more than 100000 runs")},
		{"an interval bounded by an end_date", "1h", date(2022, 1, 1), date(2022, 1, 2), true, msg("2022-01-01", 740, "25 runs")},
		{"catchup off", "@daily", date(2022, 1, 1), time.Time{}, false, nil},
		{"a start_date less than a year ago", "@daily", date(2023, 3, 1), time.Time{}, true, nil},
		{"a manual DAG", "", date(2020, 1, 1), time.Time{}, true, nil},
		{"a DAG run once", "@once", date(2020, 1, 1), time.Time{}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := build(t, spec{tasks: []string{"a"}, schedule: tt.schedule, start: tt.start, end: tt.end, catchup: tt.catchup})
			got := only(check(t, "", d), RuleCatchupFarPast)
			if diff := diffLines(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

// TestCatchupRuns checks the count against AIRFLOW.md's worked example:
// @daily from 2024-01-01 with now = 2024-01-11T10:00Z creates 10 runs with
// data-interval semantics, the last covering 01-10.
func TestCatchupRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		schedule string
		start    time.Time
		want     int
	}{
		{"@daily", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 10},
		{"@daily", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), 9}, // aligned to 01-02
		{"@hourly", time.Date(2024, 1, 11, 0, 0, 0, 0, time.UTC), 10},
		{"1d", time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), 9}, // intervals follow the start
		{"@daily", time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC), 0},
		{"1d", time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC), 0},
		{"10h", time.Date(2024, 1, 11, 0, 0, 0, 0, time.UTC), 1},
	}
	for _, tt := range tests {
		t.Run(tt.schedule+" from "+tt.start.Format(time.RFC3339), func(t *testing.T) {
			t.Parallel()
			d := build(t, spec{tasks: []string{"a"}, schedule: tt.schedule, start: tt.start, catchup: true})
			if n, capped := catchupRuns(d, now); n != tt.want || capped {
				t.Fatalf("catchupRuns = %d, %v; want %d, false", n, capped, tt.want)
			}
		})
	}
}

// TestIntervalRunsMatchTicks checks the division that counts the runs of
// an interval schedule against walking its ticks one by one.
func TestIntervalRunsMatchTicks(t *testing.T) {
	t.Parallel()
	start := time.Date(2023, 12, 1, 7, 30, 0, 0, time.UTC)
	for _, every := range []string{"1h", "7h", "1d", "3d", "45m"} {
		for _, end := range []time.Time{{}, start.Add(-time.Hour), start, start.Add(50 * time.Hour), start.Add(53*time.Hour + 15*time.Minute), now, now.AddDate(1, 0, 0)} {
			d := build(t, spec{tasks: []string{"a"}, schedule: every, start: start, end: end, catchup: true})
			n, capped := intervalRuns(d.StartDate, d.EndDate, now, d.Schedule.Every)
			wantN, wantCapped := tickRuns(d, now)
			if n != wantN || capped != wantCapped {
				t.Errorf("every %s, end %v: intervalRuns = %d, %v; ticks give %d, %v", every, end, n, capped, wantN, wantCapped)
			}
		}
	}
}

func TestRetriesWithoutRetryDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		retries  int
		delaySet bool
		want     []string
	}{
		{"retries without a delay", 3, false,
			[]string{`10:5 task "a" has retries=3 but no retry_delay, so the default of 5m applies between tries; set retry_delay on the task or in default_args`}},
		{"retries with a delay", 3, true, nil},
		{"no retries", 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := build(t, spec{tasks: []string{"a"}, task: func(task *dags.Task) {
				task.Retries, task.RetryDelaySet = tt.retries, tt.delaySet
			}})
			got := only(check(t, "", d), RuleRetriesWithoutRetryDelay)
			if diff := diffLines(got, tt.want); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}

func TestUnusedLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"a used symbol", `load("//lib/common.star", "helper")
helper()
`, nil},
		{"an unused symbol", `load("//lib/common.star", "helper")
`, []string{`1:28 "helper" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"one of two symbols unused", `load("//lib/common.star", "a", "b")
x = b
`, []string{`1:28 "a" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"an unused alias", `load("//lib/common.star", h = "helper")
`, []string{`1:27 "h" (helper) is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"used inside a function defined later", `load("//lib/common.star", "helper")

def build():
    return [helper(x) for x in range(3)]
`, nil},
		{"used in top-level control flow", `load("//lib/common.star", "names")
for n in names:
    if n:
        print(n)
`, nil},
		{"shadowed by a parameter", `load("//lib/common.star", "helper")

def build(helper):
    return helper
`, []string{`1:28 "helper" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"shadowed by a comprehension variable", `load("//lib/common.star", "x")
y = [x for x in [1, 2]]
`, []string{`1:28 "x" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"used as a keyword name only", `load("//lib/common.star", "retries")
dag(retries = 2)
`, []string{`1:28 "retries" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
		{"two loads", `load("//lib/a.star", "a")
load("//lib/b.star", "b")
a()
`, []string{`2:23 "b" is loaded from "//lib/b.star" but never used: remove it from the load statement`}},
		{"no load at all", "x = 1\nloads = x\n", nil},
		{"a syntax error is the loader's to report", `load("//lib/common.star", "helper"`, nil},
		{"an undefined name does not stop the check", `load("//lib/common.star", "helper")
undefined_thing()
`, []string{`1:28 "helper" is loaded from "//lib/common.star" but never used: remove it from the load statement`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := check(t, tt.src)
			if diff := diffLines(only(fs, RuleUnusedLoad), tt.want); diff != "" {
				t.Fatal(diff)
			}
			for _, f := range fs {
				if f.Pos.File != path || f.Severity != SeverityWarning {
					t.Errorf("finding %v: want file %q and severity warning", f, path)
				}
			}
		})
	}
}

func TestSuppression(t *testing.T) {
	t.Parallel()
	// Tasks a, b and c are on lines 10, 11 and 12, all unconnected (p >>
	// q on lines 13 and 14 are connected) and with retries but no delay;
	// the sources place comments around them.
	dag := func(t *testing.T) *dags.DAG {
		return build(t, spec{tasks: []string{"a", "b", "c", "p", "q"}, edges: [][2]string{{"p", "q"}}, task: func(task *dags.Task) {
			if task.ID != "p" && task.ID != "q" {
				task.Retries = 1
			}
		}})
	}
	src := func(ls map[int]string) string {
		var b strings.Builder
		for i := 1; i <= 13; i++ {
			b.WriteString(ls[i])
			if ls[i] == "" {
				fmt.Fprintf(&b, "v%d = %d", i, i)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	all := []string{"10:5", "11:5", "12:5"}
	tests := []struct {
		name        string
		src         string
		disabled    []string
		unconnected []string
		retries     []string
	}{
		{"no comments", src(nil), nil, all, all},
		{"a comment at the end of the line covers only it", src(map[int]string{11: "b = 1  # starflow: disable=unconnected-task"}), nil,
			[]string{"10:5", "12:5"}, all},
		{"a comment on the last task's line", src(map[int]string{12: "c = 1  # starflow: disable=unconnected-task"}), nil,
			[]string{"10:5", "11:5"}, all},
		{"a comment on the line above", src(map[int]string{9: "# starflow: disable=unconnected-task"}), nil,
			[]string{"11:5", "12:5"}, all},
		{"a comment two lines above does nothing", src(map[int]string{8: "# starflow: disable=unconnected-task"}), nil,
			all, all},
		{"two rules in one comment", src(map[int]string{12: "c = 1  # starflow: disable=retries-without-retry-delay, unconnected-task"}), nil,
			[]string{"10:5", "11:5"}, []string{"10:5", "11:5"}},
		{"spacing and a reason are allowed", src(map[int]string{9: "#starflow:disable = unconnected-task   the UI shows it apart"}), nil,
			[]string{"11:5", "12:5"}, all},
		{"another rule's comment does nothing", src(map[int]string{10: "# starflow: disable=unused-load"}), nil, all, all},
		{"the whole file", src(map[int]string{1: "# starflow: disable-file=unconnected-task"}), nil, nil, all},
		{"a directive in a string is not a comment", src(map[int]string{10: `s = "# starflow: disable=unconnected-task"`}), nil, all, all},
		{"a directive in a multi-line string is not a comment", src(map[int]string{9: `s = """`, 10: "# starflow: disable=unconnected-task", 11: `"""`}), nil, all, all},
		{"disabled by the options", src(nil), []string{RuleUnconnectedTask}, nil, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := Check(File{Path: path, Source: []byte(tt.src), DAGs: []*dags.DAG{dag(t)}}, Options{Now: now, Disabled: tt.disabled})
			if diff := diffLines(lines(fs, RuleUnconnectedTask), tt.unconnected); diff != "" {
				t.Errorf("unconnected-task: %s", diff)
			}
			if diff := diffLines(lines(fs, RuleRetriesWithoutRetryDelay), tt.retries); diff != "" {
				t.Errorf("retries-without-retry-delay: %s", diff)
			}
		})
	}
}

func TestSuppressionLimits(t *testing.T) {
	t.Parallel()
	t.Run("errors cannot be suppressed", func(t *testing.T) {
		t.Parallel()
		src := "# starflow: disable-file=cycle,import-error\nx = 1 # starflow: disable=import-error\n"
		fs := Check(File{Path: path, Source: []byte(src), Errors: []dags.Finding{
			{Pos: at(2, 1), Rule: dags.RuleCycle, Message: "cycle"},
			{Pos: at(2, 3), Message: "broken"},
		}}, Options{Now: now, Disabled: []string{dags.RuleCycle}})
		if got := strs(fs); len(got) != 2 {
			t.Fatalf("want both errors, got %q", got)
		}
	})
	t.Run("a comment covers only its own file", func(t *testing.T) {
		t.Parallel()
		d := dags.New("etl", at(1, 1))
		d.AddTask(dags.NewTask("a", dags.OperatorBash, dags.Pos{File: "lib/tasks.star", Line: 2, Col: 1}))
		d.AddTask(dags.NewTask("b", dags.OperatorBash, at(2, 1)))
		d.AddTask(dags.NewTask("p", dags.OperatorBash, at(3, 1)))
		d.AddTask(dags.NewTask("q", dags.OperatorBash, at(4, 1)))
		d.Connect("p", "q", at(5, 1))
		d.Finalize()
		src := "x = 1\ny = 2 # starflow: disable=unconnected-task\n"
		got := lines(Check(File{Path: path, Source: []byte(src), DAGs: []*dags.DAG{d}}, Options{Now: now}), RuleUnconnectedTask)
		if diff := diffLines(got, []string{"2:1"}); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		disabled []string
		err      string
	}{
		{nil, ""},
		{[]string{RuleUnusedLoad, RuleCatchupFarPast}, ""},
		{[]string{"unused-loads"}, `unknown lint rule "unused-loads" (known warnings: unconnected-task, task-id-not-identifier, schedule-without-start-date, catchup-far-past, retries-without-retry-delay, unused-load)`},
		{[]string{dags.RuleCycle}, `lint rule "cycle" reports errors, which cannot be disabled`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.disabled, ","), func(t *testing.T) {
			t.Parallel()
			err := Options{Disabled: tt.disabled}.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Fatalf("Validate() = %q, want %q", got, tt.err)
			}
		})
	}
}

func TestOrderIsDeterministic(t *testing.T) {
	t.Parallel()
	// Two DAGs whose findings interleave by line; the result must not
	// depend on the order the loader listed DAGs and errors in.
	d1 := build(t, spec{id: "one", tasks: []string{"a-1", "b", "p", "q"}, edges: [][2]string{{"p", "q"}}, schedule: "@daily"})
	d2 := dags.New("two", at(5, 1))
	d2.AddTask(dags.NewTask("z", dags.OperatorBash, at(10, 5))) // same position as d1's a-1
	d2.AddTask(dags.NewTask("y", dags.OperatorBash, at(3, 1)))
	d2.AddTask(dags.NewTask("p", dags.OperatorBash, at(20, 1)))
	d2.AddTask(dags.NewTask("q", dags.OperatorBash, at(21, 1)))
	d2.Connect("p", "q", at(22, 1))
	d2.Finalize()
	errs := []dags.Finding{{Pos: dags.Pos{File: "a.star", Line: 99}, Message: "z"}, {Pos: at(10, 1), Rule: "x", Message: "y"}}
	src := "load(\"//l.star\", \"unused\")\n"
	first := Check(File{Path: path, Source: []byte(src), DAGs: []*dags.DAG{d1, d2}, Errors: errs}, Options{Now: now})
	second := Check(File{Path: path, Source: []byte(src), DAGs: []*dags.DAG{d2, d1}, Errors: []dags.Finding{errs[1], errs[0]}}, Options{Now: now})
	if diff := diffLines(strs(second), strs(first)); diff != "" {
		t.Fatal(diff)
	}
	if !slices.IsSortedFunc(first, compare) {
		t.Fatalf("not sorted: %q", strs(first))
	}
	want := []string{
		"a.star:99: error: z [import-error]",
		"dags/etl.star:1:1: warning: DAG \"one\" has schedule \"@daily\" but no start_date: set start_date (such as \"2024-01-11\") to say from when it runs [schedule-without-start-date]",
		"dags/etl.star:1:19: warning: \"unused\" is loaded from \"//l.star\" but never used: remove it from the load statement [unused-load]",
		"dags/etl.star:3:1: warning: task \"y\" in DAG \"two\" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG [unconnected-task]",
		"dags/etl.star:10:1: error: y [x]",
		"dags/etl.star:10:5: warning: task id \"a-1\": \"a-1\" is not an identifier; use letters, digits and '_' (not starting with a digit), such as \"a_1\", so templates and XCom pulls can name it plainly [task-id-not-identifier]",
		"dags/etl.star:10:5: warning: task \"a-1\" in DAG \"one\" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG [unconnected-task]",
		"dags/etl.star:10:5: warning: task \"z\" in DAG \"two\" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG [unconnected-task]",
		"dags/etl.star:11:5: warning: task \"b\" in DAG \"one\" has no upstream or downstream tasks: connect it with >> or chain(), or give it its own DAG [unconnected-task]",
	}
	if diff := diffLines(strs(first), want); diff != "" {
		t.Fatal(diff)
	}
}

func TestCleanFile(t *testing.T) {
	t.Parallel()
	d := build(t, spec{tasks: []string{"extract", "load"}, edges: [][2]string{{"extract", "load"}},
		schedule: "@daily", start: time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC), catchup: true})
	src := "load(\"//lib/common.star\", \"helper\")\nhelper()\n"
	if fs := check(t, src, d); len(fs) != 0 || ExitCode(fs) != 0 {
		t.Fatalf("want a clean file, got %q (exit %d)", strs(fs), ExitCode(fs))
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fs   []Finding
		want int
	}{
		{nil, 0},
		{[]Finding{{Severity: SeverityWarning}}, 1},
		{[]Finding{{Severity: SeverityError}}, 1},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.fs); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.fs, got, tt.want)
		}
	}
}

func TestZeroNowUsesTheClock(t *testing.T) {
	t.Parallel()
	// A start_date 400 days before the real clock is far in the past only
	// if Check reads the clock when Options.Now is zero.
	d := build(t, spec{tasks: []string{"a"}, schedule: "@daily", catchup: true, start: time.Now().AddDate(0, 0, -400)})
	fs := Check(File{Path: path, DAGs: []*dags.DAG{d}}, Options{})
	if got := lines(fs, RuleCatchupFarPast); len(got) != 1 {
		t.Fatalf("want one catchup-far-past finding, got %q", strs(fs))
	}
}

func strs(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

// diffLines describes how got differs from want, or returns "".
func diffLines(got, want []string) string {
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
}
