package localrun_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/localrun"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script is an operator whose behaviour per task and try is given by a function.
type script func(ctx context.Context, c *operators.Call) (*operators.Result, error)

func setup(t *testing.T, ops map[string]script) *executor.TryRunner {
	t.Helper()
	reg := operators.NewRegistry()
	for kind, f := range ops {
		reg.Register(kind, operators.OperatorFunc(f))
	}
	reg.Register(dags.OperatorEmpty, operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(nil), nil
	}))
	return &executor.TryRunner{Registry: reg}
}

type edge [2]string

// build makes a DAG of tasks of the given operator kind with the given edges.
func build(t *testing.T, kind string, ids []string, edges []edge, tweak func(*dags.Task)) *dags.DAG {
	t.Helper()
	d := dags.New("test_dag", dags.Pos{File: "test.star", Line: 1})
	for i, id := range ids {
		task := dags.NewTask(id, kind, dags.Pos{File: "test.star", Line: i + 2})
		if tweak != nil {
			tweak(task)
		}
		d.AddTask(task)
	}
	for _, e := range edges {
		d.Connect(e[0], e[1], dags.Pos{File: "test.star", Line: 99})
	}
	if fs := d.Finalize(); len(fs) > 0 {
		t.Fatalf("invalid test DAG: %v", fs)
	}
	return d
}

func runInfo() operators.RunInfo {
	logical := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	return operators.RunInfo{RunID: "manual__2024-01-15T00:00:00+00:00", RunType: dags.RunTypeManual,
		LogicalDate: logical, DataIntervalStart: logical, DataIntervalEnd: logical.Add(24 * time.Hour)}
}

func states(res *localrun.Result) map[string]string {
	out := map[string]string{}
	for _, tr := range res.Tasks {
		out[tr.TaskID] = fmt.Sprintf("%s/%d", tr.State, tr.TryNumber)
	}
	return out
}

func assertStates(t *testing.T, res *localrun.Result, want map[string]string) {
	t.Helper()
	got := states(res)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("task %s: got %s, want %s", id, got[id], w)
		}
	}
}

func TestChainRunsInDependencyOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	runner := setup(t, map[string]script{"op": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		mu.Lock()
		order = append(order, c.Task.ID)
		mu.Unlock()
		return operators.Success(nil), nil
	}})
	d := build(t, "op", []string{"c", "b", "a"}, []edge{{"a", "b"}, {"b", "c"}}, nil)
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.DagRunStateSuccess {
		t.Fatalf("run state %s, want success", res.State)
	}
	if got := strings.Join(order, ","); got != "a,b,c" {
		t.Fatalf("ran in order %s, want a,b,c", got)
	}
	assertStates(t, res, map[string]string{"a": "success/1", "b": "success/1", "c": "success/1"})
}

func TestRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	runner := setup(t, map[string]script{"flaky": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		if tries.Add(1) < 3 {
			return nil, errors.New("transient")
		}
		return operators.Success(c.TryNumber), nil
	}})
	d := build(t, "flaky", []string{"f"}, nil, func(task *dags.Task) {
		task.Retries = 3
		task.RetryDelay = 20 * time.Millisecond
	})
	var events []string
	start := time.Now()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, OnChange: func(e localrun.Event) {
		events = append(events, fmt.Sprintf("%s:%d", e.To, e.TryNumber))
	}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	assertStates(t, res, map[string]string{"f": "success/3"})
	if v, _ := res.XCom("f", "return_value"); v != int64(3) {
		t.Errorf("return value %v (%T), want the try number 3", v, v)
	}
	if elapsed < 40*time.Millisecond {
		t.Errorf("two retries with a 20ms delay took %s, want at least 40ms", elapsed)
	}
	want := "scheduled:0,running:1,up_for_retry:1,scheduled:1,running:2,up_for_retry:2,scheduled:2,running:3,success:3"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
}

func TestFailureMarksDownstreamUpstreamFailed(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{"op": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		if c.Task.ID == "bad" {
			return nil, errors.New("boom")
		}
		return operators.Success(nil), nil
	}})
	d := build(t, "op", []string{"bad", "next", "last", "cleanup"}, []edge{{"bad", "next"}, {"next", "last"}, {"bad", "cleanup"}}, func(task *dags.Task) {
		task.Retries = 1
		task.RetryDelay = 0
		if task.ID == "cleanup" {
			task.TriggerRule = dags.TriggerOneFailed
		}
	})
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.DagRunStateFailed {
		t.Fatalf("run state %s, want failed", res.State)
	}
	assertStates(t, res, map[string]string{"bad": "failed/2", "next": "upstream_failed/0", "last": "upstream_failed/0", "cleanup": "success/1"})
	for _, tr := range res.Tasks {
		if tr.TaskID == "bad" && !strings.Contains(tr.Err, "boom") {
			t.Errorf("error of bad = %q, want it to say boom", tr.Err)
		}
	}
}

