package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/migrations"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// storeCLI runs the metadata-store commands as the binary would and
// returns stdout, stderr and the exit code. urfave/cli keeps its help flag
// and help command in package variables that every run writes, so these
// in-process tests run one at a time (no t.Parallel).
func storeCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &cli.App{
		Name:           "starflow",
		Writer:         &stdout,
		ErrWriter:      &stderr,
		ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{
			dbCommand(), variablesCommand(), connectionsCommand(),
			{Name: "dags", Subcommands: []*cli.Command{dagsListRunsCommand()}},
			{Name: "tasks", Subcommands: []*cli.Command{tasksStatesForDagRunCommand()}},
		},
	}
	err := app.Run(interspersed(app, append([]string{"starflow"}, args...)))
	code := 0
	if err != nil {
		stderr.WriteString(err.Error() + "\n")
		code = exitUsage
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
	}
	return stdout.String(), stderr.String(), code
}

func expect(t *testing.T, wantCode int, wantOut string, args ...string) string {
	t.Helper()
	out, errOut, code := storeCLI(t, args...)
	if code != wantCode || !strings.Contains(out+errOut, wantOut) {
		t.Errorf("starflow %s: exit %d, output:\n%s%s\nwant exit %d and %q", strings.Join(args, " "), code, out, errOut, wantCode, wantOut)
	}
	return out
}

func TestDBMigrateAndCheck(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	expect(t, exitFailed, "run `starflow db migrate`", "db", "check", "--database-url", db)
	versions, err := migrations.Versions(migrations.SQLite)
	if err != nil || len(versions) == 0 {
		t.Fatalf("migrations: %v, %v", versions, err)
	}
	latest := versions[len(versions)-1]
	expect(t, exitOK, fmt.Sprintf("schema migrated from version 0 to %d", latest), "db", "migrate", "--database-url", db)
	expect(t, exitOK, fmt.Sprintf("schema already at version %d", latest), "db", "migrate", "--database-url", db)
	expect(t, exitOK, fmt.Sprintf("ok, schema version %d", latest), "db", "check", "--database-url", db)

	expect(t, exitUsage, "unknown scheme", "db", "check", "--database-url", "mysql://u:p@h/db")
	_, errOut, code := storeCLI(t, "db", "check", "--database-url", "postgres://starflow:hunter2@127.0.0.1:1/db?connect_timeout=2")
	if code != exitFailed || !strings.Contains(errOut, "127.0.0.1:1") || strings.Contains(errOut, "hunter2") {
		t.Errorf("db check of a server that is down: exit %d, %q; want 1, naming the URL without its password", code, errOut)
	}
}

func TestVariablesCommands(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			db := "sqlite://" + filepath.Join(dir, "starflow.db")
			if kind == "postgres" {
				db = testdb.PostgresURL(t)
				// Without a database file the key file would land in the
				// working directory, the source tree.
				t.Setenv(envSecretKeyFile, filepath.Join(dir, "starflow.key"))
			}
			u := []string{"--database-url", db}
			expect(t, exitOK, "", append([]string{"variables", "set", "env", "prod", "--description", "stage"}, u...)...)
			expect(t, exitOK, "", append([]string{"variables", "set", "--secret", "token", "tok-VERYSECRET"}, u...)...)
			expect(t, exitOK, "prod\n", append([]string{"variables", "get", "env"}, u...)...)
			expect(t, exitOK, "tok-VERYSECRET\n", append([]string{"variables", "get", "token"}, u...)...)
			expect(t, exitFailed, `variable "nope": not found`, append([]string{"variables", "get", "nope"}, u...)...)
			expect(t, exitOK, "fallback", append([]string{"variables", "get", "nope", "--default", "fallback"}, u...)...)
			out := expect(t, exitOK, "KEY", append([]string{"variables", "list"}, u...)...)
			if strings.Contains(out, "VERYSECRET") || !strings.Contains(out, "***") || !strings.Contains(out, "stage") {
				t.Errorf("variables list shows:\n%s", out)
			}
			out = expect(t, exitOK, "", append([]string{"variables", "list", "-o", "json"}, u...)...)
			var vars []store.Variable
			if err := json.Unmarshal([]byte(out), &vars); err != nil || len(vars) != 2 || vars[1].Value != "***" || !vars[1].Secret {
				t.Errorf("variables list -o json = %s (%v)", out, err)
			}
			expect(t, exitOK, "", append([]string{"variables", "delete", "env"}, u...)...)
			expect(t, exitFailed, "not found", append([]string{"variables", "delete", "env"}, u...)...)
			expect(t, exitUsage, "takes a key and a value", append([]string{"variables", "set", "lonely"}, u...)...)
			expect(t, exitUsage, "want table, json or yaml", append([]string{"variables", "list", "-o", "xml"}, u...)...)
			if kind == "sqlite" && os.Getenv("STARFLOW_SECRET_KEY") == "" && os.Getenv(envSecretKeyFile) == "" {
				info, err := os.Stat(filepath.Join(dir, "starflow.key"))
				if err != nil || info.Mode().Perm() != 0o600 {
					t.Errorf("key file beside the database: %v, %v", info, err)
				}
			}
		})
	}
}

