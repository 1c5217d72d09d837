package dags

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// build returns a DAG "test" in file dag.star whose tasks are created in
// the order given (task i at line i+1) and whose edges, written "a>>b", are
// made at lines 100, 101, ... in order.
func build(tasks []string, edges ...string) *DAG {
	d := New("test", Pos{File: "dag.star", Line: 1, Col: 1})
	for i, id := range tasks {
		d.AddTask(NewTask(id, OperatorEmpty, Pos{File: "dag.star", Line: i + 2, Col: 5}))
	}
	for i, e := range edges {
		up, down, ok := strings.Cut(e, ">>")
		if !ok {
			panic("bad edge " + e)
		}
		d.Connect(strings.TrimSpace(up), strings.TrimSpace(down), Pos{File: "dag.star", Line: 100 + i, Col: 3})
	}
	return d
}

// mustFinalize finalizes d and fails the test on any finding.
func mustFinalize(t testing.TB, d *DAG) *DAG {
	t.Helper()
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("Finalize: %v", f)
	}
	return d
}

func ids(tasks []*Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

func rules(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Rule
	}
	return out
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	d := New("etl", Pos{File: "dags/etl.star", Line: 3})
	if d.Timezone != time.UTC || d.MaxActiveRuns != 16 || d.MaxActiveTasks != 16 || d.File != "dags/etl.star" || d.Params == nil || d.Schedule.Kind != "" {
		t.Errorf("New defaults = %+v", d)
	}
	task := NewTask("x", OperatorBash, Pos{Line: 4})
	want := &Task{ID: "x", Operator: OperatorBash, Config: map[string]any{}, TriggerRule: TriggerAllSuccess,
		RetryDelay: 5 * time.Minute, Pool: "default_pool", PoolSlots: 1, PriorityWeight: 1,
		WeightRule: WeightDownstream, Queue: "default", Pos: Pos{Line: 4},
		Owner: "airflow", EmailOnFailure: true, EmailOnRetry: true, DoXComPush: true}
	if !reflect.DeepEqual(task, want) {
		t.Errorf("NewTask = %+v, want %+v", task, want)
	}
	if task.String() != "x" {
		t.Errorf("Task.String = %q", task.String())
	}
}

func TestFinalizeCleanDAG(t *testing.T) {
	t.Parallel()
	d := mustFinalize(t, build([]string{"extract", "transform", "load"}, "extract >> transform", "transform >> load", "extract >> transform"))
	if got := d.TaskIDs(); !reflect.DeepEqual(got, []string{"extract", "transform", "load"}) {
		t.Errorf("TaskIDs = %v", got)
	}
	if d.Len() != 3 || d.Task("transform") == nil || d.Task("nope") != nil {
		t.Errorf("Len %d, Task lookups wrong", d.Len())
	}
	tr := d.Task("transform")
	if !reflect.DeepEqual(tr.Upstream, []string{"extract"}) || !reflect.DeepEqual(tr.Downstream, []string{"load"}) {
		t.Errorf("transform up %v down %v; a repeated edge must count once", tr.Upstream, tr.Downstream)
	}
	if p, ok := d.EdgePos("extract", "transform"); !ok || p.Line != 100 {
		t.Errorf("EdgePos(extract, transform) = %v, %v; want the first position, line 100", p, ok)
	}
	if _, ok := d.EdgePos("load", "extract"); ok {
		t.Error("EdgePos of a missing edge reported ok")
	}
	// Finalize is idempotent.
	if f := d.Finalize(); len(f) != 0 {
		t.Errorf("second Finalize: %v", f)
	}
}

func TestFinalizeFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func() *DAG
		rule  string
		pos   Pos
		msg   []string
	}{
		{
			name: "duplicate task id names both positions",
			setup: func() *DAG {
				d := build([]string{"a", "b"})
				d.AddTask(NewTask("a", OperatorBash, Pos{File: "dag.star", Line: 9, Col: 5}))
				return d
			},
			rule: RuleDuplicateTask, pos: Pos{File: "dag.star", Line: 9, Col: 5},
			msg: []string{`task id "a"`, `DAG "test"`, "dag.star:2:5"},
		},
		{
			name:  "unknown upstream task in Connect",
			setup: func() *DAG { return build([]string{"a"}, "ghost >> a") },
			rule:  RuleUnknownTask, pos: Pos{File: "dag.star", Line: 100, Col: 3},
			msg: []string{`unknown task "ghost"`, `DAG "test"`},
		},
		{
			name:  "unknown downstream task in Connect",
			setup: func() *DAG { return build([]string{"a"}, "a >> ghost") },
			rule:  RuleUnknownTask, pos: Pos{File: "dag.star", Line: 100, Col: 3},
			msg: []string{`unknown task "ghost"`},
		},
		{
			name:  "self edge",
			setup: func() *DAG { return build([]string{"a"}, "a >> a") },
			rule:  RuleSelfDependency, pos: Pos{File: "dag.star", Line: 100, Col: 3},
			msg: []string{`task "a" cannot depend on itself`},
		},
		{
			name:  "empty DAG",
			setup: func() *DAG { return build(nil) },
			rule:  RuleEmptyDAG, pos: Pos{File: "dag.star", Line: 1, Col: 1},
			msg: []string{`DAG "test" has no tasks`},
		},
		{
			name: "start after end",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.StartDate, d.EndDate = utc("2024-02-01T00:00:00Z"), utc("2024-01-01T00:00:00Z")
				return d
			},
			rule: RuleDateOrder, pos: Pos{File: "dag.star", Line: 1, Col: 1},
			msg: []string{"start_date 2024-02-01T00:00:00Z is after end_date 2024-01-01T00:00:00Z"},
		},
		{
			name: "bad trigger rule",
			setup: func() *DAG {
				d := build([]string{"a", "b"})
				d.Task("b").TriggerRule = "all_sucess"
				return d
			},
			rule: RuleTriggerRule, pos: Pos{File: "dag.star", Line: 3, Col: 5},
			msg: []string{`task "b"`, `unknown trigger_rule "all_sucess"`, "all_success"},
		},
		{
			name: "bad weight rule",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.Task("a").WeightRule = "sideways"
				return d
			},
			rule: RuleWeightRule, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{`unknown weight_rule "sideways"`, "absolute, downstream, upstream"},
		},
		{
			name: "negative retries",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.Task("a").Retries = -1
				return d
			},
			rule: RuleInvalidValue, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{"retries must not be negative, got -1"},
		},
		{
			name: "zero pool slots",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.Task("a").PoolSlots = 0
				return d
			},
			rule: RuleInvalidValue, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{"pool_slots must be at least 1, got 0"},
		},
		{
			name: "negative retry delay",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.Task("a").RetryDelay = -time.Minute
				return d
			},
			rule: RuleInvalidValue, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{"retry_delay must not be negative, got -1m"},
		},
		{
			name: "negative execution timeout",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.Task("a").ExecutionTimeout = -time.Second
				return d
			},
			rule: RuleInvalidValue, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{"execution_timeout must not be negative"},
		},
		{
			name: "negative dagrun timeout",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.DagrunTimeout = -time.Hour
				return d
			},
			rule: RuleInvalidValue, pos: Pos{File: "dag.star", Line: 1, Col: 1},
			msg: []string{"dagrun_timeout must not be negative, got -1h"},
		},
		{
			name:  "invalid task id",
			setup: func() *DAG { return build([]string{"my task"}) },
			rule:  RuleInvalidValue, pos: Pos{File: "dag.star", Line: 2, Col: 5},
			msg: []string{`task_id "my task" must be 1-250 letters`},
		},
		{
			name: "finding added by the loader",
			setup: func() *DAG {
				d := build([]string{"a"})
				d.AddFinding(Finding{Pos: Pos{File: "dag.star", Line: 7}, Rule: RuleMissingArgument, Message: "missing bash_command"})
				return d
			},
			rule: RuleMissingArgument, pos: Pos{File: "dag.star", Line: 7},
			msg: []string{"missing bash_command"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := tt.setup().Finalize()
			if len(fs) != 1 {
				t.Fatalf("Finalize = %v, want one %s finding", fs, tt.rule)
			}
			f := fs[0]
			if f.Rule != tt.rule || f.Pos != tt.pos {
				t.Errorf("finding = %s at %s, want %s at %s", f.Rule, f.Pos, tt.rule, tt.pos)
			}
			for _, m := range tt.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q does not mention %q", f.Message, m)
				}
			}
		})
	}
}

