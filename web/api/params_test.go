package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/web/auth"
)

// paramsDAG declares params with Param(...); a trigger is checked against
// them.
const paramsDAG = `
dag(dag_id = "greet", build = lambda: empty(task_id = "a"), params = {
    "who": Param(type = "string", minLength = 2),
    "times": Param(1, type = "integer", minimum = 1, maximum = 10),
})
`

func TestTriggerValidatesParams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("testdata", "dags", "*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata DAGs: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "greet.star"), []byte(paramsDAG), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnvDir(t, testdb.SQLite(t), dir)
	const path = "/api/v1/dags/greet/dagRuns"
	expectError(t, e.do(t, auth.RoleOp, "POST", path, map[string]any{"conf": map[string]any{"who": "Ada", "times": 11}}),
		http.StatusBadRequest, "Invalid input for param times: 11 is greater than the maximum of 10")
	expectError(t, e.do(t, auth.RoleOp, "POST", path, map[string]any{}),
		http.StatusBadRequest, "Invalid input for param who: No value passed and Param has no default value")
	expectError(t, e.do(t, auth.RoleOp, "POST", path, `{"conf": {"who": "Ada", "times": 2.5}}`),
		http.StatusBadRequest, "Invalid input for param times: 2.5 is not of type 'integer'")
	r := e.do(t, auth.RoleOp, "POST", path, map[string]any{"dag_run_id": "ok", "conf": map[string]any{"who": "Ada"}})
	if r.code != http.StatusOK {
		t.Fatalf("a valid conf: %d %s", r.code, r.body)
	}
	if run, err := e.store.RunGet(t.Context(), "greet", "ok"); err != nil || run.Conf["who"] != "Ada" {
		t.Errorf("the valid run = %+v, %v", run, err)
	}
	if _, err := e.store.RunGet(t.Context(), "greet", "manual__2024-03-01T12:00:00+00:00"); err == nil {
		t.Errorf("a refused trigger left a run behind")
	}
}
