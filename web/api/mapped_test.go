package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// TestMappedTaskInstances expands the fixture's load task into three map
// indexes in the store (the API reads task instances from the store only,
// so the DAG need not map it) and reads them back: in the run's listing,
// through listMapped, by Airflow's /{map_index} path and by ?map_index,
// with each map index's own log and XComs.
func TestMappedTaskInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.store.TaskInstanceExpand(ctx, &store.TaskInstanceExpandParams{Key: key("load"), From: []dags.TaskState{dags.TaskStateNone}, Count: 3}); err != nil {
		t.Fatal(err)
	}
	mk := func(i int) store.TaskInstanceKey { k := key("load"); k.MapIndex = i; return k }
	for i, st := range []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateFailed, dags.TaskStateRunning} {
		if _, err := e.store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: mk(i), To: st, TryNumber: 1, RenderedMapIndex: "file-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, text := range []string{"zero\n", "one\n"} {
		if _, err := e.store.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: mk(i), TryNumber: 1, Data: []byte(text)}); err != nil {
			t.Fatal(err)
		}
		if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: mk(i), Key: store.ReturnValueKey, Value: int64(100 + i)}); err != nil {
			t.Fatal(err)
		}
	}

	body := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances", nil).json(t)
	got := map[string]bool{}
	for _, x := range body["task_instances"].([]any) {
		ti := x.(map[string]any)
		got[ti["task_id"].(string)+"/"+ti["state"].(string)+"/"+strconv.Itoa(int(ti["map_index"].(float64)))] = true
	}
	for _, want := range []string{"extract/success/-1", "load/success/0", "load/failed/1", "load/running/2"} {
		if !got[want] {
			t.Errorf("the run's listing lacks %s: %v", want, got)
		}
	}
	if body["total_entries"] != 5.0 || got["load/none/-1"] {
		t.Errorf("listing: total %v, entries %v; want 5 without load[-1]", body["total_entries"], got)
	}

	body = e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/listMapped", nil).json(t)
	list := body["task_instances"].([]any)
	if body["total_entries"] != 3.0 || len(list) != 3 || list[0].(map[string]any)["map_index"] != 0.0 || list[2].(map[string]any)["map_index"] != 2.0 {
		t.Errorf("listMapped = %v", body)
	}
	body = e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/listMapped?state=failed", nil).json(t)
	if body["total_entries"] != 1.0 || body["task_instances"].([]any)[0].(map[string]any)["map_index"] != 1.0 {
		t.Errorf("listMapped?state=failed = %v", body)
	}
	if body := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/listMapped", nil).json(t); body["total_entries"] != 0.0 {
		t.Errorf("listMapped of an unmapped task = %v, want none", body)
	}
	expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/nope/listMapped", nil), http.StatusNotFound, `no task "nope"`)

	for _, target := range []string{runPath + "/taskInstances/load/1", runPath + "/taskInstances/load?map_index=1"} {
		ti := e.do(t, auth.RoleViewer, "GET", target, nil).json(t)
		if ti["map_index"] != 1.0 || ti["state"] != "failed" || ti["task_id"] != "load" || ti["task_display_name"] != "load" || ti["rendered_map_index"] != "file-1" {
			t.Errorf("GET %s = %v", target, ti)
		}
	}
	expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/7", nil), http.StatusNotFound, "")
	expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/-2", nil), http.StatusBadRequest, "map_index")
	expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/one", nil), http.StatusBadRequest, "map_index")
	expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load", nil), http.StatusNotFound, "") // expanded: no -1

	if log := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/logs/1?map_index=1", nil).json(t); log["content"] != "one\n" {
		t.Errorf("log of load[1] = %v", log)
	}
	x := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/xcomEntries?map_index=1", nil).json(t)
	entries := x["xcom_entries"].([]any)
	if len(entries) != 1 || entries[0].(map[string]any)["value"] != 101.0 || entries[0].(map[string]any)["map_index"] != 1.0 {
		t.Errorf("XComs of load[1] = %v", x)
	}

	// Marking a mapped task marks every map index (the scheduler acts on
	// whole tasks).
	r := e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState", map[string]any{"dag_run_id": runID, "task_id": "load", "new_state": "success"})
	if r.code != http.StatusOK {
		t.Fatalf("mark load: status %d: %s", r.code, r.body)
	}
	for i := range 3 {
		ti, err := e.store.TaskInstanceGet(ctx, mk(i))
		if err != nil || ti.State != dags.TaskStateSuccess {
			t.Errorf("load[%d] after mark: %v %v", i, ti, err)
		}
	}
	expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState", map[string]any{"dag_run_id": runID, "task_id": "nope", "new_state": "success"}),
		http.StatusNotFound, `no task "nope"`)
}
