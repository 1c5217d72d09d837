package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// groupMapSource maps a task group over an upstream output, where one map
// index fails, and another group over nothing.
const groupMapSource = `
def numbers():
    return [1, 2, 3]

def check(x, scale):
    if x == 2:
        fail("item 2 is bad")
    return x * scale

def add_one(v):
    return v + 1

def collect(values):
    return values

def each(x, scale):
    c = task(check, args = [x], kwargs = {"scale": scale})
    a = task(add_one, args = [c.output])
    a >> empty(task_id = "cleanup", trigger_rule = "all_done")
    return a

def build():
    n = task(numbers)
    a = group("g", each).partial(scale = 10).expand(x = n.output)
    task(collect, task_id = "all_success", args = [a.output])
    task(collect, task_id = "all_done", args = [a.output], trigger_rule = "all_done")
    z = group("none", each).partial(scale = 1).expand(x = [])
    z >> empty(task_id = "after_none")
    z >> empty(task_id = "after_none_done", trigger_rule = "all_done")

dag(dag_id = "groupmap", build = build, schedule = "@once", start_date = "2024-01-01")
`

// groupMapWant are the final states of groupMapSource's task instances, as
// Airflow gives them: only the chain of map index 1 fails, the cleanup of
// every index runs (all_done), and a group mapped over nothing is skipped.
const groupMapWant = "after_none[-1]=skipped after_none_done[-1]=success all_done[-1]=success all_success[-1]=upstream_failed " +
	"g.add_one[0]=success g.add_one[1]=upstream_failed g.add_one[2]=success " +
	"g.check[0]=success g.check[1]=failed g.check[2]=success " +
	"g.cleanup[0]=success g.cleanup[1]=success g.cleanup[2]=success " +
	"none.add_one[-1]=skipped none.check[-1]=skipped none.cleanup[-1]=skipped numbers[-1]=success"

func TestMappedTaskGroupsThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"groupmap.star": groupMapSource})
		const once = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "groupmap", once)
		if run.State != dags.DagRunStateFailed {
			t.Errorf("run %s, want failed (all_success is upstream_failed)", run.State)
		}
		tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "groupmap", RunID: once})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ti := range tis {
			got = append(got, fmt.Sprintf("%s[%d]=%s", ti.TaskID, ti.MapIndex, ti.State))
		}
		if strings.Join(got, " ") != groupMapWant {
			t.Errorf("task instances:\n got  %s\n want %s", strings.Join(got, " "), groupMapWant)
		}
		// g.add_one[i] got g.check[i]'s value; all_done gets the values of
		// the map indexes that pushed one.
		if v := fmt.Sprint(xcom(t, e, "groupmap", once, "all_done", store.ReturnValueKey)); v != "[11 31]" {
			t.Errorf("all_done = %s, want [11 31]", v)
		}
	})
}

// TestTaskGroupMappingExampleThroughSchedulerAndWorker runs
// examples/example_task_group_mapping.star (scheduled once) to the states
// test-dag gives it.
func TestTaskGroupMappingExampleThroughSchedulerAndWorker(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../examples/example_task_group_mapping.star")
	if err != nil {
		t.Fatal(err)
	}
	once := strings.Replace(string(src), "schedule = None", `schedule = "@once"`, 1)
	if once == string(src) {
		t.Fatal("the example has no schedule = None to replace")
	}
	eachDatabase(t, func(t *testing.T, url string) {
		e := startEngineWith(t, url, map[string]string{"example_task_group_mapping.star": once})
		const runID = "scheduled__2024-01-01T00:00:00+00:00"
		run := waitRun(t, e, "example_task_group_mapping", runID)
		if run.State != dags.DagRunStateSuccess {
			t.Errorf("run %s, want success", run.State)
		}
		tis, err := e.store.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "example_task_group_mapping", RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ti := range tis {
			want := dags.TaskStateSuccess
			if strings.HasPrefix(ti.TaskID, "nothing.") || ti.TaskID == "after_nothing" {
				want = dags.TaskStateSkipped
			}
			if ti.State != want {
				t.Errorf("%s[%d] is %s, want %s", ti.TaskID, ti.MapIndex, ti.State, want)
			}
			count[ti.TaskID]++
		}
		for task, want := range map[string]int{"group1.show": 3, "group1.add_2": 3, "group1.multiply_by_100": 3, "literal.multiply_by_100": 2, "nothing.add_2": 1} {
			if count[task] != want {
				t.Errorf("%s has %d task instances, want %d", task, count[task], want)
			}
		}
		if v := xcom(t, e, "example_task_group_mapping", runID, "pull_results", store.ReturnValueKey); v != int64(3) {
			t.Errorf("pull_results = %v, want 3", v)
		}
	})
}
