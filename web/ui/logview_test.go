package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// writeLog writes text as try's log of a task instance.
func writeLog(t *testing.T, e *env, key store.TaskInstanceKey, try int, text string) {
	t.Helper()
	ctx := context.Background()
	w, err := e.logs.Create(ctx, key, try)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLogViewLinesLevelsAndFirstError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := e.trigger(t, "etl", day)
	e.setState(t, run, "load", dags.TaskStateFailed, 1)
	key := store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "load", MapIndex: store.NoMapIndex}
	writeLog(t, e, key, 1, "[2024-03-01T00:01:00.120Z] INFO - starting <b>\n"+
		"plain line\n"+
		"WARNING: low disk\n"+
		"[2024-03-01T00:01:00.500Z] {stderr} ERROR - disk full\n"+
		"error: bash command exited with code 1\n")

	page := "/dags/etl/runs/" + url.PathEscape(run.RunID) + "/tasks/load"
	code, body := get(t, e.as(auth.RoleViewer), page)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, body)
	}
	mustContain(t, body,
		`<span class="ln l-info" id="L1" data-n="1"><time>2024-03-01T00:01:00.120Z</time> <span class="lvl">INFO</span> starting &lt;b&gt;`,
		`<span class="ln" id="L2" data-n="2">plain line`,
		`<span class="ln l-warning" id="L3" data-n="3">`,
		`<span class="ln l-error stderr" id="L4" data-n="4"><span id="first-error"></span><time>2024-03-01T00:01:00.500Z</time> <span class="lvl">ERROR</span> disk full`,
		`<span class="ln l-error" id="L5" data-n="5">error: bash command`,
		`href="#first-error" id="jump-error">Jump to first error (line 4)</a>`,
		`id="log-download" href="/dags/etl/runs/`+url.PathEscape(run.RunID)+`/tasks/load/_log/download?try=1"`,
		`id="log-follow" disabled`, `/static/log.js`)
	if strings.Count(body, `id="first-error"`) != 1 {
		t.Errorf("the page marks %d first errors, want 1", strings.Count(body, `id="first-error"`))
	}
	// The grid's panel of the failed task links straight to that line.
	_, panel := get(t, e.as(auth.RoleViewer), "/dags/etl/grid/_details?"+url.Values{"run_id": {run.RunID}, "task_id": {"load"}}.Encode())
	mustContain(t, panel, `class="button error-link" href="`+page+`#first-error"`)
	_, okPanel := get(t, e.as(auth.RoleViewer), "/dags/etl/grid/_details?"+url.Values{"run_id": {run.RunID}, "task_id": {"extract"}}.Encode())
	mustNotContain(t, okPanel, "error-link")
}

func TestLogDownload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := e.trigger(t, "etl", day)
	e.setState(t, run, "load", dags.TaskStateSuccess, 1)
	key := store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "load", MapIndex: store.NoMapIndex}
	big := strings.Repeat("0123456789abcdef line of a long log\n", 40_000) // > one read chunk
	writeLog(t, e, key, 1, big)
	base := "/dags/etl/runs/" + url.PathEscape(run.RunID) + "/tasks/load/_log/download"
	rec := serve(e.as(auth.RoleViewer), httptestRequest(http.MethodGet, base+"?try=1", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if rec.Body.String() != big {
		t.Errorf("the download has %d bytes, want the whole log's %d", rec.Body.Len(), len(big))
	}
	wantName := `attachment; filename="etl__` + strings.NewReplacer(":", "_", "+", "_").Replace(run.RunID) + `__load__attempt=1.log"`
	if got := rec.Header().Get("Content-Disposition"); got != wantName {
		t.Errorf("Content-Disposition %q, want %q", got, wantName)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	for target, status := range map[string]int{base + "?try=x": http.StatusBadRequest, base + "?try=5": http.StatusNotFound,
		"/dags/etl/runs/nope/tasks/load/_log/download?try=1": http.StatusNotFound} {
		if rec := serve(e.as(auth.RoleViewer), httptestRequest(http.MethodGet, target, nil)); rec.Code != status {
			t.Errorf("%s: status %d, want %d", target, rec.Code, status)
		}
	}
}

func TestLogPollReturnsWholeNumberedLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	run := e.trigger(t, "etl", day)
	e.setState(t, run, "load", dags.TaskStateRunning, 1)
	key := store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "load", MapIndex: store.NoMapIndex}
	writeLog(t, e, key, 1, "one\ntwo\nthree without its end")

	page := "/dags/etl/runs/" + url.PathEscape(run.RunID) + "/tasks/load"
	_, body := get(t, e.as(auth.RoleViewer), page)
	mustContain(t, body, `id="L2" data-n="2">two`, `hx-get="`+page+`/_log?try=1&offset=8&line=3"`, `id="log-follow" checked`)
	mustNotContain(t, body, "three without")

	code, chunk := get(t, e.as(auth.RoleViewer), page+"/_log?try=1&offset=8&line=3")
	if code != http.StatusOK {
		t.Fatalf("poll: status %d: %s", code, chunk)
	}
	// The unfinished line waits for its end; the next poll starts there.
	mustContain(t, chunk, `hx-get="`+page+`/_log?try=1&offset=8&line=3"`)
	mustNotContain(t, chunk, "three without", `id="L3"`)
	if code, _ := get(t, e.as(auth.RoleViewer), page+"/_log?try=1&offset=0&line=0"); code != http.StatusBadRequest {
		t.Errorf("line=0: status %d, want 400", code)
	}
}
