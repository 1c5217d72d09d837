package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestTaskInstances(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("list and get show every field", func(t *testing.T) {
		body := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances", nil).json(t)
		list := body["task_instances"].([]any)
		if body["total_entries"] != 3.0 || len(list) != 3 {
			t.Fatalf("task instances = %v", body)
		}
		want := map[string]any{"dag_id": "pipeline", "dag_run_id": runID, "task_id": "extract", "task_display_name": "Extract rows", "map_index": -1.0, "rendered_map_index": nil, "state": "success",
			"try_number": 1.0, "max_tries": 1.0, "hostname": "host-1", "pool": "default_pool", "pool_slots": 1.0, "priority_weight": 3.0,
			"queue": "default", "operator": "bash", "logical_date": "2024-01-02T00:00:00Z", "queued_when": "2024-01-02T00:00:59Z",
			"start_date": "2024-01-02T00:01:00Z", "end_date": "2024-01-02T00:01:01.5Z", "duration": 1.5, "next_retry_at": nil, "heartbeat_at": nil}
		if got := list[0].(map[string]any); !reflect.DeepEqual(got, want) {
			t.Errorf("extract =\n%v\nwant\n%v", got, want)
		}
		if got := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract", nil).json(t); !reflect.DeepEqual(got, want) {
			t.Errorf("GET extract =\n%v\nwant\n%v", got, want)
		}
		if got := list[1].(map[string]any); got["task_id"] != "load" || got["task_display_name"] != "load" || got["state"] != "none" || got["duration"] != nil || got["start_date"] != nil {
			t.Errorf("load = %v", got)
		}
		body = e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances?state=success", nil).json(t)
		if body["total_entries"] != 1.0 {
			t.Errorf("state=success: %v", body)
		}
		expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances?state=done", nil), http.StatusBadRequest, `state "done"`)
		expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract?map_index=x", nil), http.StatusBadRequest, "map_index")
		expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract?map_index=0", nil), http.StatusNotFound, "")
	})

	t.Run("XComs", func(t *testing.T) {
		want := map[string]any{"dag_id": "pipeline", "dag_run_id": runID, "task_id": "extract", "map_index": -1.0, "key": "return_value",
			"value": map[string]any{"rows": 3.0}}
		body := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/xcomEntries", nil).json(t)
		entries := body["xcom_entries"].([]any)
		if body["total_entries"] != 1.0 || len(entries) != 1 {
			t.Fatalf("xcoms = %v", body)
		}
		for _, got := range []map[string]any{entries[0].(map[string]any), e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/xcomEntries/return_value", nil).json(t)} {
			if got["timestamp"] == nil {
				t.Errorf("xcom without timestamp: %v", got)
			}
			delete(got, "timestamp")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("xcom =\n%v\nwant\n%v", got, want)
			}
		}
		if body := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/load/xcomEntries", nil).json(t); body["total_entries"] != 0.0 || len(body["xcom_entries"].([]any)) != 0 {
			t.Errorf("xcoms of load = %v, want an empty list", body)
		}
	})

	t.Run("log chunks", func(t *testing.T) {
		got := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/logs/1", nil).json(t)
		if want := map[string]any{"content": "extracting\ndone\n", "offset": 0.0, "next_offset": 16.0, "try_number": 1.0}; !reflect.DeepEqual(got, want) {
			t.Errorf("log = %v, want %v", got, want)
		}
		got = e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/logs/1?offset=11", nil).json(t)
		if got["content"] != "done\n" || got["next_offset"] != 16.0 {
			t.Errorf("log from 11 = %v", got)
		}
		for q, msg := range map[string]string{"logs/0": "try_number", "logs/x": "try_number", "logs/1?offset=-1": "offset", "logs/1?follow=perhaps": "follow"} {
			expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/"+q, nil), http.StatusBadRequest, msg)
		}
		expectError(t, e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/logs/2", nil), http.StatusNotFound, "has no try 2")
	})
}