func TestFinalizeDAGID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"etl", true}, {"etl.daily-v2_x", true}, {strings.Repeat("a", 250), true},
		{"", false}, {"has space", false}, {"slash/id", false}, {".", false}, {"..", false}, {"<script>", false}, {"...", true}, {"ünïcode", false}, {strings.Repeat("a", 251), false},
	} {
		d := New(tt.id, Pos{File: "dag.star", Line: 1})
		d.AddTask(NewTask("a", OperatorEmpty, Pos{File: "dag.star", Line: 2}))
		fs := d.Finalize()
		if tt.ok && len(fs) != 0 {
			t.Errorf("dag_id %q: findings %v, want none", tt.id, fs)
		}
		if !tt.ok && (len(fs) != 1 || fs[0].Rule != RuleInvalidDAGID || !strings.Contains(fs[0].Message, "must be 1-250 letters")) {
			t.Errorf("dag_id %q: findings %v, want one %s", tt.id, fs, RuleInvalidDAGID)
		}
	}
}

func TestFinalizeReportsEveryProblemSortedByPosition(t *testing.T) {
	t.Parallel()
	d := build([]string{"a", "b", "c"}, "a >> ghost", "b >> b", "c >> a")
	d.AddTask(NewTask("a", OperatorEmpty, Pos{File: "dag.star", Line: 50}))
	d.Task("b").Retries = -3
	d.AddFinding(Finding{Pos: Pos{File: "other.star", Line: 1}, Rule: RuleTimezone, Message: "bad tz"})
	fs := d.Finalize()
	want := []string{RuleInvalidValue, RuleDuplicateTask, RuleUnknownTask, RuleSelfDependency, RuleTimezone}
	if got := rules(fs); !reflect.DeepEqual(got, want) {
		t.Errorf("rules = %v, want %v (sorted by file, line, col)", got, want)
	}
}

func TestConnectWithTwoUnknownTasks(t *testing.T) {
	t.Parallel()
	fs := build([]string{"a"}, "x >> y").Finalize()
	if len(fs) != 2 || !strings.Contains(fs[0].Message, `"x"`) || !strings.Contains(fs[1].Message, `"y"`) {
		t.Errorf("findings = %v, want one for x and one for y", fs)
	}
}

func TestFinalizeCycle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tasks   []string
		edges   []string
		want    string
		posLine int
	}{
		{"three tasks", []string{"a", "b", "c"}, []string{"a >> b", "b >> c", "c >> a"}, "a >> b >> c >> a", 102},
		{"closing edge made first in the file", []string{"a", "b", "c"}, []string{"c >> a", "a >> b", "b >> c"}, "c >> a >> b >> c", 102},
		{"closing edge in the middle", []string{"x", "y", "z"}, []string{"z >> x", "y >> z", "x >> y"}, "y >> z >> x >> y", 102},
		{"two tasks", []string{"a", "b"}, []string{"a >> b", "b >> a"}, "a >> b >> a", 101},
		{"cycle away from the roots", []string{"start", "p", "q", "r", "end"},
			[]string{"start >> p", "p >> q", "q >> r", "r >> p", "r >> end"}, "p >> q >> r >> p", 103},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := build(tt.tasks, tt.edges...)
			fs := d.Finalize()
			if len(fs) != 1 || fs[0].Rule != RuleCycle {
				t.Fatalf("Finalize = %v, want one cycle finding", fs)
			}
			want := fmt.Sprintf(`DAG "test" has a cycle: %s`, tt.want)
			if fs[0].Message != want || fs[0].Pos != (Pos{File: "dag.star", Line: tt.posLine, Col: 3}) {
				t.Errorf("finding = %s, want %q at dag.star:%d:3", fs[0].Error(), want, tt.posLine)
			}
			// A cyclic DAG keeps definition order and still answers queries.
			if got := d.TaskIDs(); !reflect.DeepEqual(got, tt.tasks) {
				t.Errorf("TaskIDs = %v, want definition order %v", got, tt.tasks)
			}
		})
	}
}

func TestTopologicalOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tasks []string
		edges []string
		want  []string
	}{
		{"independent tasks keep definition order", []string{"z", "a", "m"}, nil, []string{"z", "a", "m"}},
		{"downstream defined first", []string{"load", "transform", "extract"},
			[]string{"extract >> transform", "transform >> load"}, []string{"extract", "transform", "load"}},
		{"ties broken by definition order, not by id", []string{"root", "zeta", "alpha", "mid", "end"},
			[]string{"root >> zeta", "root >> alpha", "zeta >> end", "alpha >> end", "mid >> end"},
			[]string{"root", "zeta", "alpha", "mid", "end"}},
		{"a task waits for its last upstream", []string{"a", "d", "b", "c"},
			[]string{"a >> b", "b >> c", "c >> d", "a >> d"}, []string{"a", "b", "c", "d"}},
		{"diamond", []string{"a", "b", "c", "d"},
			[]string{"a >> c", "a >> b", "b >> d", "c >> d"}, []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 5 { // deterministic across builds
				d := mustFinalize(t, build(tt.tasks, tt.edges...))
				if got := d.TaskIDs(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("TaskIDs = %v, want %v", got, tt.want)
				}
				for i, task := range d.Tasks() {
					if d.TaskIndex(task.ID) != i {
						t.Errorf("TaskIndex(%s) = %d, want %d", task.ID, d.TaskIndex(task.ID), i)
					}
					for _, up := range task.Upstream {
						if d.TaskIndex(up) >= i {
							t.Errorf("%s comes before its upstream %s", task.ID, up)
						}
					}
				}
			}
		})
	}
	if got := build([]string{"a"}).TaskIndex("missing"); got != -1 {
		t.Errorf("TaskIndex(missing) = %d, want -1", got)
	}
}

// diamondDAG is a >> (b, c) >> d >> e, plus f alone, and a group "g"
// holding g.x >> g.y with a >> g.x and a nested g.sub.z fed by b.
func diamondDAG(t testing.TB) *DAG {
	return mustFinalize(t, build(
		[]string{"a", "b", "c", "d", "e", "f", "g.x", "g.y", "g.sub.z"},
		"a >> b", "a >> c", "b >> d", "c >> d", "d >> e", "a >> g.x", "g.x >> g.y", "b >> g.sub.z", "g.sub.z >> g.y",
	))
}

func TestRootsAndLeaves(t *testing.T) {
	t.Parallel()
	d := diamondDAG(t)
	if got := ids(d.Roots()); !reflect.DeepEqual(got, []string{"a", "f"}) {
		t.Errorf("Roots = %v", got)
	}
	if got := ids(d.Leaves()); !reflect.DeepEqual(got, []string{"e", "f", "g.y"}) {
		t.Errorf("Leaves = %v", got)
	}
}

func TestDescendantsAndAncestors(t *testing.T) {
	t.Parallel()
	d := diamondDAG(t)
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"descendants of a, topological", d.Descendants("a"), []string{"b", "c", "d", "e", "g.x", "g.sub.z", "g.y"}},
		{"descendants of c", d.Descendants("c"), []string{"d", "e"}},
		{"descendants of a leaf", d.Descendants("e"), nil},
		{"descendants of two tasks, one below the other", d.Descendants("b", "d"), []string{"d", "e", "g.sub.z", "g.y"}},
		{"descendants of an unknown task", d.Descendants("nope"), nil},
		{"ancestors of e, topological", d.Ancestors("e"), []string{"a", "b", "c", "d"}},
		{"ancestors of g.y", d.Ancestors("g.y"), []string{"a", "b", "g.x", "g.sub.z"}},
		{"ancestors of a root", d.Ancestors("a"), nil},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// The result follows Tasks even where a breadth-first walk would not:
	// a >> b >> c and a >> c reach c before b's turn comes.
	chain := mustFinalize(t, build([]string{"a", "c", "b"}, "a >> c", "a >> b", "b >> c"))
	if got := chain.Descendants("a"); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("Descendants(a) = %v, want [b c]", got)
	}
}

func TestGroupRoots(t *testing.T) {
	t.Parallel()
	d := diamondDAG(t)
	tests := []struct {
		group string
		want  []string
	}{
		{"g", []string{"g.x", "g.sub.z"}},
		{"g.sub", []string{"g.sub.z"}},
		{"missing", nil},
		{"", nil},
		{"g.x", nil}, // a task id is not a group
	}
	for _, tt := range tests {
		if got := d.GroupRoots(tt.group); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GroupRoots(%q) = %v, want %v", tt.group, got, tt.want)
		}
	}
}

