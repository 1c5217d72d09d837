package scheduler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// mappedStates lists a run's task instances as "task[i]=state/try", sorted.
func (e *env) mappedStates(dagID, runID string) string {
	e.t.Helper()
	tis, err := e.store.TaskInstanceList(e.ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ti := range tis {
		name := ti.TaskID
		if ti.MapIndex >= 0 {
			name = fmt.Sprintf("%s[%d]", ti.TaskID, ti.MapIndex)
		}
		out = append(out, fmt.Sprintf("%s=%s/%d", name, ti.State, ti.TryNumber))
	}
	return strings.Join(out, " ")
}

// pushing finishes each try with success, after pushing what values gives
// for the task as its return value (nothing when values has no entry).
func (e *env) pushing(values map[string]any, fail map[string]bool) func(m queue.Message) dags.TaskState {
	return func(m queue.Message) dags.TaskState {
		name := m.TaskID
		if m.MapIndex >= 0 {
			name = fmt.Sprintf("%s[%d]", m.TaskID, m.MapIndex)
		}
		if fail[name] {
			return dags.TaskStateFailed
		}
		if v, ok := values[name]; ok {
			key := store.TaskInstanceKey{DagID: m.DAGID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex}
			if err := e.store.XComSet(e.ctx, &store.XComSetParams{TaskInstanceKey: key, Key: "return_value", Value: v}); err != nil {
				e.t.Fatal(err)
			}
		}
		return dags.TaskStateSuccess
	}
}

func mappedDAG(id string, over any, perRun int) dagSpec {
	return dagSpec{id: id, schedule: "@daily", start: "2024-01-01", tasks: "src m r", edges: "src>>m m>>r",
		tweak: func(d *dags.DAG) {
			m := d.Task("m")
			m.Expand = []dags.MapArg{{Name: "x", Value: over}}
			m.MaxActiveTIsPerDagrun = perRun
		}}
}

func TestSchedulerExpandsAMappedTaskOverItsUpstreamOutput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(mappedDAG("mapped", dags.XComRef{TaskID: "src", Key: "return_value"}, 2), now)
		e.tick(now)
		run := e.runs("mapped")[0]
		if got := e.mappedStates("mapped", run.RunID); got != "m=none/0 r=none/0 src=queued/1" {
			t.Fatalf("before expansion: %s", got)
		}
		// src returns three items: m expands into m[0..2], two at a time
		// (max_active_tis_per_dagrun), and r runs after all three.
		var maxActive int
		values := map[string]any{"src": []any{"a", "b", "c"}, "m[0]": int64(10), "m[1]": int64(11), "m[2]": int64(12)}
		push := e.pushing(values, nil)
		ran := e.work(now, func(m queue.Message) dags.TaskState {
			active, err := e.store.TaskInstanceList(e.ctx, &store.TaskInstanceListParams{DagID: "mapped", TaskID: "m",
				States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}})
			if err != nil {
				t.Fatal(err)
			}
			maxActive = max(maxActive, len(active))
			return push(m)
		})
		if got := strings.Join(ran, " "); got != "src:1 m:1 m:1 m:1 r:1" {
			t.Errorf("ran %s, want src, three map indexes of m, then r", got)
		}
		if maxActive != 2 {
			t.Errorf("at most %d map indexes active at once, want 2 (max_active_tis_per_dagrun)", maxActive)
		}
		if got := e.mappedStates("mapped", run.RunID); got != "m[0]=success/1 m[1]=success/1 m[2]=success/1 r=success/1 src=success/1" {
			t.Errorf("after the run: %s", got)
		}
		got, _, err := store.PullXCom(e.ctx, s, "mapped", run.RunID, "m", "return_value", true)
		if err != nil || fmt.Sprint(got) != "[10 11 12]" {
			t.Errorf("collected XCom of m = %v, %v; want [10 11 12]", got, err)
		}
		if r := e.runs("mapped")[0]; r.State != dags.DagRunStateSuccess {
			t.Errorf("run state %s", r.State)
		}
	})
}

func TestSchedulerMappedTaskEdgeCases(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		now := at("2024-01-02T00:00:10Z")
		cases := []struct {
			name   string
			over   any
			values map[string]any
			fail   map[string]bool
			want   string
			run    dags.DagRunState
		}{
			{"an empty list skips the task and its all_success downstream", []any{}, nil, nil,
				"m=skipped/0 r=skipped/0 src=success/1", dags.DagRunStateSuccess},
			{"a literal list needs no upstream value", []any{int64(1), int64(2)}, nil, nil,
				"m[0]=success/1 m[1]=success/1 r=success/1 src=success/1", dags.DagRunStateSuccess},
			{"one failed map index fails the downstream", []any{int64(1), int64(2)}, nil, map[string]bool{"m[1]": true},
				"m[0]=success/1 m[1]=failed/1 r=upstream_failed/0 src=success/1", dags.DagRunStateFailed},
			{"an upstream that pushed nothing fails the mapped task", dags.XComRef{TaskID: "src", Key: "return_value"}, nil, nil,
				"m=failed/0 r=upstream_failed/0 src=success/1", dags.DagRunStateFailed},
		}
		for i, c := range cases {
			e := setup(t, s)
			id := fmt.Sprintf("edge%d", i)
			e.register(mappedDAG(id, c.over, 0), now)
			e.tick(now)
			e.work(now, e.pushing(c.values, c.fail))
			e.tick(now)
			run := e.runs(id)[0]
			if got := e.mappedStates(id, run.RunID); got != c.want {
				t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
			}
			if run.State != c.run {
				t.Errorf("%s: run %s, want %s", c.name, run.State, c.run)
			}
		}
	})
}

