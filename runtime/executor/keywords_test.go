package executor_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/templates"
)

func TestDoXComPushFalseKeepsTheReturnValueOut(t *testing.T) {
	t.Parallel()
	r, try, _, x := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success("big result"), nil
	}, func(task *dags.Task) { task.DoXComPush = false })
	out := r.Run(context.Background(), try)
	if out.State != dags.TaskStateSuccess {
		t.Fatalf("state = %s (%v), want success", out.State, out.Err)
	}
	if _, ok := x["t/return_value"]; ok || out.ReturnValue != nil {
		t.Errorf("return value pushed although do_xcom_push=False: %v", x)
	}
}

func TestMultipleOutputsPushesEachKeyAndTheWhole(t *testing.T) {
	t.Parallel()
	ret := map[string]any{"rows": int64(3), "path": "/tmp/x"}
	r, try, _, x := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(ret), nil
	}, func(task *dags.Task) { task.MultipleOutputs = true })
	if out := r.Run(context.Background(), try); out.State != dags.TaskStateSuccess {
		t.Fatalf("state = %s (%v), want success", out.State, out.Err)
	}
	want := memXCom{"t/rows": int64(3), "t/path": "/tmp/x", "t/return_value": ret}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("xcom = %v, want %v", x, want)
	}

	t.Run("a value that is not a dict fails the task without retries", func(t *testing.T) {
		t.Parallel()
		r, try, _, x := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
			return operators.Success([]any{"a"}), nil
		}, func(task *dags.Task) { task.MultipleOutputs, task.Retries = true, 2 })
		out := r.Run(context.Background(), try)
		if out.State != dags.TaskStateFailed || out.Err == nil || !strings.Contains(out.Err.Error(), "returned output was type list, expected a dict for multiple_outputs") {
			t.Errorf("state = %s, err = %v; want failed with the multiple_outputs error", out.State, out.Err)
		}
		if len(x) != 0 {
			t.Errorf("pushed %v", x)
		}
	})
}

func TestOnExecuteAndOnSkippedCallbacks(t *testing.T) {
	t.Parallel()
	var fns *recordingFunctions
	r, try, fns, _ := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
		fns.mu.Lock()
		fns.calls = append(fns.calls, "execute")
		fns.mu.Unlock()
		return operators.Skipped("nothing to do"), nil
	}, func(task *dags.Task) {
		task.Callbacks.OnExecute = []dags.Callback{{Function: "exec_cb"}}
		task.Callbacks.OnSkipped = []dags.Callback{{Function: "skip_cb"}}
	})
	out := r.Run(context.Background(), try)
	if out.State != dags.TaskStateSkipped {
		t.Fatalf("state = %s, want skipped", out.State)
	}
	if want := []string{"exec_cb", "execute", "skip_cb"}; !reflect.DeepEqual(fns.calls, want) {
		t.Errorf("calls = %v, want %v", fns.calls, want)
	}
}

// smtpSink is a loopback SMTP server without auth that records the
// recipients and data of each message.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string // "to1,to2\n" + data
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
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

func (s *smtpSink) serve(nc net.Conn) {
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(nc)
	_ = tp.PrintfLine("220 sink")
	var to []string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO", "MAIL":
			_ = tp.PrintfLine("250 ok")
		case "RCPT":
			to = append(to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			_ = tp.PrintfLine("250 ok")
		case "DATA":
			_ = tp.PrintfLine("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, strings.Join(to, ",")+"\n"+string(data))
			s.mu.Unlock()
			to = nil
			_ = tp.PrintfLine("250 queued")
		case "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("502 no")
		}
	}
}

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

func TestEmailAlerts(t *testing.T) {
	t.Parallel()
	fail := func(context.Context, *operators.Call) (*operators.Result, error) {
		return nil, errors.New("disk full")
	}
	t.Run("a final failure mails email through smtp_default; a retry with email_on_retry=False does not", func(t *testing.T) {
		t.Parallel()
		sink := newSMTPSink(t)
		r, try, _, _ := setup(t, fail, func(task *dags.Task) {
			task.Email = []string{"ops@example.com", "dev@example.com"}
			task.EmailOnRetry = false
			task.Retries = 1
		})
		r.NewRenderer = func(c *operators.Call) operators.Renderer { return templates.NewRenderer(c) }
		try.Connections = connMap{"smtp_default": {ID: "smtp_default", Type: "smtp", Host: "127.0.0.1", Port: sink.ln.Addr().(*net.TCPAddr).Port}}
		if out := r.Run(context.Background(), try); out.State != dags.TaskStateUpForRetry {
			t.Fatalf("try 1 state = %s, want up_for_retry", out.State)
		}
		if got := sink.messages(); len(got) != 0 {
			t.Fatalf("a retry with email_on_retry=False sent %d mails", len(got))
		}
		try.TryNumber = 2
		if out := r.Run(context.Background(), try); out.State != dags.TaskStateFailed {
			t.Fatalf("try 2 state = %s, want failed", out.State)
		}
		got := sink.messages()
		if len(got) != 1 {
			t.Fatalf("%d mails after the final failure, want 1", len(got))
		}
		for _, want := range []string{"ops@example.com,dev@example.com\n", "Starflow alert: <TaskInstance: d.t r [failed]>", "Try 2 out of 2", "disk full"} {
			if !strings.Contains(got[0], want) {
				t.Errorf("mail lacks %q:\n%s", want, got[0])
			}
		}
	})
	t.Run("without the connection a warning is logged once and the state is unchanged", func(t *testing.T) {
		t.Parallel()
		r, try, fns, _ := setup(t, fail, func(task *dags.Task) { task.Email = []string{"ops@example.com"} })
		var logged bytes.Buffer
		var mu sync.Mutex
		r.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logged.Write(p)
		}), nil))
		// The environment's connections, empty: as a worker without the
		// connection sees it.
		try.Connections = envsecrets.Connections{Lookup: func(string) (string, bool) { return "", false }}
		var taskLog lockedBuffer
		try.Log = &taskLog
		for range 2 {
			if out := r.Run(context.Background(), try); out.State != dags.TaskStateFailed {
				t.Fatalf("state = %s, want failed", out.State)
			}
		}
		mu.Lock()
		n := strings.Count(logged.String(), "email alerts are not sent: no connection smtp_default")
		mu.Unlock()
		if n != 1 {
			t.Errorf("warning logged %d times, want once:\n%s", n, logged.String())
		}
		if !strings.Contains(taskLog.String(), "not sent: no connection smtp_default") {
			t.Errorf("task log lacks the note:\n%s", taskLog.String())
		}
		if !reflect.DeepEqual(fns.calls, []string{"fail_cb", "fail_cb"}) {
			t.Errorf("callbacks = %v, want the failure callback on each try", fns.calls)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
