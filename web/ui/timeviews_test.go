package ui_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/web/auth"
)

// TestDurationsFigures: the duration charts' JSON holds each task's
// duration per run, oldest run first, null where the task has not ended;
// the calendar counts the runs of their days.
func TestDurationsFigures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "def build():\n    empty(task_id = \"a\") >> empty(task_id = \"b\")\ndag(dag_id = \"w\", build = build)\n"
	if err := os.WriteFile(filepath.Join(dir, "w.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, dir)
	now := time.Now().UTC().Truncate(time.Hour)
	r1 := e.trigger(t, "w", now.Add(-2*time.Hour))
	r2 := e.trigger(t, "w", now.Add(-time.Hour))
	e.setState(t, r1, "a", dags.TaskStateSuccess, 1)
	e.setState(t, r1, "b", dags.TaskStateFailed, 1)
	e.setState(t, r2, "a", dags.TaskStateSuccess, 1)
	e.setState(t, r2, "b", dags.TaskStateRunning, 1)

	code, body := get(t, e.as(auth.RoleViewer), "/dags/w/durations")
	if code != 200 {
		t.Fatalf("status %d\n%s", code, body)
	}
	const open = `<script type="application/json" id="durations-data">`
	i := strings.Index(body, open)
	if i < 0 {
		t.Fatalf("no chart data in\n%s", body)
	}
	raw := body[i+len(open):]
	raw = raw[:strings.Index(raw, "</script>")]
	var chart struct {
		Runs struct {
			RunID    []string   `json:"run_id"`
			Duration []*float64 `json:"duration"`
		} `json:"runs"`
		Tasks []struct {
			TaskID    string     `json:"task_id"`
			Durations []*float64 `json:"durations"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(raw), &chart); err != nil {
		t.Fatalf("chart JSON: %v\n%s", err, raw)
	}
	if len(chart.Runs.RunID) != 2 || chart.Runs.RunID[0] != r1.RunID || chart.Runs.RunID[1] != r2.RunID || len(chart.Runs.Duration) != 2 {
		t.Errorf("runs %+v, want %s then %s, a duration each", chart.Runs, r1.RunID, r2.RunID)
	}
	if len(chart.Tasks) != 2 || chart.Tasks[0].TaskID != "a" || chart.Tasks[1].TaskID != "b" {
		t.Fatalf("tasks %+v, want a and b", chart.Tasks)
	}
	a, b := chart.Tasks[0].Durations, chart.Tasks[1].Durations
	if len(a) != 2 || a[0] == nil || *a[0] != 3 || a[1] == nil || *a[1] != 3 {
		t.Errorf("a's durations %v, want 3 s in both runs", a)
	}
	if len(b) != 2 || b[0] == nil || *b[0] != 3 || b[1] != nil {
		t.Errorf("b's durations %v, want 3 s then null (still running)", b)
	}

	_, body = get(t, e.as(auth.RoleViewer), "/dags/w/calendar")
	mustContain(t, body, "2 runs in the past year")
}
