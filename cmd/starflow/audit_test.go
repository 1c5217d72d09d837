package main

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TestCLIAudit checks that the mutating commands leave audit entries with
// source cli and the right owner: STARFLOW_USER, else the operating
// system user.
func TestCLIAudit(t *testing.T) {
	t.Setenv("STARFLOW_USER", "")
	osUser, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	db := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	u := []string{"--database-url", db}
	cliRun := func(wantCode int, pre []string, args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		full := append(append(append([]string{"starflow"}, pre...), args...), u...)
		if code := run(full, &out, &errOut); code != wantCode {
			t.Errorf("%s: exit %d, want %d: %s%s", strings.Join(full, " "), code, wantCode, out.String(), errOut.String())
		}
	}
	run := func(pre []string, args ...string) { t.Helper(); cliRun(exitOK, pre, args...) }
	run(nil, "variables", "set", "--secret", "token", "s3cr3t")
	t.Setenv("STARFLOW_USER", "alice")
	run(nil, "pools", "set", "db", "3")
	run(nil, "pools", "delete", "db")
	t.Setenv("STARFLOW_USER", "")
	run(nil, "connections", "add", "web", "--conn-uri", "http://example.com")
	run(nil, "connections", "delete", "web")
	run(nil, "users", "create", "carol", "--role", "op", "--password", "carol-password-1")
	run(nil, "users", "set-role", "carol", "--role", "viewer")
	run(nil, "users", "delete", "carol")
	t.Setenv("STARFLOW_USER", "bob")
	run(nil, "variables", "delete", "token")
	// A failed command records nothing.
	cliRun(exitFailed, nil, "variables", "delete", "nope")

	s, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es, err := s.AuditList(context.Background(), &store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if e.Source != "cli" {
			t.Errorf("entry %s has source %q, want cli", e.Event, e.Source)
		}
		got = append(got, strings.Join([]string{e.Event, e.Owner, e.Extra}, " "))
	}
	me := osUser.Username
	want := []string{
		"variable.edit " + me + " key=token (secret)",
		"pool.edit alice pool=db slots=3",
		"pool.delete alice pool=db",
		"connection.edit " + me + " conn_id=web type=http",
		"connection.delete " + me + " conn_id=web",
		"user.create " + me + " username=carol role=op",
		"user.edit " + me + " username=carol role=viewer",
		"user.delete " + me + " username=carol",
		"variable.delete bob key=token",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCLIAuditUserAndDAG checks that the commands that act on a DAG (dags
// trigger, pause, unpause, tasks mark-failed, clear, dags delete) and db
// clean each leave one audit entry with source cli, the DAG, and the
// owner --user names, else STARFLOW_USER.
func TestCLIAuditUserAndDAG(t *testing.T) {
	dir := t.TempDir()
	dagsDir := filepath.Join(dir, "dags")
	if err := os.MkdirAll(dagsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := "def build():\n    empty(task_id = \"only\")\n\ndag(dag_id = \"small\", build = build, schedule = \"@daily\", start_date = \"2024-01-01\")\n"
	if err := os.WriteFile(filepath.Join(dagsDir, "small.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "sqlite://" + filepath.Join(dir, "starflow.db")
	run := func(args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		full := append(append([]string{"starflow"}, args...), "--database-url", db)
		if code := run(full, &out, &errOut); code != exitOK {
			t.Fatalf("%s: exit %d: %s%s", strings.Join(full, " "), code, out.String(), errOut.String())
		}
	}
	t.Setenv("STARFLOW_USER", "erin")
	run("dags", "reserialize", "--dags", dagsDir)
	run("dags", "pause", "small", "--user", "dave")
	run("dags", "unpause", "small")
	run("dags", "trigger", "small", "--run-id", "r1", "--user", "dave")
	run("dags", "backfill", "small", "-s", "2024-01-01", "-e", "2024-01-01", "--dags", dagsDir)
	bf := "backfill__2024-01-01T00:00:00+00:00"
	run("tasks", "mark-failed", "small", bf, "only", "--user", "dave")
	run("tasks", "clear", "small", "--yes", "--user", "frank")
	run("db", "clean", "--older-than", "2999-01-01", "--yes", "--user", "dave")
	run("dags", "delete", "small", "--yes", "--user", "dave")

	s, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es, err := s.AuditList(context.Background(), &store.AuditListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if e.Source != "cli" {
			t.Errorf("entry %s has source %q, want cli", e.Event, e.Source)
		}
		got = append(got, strings.Join([]string{e.Event, e.Owner, e.DagID, e.RunID, e.TaskID}, " "))
	}
	want := []string{
		"pause dave small  ",
		"unpause erin small  ",
		"trigger dave small r1 ",
		"mark_failed dave small " + bf + " only",
		"clear frank small  ",
		"db.clean dave   ",
		"dag.delete dave small  ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
