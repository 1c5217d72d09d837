package notify_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/notify"
	"github.com/starflow-dev/starflow/runtime/templates"
)

type conns map[string]*operators.Connection

func (c conns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if conn, ok := c[id]; ok {
		cp := *conn
		return &cp, nil
	}
	return nil, fmt.Errorf("connection %q not found", id)
}

// failedCall is the call of a failed try of task "load" in DAG "etl".
func failedCall(cs conns) *operators.Call {
	d := dags.New("etl", dags.Pos{})
	task := dags.NewTask("load", dags.OperatorBash, dags.Pos{})
	c := &operators.Call{
		DAG: d, Task: task,
		Run: operators.RunInfo{DAGID: "etl", RunID: "scheduled__2024-03-01T00:00:00+00:00",
			LogicalDate: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		MapIndex: -1, TryNumber: 2, Connections: cs, Log: io.Discard,
		State: dags.TaskStateFailed, Exception: "exit status 3",
	}
	c.Renderer = templates.NewRenderer(c)
	return c
}

func TestWebhookPostsRenderedText(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		got  map[string]any
		path string
		hdr  http.Header
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		path, hdr = r.URL.Path, r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	cs := conns{"slack": {ID: "slack", Type: "http", Host: srv.URL + "/services/T0/B0/sekrit-token", Extra: map[string]any{"X-Team": "data"}}}
	n := &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "slack", Args: map[string]any{
		"text": "{{ ti.dag_id }}.{{ ti.task_id }} {{ ti.state }} on {{ ds }} try {{ try_number }}: {{ exception }}"}}
	var s notify.Sender
	if err := s.Send(context.Background(), failedCall(cs), n); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "etl.load failed on 2024-03-01 try 2: exit status 3"; got["text"] != want {
		t.Errorf("text = %q, want %q", got["text"], want)
	}
	if path != "/services/T0/B0/sekrit-token" || hdr.Get("Content-Type") != "application/json" || hdr.Get("X-Team") != "data" {
		t.Errorf("path %q, headers %v", path, hdr)
	}
}

func TestWebhookPayloadIsRendered(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	t.Cleanup(srv.Close)
	cs := conns{"hook": {ID: "hook", Host: srv.URL}}
	n := &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "hook", Args: map[string]any{
		"payload": map[string]any{"event": "{{ ti.state }}", "task": []any{"{{ ti.task_id }}"}, "n": int64(1)}}}
	var s notify.Sender
	if err := s.Send(context.Background(), failedCall(cs), n); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m["event"] != "failed" || fmt.Sprint(m["task"]) != "[load]" || m["n"] != float64(1) {
		t.Errorf("payload = %v", m)
	}
}

func TestWebhookErrorsHideTheURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom at "+r.URL.Path, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	cs := conns{"slack": {ID: "slack", Host: srv.URL + "/hooks/sekrit-token", Password: "pw-secret"}}
	n := &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "slack", Args: map[string]any{"text": "x"}}
	var s notify.Sender
	err := s.Send(context.Background(), failedCall(cs), n)
	if err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("err = %v, want status 500", err)
	}
	if strings.Contains(err.Error(), "sekrit") || strings.Contains(err.Error(), "pw-secret") {
		t.Errorf("error leaks a secret: %v", err)
	}

	// A server that is gone: a transport error names no URL either.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	cs = conns{"slack": {ID: "slack", Host: dead.URL + "/hooks/sekrit-token"}}
	err = s.Send(context.Background(), failedCall(cs), n)
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("err = %v, want an error without the token", err)
	}
}

func TestUnknownConnectionAndKind(t *testing.T) {
	t.Parallel()
	var s notify.Sender
	err := s.Send(context.Background(), failedCall(conns{}), &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "nope"})
	if err == nil || !strings.Contains(err.Error(), `connection "nope"`) {
		t.Errorf("err = %v", err)
	}
	err = s.Send(context.Background(), failedCall(conns{}), &dags.Notifier{Kind: "pager"})
	if err == nil || !strings.Contains(err.Error(), `unknown kind "pager"`) {
		t.Errorf("err = %v", err)
	}
}

// smtpServer is a minimal SMTP server on loopback that records the
// messages it receives.
type smtpServer struct {
	ln       net.Listener
	mu       sync.Mutex
	messages []received
	auth     string // a required "user pass", or empty
}

type received struct {
	from string
	to   []string
	data string
}

func newSMTPServer(t *testing.T, auth string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, auth: auth}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(nc)
	_ = tp.PrintfLine("220 test ESMTP")
	var msg received
	authed := s.auth == ""
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			if s.auth != "" {
				_ = tp.PrintfLine("250-test\r\n250 AUTH PLAIN")
			} else {
				_ = tp.PrintfLine("250 test")
			}
		case "AUTH":
			// AUTH PLAIN base64("\x00user\x00pass")
			_, b64, _ := strings.Cut(arg, " ")
			dec, _ := decodeBase64(b64)
			user, pass := "", ""
			if parts := strings.Split(dec, "\x00"); len(parts) == 3 {
				user, pass = parts[1], parts[2]
			}
			if user+" "+pass == s.auth {
				authed = true
				_ = tp.PrintfLine("235 ok")
			} else {
				_ = tp.PrintfLine("535 bad credentials")
			}
		case "MAIL":
			if !authed {
				_ = tp.PrintfLine("530 auth required")
				continue
			}
			msg = received{from: strings.Trim(strings.TrimPrefix(arg, "FROM:"), "<>")}
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			msg.to = append(msg.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.data = string(data)
			s.mu.Lock()
			s.messages = append(s.messages, msg)
			s.mu.Unlock()
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 not implemented")
		}
	}
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

