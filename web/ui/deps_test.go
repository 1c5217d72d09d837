package ui_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/web/auth"
)

// TestDAGDependencies: the dependencies page lists a dataset's producer
// and consumer, a trigger_dag target and the DAG an external task sensor
// waits on, and leaves out a templated trigger target.
func TestDAGDependencies(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ingest.star": `
raw = dataset("s3://lake/raw")
def build():
    bash(task_id = "load", bash_command = "true", outlets = [raw])
dag(dag_id = "ingest", schedule = None, build = build)
`,
		"report.star": `
def build():
    wait = external_task_sensor(task_id = "wait_load", external_dag_id = "ingest", external_task_id = "load")
    go = trigger_dag(task_id = "kick", trigger_dag_id = "publish")
    later = trigger_dag(task_id = "kick_param", trigger_dag_id = "{{ params.target }}")
    wait >> go >> later
dag(dag_id = "report", schedule = [dataset("s3://lake/raw")], build = build)
`,
		"publish.star": `
def build():
    bash(task_id = "post", bash_command = "true")
dag(dag_id = "publish", schedule = None, build = build)
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, dir)
	code, body := get(t, e.as(auth.RoleViewer), "/dag-dependencies")
	if code != 200 {
		t.Fatalf("GET /dag-dependencies: %d\n%s", code, body)
	}
	for _, want := range []string{
		`<tr data-from="dag:ingest" data-to="dataset:s3://lake/raw"><td>ingest</td><td>s3://lake/raw</td><td>dataset</td><td><code>load</code></td></tr>`,
		`<tr data-from="dataset:s3://lake/raw" data-to="dag:report"><td>s3://lake/raw</td><td>report</td><td>dataset</td><td></td></tr>`,
		`<tr data-from="dag:ingest" data-to="dag:report"><td>ingest</td><td>report</td><td>sensor</td><td><code>wait_load</code></td></tr>`,
		`<tr data-from="dag:report" data-to="dag:publish"><td>report</td><td>publish</td><td>trigger</td><td><code>kick</code></td></tr>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks the row\n%s\npage:\n%s", want, body)
		}
	}
	if n := strings.Count(body, "<tr data-from="); n != 4 {
		t.Errorf("the page lists %d links, want 4 (the templated trigger target is left out)", n)
	}

	// The graph is kept until a DAG's version changes: a new link in
	// publish.star shows once the file is parsed again.
	src := strings.Replace(files["publish.star"], `bash(task_id = "post", bash_command = "true")`,
		`bash(task_id = "post", bash_command = "true") >> trigger_dag(task_id = "again", trigger_dag_id = "ingest")`, 1)
	if err := os.WriteFile(filepath.Join(dir, "publish.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.proc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, e.as(auth.RoleViewer), "/dag-dependencies")
	if want := `<tr data-from="dag:publish" data-to="dag:ingest"><td>publish</td><td>ingest</td><td>trigger</td><td><code>again</code></td></tr>`; !strings.Contains(body, want) {
		t.Errorf("after publish.star changed, the page lacks the row\n%s\npage:\n%s", want, body)
	}
	if n := strings.Count(body, "<tr data-from="); n != 5 {
		t.Errorf("the page lists %d links, want 5", n)
	}
}