func TestConnectionsCommands(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	u := []string{"--database-url", db}
	out := expect(t, exitOK, "added connection warehouse: postgres://etl:xxxxx@db.internal:5432/analytics?sslmode=require",
		append([]string{"connections", "add", "warehouse", "--conn-uri", "postgres://etl:Pa55-SECRET@db.internal:5432/analytics?sslmode=require"}, u...)...)
	if strings.Contains(out, "SECRET") {
		t.Errorf("add printed the password: %s", out)
	}
	expect(t, exitOK, "added connection api", append([]string{"connections", "add", "api", "--conn-type", "http", "--conn-host", "example.com",
		"--conn-port", "443", "--conn-extra", `{"verify": true}`, "--conn-password", "tokSECRET"}, u...)...)
	expect(t, exitFailed, "already exists", append([]string{"connections", "add", "api", "--conn-type", "http"}, u...)...)
	expect(t, exitUsage, "needs --conn-uri or --conn-type", append([]string{"connections", "add", "x"}, u...)...)
	expect(t, exitUsage, "needs a type:// scheme", append([]string{"connections", "add", "x", "--conn-uri", "nothing"}, u...)...)
	expect(t, exitUsage, "--conn-extra", append([]string{"connections", "add", "x", "--conn-type", "http", "--conn-extra", "[1]"}, u...)...)

	out = expect(t, exitOK, "CONN_ID", append([]string{"connections", "list"}, u...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "api ") || !strings.Contains(lines[2], "db.internal") || strings.Contains(out, "SECRET") {
		t.Errorf("connections list:\n%s", out)
	}
	out = expect(t, exitOK, `"has_password": true`, append([]string{"connections", "get", "warehouse", "-o", "json"}, u...)...)
	var view connectionView
	if err := json.Unmarshal([]byte(out), &view); err != nil || view.Port != 5432 || view.Extra["sslmode"] != "require" || strings.Contains(out, "SECRET") {
		t.Errorf("connections get -o json = %s (%v)", out, err)
	}
	expect(t, exitOK, "", append([]string{"connections", "delete", "warehouse"}, u...)...)
	expect(t, exitFailed, `connection "warehouse": not found`, append([]string{"connections", "get", "warehouse"}, u...)...)
}

func TestRunAndTaskStateCommands(t *testing.T) {
	ctx := context.Background()
	db := "sqlite://" + filepath.Join(t.TempDir(), "starflow.db")
	s, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ld := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range []dags.DagRunState{dags.DagRunStateSuccess, dags.DagRunStateRunning} {
		id := "scheduled__" + ld.AddDate(0, 0, i).Format("2006-01-02")
		if _, err := s.RunCreate(ctx, &store.RunCreateParams{DagID: "etl", RunID: id, RunType: dags.RunTypeScheduled,
			State: st, LogicalDate: ld.AddDate(0, 0, i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TaskInstancesCreate(ctx, &store.TaskInstancesCreateParams{DagID: "etl", RunID: "scheduled__2024-01-02",
		Tasks: []store.TaskInstanceCreate{{TaskID: "extract", MapIndex: -1}, {TaskID: "load", MapIndex: -1}}}); err != nil {
		t.Fatal(err)
	}
	k := store.TaskInstanceKey{DagID: "etl", RunID: "scheduled__2024-01-02", TaskID: "extract", MapIndex: -1}
	if _, err := s.TaskInstanceSetState(ctx, &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateSuccess, TryNumber: 1,
		StartDate: ld, EndDate: ld.Add(90 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	u := []string{"--database-url", db}

	out := expect(t, exitOK, "RUN_ID", append([]string{"dags", "list-runs", "etl"}, u...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "scheduled__2024-01-02") || !strings.Contains(lines[1], "running") ||
		!strings.Contains(lines[2], "success") || !strings.Contains(lines[1], "2024-01-02T00:00:00Z") {
		t.Errorf("dags list-runs:\n%s", out)
	}
	out = expect(t, exitOK, "", append([]string{"dags", "list-runs", "etl", "--state", "success", "-o", "json"}, u...)...)
	var runs []store.DagRun
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 1 || runs[0].State != dags.DagRunStateSuccess {
		t.Errorf("list-runs --state success -o json = %s (%v)", out, err)
	}
	expect(t, exitFailed, `no DAG "nope" in the metadata database`, append([]string{"dags", "list-runs", "nope", "-o", "json"}, u...)...) // an unknown DAG is an error, not an empty list
	expect(t, exitUsage, "--state \"paused\"", append([]string{"dags", "list-runs", "etl", "--state", "paused"}, u...)...)

	out = expect(t, exitOK, "TASK_ID", append([]string{"tasks", "states-for-dag-run", "etl", "scheduled__2024-01-02"}, u...)...)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "extract") || !strings.Contains(lines[1], "success") ||
		!strings.Contains(lines[1], "1m30s") || !strings.Contains(lines[2], "none") {
		t.Errorf("tasks states-for-dag-run:\n%s", out)
	}
	expect(t, exitFailed, "dag run etl/nope: not found", append([]string{"tasks", "states-for-dag-run", "etl", "nope"}, u...)...)
}

func TestDeploymentSecretsAreMaskedInTaskLogs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(envSecretKeyFile, filepath.Join(dir, "starflow.key"))
	t.Setenv(secrets.EnvKey, "")
	key, err := secrets.LoadOrCreateKeyFile(filepath.Join(dir, "starflow.key"))
	if err != nil {
		t.Fatal(err)
	}
	encoded := secrets.EncodeKey(key)
	m := secrets.NewMasker(deploymentSecrets("postgres://starflow:db%2Fpass-42@db:5432/starflow", "redis://:redis-pass-7@redis:6379/0")...)
	line := "dsn postgres://starflow:db/pass-42@db and db%2Fpass-42, redis redis-pass-7, key " + encoded
	got := m.Mask(line)
	for _, leak := range []string{"db/pass-42", "db%2Fpass-42", "redis-pass-7", encoded} {
		if strings.Contains(got, leak) {
			t.Errorf("masked line %q still shows %q", got, leak)
		}
	}

	t.Setenv(secrets.EnvKey, "ZW52LWtleS1mb3ItdGhlLXRlc3Q=")
	if got := secrets.NewMasker(deploymentSecrets("sqlite:///x.db", "")...).Mask("k=ZW52LWtleS1mb3ItdGhlLXRlc3Q="); got != "k=***" {
		t.Errorf("the key from %s is not masked: %q", secrets.EnvKey, got)
	}
}
