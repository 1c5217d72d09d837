package scheduler_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// groupDAG is src >> g.t1 >> g.t2 >> r with g a mapped task group over
// over, and r's trigger rule rule.
func groupDAG(id string, over any, rule dags.TriggerRule) dagSpec {
	return dagSpec{id: id, schedule: "@daily", start: "2024-01-01", tasks: "src g.t1 g.t2 r", edges: "src>>g.t1 g.t1>>g.t2 g.t2>>r",
		tweak: func(d *dags.DAG) {
			g := &dags.MappedGroup{ID: "g", Expand: []dags.MapArg{{Name: "x", Value: over}}}
			d.Task("g.t1").MapGroup = g
			d.Task("g.t2").MapGroup = g
			d.Task("r").TriggerRule = rule
		}}
}

func TestSchedulerRunsAMappedGroupIndexByIndex(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		e.register(groupDAG("grp", dags.XComRef{TaskID: "src", Key: "return_value"}, dags.TriggerAllSuccess), now)
		e.tick(now)
		run := e.runs("grp")[0]
		push := e.pushing(map[string]any{"src": []any{"a", "b", "c"}}, map[string]bool{"g.t1[1]": true})
		t1Done := 0
		ran := e.work(now, func(m queue.Message) dags.TaskState {
			if m.TaskID == "g.t1" {
				// Each finished g.t1[i] has let g.t2[i] be scheduled, and
				// only it: g.t2 does not wait for every index of g.t1.
				active, err := e.store.TaskInstanceList(e.ctx, &store.TaskInstanceListParams{DagID: "grp", TaskID: "g.t2",
					States: []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateQueued}})
				if err != nil {
					t.Fatal(err)
				}
				if len(active) != t1Done {
					t.Errorf("when g.t1[%d] runs, %d task instances of g.t2 are scheduled, want %d (one per successful g.t1 index)", m.MapIndex, len(active), t1Done)
				}
				if m.MapIndex != 1 {
					t1Done++
				}
			}
			return push(m)
		})
		if got := strings.Join(ran, " "); got != "src:1 g.t1:1 g.t1:1 g.t1:1 g.t2:1 g.t2:1" {
			t.Errorf("ran %s", got)
		}
		e.tick(now)
		want := "g.t1[0]=success/1 g.t1[1]=failed/1 g.t1[2]=success/1 g.t2[0]=success/1 g.t2[1]=upstream_failed/0 g.t2[2]=success/1 " +
			"r=upstream_failed/0 src=success/1"
		if got := e.mappedStates("grp", run.RunID); got != want {
			t.Errorf("after the run:\n got  %s\n want %s", got, want)
		}
		if r := e.runs("grp")[0]; r.State != dags.DagRunStateFailed {
			t.Errorf("run state %s, want failed", r.State)
		}
	})
}

func TestSchedulerMappedGroupEdgeCases(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		now := at("2024-01-02T00:00:10Z")
		cases := []struct {
			name string
			over any
			rule dags.TriggerRule
			fail map[string]bool
			want string
			run  dags.DagRunState
		}{
			{"an empty list skips every task of the group and the all_success downstream", []any{}, dags.TriggerAllSuccess, nil,
				"g.t1=skipped/0 g.t2=skipped/0 r=skipped/0 src=success/1", dags.DagRunStateSuccess},
			{"an all_done downstream runs after a group mapped over nothing", []any{}, dags.TriggerAllDone, nil,
				"g.t1=skipped/0 g.t2=skipped/0 r=success/1 src=success/1", dags.DagRunStateSuccess},
			{"an all_done downstream runs after a failed index", []any{int64(1), int64(2)}, dags.TriggerAllDone, map[string]bool{"g.t2[0]": true},
				"g.t1[0]=success/1 g.t1[1]=success/1 g.t2[0]=failed/1 g.t2[1]=success/1 r=success/1 src=success/1", dags.DagRunStateSuccess},
			{"an upstream that pushed nothing fails the group", dags.XComRef{TaskID: "src", Key: "return_value"}, dags.TriggerAllSuccess, nil,
				"g.t1=failed/0 g.t2=upstream_failed/0 r=upstream_failed/0 src=success/1", dags.DagRunStateFailed},
		}
		for i, c := range cases {
			e := setup(t, s)
			id := fmt.Sprintf("gedge%d", i)
			e.register(groupDAG(id, c.over, c.rule), now)
			e.tick(now)
			e.work(now, e.pushing(nil, c.fail))
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

func TestSchedulerExpandsOverAZipOfOutputs(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		over := dags.XComZip{Args: []any{dags.XComRef{TaskID: "a", Key: "return_value"}, dags.XComRef{TaskID: "b", Key: "return_value"}}}
		e.register(dagSpec{id: "zip", schedule: "@daily", start: "2024-01-01", tasks: "a b m r", edges: "a>>m b>>m m>>r",
			tweak: func(d *dags.DAG) { d.Task("m").Expand = []dags.MapArg{{Name: "x", Value: over}} }}, now)
		e.tick(now)
		// a gives three items and b two: the zip, as long as the shorter,
		// expands m into two task instances.
		ran := e.work(now, e.pushing(map[string]any{"a": []any{int64(1), int64(2), int64(3)}, "b": []any{"x", "y"}}, nil))
		if got := strings.Count(strings.Join(ran, " "), "m:1"); got != 2 {
			t.Errorf("m ran %d times, want 2: %v", got, ran)
		}
		run := e.runs("zip")[0]
		if got := e.mappedStates("zip", run.RunID); got != "a=success/1 b=success/1 m[0]=success/1 m[1]=success/1 r=success/1" {
			t.Errorf("after the run: %s", got)
		}
		// With a fill value the zip is as long as the longer output.
		over.Fill, over.HasFill = "z", true
		d := &dags.Task{ID: "m", Expand: []dags.MapArg{{Name: "x", Value: over}}}
		resolve := dags.ResolveWith(func(taskID, key string) (any, bool, error) {
			return store.PullXCom(e.ctx, s, "zip", run.RunID, taskID, key, false)
		})
		if n, err := dags.MapLength(d, resolve); n != 3 || err != nil {
			t.Errorf("zip with fillvalue: %d items, %v; want 3", n, err)
		}
		if v, err := dags.MapValues(d, 2, resolve); err != nil || fmt.Sprint(v["x"]) != "[3 z]" {
			t.Errorf("zip with fillvalue, item 2 = %v, %v; want [3 z]", v, err)
		}
	})
}
