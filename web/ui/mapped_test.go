package ui_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// setMapState forces one map index of a mapped task into a state after
// tries tries.
func (e *env) setMapState(t testing.TB, run *store.DagRun, taskID string, mapIndex int, state dags.TaskState, tries int) {
	t.Helper()
	start := run.LogicalDate.Add(time.Minute)
	p := &store.TaskInstanceSetStateParams{
		Key:       store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: taskID, MapIndex: mapIndex},
		To:        state,
		TryNumber: tries,
		StartDate: start,
	}
	if state.Finished() {
		p.EndDate = start.Add(2 * time.Second)
	}
	if _, err := e.store.TaskInstanceSetState(context.Background(), p); err != nil {
		t.Fatalf("set %s[%d] to %s: %v", taskID, mapIndex, state, err)
	}
}

// mappedRun makes a run of example_dynamic_task_mapping in which numbers
// returned [10, 20, 30] and add_one was expanded over it: [0] and [1]
// succeeded, [2] failed on its second try. [0] and [1] each wrote a log and
// pushed a return value of their own.
func mappedRun(t *testing.T, e *env) *store.DagRun {
	t.Helper()
	ctx := context.Background()
	run := e.trigger(t, "example_dynamic_task_mapping", day)
	e.setState(t, run, "numbers", dags.TaskStateSuccess, 1)
	key := func(task string, i int) store.TaskInstanceKey {
		return store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: task, MapIndex: i}
	}
	if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key("numbers", store.NoMapIndex), Key: store.ReturnValueKey,
		Value: []any{int64(10), int64(20), int64(30)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: key("add_one", store.NoMapIndex),
		From: []dags.TaskState{dags.TaskStateNone}, Count: 3}); err != nil {
		t.Fatalf("expand add_one: %v", err)
	}
	e.setMapState(t, run, "add_one", 0, dags.TaskStateSuccess, 1)
	e.setMapState(t, run, "add_one", 1, dags.TaskStateSuccess, 1)
	e.setMapState(t, run, "add_one", 2, dags.TaskStateFailed, 2)
	for i, name := range []string{"zero", "one"} {
		if _, err := e.store.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: key("add_one", i), TryNumber: 1, Data: []byte("log of index " + name + "\n")}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: key("add_one", i), Key: store.ReturnValueKey, Value: "xcom-of-" + name}); err != nil {
			t.Fatal(err)
		}
	}
	return run
}

func TestGridShowsMappedTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := mappedRun(t, e)

	code, body := get(t, e.as(auth.RoleViewer), "/dags/example_dynamic_task_mapping/grid")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	body = html.UnescapeString(strings.ReplaceAll(body, "\n", " "))
	row := regexp.MustCompile(`<tr data-task="add_one">.*?</tr>`).FindString(body)
	if row == "" {
		t.Fatal("no add_one row")
	}
	// One failed map index makes the task failed (Airflow's priority).
	mustContain(t, row, `<td class="c mapped s-failed" title="3 mapped task instances: 2 success, 1 failed" data-count="3" tabindex="0" aria-label="failed"><span class="n">[3]</span></td>`,
		`add_one <span class="mapped-mark">[ ]</span>`)
	// A mapped task not expanded yet shows its one task instance.
	labels := regexp.MustCompile(`<tr data-task="labels">.*?</tr>`).FindString(body)
	mustContain(t, labels, `<td class="c s-none" tabindex="0" aria-label="none"></td>`, `[ ]`)
	mustNotContain(t, labels, "mapped task instances")

	t.Run("the details panel lists every map index", func(t *testing.T) {
		t.Parallel()
		target := "/dags/example_dynamic_task_mapping/grid/_details?" + url.Values{"run_id": {run.RunID}, "task_id": {"add_one"}}.Encode()
		code, body := get(t, e.as(auth.RoleOp), target)
		if code != http.StatusOK {
			t.Fatalf("status %d: %s", code, body)
		}
		ti := "/dags/example_dynamic_task_mapping/runs/" + url.PathEscape(run.RunID) + "/tasks/add_one"
		mustContain(t, body, `data-mapped="3"`, "<h3>add_one [3]</h3>", "3 mapped task instances: 2 success, 1 failed",
			`<tr data-map-index="0"><td><a href="`+ti+`?map_index=0">[0]</a></td><td><span class="badge s-success">success</span></td><td class="try-number">1</td>`,
			`<tr data-map-index="1"><td><a href="`+ti+`?map_index=1">[1]</a></td><td><span class="badge s-success">success</span></td><td class="try-number">1</td>`,
			`<tr data-map-index="2"><td><a href="`+ti+`?map_index=2">[2]</a></td><td><span class="badge s-failed">failed</span></td><td class="try-number">2</td>`,
			"all 3 map indexes of <code>add_one</code>", "Clear all 3")
		mustNotContain(t, body, `name="map_index"`) // the summary acts on the task
		if code, body := get(t, e.as(auth.RoleOp), target+"&map_index=x"); code != http.StatusBadRequest || !strings.Contains(body, "map_index must be") {
			t.Errorf("bad map_index: status %d body %s", code, body)
		}
		code, body = get(t, e.as(auth.RoleOp), target+"&map_index=2")
		if code != http.StatusOK {
			t.Fatalf("map index 2: status %d", code)
		}
		mustContain(t, body, "<h3>add_one [2]</h3>", `<dd class="map-index">2 of 3</dd>`, `<span class="badge s-failed ti-state">failed</span>`, `href="`+ti+`?map_index=2"`)
	})
}

func TestMappedTaskInstancePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := mappedRun(t, e)
	page := "/dags/example_dynamic_task_mapping/runs/" + url.PathEscape(run.RunID) + "/tasks/add_one"

	code, body := get(t, e.as(auth.RoleOp), page+"?map_index=1")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	mustContain(t, body, "<title>add_one [1] · "+run.RunID, `<h2 class="ti-title">add_one [1] <small>`,
		`data-try="1" tabindex="0"><span class="ln" id="L1" data-n="1">log of index one`, "xcom-of-one",
		`href="?map_index=1&try=1" class="try active"`,
		// the mapped argument of index 1: numbers' second item
		`data-mapped-arg="x"`, `<pre class="code">20</pre>`,
		`<input type="hidden" name="map_index" value="1">`, "Clear and mark act on [1] only",
		`class="map-link active s-success" title="[1] success">1</a>`)
	mustNotContain(t, body, "log of index zero", "xcom-of-zero", `id="log-poller"`)

	// The log poller keeps the map index.
	code, body = get(t, e.as(auth.RoleViewer), page+"/_log?try=1&offset=4&map_index=1")
	if code != http.StatusOK || !strings.HasPrefix(body, `<span class="ln" id="L1" data-n="1">of index one`) {
		t.Errorf("log poll of index 1: status %d body %q", code, body)
	}
	e.setMapState(t, run, "add_one", 0, dags.TaskStateRunning, 1)
	code, body = get(t, e.as(auth.RoleViewer), page+"?map_index=0")
	if code != http.StatusOK {
		t.Fatalf("index 0: status %d", code)
	}
	mustContain(t, body, "log of index zero", "xcom-of-zero", `id="log-poller" hx-get="`+page+`/_log?try=1&offset=18&line=2&map_index=0"`,
		`<pre class="code">10</pre>`)
	mustNotContain(t, body, "log of index one", "xcom-of-one")

	// Map index -1 of an expanded task is its summary.
	code, body = get(t, e.as(auth.RoleViewer), page)
	if code != http.StatusOK {
		t.Fatalf("summary: status %d: %s", code, body)
	}
	mustContain(t, body, `<h2 class="ti-title">add_one [3]`, "Mapped task instances", `href="`+page+`?map_index=2">[2]</a>`,
		`<span class="badge s-running">running</span>`)
	mustNotContain(t, body, `id="log"`)

	for _, tc := range []struct {
		target string
		status int
		msg    string
	}{
		{page + "?map_index=x", http.StatusBadRequest, "map_index must be -1 (a task that is not mapped) or a map index from 0, not &#34;x&#34;"},
		{page + "?map_index=-2", http.StatusBadRequest, "map_index must be"},
		{page + "?map_index=7", http.StatusNotFound, "add_one[7]: not found (the task has map indexes 0 to 2)"},
		{page + "/_log?try=1&offset=0&map_index=1.5", http.StatusBadRequest, "map_index must be"},
		{"/dags/example_dynamic_task_mapping/runs/" + url.PathEscape(run.RunID) + "/tasks/total?map_index=0", http.StatusNotFound, "no map indexes in this run"},
	} {
		code, body := get(t, e.as(auth.RoleViewer), tc.target)
		if code != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: status %d, want %d with %q; body %s", tc.target, code, tc.status, tc.msg, body)
		}
	}
	if rec := post(t, e.as(auth.RoleOp), page+"/clear", url.Values{"map_index": {"one"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("clear with a bad map_index: status %d, want 400", rec.Code)
	}
}

// Clearing from one map index's page clears that task instance only (and
// the tasks downstream); clearing from the summary clears every index.
func TestClearFromMapIndexClearsThatIndexOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	run := mappedRun(t, e)
	page := "/dags/example_dynamic_task_mapping/runs/" + url.PathEscape(run.RunID) + "/tasks/add_one"
	states := func() []dags.TaskState {
		var out []dags.TaskState
		for i := range 3 {
			ti, err := e.store.TaskInstanceGet(ctx, store.TaskInstanceKey{DagID: run.DagID, RunID: run.RunID, TaskID: "add_one", MapIndex: i})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ti.State)
		}
		return out
	}
	before := states()
	rec := post(t, e.as(auth.RoleOp), page+"/clear", url.Values{"map_index": {"2"}, "return": {page + "?map_index=2"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != page+"?map_index=2" {
		t.Fatalf("clear: status %d location %q body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := states(); got[0] != before[0] || got[1] != before[1] || got[2] != dags.TaskStateNone {
		t.Errorf("after clearing [2]: %v (before %v), want only [2] back to none", got, before)
	}
	rec = post(t, e.as(auth.RoleOp), page+"/mark", url.Values{"map_index": {"2"}, "state": {"failed"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("mark: status %d body %s", rec.Code, rec.Body)
	}
	if got := states(); got[0] != before[0] || got[2] != dags.TaskStateFailed {
		t.Errorf("after marking [2] failed: %v", got)
	}
	if rec := post(t, e.as(auth.RoleOp), page+"/clear", url.Values{}); rec.Code != http.StatusSeeOther {
		t.Fatalf("clear all: status %d", rec.Code)
	}
	for i, s := range states() {
		if s != dags.TaskStateNone {
			t.Errorf("add_one[%d] is %s after clearing the whole task, want none", i, s)
		}
	}
}

func TestGraphShowsMappedTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := mappedRun(t, e)
	code, body := get(t, e.as(auth.RoleViewer), "/dags/example_dynamic_task_mapping/graph/states?run_id="+url.QueryEscape(run.RunID))
	if code != http.StatusOK {
		t.Fatalf("states: status %d: %s", code, body)
	}
	var st struct {
		States map[string]string
		Counts map[string]int
		Titles map[string]string
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("states: %v: %s", err, body)
	}
	if st.States["add_one"] != "failed" || st.Counts["add_one"] != 3 || st.Titles["add_one"] != "3 mapped task instances: 2 success, 1 failed" {
		t.Errorf("add_one: state %q count %d title %q", st.States["add_one"], st.Counts["add_one"], st.Titles["add_one"])
	}
	if st.States["numbers"] != "success" || st.States["labels"] != "none" || st.Counts["labels"] != 0 {
		t.Errorf("states %v counts %v", st.States, st.Counts)
	}

	code, body = get(t, e.as(auth.RoleViewer), "/dags/example_dynamic_task_mapping/graph")
	if code != http.StatusOK {
		t.Fatalf("graph: status %d", code)
	}
	m := regexp.MustCompile(`(?s)<script type="application/json" id="graph-data">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no graph data")
	}
	var g struct {
		Nodes []struct {
			ID, State string
			Mapped    bool
			MapCount  int `json:"map_count"`
		}
	}
	if err := json.Unmarshal([]byte(m[1]), &g); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, n := range g.Nodes {
		switch n.ID {
		case "add_one":
			found++
			if n.State != "failed" || !n.Mapped || n.MapCount != 3 {
				t.Errorf("add_one node %+v", n)
			}
		case "labels":
			found++
			if !n.Mapped || n.MapCount != 0 {
				t.Errorf("labels node %+v", n)
			}
		case "total":
			found++
			if n.Mapped {
				t.Errorf("total node %+v", n)
			}
		}
	}
	if found != 3 {
		t.Errorf("nodes %+v", g.Nodes)
	}
}
