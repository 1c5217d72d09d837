package executor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/templates"
)

type connMap map[string]*operators.Connection

func (c connMap) Get(_ context.Context, id string) (*operators.Connection, error) {
	if conn, ok := c[id]; ok {
		return conn, nil
	}
	return nil, fmt.Errorf("connection %q not found", id)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFailureNotifiers runs a failing try whose on_failure_callback is a
// list: a webhook notifier that works, one whose server answers 500, and
// a function. The good one posts the rendered text, the bad one is
// logged without its URL's token, the function still runs, and the try
// stays failed.
func TestFailureNotifiers(t *testing.T) {
	t.Parallel()
	posted := make(chan map[string]any, 4)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		posted <- m
	}))
	t.Cleanup(good.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)

	r, try, fns, _ := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
		return nil, errors.New("disk full")
	}, func(task *dags.Task) {
		task.Callbacks.OnFailure = []dags.Callback{
			{Notifier: &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "good", Args: map[string]any{
				"text": "{{ ti.task_id }} is {{ ti.state }} after try {{ ti.try_number }}: {{ exception }}"}}},
			{Notifier: &dags.Notifier{Kind: dags.NotifierWebhook, ConnID: "bad", Args: map[string]any{"text": "x"}}},
			{Function: "fail_cb"},
		}
	})
	var slogged lockedBuffer
	r.Logger = slog.New(slog.NewTextHandler(&slogged, nil))
	r.NewRenderer = func(c *operators.Call) operators.Renderer { return templates.NewRenderer(c) }
	log := &lockedBuffer{}
	try.Log = log
	try.Connections = connMap{
		"good": {ID: "good", Host: good.URL + "/services/T0/B0/sekrit"},
		"bad":  {ID: "bad", Host: bad.URL + "/services/T0/B0/sekrit"},
	}
	out := r.Run(context.Background(), try)
	if out.State != dags.TaskStateFailed {
		t.Fatalf("state %s, want failed", out.State)
	}
	select {
	case m := <-posted:
		if want := "t is failed after try 1: disk full"; m["text"] != want {
			t.Errorf("posted text %q, want %q", m["text"], want)
		}
	default:
		t.Fatal("the webhook got nothing")
	}
	if got := strings.Join(fns.calls, ","); got != "fail_cb" {
		t.Errorf("functions called: %q, want fail_cb", got)
	}
	text := log.String()
	if !strings.Contains(text, "on_failure_callback: webhook notifier (connection good): sent") ||
		!strings.Contains(text, "on_failure_callback: webhook notifier (connection bad) failed") ||
		!strings.Contains(text, "status 500") {
		t.Errorf("task log lacks the notifier outcomes:\n%s", text)
	}
	for name, s := range map[string]string{"task log": text, "slog": slogged.String()} {
		if strings.Contains(s, "sekrit") {
			t.Errorf("%s leaks the webhook token:\n%s", name, s)
		}
	}
	if !strings.Contains(slogged.String(), "callback failed") {
		t.Errorf("slog lacks the failure: %s", slogged.String())
	}
}
