package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestActionsLeaveAuditEntries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do(t, auth.RoleOp, "POST", "/api/v1/variables", map[string]any{"key": "bucket", "value": "s3://x"}); r.code != http.StatusCreated {
		t.Fatalf("create variable: %d %s", r.code, r.body)
	}
	if r := e.do(t, auth.RoleOp, "PATCH", "/api/v1/dags/pipeline", map[string]any{"is_paused": true}); r.code != http.StatusOK {
		t.Fatalf("pause: %d %s", r.code, r.body)
	}
	r := e.do(t, auth.RoleAdmin, "POST", "/api/v1/dags/pipeline/dagRuns", map[string]any{"dag_run_id": "manual_1"})
	if r.code != http.StatusOK {
		t.Fatalf("trigger: %d %s", r.code, r.body)
	}
	if r := e.do(t, auth.RoleOp, "POST", "/api/v1/pools", map[string]any{"name": "etl_db", "slots": 2}); r.code/100 != 2 {
		t.Fatalf("create pool: %d %s", r.code, r.body)
	}
	if r := e.do(t, auth.RoleViewer, "DELETE", "/api/v1/variables/bucket", nil); r.code != http.StatusForbidden {
		t.Fatalf("viewer delete: %d", r.code)
	}
	es, err := e.store.AuditList(context.Background(), &store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range es {
		got = append(got, strings.Join([]string{a.Event, a.Owner, a.Source, a.DagID, a.RunID, a.Extra}, " "))
	}
	want := []string{"pool.edit op-user api   pool=etl_db slots=2", "trigger admin-user api pipeline manual_1 ", "pause op-user api pipeline  ", "variable.edit op-user api   key=bucket"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit log:\n got %q\nwant %q", got, want)
	}
}