func TestParallelismIsCapped(t *testing.T) {
	t.Parallel()
	var running, peak atomic.Int32
	runner := setup(t, map[string]script{"sleep": func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		running.Add(-1)
		return operators.Success(nil), nil
	}})
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%02d", i)
	}
	d := build(t, "sleep", ids, nil, nil)
	d.MaxActiveTasks = 4
	start := time.Now()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.DagRunStateSuccess {
		t.Fatalf("run state %s", res.State)
	}
	if p := peak.Load(); p != 4 {
		t.Errorf("peak concurrency %d, want exactly max_active_tasks = 4", p)
	}
	if elapsed := time.Since(start); elapsed < 90*time.Millisecond {
		t.Errorf("12 tasks of 30ms, 4 at a time, took %s; want at least 90ms", elapsed)
	}
}

func TestPriorityWeightOrdersReadyTasks(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	runner := setup(t, map[string]script{"op": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		mu.Lock()
		order = append(order, c.Task.ID)
		mu.Unlock()
		return operators.Success(nil), nil
	}})
	d := build(t, "op", []string{"low", "high", "mid"}, nil, func(task *dags.Task) {
		task.WeightRule = dags.WeightAbsolute
		task.PriorityWeight = map[string]int{"low": 1, "mid": 5, "high": 10}[task.ID]
	})
	if _, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "high,mid,low" {
		t.Errorf("order %s, want high,mid,low", got)
	}
}

func TestXComFlowsDownstream(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{
		"produce": func(context.Context, *operators.Call) (*operators.Result, error) {
			return operators.Success(map[string]any{"rows": 3, "names": []any{"a", "b"}}), nil
		},
		"consume": func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
			v, ok, err := c.XCom.Pull(ctx, "produce", "return_value")
			if err != nil || !ok {
				return nil, fmt.Errorf("pull: %v %v", ok, err)
			}
			rows := v.(map[string]any)["rows"].(int64)
			return operators.Success(rows * 2), nil
		},
	})
	d := dags.New("xcom", dags.Pos{File: "x.star", Line: 1})
	d.AddTask(dags.NewTask("produce", "produce", dags.Pos{File: "x.star", Line: 2}))
	d.AddTask(dags.NewTask("consume", "consume", dags.Pos{File: "x.star", Line: 3}))
	d.Connect("produce", "consume", dags.Pos{})
	d.Finalize()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.XCom("consume", "return_value"); v != int64(6) {
		t.Fatalf("consume returned %v (%T), want 6", v, v)
	}
}

func TestBranchSkipsUnchosenAndJoinRuns(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{"op": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		if c.Task.ID == "pick" {
			return &operators.Result{State: dags.TaskStateSuccess, ReturnValue: "a", Skip: []string{"b"}}, nil
		}
		return operators.Success(nil), nil
	}})
	d := build(t, "op", []string{"pick", "a", "b", "b2", "join"}, []edge{{"pick", "a"}, {"pick", "b"}, {"b", "b2"}, {"a", "join"}, {"b2", "join"}}, func(task *dags.Task) {
		if task.ID == "join" {
			task.TriggerRule = dags.TriggerNoneFailedMinOneSuccess
		}
	})
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	assertStates(t, res, map[string]string{"pick": "success/1", "a": "success/1", "b": "skipped/0", "b2": "skipped/0", "join": "success/1"})
	if res.State != dags.DagRunStateSuccess {
		t.Errorf("run state %s, want success", res.State)
	}
}

func TestExecutionTimeoutStopsTheTry(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{"hang": func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	d := build(t, "hang", []string{"h"}, nil, func(task *dags.Task) { task.ExecutionTimeout = 50 * time.Millisecond })
	start := time.Now()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	assertStates(t, res, map[string]string{"h": "failed/1"})
	if !strings.Contains(res.Tasks[0].Err, "execution_timeout") {
		t.Errorf("error %q does not name the execution_timeout", res.Tasks[0].Err)
	}
	if elapsed < 50*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("a 50ms timeout ended the run after %s", elapsed)
	}
}

