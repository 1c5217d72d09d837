package localrun_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/localrun"
)

// rescheduler is an operator that reschedules itself twice, 30 ms ahead,
// then succeeds; it records the calls it saw.
type rescheduler struct {
	mu    sync.Mutex
	calls []string // "try/reschedules/first start"
}

func (r *rescheduler) op(_ context.Context, c *operators.Call) (*operators.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf("%d/%d/%s", c.TryNumber, c.RescheduleCount, c.FirstStart.Format(time.RFC3339Nano)))
	r.mu.Unlock()
	c.Logf("poke %d", c.RescheduleCount+1)
	if c.RescheduleCount < 2 {
		return operators.Reschedule(time.Now().Add(30*time.Millisecond), "not yet"), nil
	}
	return operators.Success(nil), nil
}

// check asserts three calls of try 1 with counts 0, 1, 2 and one first
// start.
func (r *rescheduler) check(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 3 {
		t.Fatalf("calls %v, want 3", r.calls)
	}
	start := strings.SplitN(r.calls[0], "/", 3)[2]
	for i, c := range r.calls {
		if want := fmt.Sprintf("1/%d/%s", i, start); c != want {
			t.Errorf("call %d: %s, want %s (same try, same first start)", i+1, c, want)
		}
	}
}

func TestRescheduleRunsTheSameTryAgain(t *testing.T) {
	t.Parallel()
	r := &rescheduler{}
	runner := setup(t, map[string]script{"sense": r.op})
	d := build(t, "sense", []string{"wait", "after"}, []edge{{"wait", "after"}}, func(task *dags.Task) {
		if task.ID == "after" {
			task.Operator = dags.OperatorEmpty
		}
	})
	var mu sync.Mutex
	var events []string
	logDir := t.TempDir()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, LogDir: logDir, OnChange: func(e localrun.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.TaskID == "wait" {
			events = append(events, fmt.Sprintf("%s/%d/%d", e.To, e.TryNumber, e.Reschedules))
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	assertStates(t, res, map[string]string{"wait": "success/1", "after": "success/0"})
	r.check(t)
	want := "scheduled/0/0 running/1/0 up_for_reschedule/1/1 scheduled/1/0 running/1/1 up_for_reschedule/1/2 scheduled/1/0 running/1/2 success/1/2"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events:\n%s\nwant:\n%s", got, want)
	}
	if tr := res.Tasks[0]; tr.Duration < 60*time.Millisecond {
		t.Errorf("duration %s does not count from the first run", tr.Duration)
	}
	log, err := os.ReadFile(filepath.Join(filepath.Dir(res.Tasks[0].LogPath), "attempt=1.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "poke 1") || !strings.Contains(string(log), "poke 3") {
		t.Errorf("the log of try 1 does not hold every run:\n%s", log)
	}
}

func TestRunTaskWaitsThroughReschedules(t *testing.T) {
	t.Parallel()
	r := &rescheduler{}
	runner := setup(t, map[string]script{"sense": r.op})
	d := build(t, "sense", []string{"wait"}, nil, nil)
	res, err := localrun.RunTask(context.Background(), d, "wait", -1, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.TaskStateSuccess || res.TryNumber != 1 {
		t.Errorf("RunTask = %+v, want success at try 1", res)
	}
	r.check(t)
}