func TestClearAndMark(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	states := func() string {
		tis, err := e.store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "pipeline", RunID: runID})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ti := range tis {
			out = append(out, ti.TaskID+"="+string(ti.State))
		}
		return strings.Join(out, " ")
	}
	refs := func(r response) string {
		t.Helper()
		if r.code != http.StatusOK {
			t.Fatalf("status %d: %s", r.code, r.body)
		}
		var out []string
		for _, x := range r.json(t)["task_instances"].([]any) {
			out = append(out, x.(map[string]any)["task_id"].(string))
		}
		return strings.Join(out, " ")
	}

	// Mark transform success, then load failed.
	if got := refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState",
		map[string]any{"dag_run_id": runID, "task_id": "transform", "new_state": "success"})); got != "transform" {
		t.Errorf("marked %q, want transform", got)
	}
	if got := refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState",
		map[string]any{"dag_run_id": runID, "task_id": "load", "new_state": "failed"})); got != "load" {
		t.Errorf("marked %q, want load", got)
	}
	if got := states(); got != "extract=success load=failed transform=success" {
		t.Fatalf("after marking: %s", got)
	}
	// A dry run changes nothing; clearing extract with downstream resets all three.
	body := map[string]any{"dag_run_id": runID, "task_ids": []string{"extract"}, "include_downstream": true, "dry_run": true}
	if got := refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/clearTaskInstances", body)); got != "extract load transform" && got != "extract transform load" {
		t.Errorf("dry run would clear %q", got)
	}
	if got := states(); got != "extract=success load=failed transform=success" {
		t.Errorf("a dry run changed states: %s", got)
	}
	body["dry_run"] = false
	refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/clearTaskInstances", body))
	if got := states(); got != "extract=none load=none transform=none" {
		t.Errorf("after clearing with downstream: %s", got)
	}
	// only_failed narrows: mark load failed again and clear only failed.
	refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState",
		map[string]any{"dag_run_id": runID, "task_id": "extract", "new_state": "success", "include_downstream": true}))
	refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState", map[string]any{"dag_run_id": runID, "task_id": "load", "new_state": "failed"}))
	if got := refs(e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/clearTaskInstances", map[string]any{"only_failed": true})); got != "load" {
		t.Errorf("only_failed cleared %q, want load", got)
	}

	bad := []struct {
		path, body, msg string
	}{
		{"clearTaskInstances", `{"start_date": "soon"}`, `start_date "soon"`},
		{"clearTaskInstances", `{"end_date": "2024-99-01"}`, "end_date"},
		{"clearTaskInstances", `{"task_ids": [""]}`, "empty task id"},
		{"clearTaskInstances", `{"start_date": "2024-02-01", "end_date": "2024-01-01"}`, ""},
		{"clearTaskInstances", `{"only_failed": "yes"}`, `field "only_failed" must be bool`},
		{"updateTaskInstancesState", `{"dag_run_id": "` + runID + `", "task_id": "load", "new_state": "running"}`, `new_state "running"`},
		{"updateTaskInstancesState", `{"dag_run_id": "` + runID + `", "new_state": "success"}`, "task_id are required"},
		{"updateTaskInstancesState", `{"task_id": "load"}`, "dag_run_id and task_id are required"},
	}
	for _, b := range bad {
		expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/"+b.path, b.body), http.StatusBadRequest, b.msg)
	}
	expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/updateTaskInstancesState",
		map[string]any{"dag_run_id": runID, "task_id": "nope", "new_state": "success"}), http.StatusNotFound, "")
	expectError(t, e.do(t, auth.RoleOp, "POST", "/api/v1/dags/pipeline/clearTaskInstances",
		map[string]any{"dag_run_id": "nope"}), http.StatusNotFound, "")
}

// TestLogFollowStreamsNewBytes starts following a running try's log, then
// appends to it: the bytes arrive while the request is open, and the
// stream ends once the try finishes.
func TestLogFollowStreamsNewBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	k := key("transform")
	if _, err := e.store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateRunning, TryNumber: 1, StartDate: e.now}); err != nil {
		t.Fatal(err)
	}
	appendLog := func(s string) {
		if _, err := e.store.TaskLogAppend(ctx, &store.TaskLogAppendParams{Key: k, TryNumber: 1, Data: []byte(s)}); err != nil {
			t.Error(err)
		}
	}
	appendLog("line 1\n")
	srv := httptest.NewServer(e.handler)
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL+runPath+"/taskInstances/transform/logs/1?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[auth.RoleViewer])
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended early")
			}
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no line within 5s")
		}
		return ""
	}
	if l := next(); l != "line 1" {
		t.Fatalf("first line %q", l)
	}
	// Appended after the request started: still arrives.
	appendLog("line 2\n")
	if l := next(); l != "line 2" {
		t.Fatalf("second line %q", l)
	}
	appendLog("last words\n")
	if _, err := e.store.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, From: []dags.TaskState{dags.TaskStateRunning},
		To: dags.TaskStateSuccess, EndDate: e.now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if l := next(); l != "last words" {
		t.Fatalf("third line %q", l)
	}
	select {
	case l, ok := <-lines:
		if ok {
			t.Fatalf("unexpected line %q after the try ended", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end after the try finished")
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

// TestLogFollowOfAFinishedTryEnds returns the whole log and ends.
func TestLogFollowOfAFinishedTryEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do(t, auth.RoleViewer, "GET", runPath+"/taskInstances/extract/logs/1?follow=true&offset=11", nil)
	if r.code != http.StatusOK || string(r.body) != "done\n" {
		t.Errorf("follow of a finished try: %d %q", r.code, r.body)
	}
}
