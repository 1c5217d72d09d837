package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/notify"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
)

// TryRunner runs single tries of task instances. Its fields are set once by
// the program that wires Starflow together; it is safe for concurrent use.
type TryRunner struct {
	// Registry maps operator kinds to operators.
	Registry *operators.Registry
	// NewRenderer builds the template renderer of a call; nil renders nothing.
	NewRenderer func(c *operators.Call) operators.Renderer
	// Logger receives the runner's own diagnostics (not task logs).
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Notify sends the notifications of built-in notifiers; nil means a
	// notify.Sender with its defaults.
	Notify *notify.Sender
	// EmailConnID is the SMTP connection of the email alerts of tasks
	// with email (email_on_failure, email_on_retry); "" means
	// DefaultEmailConnID.
	EmailConnID string

	// emailWarned makes the warning about a missing email connection
	// appear once per runner.
	emailWarned sync.Once
}

// Try is one try of one task instance.
type Try struct {
	DAG       *dags.DAG
	Task      *dags.Task
	Run       operators.RunInfo
	MapIndex  int
	TryNumber int

	Log         io.Writer
	XCom        operators.XCom
	Variables   operators.Variables
	Connections operators.Connections
	Functions   operators.FunctionRunner
	// DagRuns reads and starts other DAGs' runs; nil where there are none.
	DagRuns operators.DagRuns
	// Datasets reads dataset events and keeps the extras of the try's
	// outlet events; nil where there are none.
	Datasets operators.Datasets

	// FirstStart is when the try first started, kept across reschedules
	// (operators.Call.FirstStart); zero means now.
	FirstStart time.Time
	// RescheduleCount is how many times the try was rescheduled so far.
	RescheduleCount int
}

// Outcome is how a try ended.
type Outcome struct {
	// State is success, skipped, up_for_retry, up_for_reschedule or
	// failed.
	State dags.TaskState
	// RescheduleAt is when an up_for_reschedule try is to run again.
	RescheduleAt time.Time
	// Err is why the try failed (nil for success and skipped).
	Err error
	// ReturnValue is the operator's return value, already pushed as XCom.
	ReturnValue any
	// Skip lists downstream tasks the operator decided to skip.
	Skip       []string
	Start, End time.Time
	// TimedOut reports that execution_timeout stopped the try.
	TimedOut bool
	// RenderedMapIndex is the label the task's map_index_template gave
	// this mapped task instance; empty without one.
	RenderedMapIndex string
}

// Duration is how long the try ran.
func (o Outcome) Duration() time.Duration { return o.End.Sub(o.Start) }

// errPanic marks an operator panic turned into an error.
var errPanic = errors.New("operator panicked")