func TestMaxActiveTIsPerDagCapsATaskAcrossRuns(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-03T00:00:10Z")
		spec := mappedDAG("capped", []any{int64(1), int64(2), int64(3)}, 0)
		spec.catchup = true
		tweak := spec.tweak
		spec.tweak = func(d *dags.DAG) {
			tweak(d)
			d.Task("m").MaxActiveTIsPerDag = 2
		}
		e.register(spec, now)
		e.tick(now)
		if n := len(e.runs("capped")); n != 2 {
			t.Fatalf("%d runs, want 2", n)
		}
		maxActive := 0
		// A slot freed in one run is taken by the other run at the next
		// tick (the mini-scheduler advances only the finished task's run).
		for range 10 {
			ran := e.work(now, func(m queue.Message) dags.TaskState {
				active, err := e.store.TaskInstanceList(e.ctx, &store.TaskInstanceListParams{DagID: "capped", TaskID: "m",
					States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning}})
				if err != nil {
					t.Fatal(err)
				}
				maxActive = max(maxActive, len(active))
				return dags.TaskStateSuccess
			})
			e.tick(now)
			if len(ran) == 0 {
				break
			}
		}
		for _, run := range e.runs("capped") {
			if run.State != dags.DagRunStateSuccess {
				t.Errorf("run %s: %s", run.RunID, run.State)
			}
		}
		if maxActive != 2 {
			t.Errorf("at most %d instances of m active across the two runs, want 2 (max_active_tis_per_dag)", maxActive)
		}
	})
}

func TestClearAndMarkOneMapIndex(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(mappedDAG("one", []any{int64(1), int64(2), int64(3)}, 0), now)
		e.tick(now)
		e.work(now, succeed)
		run := e.runs("one")[0]
		keys, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "one", TaskRegex: "^m$", MapIndexes: []int{1}, Downstream: true})
		if err != nil || len(keys) != 2 {
			t.Fatalf("Clear = %v, %v; want m[1] and r", keys, err)
		}
		if got := e.mappedStates("one", run.RunID); got != "m[0]=success/1 m[1]=none/1 m[2]=success/1 r=none/1 src=success/1" {
			t.Errorf("after clearing m[1]: %s", got)
		}
		e.tick(now)
		if ran := strings.Join(e.work(now, succeed), " "); ran != "m:2 r:2" {
			t.Errorf("after the clear ran %q, want m[1] and r again", ran)
		}
		if _, err := e.sched.MarkState(e.ctx, scheduler.MarkParams{DAGID: "one", RunID: run.RunID, TaskID: "m", State: dags.TaskStateFailed, MapIndexes: []int{2}}); err != nil {
			t.Fatal(err)
		}
		if got := e.mappedStates("one", run.RunID); !strings.Contains(got, "m[0]=success/1 m[1]=success/2 m[2]=failed/1") {
			t.Errorf("after marking m[2] failed: %s", got)
		}
	})
}

func TestAClearedMappedTaskExpandsAgainToItsUpstreamsNewLength(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(mappedDAG("again", dags.XComRef{TaskID: "src", Key: "return_value"}, 0), now)
		e.tick(now)
		run := e.runs("again")[0]
		items := []any{"a", "b", "c"}
		push := func(m queue.Message) dags.TaskState {
			return e.pushing(map[string]any{"src": items}, nil)(m)
		}
		e.work(now, push)
		if got := e.mappedStates("again", run.RunID); got != "m[0]=success/1 m[1]=success/1 m[2]=success/1 r=success/1 src=success/1" {
			t.Fatalf("first run: %s", got)
		}
		// The upstream now returns two items: m[2] is removed.
		items = []any{"a", "b"}
		if _, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "again"}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e.tick(now)
			e.work(now, push)
		}
		if got := e.mappedStates("again", run.RunID); got != "m[0]=success/2 m[1]=success/2 m[2]=removed/1 r=success/2 src=success/2" {
			t.Errorf("after a clear with 2 items: %s", got)
		}
		// Four items: m[2] comes back and m[3] is new.
		items = []any{"a", "b", "c", "d"}
		if _, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: "again"}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			e.tick(now)
			e.work(now, push)
		}
		if got := e.mappedStates("again", run.RunID); got != "m[0]=success/3 m[1]=success/3 m[2]=success/2 m[3]=success/1 r=success/3 src=success/3" {
			t.Errorf("after a clear with 4 items: %s", got)
		}
		if r := e.runs("again")[0]; r.State != dags.DagRunStateSuccess {
			t.Errorf("run %s", r.State)
		}
	})
}
