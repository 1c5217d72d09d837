package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/store"
)

// TestJobsCheck: `jobs check` (the scheduler's and workers' container
// health check) succeeds only when a job of the type (and host) heartbeated
// within --stale, as `airflow jobs check`.
func TestJobsCheck(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "j.db")
	t.Setenv(envSecretKeyFile, filepath.Join(t.TempDir(), "key"))
	ctx := context.Background()
	s, err := openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{ID: "h1:1", Hostname: "h1", StartedAt: now, At: now.Add(-2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{ID: "h2:1", Hostname: "h2", StartedAt: now, At: now.Add(-2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{Consumer: "h3:1", Hostname: "h3", StartedAt: now, At: now.Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--job-type", "scheduler", "--hostname", "h1"}, 0, "Found one alive job."},
		{[]string{"--job-type", "SchedulerJob", "--allow-multiple"}, 0, "Found 2 alive jobs."},
		{[]string{"--job-type", "scheduler"}, exitFailed, "Found 2 alive jobs. Expected only 1."},
		{[]string{"--job-type", "scheduler", "--hostname", "h3"}, exitFailed, "No alive jobs found."},
		{[]string{"--job-type", "worker"}, exitFailed, "No alive jobs found."}, // silent for 10 minutes
		{[]string{"--job-type", "worker", "--stale", "1h"}, 0, "Found one alive job."},
		{[]string{"--job-type", "triggerer"}, exitUsage, `--job-type "triggerer": want scheduler or worker`},
	}
	for _, c := range cases {
		out, errOut, code := runCommand(t, jobsCommand(), append([]string{"jobs", "check", "--database-url", url}, c.args...)...)
		if code != c.code || !strings.Contains(out+errOut, c.out) {
			t.Errorf("jobs check %v: exit %d %q%q; want %d and %q", c.args, code, out, errOut, c.code, c.out)
		}
	}
}

// TestHealthCommand: `starflow health URL` (the webserver's container
// health check) exits 0 on 200 and 1 otherwise.
func TestHealthCommand(t *testing.T) {
	code := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		w.Write([]byte(`{"status":"x"}`))
	}))
	defer srv.Close()
	if out, errOut, got := runCommand(t, healthCommand(), "health", srv.URL+"/ready"); got != 0 || !strings.Contains(out, `"status":"x"`) {
		t.Errorf("health on 200: exit %d %q %q", got, out, errOut)
	}
	code = http.StatusServiceUnavailable
	if _, errOut, got := runCommand(t, healthCommand(), "health", srv.URL+"/ready"); got != exitFailed || !strings.Contains(errOut, "503") {
		t.Errorf("health on 503: exit %d %q; want 1", got, errOut)
	}
}
