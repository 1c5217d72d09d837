package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
	httpop "github.com/starflow-dev/starflow/operators/http"
	"github.com/starflow-dev/starflow/runtime/templates"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// secret is the connection password no log may show.
const secret = "s3cr3t-Pa55"

// server is the peer of every test: a real HTTP server on loopback.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := nethttp.NewServeMux()
	mux.HandleFunc("/text/", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "hello %s", strings.TrimPrefix(r.URL.Path, "/text/"))
	})
	mux.HandleFunc("/json", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, `{"count": 5, "items": ["a", "b"], "ratio": 0.5}`)
	})
	mux.HandleFunc("/echo", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "body": string(body), "content_type": r.Header.Get("Content-Type"),
			"x_team": r.Header.Get("X-Team"), "x_run": r.Header.Get("X-Run"), "user": user, "pass_ok": pass == secret,
			"query": r.URL.RawQuery,
		})
	})
	mux.HandleFunc("/fail", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.WriteHeader(nethttp.StatusInternalServerError)
		fmt.Fprint(w, "database on fire: "+strings.Repeat("x", 2000))
	})
	mux.HandleFunc("/missing", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		nethttp.Error(w, "no such thing", nethttp.StatusNotFound)
	})
	mux.HandleFunc("/slow", func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-time.After(10 * time.Second):
			fmt.Fprint(w, "late")
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// dagSource defines one http task per test case; the functions are real
// Starlark run through starlark/call.
const dagSource = `
def is_ok(resp):
    return resp["status_code"] == 200 and resp["json"]["count"] == 5

def is_not_ok(resp):
    return resp["json"]["count"] > 100

def count(resp):
    return {"count": resp["json"]["count"], "type": resp["headers"]["Content-Type"]}

def broken(resp):
    return 1 // 0

def build():
    http(task_id = "text", url = "{{ params.base }}/text/{{ ds }}")
    http(task_id = "post_json", url = "{{ params.base }}/echo", method = "POST",
         json = {"day": "{{ ds }}", "n": [1, 2]}, headers = {"X-Run": "{{ run_id }}"})
    http(task_id = "post_data", url = "{{ params.base }}/echo", method = "PUT", data = "a=1&ds={{ ds_nodash }}",
         headers = {"Content-Type": "application/x-www-form-urlencoded"})
    http(task_id = "check_ok", url = "{{ params.base }}/json", response_check = is_ok)
    http(task_id = "check_fails", url = "{{ params.base }}/json", response_check = is_not_ok)
    http(task_id = "check_errors", url = "{{ params.base }}/json", response_check = broken)
    http(task_id = "filter", url = "{{ params.base }}/json", response_filter = count)
    http(task_id = "fail", url = "{{ params.base }}/fail")
    http(task_id = "missing", url = "{{ params.base }}/missing")
    http(task_id = "slow", url = "{{ params.base }}/slow", timeout = "200ms")
    http(task_id = "with_conn", url = "echo?q=1", http_conn_id = "api", method = "POST", data = "x", log_response = True)
    http(task_id = "conn_missing", url = "echo", http_conn_id = "nope")
    http(task_id = "json_text", url = "{{ params.base }}/json")

dag(dag_id = "web", build = build)
`

type conns map[string]*operators.Connection

func (c conns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if conn, ok := c[id]; ok {
		cp := *conn
		return &cp, nil
	}
	return nil, fmt.Errorf("connection %q not found", id)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup loads dagSource and returns a function that builds the call of
// one of its tasks against srv.
func setup(t *testing.T, srv *httptest.Server) func(taskID string) (*operators.Call, *syncBuffer) {
	t.Helper()
	l := loader.New(loader.Options{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operators:      []operators.Spec{httpop.New().Spec()},
		RuntimeModules: call.Modules(),
	})
	f := l.Load(context.Background(), loader.BundleSource("", map[string]string{"web.star": dagSource}), "web.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	d := f.DAG("web")
	runner := call.New(f)
	host := strings.TrimPrefix(srv.URL, "http://")
	h, port, _ := strings.Cut(host, ":")
	var portN int
	fmt.Sscan(port, &portN)
	connections := conns{"api": {ID: "api", Type: "http", Host: h, Port: portN, Login: "etl", Password: secret,
		Extra: map[string]any{"X-Team": "data", "timeout": 3}}}
	return func(taskID string) (*operators.Call, *syncBuffer) {
		task := d.Task(taskID)
		if task == nil {
			t.Fatalf("no task %s", taskID)
		}
		log := &syncBuffer{}
		c := &operators.Call{
			DAG:  d,
			Task: task,
			Run: operators.RunInfo{DAGID: "web", RunID: "manual__2024-03-01", LogicalDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
				DataIntervalStart: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), DataIntervalEnd: time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC)},
			MapIndex:    -1,
			TryNumber:   1,
			Params:      map[string]any{"base": srv.URL},
			Log:         log,
			Connections: connections,
			Functions:   runner,
		}
		c.Renderer = templates.NewRenderer(c)
		return c, log
	}
}

func TestHTTPOperator(t *testing.T) {
	t.Parallel()
	srv := server(t)
	newCall := setup(t, srv)
	op := &httpop.Operator{Client: srv.Client()}

	tests := []struct {
		task     string
		want     any    // the XCom, when the try succeeds
		wantErr  string // otherwise
		final    bool   // the error is final (no retry)
		wantLog  []string
		hideLogs []string
	}{
		{task: "text", want: "hello 2024-03-01", wantLog: []string{"Calling HTTP method GET on " + srv.URL + "/text/2024-03-01", "Response: 200 OK"}},
		{task: "post_json", want: `{"body":"{\"day\":\"2024-03-01\",\"n\":[1,2]}","content_type":"application/json","method":"POST","pass_ok":false,"query":"","user":"","x_run":"manual__2024-03-01","x_team":""}` + "\n"},
		{task: "post_data", want: `{"body":"a=1\u0026ds=20240301","content_type":"application/x-www-form-urlencoded","method":"PUT","pass_ok":false,"query":"","user":"","x_run":"","x_team":""}` + "\n"},
		{task: "check_ok", want: `{"count": 5, "items": ["a", "b"], "ratio": 0.5}`},
		{task: "check_fails", wantErr: "http: response_check returned False"},
		{task: "check_errors", wantErr: "http: response_check: web.star:12:14: floored division by zero"},
		{task: "filter", want: map[string]any{"count": int64(5), "type": "application/json; charset=utf-8"}},
		{task: "json_text", want: `{"count": 5, "items": ["a", "b"], "ratio": 0.5}`},
		{task: "fail", wantErr: "HTTP GET " + srv.URL + "/fail: status 500 Internal Server Error",
			wantLog: []string{"Response body: database on fire: xxx", "… (994 more bytes)"}},
		{task: "missing", wantErr: "status 404 Not Found", wantLog: []string{"Response body: no such thing"}},
		{task: "slow", wantErr: "HTTP GET " + srv.URL + "/slow: no complete response within the timeout of 200ms"},
		{task: "with_conn", want: `{"body":"x","content_type":"","method":"POST","pass_ok":true,"query":"q=1","user":"etl","x_run":"","x_team":"data"}` + "\n",
			wantLog:  []string{"Calling HTTP method POST on echo?q=1 (connection api)", `Response body: {"body":"x"`},
			hideLogs: []string{secret, "Authorization", "Basic "}},
		{task: "conn_missing", wantErr: `connection "nope": connection "nope" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			t.Parallel()
			c, log := newCall(tt.task)
			start := time.Now()
			res, err := op.Execute(context.Background(), c)
			if time.Since(start) > 5*time.Second {
				t.Errorf("the try took %s", time.Since(start))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Execute() = %v, %v; want an error containing %q", res, err, tt.wantErr)
				}
				if operators.IsFinal(err) != tt.final {
					t.Errorf("IsFinal = %v, want %v", operators.IsFinal(err), tt.final)
				}
			} else {
				if err != nil {
					t.Fatalf("Execute() error: %v\nlog:\n%s", err, log)
				}
				if fmt.Sprintf("%#v", res.ReturnValue) != fmt.Sprintf("%#v", tt.want) {
					t.Errorf("XCom =\n%#v\nwant\n%#v", res.ReturnValue, tt.want)
				}
			}
			for _, s := range tt.wantLog {
				if !strings.Contains(log.String(), s) {
					t.Errorf("log lacks %q:\n%s", s, log)
				}
			}
			for _, s := range append(tt.hideLogs, secret) {
				if strings.Contains(log.String(), s) || (err != nil && strings.Contains(err.Error(), s)) {
					t.Errorf("log or error shows %q:\n%s\n%v", s, log, err)
				}
			}
		})
	}
}

func TestHTTPOperatorStopsWithItsContext(t *testing.T) {
	t.Parallel()
	srv := server(t)
	c, _ := setup(t, srv)("slow")
	c.Task.Config = map[string]any{"url": srv.URL + "/slow"} // no timeout of its own
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&httpop.Operator{Client: srv.Client()}).Execute(ctx, c)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Execute() = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Execute returned %s after the context ended", d)
	}
}

func TestHTTPOperatorBadConfigIsFinal(t *testing.T) {
	t.Parallel()
	srv := server(t)
	newCall := setup(t, srv)
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"data and json", map[string]any{"url": srv.URL, "data": "x", "json": map[string]any{}}, "pass data or json, not both"},
		{"a method that is not offered", map[string]any{"url": srv.URL, "method": "BREW"}, `got "BREW", want one of GET`},
		{"a header that is not a string", map[string]any{"url": srv.URL, "headers": map[string]any{"X": int64(1)}}, `headers["X"] must be a string`},
		{"no url", map[string]any{}, "http: missing argument url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newCall("text")
			task := *c.Task
			task.Config = tt.config
			c.Task = &task
			_, err := httpop.New().Execute(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !operators.IsFinal(err) {
				t.Errorf("Execute() = %v, want a final error containing %q", err, tt.want)
			}
		})
	}
}

func TestDoResolvesURLs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		mu.Lock()
		got = append(got, r.URL.RequestURI())
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		conn *operators.Connection
		url  string
		want string
	}{
		{&operators.Connection{ID: "a", Host: srv.URL}, "v1/items", "/v1/items"},
		{&operators.Connection{ID: "b", Host: srv.URL + "/api/"}, "/v1/items", "/api/v1/items"},
		{&operators.Connection{ID: "c", Host: strings.Split(host, ":")[0], Port: portOf(srv.URL), Schema: "http"}, "x", "/x"},
		{&operators.Connection{ID: "d", Host: "unused.invalid"}, srv.URL + "/absolute", "/absolute"},
		{&operators.Connection{ID: "e", Host: srv.URL + "/base"}, "", "/base"},
	}
	for _, tt := range tests {
		c := &operators.Call{Connections: conns{tt.conn.ID: tt.conn}, Log: io.Discard}
		resp, err := httpop.Do(context.Background(), srv.Client(), c, &httpop.Request{URL: tt.url, ConnID: tt.conn.ID})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("Do(%s, %q) = %v, %v", tt.conn.ID, tt.url, resp, err)
		}
		mu.Lock()
		last := got[len(got)-1]
		mu.Unlock()
		if last != tt.want {
			t.Errorf("Do(%s, %q) requested %q, want %q", tt.conn.ID, tt.url, last, tt.want)
		}
	}
	for _, bad := range []string{"ftp://x/y", "/relative/without/conn", "http://"} {
		if _, err := httpop.Do(context.Background(), srv.Client(), &operators.Call{}, &httpop.Request{URL: bad}); err == nil {
			t.Errorf("Do(%q) succeeded, want a bad URL error", bad)
		}
	}
	_, err := httpop.Do(context.Background(), srv.Client(), &operators.Call{}, &httpop.Request{URL: "http://user:" + secret + "@127.0.0.1:1/x"})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Do with a password in the URL = %v, want an error without the password", err)
	}
}

func portOf(u string) int {
	_, p, _ := strings.Cut(strings.TrimPrefix(u, "http://"), ":")
	var n int
	fmt.Sscan(p, &n)
	return n
}

func TestSpecIsValid(t *testing.T) {
	t.Parallel()
	s := httpop.New().Spec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDocsListEveryParameter keeps docs/operators.md in step with the spec.
func TestDocsListEveryParameter(t *testing.T) {
	t.Parallel()
	checkDocs(t, httpop.New().Spec())
}

func checkDocs(t *testing.T, s operators.Spec) {
	t.Helper()
	for _, file := range []string{"../../docs/operators.md", "../../docs/authoring.md"} {
		data, err := readFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(data, "\n## `"+s.Kind+"`\n")
		if !ok {
			t.Errorf("%s has no section ## `%s`", file, s.Kind)
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		for _, p := range s.Params {
			if !strings.Contains(section, p.Name) {
				t.Errorf("%s: the %s section does not mention parameter %s", file, s.Kind, p.Name)
			}
		}
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
