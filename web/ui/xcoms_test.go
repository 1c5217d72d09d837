package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestBrowseXComs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	run := e.trigger(t, "etl", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	e.setState(t, run, "extract", dags.TaskStateSuccess, 1)
	e.setState(t, run, "transform", dags.TaskStateSuccess, 1)
	k := func(task string) store.TaskInstanceKey {
		return store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: task, MapIndex: store.NoMapIndex}
	}
	long := strings.Repeat("x", 500)
	for _, x := range []store.XComSetParams{
		{TaskInstanceKey: k("extract"), Key: "return_value", Value: map[string]any{"rows": 3}},
		{TaskInstanceKey: k("extract"), Key: "big", Value: long},
		{TaskInstanceKey: k("transform"), Key: "return_value", Value: "<script>alert(1)</script>"},
	} {
		if err := e.store.XComSet(ctx, &x); err != nil {
			t.Fatal(err)
		}
	}
	v := e.as(auth.RoleViewer) // every role reads XComs
	code, body := get(t, v, "/xcoms")
	if code != http.StatusOK {
		t.Fatalf("GET /xcoms: %d", code)
	}
	mustContain(t, body, `data-xcom="extract/return_value"`, `{"rows":3}`, `data-xcom="transform/return_value"`, `href="/xcoms"`)
	mustContain(t, body, strings.Repeat("x", 199)+"…", "(cut; full value")
	mustNotContain(t, body, long)
	mustContain(t, body, `&#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;`)
	if strings.Contains(body, "<script>alert") {
		t.Error("an XCom value reaches the page unescaped")
	}
	_, body = get(t, v, "/xcoms?task_id=transform")
	mustContain(t, body, `data-xcom="transform/return_value"`)
	mustNotContain(t, body, `data-xcom="extract/`)
	_, body = get(t, v, "/xcoms?dag_id=etl&key=big")
	mustContain(t, body, `data-xcom="extract/big"`)
	mustNotContain(t, body, `data-xcom="extract/return_value"`, `data-xcom="transform/`)
	_, body = get(t, v, "/xcoms?dag_id=nope")
	mustContain(t, body, "No XComs.")
	if code, _ := get(t, v, "/xcoms?offset=-1"); code != http.StatusBadRequest {
		t.Errorf("a negative offset: status %d", code)
	}
}

func TestBrowseXComsPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	run := e.trigger(t, "etl", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	e.setState(t, run, "extract", dags.TaskStateSuccess, 1)
	for i := range 55 {
		if err := e.store.XComSet(ctx, &store.XComSetParams{TaskInstanceKey: store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "extract", MapIndex: store.NoMapIndex},
			Key: fmt.Sprintf("k%02d", i), Value: i}); err != nil {
			t.Fatal(err)
		}
	}
	v := e.as(auth.RoleViewer)
	_, first := get(t, v, "/xcoms?dag_id=etl")
	if n := strings.Count(first, "data-xcom="); n != 50 {
		t.Errorf("first page: %d rows, want 50", n)
	}
	mustContain(t, first, `href="/xcoms?dag_id=etl&amp;offset=50"`)
	_, second := get(t, v, "/xcoms?dag_id=etl&offset=50")
	if n := strings.Count(second, "data-xcom="); n != 5 {
		t.Errorf("second page: %d rows, want 5", n)
	}
	mustContain(t, second, `href="/xcoms?dag_id=etl"`) // previous
}

func TestImportErrorsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	v := e.as(auth.RoleViewer)
	_, body := get(t, v, "/import-errors")
	mustContain(t, body, "No import errors")
	_, body = get(t, v, "/dags")
	mustNotContain(t, body, `href="/import-errors"`)
	if err := e.store.ImportErrorsReplace(ctx, &store.ImportErrorsReplaceParams{File: "broken.star",
		Errors: []store.ImportErrorEntry{{Pos: dags.Pos{Line: 3, Col: 7}, Message: "undefined: <tasks>"}}}); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, v, "/import-errors")
	if code != http.StatusOK {
		t.Fatalf("GET /import-errors: %d", code)
	}
	mustContain(t, body, `data-file="broken.star"`, "broken.star:3:7", "undefined: &lt;tasks&gt;")
	_, body = get(t, v, "/dags")
	mustContain(t, body, `href="/import-errors"`)
}
