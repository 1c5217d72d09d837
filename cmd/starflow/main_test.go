package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

func TestMain(m *testing.M) {
	// A test that runs the CLI in-process starts parse processes: this
	// binary with the hidden argument, under its own name.
	if len(os.Args) > 1 && os.Args[1] == parseChildCommand {
		os.Exit(run(os.Args, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"starflow": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI end to end: each testdata/script/*.txtar is a
// shell-like script with the files it needs, checking stdout, stderr (with
// file:line:col positions) and exit codes.
func TestScripts(t *testing.T) {
	t.Parallel()
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			env.Setenv("NO_COLOR", "1")
			env.Setenv("STARFLOW_WEBSERVER_PORT", "0") // any free port: scripts run in parallel
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor":    cmdWaitfor,
			"httpserver": cmdHTTPServer,
			"hookserver": cmdHookServer,
			"pgurl":      func(ts *testscript.TestScript, neg bool, args []string) { cmdPGURL(t, ts, neg, args) },
		},
		RequireExplicitExec: false,
	})
}

// waitforInterval is how often waitfor runs its command again.
const waitforInterval = 100 * time.Millisecond

// cmdWaitfor is the script command
//
//	waitfor TIMEOUT REGEXP COMMAND [ARGS...]
//
// It runs COMMAND (such as `starflow dags list-runs …`) every 100 ms until
// its stdout matches REGEXP (multi-line: ^ and $ match at line ends), its
// exit code ignored, and fails with the last output after TIMEOUT. Like
// exec, it leaves the last stdout and stderr for the commands that follow.
//
// The command runs as a subprocess with the script's environment and
// folder rather than through run() in this process: scripts run in
// parallel, and urfave/cli writes package variables on every run.
func cmdWaitfor(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitfor")
	}
	if len(args) < 3 {
		ts.Fatalf("usage: waitfor TIMEOUT REGEXP COMMAND [ARGS...]")
	}
	timeout, err := time.ParseDuration(args[0])
	if err != nil || timeout <= 0 {
		ts.Fatalf("waitfor: bad timeout %q", args[0])
	}
	re, err := regexp.Compile("(?m)" + args[1])
	if err != nil {
		ts.Fatalf("waitfor: %v", err)
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := ts.Exec(args[2], args[3:]...)
		stdout := ts.ReadFile("stdout")
		if re.MatchString(stdout) {
			ts.Logf("waitfor: matched after %s (%d runs)", time.Since(start).Round(time.Millisecond), attempt)
			return
		}
		if time.Since(start) >= timeout {
			ts.Fatalf("waitfor: no match for %q after %s (%d runs); the last run exited with %v:\n%s%s",
				args[1], timeout, attempt, err, stdout, ts.ReadFile("stderr"))
		}
		time.Sleep(waitforInterval)
	}
}

// cmdHTTPServer is the script command
//
//	httpserver VAR
//
// It starts an HTTP server on loopback for the rest of the script and
// sets VAR to its URL and VAR_HOST to its host:port. /status answers
// {"status": "ready", "count": 7} to basic auth bot:hunter2 (401
// otherwise), /fail answers 503 with the body "down for maintenance",
// /slow answers after 10 s.
func cmdHTTPServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: httpserver VAR")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "bot" || pass != "hunter2" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "ready", "count": 7}`)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
	ts.Setenv(args[0]+"_HOST", strings.TrimPrefix(srv.URL, "http://"))
}

// cmdHookServer is the script command
//
//	hookserver VAR
//
// It starts a webhook receiver on loopback for the rest of the script and
// sets VAR_HOST to its host:port. Every request appends one line to the
// file hooks.log of the script's folder: its path, a space and its body.
// A path that contains "fail" is answered 500.
func cmdHookServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: hookserver VAR")
	}
	path := ts.MkAbs("hooks.log")
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s %s\n", r.URL.Path, body)
			f.Close()
		}
		mu.Unlock()
		if strings.Contains(r.URL.Path, "fail") {
			http.Error(w, "hook is down", http.StatusInternalServerError)
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0]+"_HOST", strings.TrimPrefix(srv.URL, "http://"))
}

// cmdPGURL is the script command
//
//	pgurl VAR
//
// It sets VAR to the URL of a fresh schema on the PostgreSQL test server,
// dropped when the test ends.
func cmdPGURL(t *testing.T, ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: pgurl VAR")
	}
	ts.Setenv(args[0], testdb.PostgresURL(t))
}
