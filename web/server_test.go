package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
	"github.com/starflow-dev/starflow/web"
	"github.com/starflow-dev/starflow/web/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a Server over a fresh SQLite store with one run of "demo"
// (its task instances in several states) and a viewer with a token.
type fixture struct {
	st    store.Store
	q     *memqueue.Queue
	n     *memqueue.Notifier
	srv   *web.Server
	token string
	now   time.Time
}

func newFixture(t *testing.T, o web.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	st := testdb.SQLite(t)
	f := &fixture{st: st, q: memqueue.New(), n: memqueue.NewNotifier(), now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	t.Cleanup(func() { f.q.Close(); f.n.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	versions := call.NewVersions(loader.New(loader.Options{Logger: logger}), func(ctx context.Context, hash string) (call.Bundle, error) {
		v, err := st.DAGVersionGet(ctx, hash)
		if err != nil {
			return call.Bundle{}, err
		}
		return call.Bundle{Dir: filepath.Dir(v.EntryFile), EntryFile: v.EntryFile, Files: v.Files}, nil
	}, 4)
	if _, err := st.DAGUpsert(ctx, &store.DAGUpsertParams{DagID: "demo", File: "/dags/demo.star", SourceHash: "h"}); err != nil {
		t.Fatal(err)
	}
	ld := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := st.RunCreate(ctx, &store.RunCreateParams{DagID: "demo", RunID: "r1", RunType: dags.RunTypeManual, LogicalDate: ld, SourceHash: "h"}); err != nil {
		t.Fatal(err)
	}
	p := &store.TaskInstancesCreateParams{DagID: "demo", RunID: "r1"}
	for i, s := range []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateSuccess, dags.TaskStateRunning, dags.TaskStateQueued} {
		p.Tasks = append(p.Tasks, store.TaskInstanceCreate{TaskID: string(rune('a' + i)), MapIndex: -1, State: s})
	}
	if _, err := st.TaskInstancesCreate(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserCreate(ctx, &store.UserCreateParams{Username: "vera", PasswordHash: "$2a$04$x", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.APITokenCreate(ctx, &store.APITokenCreateParams{Name: "t", Username: "vera", Hash: hash}); err != nil {
		t.Fatal(err)
	}
	f.token = tok
	o.Store, o.DAGs, o.Logger = st, versions, logger
	o.Scheduler = scheduler.New(st, f.q, versions, logger, scheduler.Config{})
	if o.Now == nil {
		o.Now = func() time.Time { return f.now }
	}
	if f.srv, err = web.New(o); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) get(t *testing.T, target string, withToken bool) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	if withToken {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func TestHealth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{Queue: nil})
	ctx := context.Background()
	health := func() (int, map[string]any) {
		rec := f.get(t, "/health", false)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("/health body: %v\n%s", err, rec.Body)
		}
		return rec.Code, body
	}
	// Liveness: no scheduler makes the body unhealthy, never the status
	// code (a probe must not restart a webserver that serves).
	code, body := health()
	if code != http.StatusOK || body["status"] != "unhealthy" ||
		!strings.Contains(body["scheduler"].(map[string]any)["error"].(string), "no scheduler") {
		t.Errorf("without a scheduler heartbeat: %d %v; want 200 with an unhealthy scheduler", code, body)
	}
	if rec := f.get(t, "/ready", false); rec.Code != http.StatusOK {
		t.Errorf("/ready without a scheduler: %d %s; want 200 (the database answers)", rec.Code, rec.Body)
	}
	if err := f.st.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{ID: "s1", At: f.now.Add(-5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	code, body = health()
	sched := body["scheduler"].(map[string]any)
	q := body["queue"].(map[string]any)
	if code != http.StatusOK || body["status"] != "healthy" || body["metadatabase"].(map[string]any)["status"] != "healthy" ||
		sched["heartbeat_age_seconds"] != 5.0 || sched["latest_scheduler_heartbeat"] != "2024-05-01T11:59:55Z" || q["ready"] != 1.0 || q["status"] != "healthy" {
		t.Errorf("healthy: %d %v", code, body)
	}
	f.now = f.now.Add(2 * time.Minute)
	if code, body = health(); code != http.StatusOK || body["status"] != "unhealthy" || !strings.Contains(body["scheduler"].(map[string]any)["error"].(string), "older than 1m0s") {
		t.Errorf("stale heartbeat: %d %v", code, body)
	}
	// The same body under the API prefix, without a token (as Airflow's
	// /api/v1/health).
	if rec := f.get(t, "/api/v1/health", false); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"latest_scheduler_heartbeat"`) {
		t.Errorf("/api/v1/health: %d %s", rec.Code, rec.Body)
	}
}

// TestReadinessFollowsTheDatabase: /ready answers 503 once the metadata
// database is unreachable, while /health still answers 200 and says why.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	if rec := f.get(t, "/ready", false); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"healthy"`) {
		t.Fatalf("/ready with the database up: %d %s", rec.Code, rec.Body)
	}
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	if rec := f.get(t, "/ready", false); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"metadatabase":{"status":"unhealthy"`) {
		t.Errorf("/ready with the database down: %d %s; want 503", rec.Code, rec.Body)
	}
	rec := f.get(t, "/health", false)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"metadatabase":{"status":"unhealthy"`) {
		t.Errorf("/health with the database down: %d %s; want 200 with an unhealthy metadatabase", rec.Code, rec.Body)
	}
}

func TestHealthReadsTheQueueDepth(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	// A second server over another store, reading f's queue.
	f2 := newFixture(t, web.Options{Queue: f.q})
	ctx := context.Background()
	if err := f2.st.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{ID: "s1", At: f2.now}); err != nil {
		t.Fatal(err)
	}
	msgs := []queue.Message{{DAGID: "demo", RunID: "r1", TaskID: "x", MapIndex: -1, TryNumber: 1, SourceHash: "h"}, {DAGID: "demo", RunID: "r1", TaskID: "y", MapIndex: -1, TryNumber: 1, SourceHash: "h", Queue: "gpu"}}
	if err := f.q.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := f2.st.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{Consumer: "w", Queues: []string{"gpu"}}); err != nil {
		t.Fatal(err)
	}
	rec := f2.get(t, "/health", false)
	var body struct {
		Queue struct{ Ready, Pending int64 } `json:"queue"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || body.Queue.Ready != 2 {
		t.Errorf("/health with a queue: %d %s", rec.Code, rec.Body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	if rec := f.get(t, "/metrics", false); rec.Code != http.StatusUnauthorized {
		t.Errorf("/metrics without a token: %d", rec.Code)
	}
	start := f.now
	f.srv.Metrics().ObserveTry(&store.TaskInstance{Operator: "bash", State: dags.TaskStateSuccess, QueuedAt: start, StartDate: start.Add(40 * time.Millisecond),
		EndDate: start.Add(3 * time.Second), Duration: 3*time.Second - 40*time.Millisecond})
	rec := f.get(t, "/metrics", true)
	out := rec.Body.String()
	for _, want := range []string{
		`starflow_dag_runs{state="queued"} 1`,
		`starflow_dag_runs{state="success"} 0`,
		`starflow_task_instances{state="success"} 2`,
		`starflow_task_instances{state="running"} 1`,
		`starflow_task_instances{state="queued"} 1`,
		`starflow_queue_depth{kind="ready"} 1`,
		`starflow_metadata_up 1`,
		`starflow_scheduling_latency_seconds_bucket{le="0.05"} 1`,
		`starflow_scheduling_latency_seconds_bucket{le="0.025"} 0`,
		`starflow_task_duration_seconds_count{operator="bash",state="success"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want+"\n") && !strings.Contains(out, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	pub := newFixture(t, web.Options{PublicMetrics: true})
	if rec := pub.get(t, "/metrics", false); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "starflow_dag_runs") {
		t.Errorf("public /metrics: %d", rec.Code)
	}
}

// TestMetricsFollowFinishedTries: a task_finished event from any process
// feeds the histograms.
func TestMetricsFollowFinishedTries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{PublicMetrics: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Metrics().Follow(ctx, f.n, f.st, nil) }()
	k := store.TaskInstanceKey{DagID: "demo", RunID: "r1", TaskID: "c", MapIndex: -1}
	if _, err := f.st.TaskInstanceSetState(context.Background(), &store.TaskInstanceSetStateParams{Key: k, To: dags.TaskStateFailed,
		QueuedAt: f.now, StartDate: f.now.Add(time.Second), EndDate: f.now.Add(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Publish until the subscription, which starts asynchronously, sees it.
		_ = f.n.Publish(context.Background(), queue.Event{Kind: queue.EventTaskFinished, DAGID: k.DagID, RunID: k.RunID, TaskID: k.TaskID, MapIndex: k.MapIndex})
		if strings.Contains(f.get(t, "/metrics", false).Body.String(), `starflow_task_duration_seconds_count{operator="",state="failed"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the finished try never reached the histogram")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
}

func TestRoutesNeedASessionOrToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	cases := []struct {
		target string
		token  bool
		code   int
	}{
		{"/health", false, http.StatusOK}, // open; unhealthy in the body: no scheduler
		{"/ready", false, http.StatusOK},
		{"/login", false, http.StatusOK},
		{"/static/htmx.min.js", false, http.StatusOK},
		{"/", false, http.StatusSeeOther},
		{"/dags/demo/grid", false, http.StatusSeeOther},
		{"/api/v1/dags", false, http.StatusUnauthorized},
		{"/api/v1/dags", true, http.StatusOK},
		{"/metrics", false, http.StatusUnauthorized},
		{"/", true, http.StatusSeeOther}, // pages want a session, not a token
	}
	for _, c := range cases {
		rec := f.get(t, c.target, c.token)
		if rec.Code != c.code {
			t.Errorf("GET %s (token %v): %d, want %d", c.target, c.token, rec.Code, c.code)
		}
		if rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: no X-Frame-Options", c.target)
		}
	}
}

// TestLoginThenUseTheUI logs in through the form and opens a page and the
// API with the session.
func TestLoginThenUseTheUI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	hash, err := auth.HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.UserCreate(context.Background(), &store.UserCreateParams{Username: "ann", PasswordHash: hash, Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.srv.Handler())
	defer srv.Close()
	jar := newJar()
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := between(string(page), `name="csrf_token" value="`, `"`)
	if csrf == "" {
		t.Fatalf("login page without a CSRF field:\n%s", page)
	}
	resp, err = client.PostForm(srv.URL+"/login", map[string][]string{"username": {"ann"}, "password": {"s3cret-pass"}, "csrf_token": {csrf}, "next": {"/api/v1/dags"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/api/v1/dags" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get(srv.URL + "/api/v1/dags")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"dag_id":"demo"`) {
		t.Errorf("API with the session: %d %s", resp.StatusCode, body)
	}
	resp, err = client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("DAG list page with the session: %d", resp.StatusCode)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	j := strings.Index(s, to)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{Notifier: nil})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(web.ShutdownGrace + 5*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/health"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestContentSecurityPolicy: every answer (pages, the login page, the API,
// static files) forbids inline scripts and framing.
func TestContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, web.Options{})
	for _, target := range []string{"/login", "/", "/static/app.js", "/api/v1/dags", "/health"} {
		csp := f.get(t, target, false).Header().Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self';", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", target, csp, want)
			}
		}
		for _, d := range strings.Split(csp, ";") {
			if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src") && strings.Contains(d, "unsafe") {
				t.Errorf("%s: scripts may run inline or eval: %q", target, d)
			}
		}
	}
}
