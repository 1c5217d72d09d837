package scheduler_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// marker makes task id of d an external_task_marker pointing at
// extDAG.extTask, with recursion_depth depth (0: the default).
func marker(d *dags.DAG, id, extDAG, extTask string, depth int64) {
	t := d.Task(id)
	t.Operator = dags.OperatorExternalTaskMarker
	t.Config = map[string]any{"external_dag_id": extDAG, "external_task_id": extTask}
	if depth > 0 {
		t.Config["recursion_depth"] = depth
	}
}

// TestClearFollowsExternalTaskMarkers: clearing a marker with its
// downstream clears the marked task and its downstream in the other DAG's
// run of the same logical date, and on through that DAG's markers, as
// Airflow's clear of dependent DAGs; without downstream, or past
// recursion_depth, it does not.
func TestClearFollowsExternalTaskMarkers(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s store.Store) {
		e := setup(t, s)
		now := at("2024-01-02T00:00:10Z")
		for _, depth := range []int64{0, 1} {
			p, c, g := "parent", "child", "grandchild"
			if depth == 1 {
				p, c, g = "parent1", "child1", "grandchild1"
			}
			e.register(dagSpec{id: p, schedule: "@daily", start: "2024-01-01", tasks: "start m",
				edges: "start>>m", tweak: func(d *dags.DAG) { marker(d, "m", c, "c1", depth) }}, now)
			e.register(dagSpec{id: c, schedule: "@daily", start: "2024-01-01", tasks: "c0 c1 c2 cm",
				edges: "c1>>c2 c2>>cm", tweak: func(d *dags.DAG) { marker(d, "cm", g, "g1", 0) }}, now)
			e.register(dagSpec{id: g, schedule: "@daily", start: "2024-01-01", tasks: "g0 g1 g2",
				edges: "g1>>g2"}, now)
		}
		e.tick(now)
		e.work(now, succeed)
		e.tick(now)
		for _, depth := range []int64{0, 1} {
			p, c, g := "parent", "child", "grandchild"
			if depth == 1 {
				p, c, g = "parent1", "child1", "grandchild1"
			}
			for _, id := range []string{p, c, g} {
				if r := e.runs(id); len(r) != 1 || r[0].State != dags.DagRunStateSuccess {
					t.Fatalf("%s before clearing: %v", id, r)
				}
			}
			clear := func(downstream, dry bool) (string, error) {
				keys, err := e.sched.Clear(e.ctx, scheduler.ClearParams{DAGID: p, TaskRegex: "^m$", Downstream: downstream, DryRun: dry})
				names := make([]string, len(keys))
				for i, k := range keys {
					names[i] = k.DagID + "." + k.TaskID
				}
				return strings.Join(names, " "), err
			}
			if got, err := clear(false, true); err != nil || got != p+".m" {
				t.Fatalf("clear without downstream (dry) = %q, %v; want only the marker", got, err)
			}
			if depth == 1 {
				// The child's marker would go a second DAG deep.
				_, err := clear(true, false)
				if err == nil || !strings.Contains(err.Error(), "maximum recursion depth 1 reached for external_task_marker cm of DAG child1") {
					t.Fatalf("clear past recursion_depth 1: %v", err)
				}
				continue
			}
			want := p + ".m " + c + ".c1 " + c + ".c2 " + c + ".cm " + g + ".g1 " + g + ".g2"
			if got, err := clear(true, true); err != nil || got != want {
				t.Fatalf("dry clear = %q, %v; want %q", got, err, want)
			}
			if st := e.states(c, e.runs(c)[0].RunID); st["c1"] != "success/1" {
				t.Fatalf("the dry run changed the child: %v", st)
			}
			if got, err := clear(true, false); err != nil || got != want {
				t.Fatalf("clear = %q, %v; want %q", got, err, want)
			}
			for id, wantStates := range map[string]string{
				p: "m=none/1 start=success/1",
				c: "c0=success/1 c1=none/1 c2=none/1 cm=none/1",
				g: "g0=success/1 g1=none/1 g2=none/1",
			} {
				run := e.runs(id)[0]
				st := e.states(id, run.RunID)
				var got []string
				for _, k := range slices.Sorted(maps.Keys(st)) {
					got = append(got, k+"="+st[k])
				}
				if strings.Join(got, " ") != wantStates || run.State != dags.DagRunStateQueued {
					t.Errorf("%s after the clear: run %s, %s; want queued, %s", id, run.State, strings.Join(got, " "), wantStates)
				}
			}
		}
	})
}