func (r *TryRunner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// NewCall builds the operators.Call of a try, with params merged as Airflow
// does: DAG params, overridden by task params, overridden by the run's conf.
func (r *TryRunner) NewCall(t *Try) *operators.Call {
	params := make(map[string]any, len(t.DAG.Params)+len(t.Task.Params)+len(t.Run.Conf))
	for k, v := range t.DAG.Params {
		params[k] = v
	}
	for k, v := range t.Task.Params {
		params[k] = v
	}
	for k, v := range t.Run.Conf {
		params[k] = v
	}
	c := &operators.Call{
		DAG:         t.DAG,
		Task:        t.Task,
		Run:         t.Run,
		MapIndex:    t.MapIndex,
		TryNumber:   t.TryNumber,
		Params:      params,
		Log:         t.Log,
		XCom:        t.XCom,
		Variables:   t.Variables,
		Connections: t.Connections,
		Functions:   t.Functions,
		DagRuns:     t.DagRuns,
		Datasets:    t.Datasets,

		FirstStart:      t.FirstStart,
		RescheduleCount: t.RescheduleCount,
	}
	if c.FirstStart.IsZero() {
		c.FirstStart = r.now()
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.XCom != nil {
		c.XCom = collectingXCom{XCom: c.XCom, dag: t.DAG, task: t.Task, mapIndex: t.MapIndex}
	}
	if r.NewRenderer != nil {
		c.Renderer = r.NewRenderer(c)
	}
	return c
}

// Run executes one try and returns its outcome. It never panics: an
// operator panic fails the try with the panic message in the task log.
func (r *TryRunner) Run(ctx context.Context, t *Try) Outcome {
	c := r.NewCall(t)
	out := Outcome{Start: r.now()}
	if cbs := t.Task.Callbacks.OnExecute; len(cbs) > 0 {
		c.State = dags.TaskStateRunning
		r.RunCallbacks(ctx, c, "on_execute_callback", cbs)
		c.State = ""
	}
	res, err := r.execute(ctx, c, &out)
	out.End = r.now()
	switch {
	case err == nil:
		if res == nil {
			res = operators.Success(nil)
		}
		if !res.RescheduleAt.IsZero() {
			if res.State != "" && res.State != dags.TaskStateSuccess || res.ReturnValue != nil || len(res.Skip) > 0 {
				err = operators.Fail(fmt.Errorf("operator %s returned a reschedule with a state, a return value or skips", t.Task.Operator))
				break
			}
			out.State, out.RescheduleAt = dags.TaskStateUpForReschedule, res.RescheduleAt
			if res.Message != "" {
				c.Logf("%s", res.Message)
			}
			c.Logf("task %s try %d ended up_for_reschedule after %s; it runs again at %s", t.Task.ID, t.TryNumber,
				out.Duration().Round(time.Millisecond), res.RescheduleAt.UTC().Format(time.RFC3339))
			break
		}
		out.State = dags.TaskStateSuccess
		if res.State == dags.TaskStateSkipped {
			out.State = dags.TaskStateSkipped
			if res.Message != "" {
				c.Logf("skipped: %s", res.Message)
			}
		} else if res.Message != "" {
			c.Logf("%s", res.Message)
		}
		out.Skip = res.Skip
		value := res.ReturnValue
		if !c.Task.DoXComPush {
			value = nil // do_xcom_push=False: the return value is not pushed
		}
		if c.DAG.FeedsMapping(c.Task) && out.State == dags.TaskStateSuccess {
			if merr := dags.CheckMappable(value); merr != nil {
				err = merr
				break
			}
		}
		if value != nil && c.XCom != nil {
			if perr := pushReturnValue(ctx, c, value); perr != nil {
				err = perr
				break
			}
			out.ReturnValue = value
		}
	}
	if err != nil {
		out.Err = err
		out.Skip = nil
		if !operators.IsFinal(err) && state.ShouldRetry(t.TryNumber, t.Task.Retries) {
			out.State = dags.TaskStateUpForRetry
		} else {
			out.State = dags.TaskStateFailed
		}
		c.Logf("error: %v", err)
		c.Logf("task %s try %d ended %s after %s", t.Task.ID, t.TryNumber, out.State, out.Duration().Round(time.Millisecond))
	}
	out.RenderedMapIndex = renderMapIndex(ctx, c)
	r.runCallback(ctx, c, out)
	return out
}

// renderMapIndex renders the map_index_template of a mapped task instance
// with its context (task.op_kwargs, task.<argument> hold its mapped
// values), as Airflow does when a try ends. A render error is written to
// the task log and leaves the map index unlabelled.
func renderMapIndex(ctx context.Context, c *operators.Call) string {
	if c.MapIndex < 0 || c.Task.MapIndexTemplate == "" || c.Renderer == nil {
		return ""
	}
	label, err := c.Render(ctx, c.Task.MapIndexTemplate)
	if err != nil {
		c.Logf("map_index_template: %v", err)
		return ""
	}
	return label
}

// pushReturnValue pushes a task's return value under return_value and,
// for a task with multiple_outputs, each key of the dict it must be under
// its own key first, as Airflow's _push_xcom_if_needed.
func pushReturnValue(ctx context.Context, c *operators.Call, value any) error {
	if c.Task.MultipleOutputs {
		m, ok := value.(map[string]any)
		if !ok {
			return operators.Fail(fmt.Errorf("returned output was type %s, expected a dict for multiple_outputs", jsonType(value)))
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := c.XCom.Push(ctx, k, m[k]); err != nil {
				return fmt.Errorf("push multiple_outputs key %q: %w", k, err)
			}
		}
	}
	if err := c.XCom.Push(ctx, "return_value", value); err != nil {
		if errors.Is(err, store.ErrTooLarge) {
			// The same limit as bash's last line: retrying cannot help.
			return operators.Fail(fmt.Errorf("the return value, pushed as the XCom, is over the XCom limit (%d bytes of JSON); write big data to a file or database and return its path: %w", store.MaxXComBytes, err))
		}
		return fmt.Errorf("push return value: %w", err)
	}
	return nil
}

// jsonType names the type of a plain value as a DAG file writes it.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case int, int64:
		return "int"
	case float64:
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// execute runs the operator with the task's timeout and recovers panics.
func (r *TryRunner) execute(ctx context.Context, c *operators.Call, out *Outcome) (res *operators.Result, err error) {
	op, err := r.Registry.Lookup(c.Task.Operator)
	if err != nil {
		return nil, operators.Fail(err)
	}
	if err := c.DAG.CheckTaskParams(c.Task, c.Params); err != nil {
		return nil, err
	}
	if c.Task.IsMapped() {
		if c.Task, err = mappedTask(ctx, c); err != nil {
			return nil, err
		}
	}
	runCtx := ctx
	if timeout := c.Task.ExecutionTimeout; timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, timeout, errTimeout)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			if r.Logger != nil {
				r.Logger.Error("operator panicked", "dag", c.DAG.ID, "task", c.Task.ID, "panic", p, "stack", string(debug.Stack()))
			}
			res, err = nil, fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	res, err = op.Execute(runCtx, c)
	if errors.Is(context.Cause(runCtx), errTimeout) {
		out.TimedOut = true
		return nil, fmt.Errorf("task exceeded its execution_timeout of %s", dags.FormatDuration(c.Task.ExecutionTimeout))
	}
	return res, err
}

var errTimeout = errors.New("execution_timeout")

// runCallback runs the task's callbacks and notifiers for the final state
// of the try, if it has any. Their errors are logged and otherwise
// ignored, as Airflow does.
func (r *TryRunner) runCallback(ctx context.Context, c *operators.Call, out Outcome) {
	var cbs []dags.Callback
	var name string
	switch out.State {
	case dags.TaskStateSuccess:
		cbs, name = c.Task.Callbacks.OnSuccess, "on_success_callback"
	case dags.TaskStateFailed:
		cbs, name = c.Task.Callbacks.OnFailure, "on_failure_callback"
	case dags.TaskStateUpForRetry:
		cbs, name = c.Task.Callbacks.OnRetry, "on_retry_callback"
	case dags.TaskStateSkipped:
		// Only the operator's own skips reach the runner: branch and
		// trigger-rule skips never run a try, as Airflow's
		// on_skipped_callback.
		cbs, name = c.Task.Callbacks.OnSkipped, "on_skipped_callback"
	}
	alert := r.wantsEmailAlert(c.Task, out.State)
	if len(cbs) == 0 && !alert {
		return
	}
	c.State = out.State
	if out.Err != nil {
		c.Exception = out.Err.Error()
	}
	if len(cbs) > 0 {
		r.RunCallbacks(ctx, c, name, cbs)
	}
	if alert {
		r.emailAlert(ctx, c)
	}
}

// RunCallbacks runs cbs, the callbacks called name ("on_failure_callback"),
// in order with the call c: functions through c.Functions, notifiers
// through r.Notify. A failure is written to c's log and r.Logger and does
// not stop the others; nothing here panics.
func (r *TryRunner) RunCallbacks(ctx context.Context, c *operators.Call, name string, cbs []dags.Callback) {
	for _, cb := range cbs {
		var err error
		what := name
		switch {
		case cb.Notifier != nil:
			what = name + ": " + notify.Describe(cb.Notifier)
			sender := r.Notify
			if sender == nil {
				sender = &notify.Sender{}
			}
			if err = sender.Send(ctx, c, cb.Notifier); err == nil {
				c.Logf("%s: sent", what)
			}
		case cb.Function == "":
			continue
		case c.Functions == nil:
			err = errors.New("no function runner to call it")
		default:
			err = r.callFunction(ctx, c, cb.Function)
		}
		if err != nil {
			c.Logf("%s failed: %v", what, err)
			if r.Logger != nil {
				r.Logger.Warn("callback failed", "dag", c.Run.DAGID, "run", c.Run.RunID, "task", taskID(c), "callback", what, "err", err)
			}
		}
	}
}

// callFunction calls a callback function, turning a panic into an error.
func (r *TryRunner) callFunction(ctx context.Context, c *operators.Call, key string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	_, err = c.Functions.CallFunction(ctx, c, key, nil, nil)
	return err
}

func taskID(c *operators.Call) string {
	if c.Task == nil {
		return ""
	}
	return c.Task.ID
}
