package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestBrowseRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	d, err := e.store.DAGGet(context.Background(), "etl")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 55 {
		at := day.Add(time.Duration(i) * 24 * time.Hour)
		if _, err := e.store.RunCreate(context.Background(), &store.RunCreateParams{DagID: "etl", RunID: fmt.Sprintf("manual_%02d", i), RunType: dags.RunTypeManual,
			State: dags.DagRunStateQueued, LogicalDate: at, DataIntervalStart: at, DataIntervalEnd: at, SourceHash: d.SourceHash, QueuedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	other := e.trigger(t, "example_bash_operator", day)
	v := e.as(auth.RoleViewer)
	_, body := get(t, v, "/runs")
	if n := strings.Count(body, "<tr data-run="); n != 50 {
		t.Errorf("first page: %d runs, want 50", n)
	}
	mustContain(t, body, "Older →", `href="/runs?offset=50"`)
	mustNotContain(t, body, "← Newer")
	_, body = get(t, v, "/runs?offset=50")
	if n := strings.Count(body, "<tr data-run="); n != 6 {
		t.Errorf("second page: %d runs, want 6", n)
	}
	mustContain(t, body, "← Newer")
	_, body = get(t, v, "/runs?dag_id=example_bash_operator")
	mustContain(t, body, other.RunID)
	if n := strings.Count(body, "<tr data-run="); n != 1 {
		t.Errorf("filtered by DAG: %d runs, want 1", n)
	}
	_, body = get(t, v, "/runs?dag_id=etl&from=2024-03-02&to=2024-03-03")
	if n := strings.Count(body, "<tr data-run="); n != 2 {
		t.Errorf("two days: %d runs, want 2", n)
	}
	_, body = get(t, v, "/runs?state=success")
	mustContain(t, body, "No DAG runs.")
	if code, _ := get(t, v, "/runs?from=yesterday"); code != http.StatusBadRequest {
		t.Errorf("from=yesterday: status %d", code)
	}
}

func TestBrowseTaskInstancesAndBulkActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, examplesDir(t))
	ctx := context.Background()
	r1 := e.trigger(t, "etl", day)
	r2 := e.trigger(t, "etl", day.Add(24*time.Hour))
	e.setState(t, r1, "extract", dags.TaskStateFailed, 1)
	e.setState(t, r2, "extract", dags.TaskStateFailed, 1)
	v := e.as(auth.RoleViewer)
	_, body := get(t, v, "/taskinstances?dag_id=etl&state=failed")
	if n := strings.Count(body, `<tr data-ti="extract"`); n != 2 {
		t.Errorf("failed extracts: %d rows, want 2", n)
	}
	mustNotContain(t, body, "Clear selected", `name="ti"`)
	// Date filters (Airflow's logical_date_gte/lte, start_date_gte/lte),
	// by day, both ends inclusive, alongside the state and DAG filters.
	d1, d2 := day.Format(time.DateOnly), day.Add(24*time.Hour).Format(time.DateOnly)
	for q, want := range map[string][]string{
		"logical_date_gte=" + d2:                             {r2.RunID},
		"logical_date_lte=" + d1:                             {r1.RunID},
		"logical_date_gte=" + d1 + "&logical_date_lte=" + d2: {r1.RunID, r2.RunID},
		"start_date_gte=2999-01-01":                          nil,
	} {
		_, body := get(t, v, "/taskinstances?dag_id=etl&state=failed&"+q)
		if n := strings.Count(body, `<tr data-ti="extract"`); n != len(want) {
			t.Errorf("%s: %d rows, want %d", q, n, len(want))
		}
		for _, id := range want {
			mustContain(t, body, "<code>"+id+"</code>")
		}
	}
	if code, _ := get(t, v, "/taskinstances?logical_date_gte=yesterday"); code != http.StatusBadRequest {
		t.Errorf("logical_date_gte=yesterday: status %d, want 400", code)
	}
	op := e.as(auth.RoleOp)
	_, body = get(t, op, "/taskinstances?dag_id=etl&state=failed")
	mustContain(t, body, "Clear selected", "Mark success", fmt.Sprintf(`value="etl|%s|extract|-1"`, r1.RunID))

	form := url.Values{"action": {"success"}, "ti": {"etl|" + r1.RunID + "|extract|-1"}, "return": {"/taskinstances?dag_id=etl"}}
	if rec := post(t, v, "/taskinstances/_bulk", form); rec.Code != http.StatusForbidden {
		t.Fatalf("viewer bulk mark: status %d", rec.Code)
	}
	rec := post(t, op, "/taskinstances/_bulk", form)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/taskinstances?dag_id=etl" {
		t.Fatalf("bulk mark: status %d location %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	key := func(run *store.DagRun) store.TaskInstanceKey {
		return store.TaskInstanceKey{DagID: "etl", RunID: run.RunID, TaskID: "extract", MapIndex: store.NoMapIndex}
	}
	if ti, _ := e.store.TaskInstanceGet(ctx, key(r1)); ti.State != dags.TaskStateSuccess {
		t.Errorf("marked extract is %s", ti.State)
	}
	if ti, _ := e.store.TaskInstanceGet(ctx, key(r2)); ti.State != dags.TaskStateFailed {
		t.Errorf("unselected extract is %s", ti.State)
	}
	form = url.Values{"action": {"clear"}, "ti": {"etl|" + r1.RunID + "|extract|-1", "etl|" + r2.RunID + "|extract|-1"}}
	if rec := post(t, op, "/taskinstances/_bulk", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("bulk clear: %d %s", rec.Code, rec.Body)
	}
	for _, run := range []*store.DagRun{r1, r2} {
		if ti, _ := e.store.TaskInstanceGet(ctx, key(run)); ti.State.Finished() {
			t.Errorf("cleared extract of %s is %s", run.RunID, ti.State)
		}
	}
	evs := strings.Join(auditEvents(t, e.store), "|")
	for _, w := range []string{"mark_success op-user etl " + r1.RunID + " extract bulk", "clear op-user etl " + r2.RunID + " extract bulk", "clear op-user etl " + r1.RunID + " extract bulk"} {
		if !strings.Contains(evs, w) {
			t.Errorf("audit lacks %q: %s", w, evs)
		}
	}
	if rec := post(t, op, "/taskinstances/_bulk", url.Values{"action": {"clear"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("no selection: status %d", rec.Code)
	}
}
