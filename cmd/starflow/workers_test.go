package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

func TestWorkersList(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "w.db")
	t.Setenv(envSecretKeyFile, filepath.Join(t.TempDir(), "key"))
	ctx := context.Background()
	s, err := openStore(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, w := range []*store.WorkerHeartbeatParams{
		{Consumer: "h1:10", Hostname: "h1", Queues: []string{"default", "gpu"}, Running: 3, Slots: 16, StartedAt: now.Add(-time.Hour), At: now.Add(-2 * time.Second)},
		{Consumer: "h2:20", Hostname: "h2", Queues: []string{"default"}, Running: 1, Slots: 8, StartedAt: now.Add(-time.Hour), At: now.Add(-10 * time.Minute)},
	} {
		if err := s.WorkerHeartbeat(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	out, errOut, code := runCommand(t, workersCommand(), "workers", "list", "--database-url", url)
	if code != 0 {
		t.Fatalf("workers list: exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("workers list printed %d lines, want a header and 2 workers:\n%s", len(lines), out)
	}
	for _, want := range []struct {
		line   int
		fields []string
	}{
		{1, []string{"h1:10", "h1", "default,gpu", "3/16", "up"}},
		{2, []string{"h2:20", "h2", "default", "1/8", "10m0s", "silent"}},
	} {
		for _, f := range want.fields {
			if !strings.Contains(" "+lines[want.line]+" ", " "+f+" ") {
				t.Errorf("line %q lacks %q", lines[want.line], f)
			}
		}
	}

	out, errOut, code = runCommand(t, workersCommand(), "workers", "list", "--database-url", url, "-o", "json", "--stale", "1h")
	if code != 0 {
		t.Fatalf("workers list -o json: exit %d\n%s%s", code, out, errOut)
	}
	var got []struct {
		Consumer      string    `json:"consumer"`
		Queues        []string  `json:"queues"`
		Running       int       `json:"running"`
		LastHeartbeat time.Time `json:"last_heartbeat"`
		Status        string    `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(got) != 2 || got[0].Consumer != "h1:10" || got[0].Running != 3 || len(got[0].Queues) != 2 ||
		got[1].Status != "up" || got[1].LastHeartbeat.IsZero() {
		t.Errorf("json = %+v; want both workers, up within --stale 1h", got)
	}

	if _, _, code := runCommand(t, workersCommand(), "workers", "list", "--database-url", url, "--stale", "0s"); code != exitUsage {
		t.Errorf("--stale 0s: exit %d, want %d", code, exitUsage)
	}
}

// runCommand runs one top-level command as the binary would and returns
// stdout, stderr and the exit code. Like storeCLI it must not run in
// parallel with other in-process CLI tests.
func runCommand(t *testing.T, cmd *cli.Command, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// No help flag: urfave/cli's is one global value that every app run
	// writes to, a data race between tests that run commands in parallel.
	hideHelp(cmd)
	app := &cli.App{Name: "starflow", Writer: &stdout, ErrWriter: &stderr, ExitErrHandler: func(*cli.Context, error) {},
		Commands: []*cli.Command{cmd}, HideHelp: true}
	err := app.Run(interspersed(app, append([]string{"starflow"}, args...)))
	code := exitOK
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

// hideHelp hides the help flag and command of cmd and its subcommands.
func hideHelp(cmd *cli.Command) {
	cmd.HideHelp = true
	for _, sub := range cmd.Subcommands {
		hideHelp(sub)
	}
}