// TestFinalizedDAGIsSafeToShare reads a finalized DAG from many goroutines
// (run with -race).
func TestFinalizedDAGIsSafeToShare(t *testing.T) {
	t.Parallel()
	d := diamondDAG(t)
	want := d.PriorityWeights()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if !reflect.DeepEqual(d.PriorityWeights(), want) || len(d.Descendants("a")) != 7 || len(d.Roots()) != 2 {
					t.Error("concurrent reads disagree")
					return
				}
				_ = d.Ancestors("g.y")
				_ = d.GroupRoots("g")
			}
		})
	}
	wg.Wait()
}

func TestEdgeLabels(t *testing.T) {
	t.Parallel()
	d := New("labels", Pos{})
	d.AddTask(NewTask("a", OperatorEmpty, Pos{}))
	d.AddTask(NewTask("b", OperatorEmpty, Pos{}))
	d.Connect("a", "b", Pos{})
	if d.SetEdgeLabel("b", "a", "no edge") {
		t.Error("SetEdgeLabel labelled an edge that does not exist")
	}
	if !d.SetEdgeLabel("a", "b", "yes") || d.EdgeLabel("a", "b") != "yes" {
		t.Errorf("EdgeLabel(a, b) = %q, want yes", d.EdgeLabel("a", "b"))
	}
	if d.EdgeLabel("b", "a") != "" {
		t.Errorf("EdgeLabel(b, a) = %q, want none", d.EdgeLabel("b", "a"))
	}
	d.SetEdgeLabel("a", "b", "")
	if d.EdgeLabel("a", "b") != "" {
		t.Errorf("an empty label did not remove it: %q", d.EdgeLabel("a", "b"))
	}
}

func TestForRunLeavesOutTasksOutsideTheirDates(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { return time.Date(2024, 1, 0, 0, 0, 0, 0, time.UTC).AddDate(0, 0, len(s)) }
	d := New("dated", Pos{})
	for _, id := range []string{"a", "late", "old", "b"} {
		d.AddTask(NewTask(id, OperatorEmpty, Pos{}))
	}
	d.Connect("a", "late", Pos{})
	d.Connect("late", "b", Pos{})
	d.Task("a").PriorityWeight = 5
	d.Task("late").StartDate = day("xx") // 2024-01-02
	d.Task("old").EndDate = day("xx")    // 2024-01-02
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	if got := d.ForRun(day("xx"), false); got != d {
		t.Error("a run inside every task's dates got a copy, want the DAG itself")
	}
	first := d.ForRun(day("x"), false)
	if ids := first.TaskIDs(); !reflect.DeepEqual(ids, []string{"a", "old", "b"}) {
		t.Errorf("2024-01-01 run tasks = %v, want a old b", ids)
	}
	if first.Task("late") != nil || first.TaskIndex("late") != -1 || d.Task("late") == nil {
		t.Error("late is in the 2024-01-01 view, or gone from the DAG")
	}
	if w := first.PriorityWeights()["a"]; w != d.PriorityWeights()["a"] || w != 7 {
		t.Errorf("a's weight in the view = %d, want the whole DAG's 7", w)
	}
	if ids := d.ForRun(day("xxx"), false).TaskIDs(); !reflect.DeepEqual(ids, []string{"a", "late", "b"}) {
		t.Errorf("2024-01-03 run tasks = %v, want a late b", ids)
	}
	if ids := d.ForRun(day("x"), true).TaskIDs(); len(ids) != 4 {
		t.Errorf("a backfill run has %v, want every task", ids)
	}
}

func TestCheckRunID(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"manual__2024-01-01T00:00:00+00:00", "my.run~1", "a", strings.Repeat("r", 250)} {
		if err := CheckRunID(ok); err != nil {
			t.Errorf("CheckRunID(%q): %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "<script>", "a/b", "has space", "tab\t", strings.Repeat("r", 251)} {
		if err := CheckRunID(bad); err == nil || !strings.Contains(err.Error(), "must be 1-250") {
			t.Errorf("CheckRunID(%q): %v, want an error", bad, err)
		}
	}
}
