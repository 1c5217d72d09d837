package ui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/web/auth"
)

// TestDAGListPages pages the DAG list 100 DAGs at a time (?page= from 0,
// as Airflow's), each page linking its neighbours with the filters kept.
func TestDAGListPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 230 {
		tag := "odd"
		if i%2 == 0 {
			tag = "even"
		}
		src := fmt.Sprintf("dag(dag_id = \"d%03d\", build = lambda: empty(task_id = \"t\"), tags = [%q])\n", i, tag)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%03d.star", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h := newEnv(t, dir).as(auth.RoleViewer)

	code, body := get(t, h, "/dags")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	mustContain(t, body, `data-dag="d000"`, `data-dag="d099"`, "1–100 of 230 DAGs", "Page 1 of 3", `href="/dags?page=1"`)
	mustNotContain(t, body, `data-dag="d100"`, `rel="prev"`)

	_, body = get(t, h, "/dags?page=2")
	mustContain(t, body, `data-dag="d200"`, `data-dag="d229"`, "201–230 of 230 DAGs", `href="/dags?page=1"`)
	mustNotContain(t, body, `data-dag="d199"`, `rel="next"`)

	// Filters stay in the page links; the count says how many match.
	_, body = get(t, h, "/dags?tag=even&page=1")
	mustContain(t, body, `data-dag="d200"`, "101–115 of 115 matching (of 230) DAGs", `href="/dags?tag=even"`)
	mustNotContain(t, body, `data-dag="d201"`, `data-dag="d198"`)
	_, body = get(t, h, "/dags?q=d1&tag=odd")
	mustContain(t, body, `data-dag="d101"`, `data-dag="d199"`, "1–50 of 50 matching")
	mustNotContain(t, body, `rel="next"`, `data-dag="d100"`)

	// The fragment the list polls serves the same page.
	_, body = get(t, h, "/dags/_table?page=1")
	mustContain(t, body, `data-dag="d150"`, `href="/dags?page=2"`)
	mustNotContain(t, body, `data-dag="d099"`)

	// A page past the end shows the last; a bad page is a 400.
	_, body = get(t, h, "/dags?page=9")
	mustContain(t, body, `data-dag="d229"`, "Page 3 of 3")
	if code, body := get(t, h, "/dags?page=-1"); code != 400 || !strings.Contains(body, "page must be") {
		t.Errorf("page=-1: status %d", code)
	}
}