func TestEmptyTasksNeverReachAWorker(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	reg := operators.NewRegistry()
	reg.Register(dags.OperatorEmpty, operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		calls.Add(1)
		return operators.Success(nil), nil
	}))
	ids := make([]string, 100)
	var edges []edge
	for i := range ids {
		ids[i] = fmt.Sprintf("e%03d", i)
		if i > 0 {
			edges = append(edges, edge{ids[i-1], ids[i]})
		}
	}
	d := build(t, dags.OperatorEmpty, ids, edges, nil)
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: &executor.TryRunner{Registry: reg}})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.DagRunStateSuccess {
		t.Fatalf("run state %s", res.State)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the empty operator was executed %d times, want 0 (scheduler fast path)", n)
	}
	for _, tr := range res.Tasks {
		if tr.State != dags.TaskStateSuccess {
			t.Fatalf("task %s is %s", tr.TaskID, tr.State)
		}
	}
}

func TestLogsGoToOneFilePerTry(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{"op": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		c.Logf("hello from try %d", c.TryNumber)
		if c.TryNumber == 1 {
			return nil, errors.New("first try fails")
		}
		return operators.Success(nil), nil
	}})
	d := build(t, "op", []string{"t"}, nil, func(task *dags.Task) { task.Retries = 1; task.RetryDelay = 0 })
	dir := t.TempDir()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, LogDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "dag_id=test_dag", "run_id=manual__2024-01-15T00_00_00_00_00", "task_id=t")
	for try, want := range map[int]string{1: "hello from try 1", 2: "hello from try 2"} {
		b, err := os.ReadFile(filepath.Join(base, fmt.Sprintf("attempt=%d.log", try)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("log of try %d = %q, want it to contain %q", try, b, want)
		}
	}
	if got := res.Tasks[0].LogPath; got != filepath.Join(base, "attempt=2.log") {
		t.Errorf("LogPath %s", got)
	}
}

// A try that writes nothing leaves no log file (file creation was most of
// test-dag's time per task); a log that cannot be created fails the try
// that wrote to it, with the reason.
func TestLogFilesAreCreatedByTheFirstWrite(t *testing.T) {
	t.Parallel()
	runner := setup(t, map[string]script{
		"quiet": func(context.Context, *operators.Call) (*operators.Result, error) { return operators.Success(nil), nil },
		"loud": func(_ context.Context, c *operators.Call) (*operators.Result, error) {
			c.Logf("loud")
			return operators.Success(nil), nil
		},
	})
	d := build(t, "quiet", []string{"q", "l"}, nil, func(task *dags.Task) {
		if task.ID == "l" {
			task.Operator = "loud"
		}
	})
	dir := t.TempDir()
	res, err := localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, LogDir: dir})
	if err != nil || res.State != dags.DagRunStateSuccess {
		t.Fatalf("run: %v %s", err, res.State)
	}
	base := filepath.Join(dir, "dag_id=test_dag", "run_id=manual__2024-01-15T00_00_00_00_00")
	if _, err := os.Stat(filepath.Join(base, "task_id=q")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the quiet task's log folder: %v, want it absent", err)
	}
	if b, err := os.ReadFile(filepath.Join(base, "task_id=l", "attempt=1.log")); err != nil || !strings.Contains(string(b), "loud") {
		t.Errorf("the loud task's log = %q, %v", b, err)
	}

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = localrun.Run(context.Background(), d, runInfo(), localrun.Options{Runner: runner, LogDir: blocked})
	if err != nil {
		t.Fatal(err)
	}
	assertStates(t, res, map[string]string{"q": "success/1", "l": "failed/1"})
	for _, tr := range res.Tasks {
		if tr.TaskID == "l" && !strings.Contains(tr.Err, "task log") {
			t.Errorf("the loud task's error %q does not say its log failed", tr.Err)
		}
	}
}

func TestCancelInterruptsTheRun(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	runner := setup(t, map[string]script{"hang": func(ctx context.Context, c *operators.Call) (*operators.Result, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	d := build(t, "hang", []string{"h", "after"}, []edge{{"h", "after"}}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	res, err := localrun.Run(ctx, d, runInfo(), localrun.Options{Runner: runner})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.State != dags.DagRunStateFailed {
		t.Errorf("interrupted run state %s, want failed", res.State)
	}
	assertStates(t, res, map[string]string{"after": "none/0"})
}