func TestEmailThroughSMTP(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, "bot pw-secret")
	cs := conns{"smtp": {ID: "smtp", Type: "smtp", Host: "127.0.0.1", Port: srv.port(), Login: "bot", Password: "pw-secret",
		Extra: map[string]any{"from_email": "starflow@example.com"}}}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: "smtp", Args: map[string]any{
		"to":           []any{"ops@example.com", "oncall@example.com"},
		"subject":      "[{{ ti.dag_id }}] {{ ti.task_id }} {{ ti.state }} – {{ ds }}",
		"html_content": "<p>Task {{ ti.task_id }} failed: <code>{{ exception }}</code></p>",
	}}
	var s notify.Sender
	if err := s.Send(context.Background(), failedCall(cs), n); err != nil {
		t.Fatal(err)
	}
	msgs := srv.received()
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.from != "starflow@example.com" || strings.Join(m.to, ",") != "ops@example.com,oncall@example.com" {
		t.Errorf("envelope from %q to %v", m.from, m.to)
	}
	parsed, err := mail.ReadMessage(strings.NewReader(m.data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mimeDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[etl] load failed – 2024-03-01"; subject != want {
		t.Errorf("subject = %q, want %q", subject, want)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := "<p>Task load failed: <code>exit status 3</code></p>"; !strings.Contains(string(body), want) {
		t.Errorf("body = %q, want it to contain %q", body, want)
	}
}

func TestEmailBadCredentialsAreReportedWithoutThePassword(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, "bot right")
	cs := conns{"smtp": {ID: "smtp", Host: "127.0.0.1", Port: srv.port(), Login: "bot", Password: "wrong-pw"}}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: "smtp", Args: map[string]any{"to": "ops@example.com"}}
	var s notify.Sender
	err := s.Send(context.Background(), failedCall(cs), n)
	if err == nil || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("err = %v, want a 535 error without the password", err)
	}
	if len(srv.received()) != 0 {
		t.Error("a message was delivered")
	}
}

func TestEmailTimesOut(t *testing.T) {
	t.Parallel()
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(c)) }()
		}
	}()
	cs := conns{"smtp": {ID: "smtp", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: "smtp", Args: map[string]any{"to": "ops@example.com"}}
	s := notify.Sender{Timeout: 200 * time.Millisecond}
	start := time.Now()
	err = s.Send(context.Background(), failedCall(cs), n)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want a timeout", err, time.Since(start))
	}
}

func TestSlackWebhookConnectionPutsTheTokenInThePath(t *testing.T) {
	t.Parallel()
	paths := make(chan string, 2)
	fail := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			t.Error("the token was sent as basic auth")
		}
		paths <- r.URL.Path
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "no such hook", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	cs := conns{"slack": {ID: "slack", Type: "slackwebhook", Host: "127.0.0.1/services", Port: addr.Port, Schema: "http", Password: "T0/B0/sekrit"}}
	n := &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "slack", Args: map[string]any{"text": "hi"}}
	var s notify.Sender
	if err := s.Send(context.Background(), failedCall(cs), n); err != nil {
		t.Fatal(err)
	}
	if p := <-paths; p != "/services/T0/B0/sekrit" {
		t.Errorf("posted to %q, want /services/T0/B0/sekrit", p)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	err := s.Send(context.Background(), failedCall(cs), n)
	<-paths
	if err == nil || !strings.Contains(err.Error(), "status 404") || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("err = %v, want a 404 without the token", err)
	}
}

func TestDefaultTextsRender(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, "")
	cs := conns{"smtp": {ID: "smtp", Host: "127.0.0.1", Port: srv.port()}}
	n := &dags.Notifier{Kind: dags.NotifierEmail, ConnID: "smtp", Args: map[string]any{"to": "ops@example.com"}}
	var s notify.Sender
	if err := s.Send(context.Background(), failedCall(cs), n); err != nil {
		t.Fatal(err)
	}
	msgs := srv.received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	parsed, err := mail.ReadMessage(strings.NewReader(msgs[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if got := parsed.Header.Get("Subject"); got != "Starflow: etl.load is failed" {
		t.Errorf("default subject %q", got)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
	for _, want := range []string{"<b>load</b>", "<b>etl</b>", "try 2", "<b>failed</b>", "<pre>exit status 3</pre>"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("default body %q lacks %q", body, want)
		}
	}
	if msgs[0].from != "starflow@localhost" {
		t.Errorf("from %q", msgs[0].from)
	}
}
