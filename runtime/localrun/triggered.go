package localrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// ErrNoDAG is what a DAGFinder returns, wrapped, for a DAG id no file
// defines.
var ErrNoDAG = errors.New("no such DAG")

// DAGFinder returns the DAG with the given id, from the same DAG folder as
// the run that triggers it, with the runner of its Starlark functions.
type DAGFinder func(ctx context.Context, dagID string) (*dags.DAG, operators.FunctionRunner, error)

// MaxTriggeredRuns bounds the runs one Triggered starts, so that DAGs that
// trigger each other in a loop stop instead of running forever.
const MaxTriggeredRuns = 100

// Triggered is the operators.DagRuns of an in-process run (`starflow
// test-dag`): trigger_dag runs the target DAG right here, from the same DAG
// folder, as a nested local run, so that wait_for_completion works without
// a database, a scheduler or a worker. Its runs share the options of the
// run that triggered them; their events carry their own DAG and run ids.
type Triggered struct {
	// OnRun, when set (before the first Trigger), is called as each
	// triggered run starts: onChange receives the run's events and done
	// its result, when it has one (test-dag records the runs this way).
	OnRun func(d *dags.DAG, info operators.RunInfo) (onChange func(Event), done func(*Result))

	find DAGFinder
	opt  Options
	ctx  context.Context

	mu    sync.Mutex
	runs  []*childRun
	wg    sync.WaitGroup
	count int
}

var _ operators.DagRuns = (*Triggered)(nil)

// childRun is one triggered run.
type childRun struct {
	info   operators.RunInfo
	dag    *dags.DAG
	done   chan struct{}
	res    *Result
	err    error
	mu     sync.Mutex
	states map[string]dags.TaskState // live task states, by task id
	// reset is set (under Triggered.mu) when reset_dag_run replaced the
	// run: it is still reported by Wait, but no longer found by its ids.
	reset bool
}

// NewTriggered returns the DagRuns of in-process runs: the runs it starts
// live until ctx ends, with opt (its Functions replaced by the target
// DAG's, its DagRuns by the new value, so that triggered DAGs may trigger
// others).
func NewTriggered(ctx context.Context, find DAGFinder, opt Options) *Triggered {
	t := &Triggered{find: find, opt: opt, ctx: ctx}
	return t
}

// Trigger starts a manual run of p.DAGID in the background. A DAG that no
// file of the folder defines fails the triggering task for good.
func (t *Triggered) Trigger(ctx context.Context, p operators.TriggerParams) (string, error) {
	d, fns, err := t.find(ctx, p.DAGID)
	if errors.Is(err, ErrNoDAG) {
		return "", operators.Fail(fmt.Errorf("DAG %q does not exist: no file of the DAG folder defines it", p.DAGID))
	}
	if err != nil {
		return "", operators.Fail(fmt.Errorf("DAG %q: %w", p.DAGID, err))
	}
	logical := p.LogicalDate
	if logical.IsZero() {
		logical = time.Now()
	}
	logical = logical.UTC().Truncate(time.Microsecond)
	runID := p.RunID
	if runID == "" {
		runID = dags.RunID(dags.RunTypeManual, logical)
	}
	interval := d.ManualDataInterval(logical)
	info := operators.RunInfo{DAGID: d.ID, RunID: runID, RunType: dags.RunTypeManual, LogicalDate: logical,
		DataIntervalStart: interval.Start, DataIntervalEnd: interval.End, Conf: p.Conf}

	t.mu.Lock()
	for _, r := range t.runs {
		if !r.reset && r.info.DAGID == d.ID && (r.info.RunID == runID || r.info.LogicalDate.Equal(logical)) {
			t.mu.Unlock()
			return "", fmt.Errorf("run %s of DAG %s: %w", runID, d.ID, operators.ErrRunExists)
		}
	}
	if t.count >= MaxTriggeredRuns {
		t.mu.Unlock()
		return "", operators.Fail(fmt.Errorf("more than %d triggered runs in one local run: do DAGs trigger each other in a loop?", MaxTriggeredRuns))
	}
	t.count++
	run := &childRun{info: info, dag: d, done: make(chan struct{}), states: map[string]dags.TaskState{}}
	t.runs = append(t.runs, run)
	t.wg.Add(1)
	t.mu.Unlock()

	opt := t.opt
	opt.Functions = fns
	opt.DagRuns = t
	parent := t.opt.OnChange
	var hook func(Event)
	var done func(*Result)
	if t.OnRun != nil {
		hook, done = t.OnRun(d, info)
	}
	opt.OnChange = func(e Event) {
		if e.To != "" && e.MapIndex < 0 {
			run.mu.Lock()
			run.states[e.TaskID] = e.To
			run.mu.Unlock()
		}
		if hook != nil {
			hook(e)
		}
		if parent != nil {
			parent(e)
		}
	}
	go func() {
		defer t.wg.Done()
		defer close(run.done)
		run.res, run.err = Run(t.ctx, d, info, opt)
		if done != nil {
			done(run.res)
		}
	}()
	return runID, nil
}

// Reset forgets a triggered run, once it has ended, so that the next
// Trigger with its run id runs the DAG again (reset_dag_run).
func (t *Triggered) Reset(ctx context.Context, dagID, runID string) error {
	run := t.find1(func(r *childRun) bool { return r.info.DAGID == dagID && r.info.RunID == runID })
	if run == nil {
		return fmt.Errorf("run %s of DAG %s: %w", runID, dagID, operators.ErrNoRun)
	}
	select {
	case <-run.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	run.reset = true
	return nil
}

// RunState returns a triggered run's state: running until it ends.
func (t *Triggered) RunState(ctx context.Context, dagID, runID string) (dags.DagRunState, error) {
	run := t.find1(func(r *childRun) bool { return r.info.DAGID == dagID && r.info.RunID == runID })
	if run == nil {
		return "", fmt.Errorf("run %s of DAG %s: %w", runID, dagID, operators.ErrNoRun)
	}
	return run.state(), nil
}

// TaskState returns the state of a task of the triggered run of dagID at
// logicalDate, or the run's own state when taskID is empty. Only runs this
// Triggered started are known.
func (t *Triggered) TaskState(ctx context.Context, dagID, taskID string, logicalDate time.Time) (dags.TaskState, bool, error) {
	logical := logicalDate.UTC().Truncate(time.Microsecond)
	run := t.find1(func(r *childRun) bool { return r.info.DAGID == dagID && r.info.LogicalDate.Equal(logical) })
	if run == nil {
		return "", false, nil
	}
	if taskID == "" {
		return dags.TaskState(run.state()), true, nil
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	s, ok := run.states[taskID]
	if !ok {
		return dags.TaskStateNone, true, nil
	}
	return s, true, nil
}

// GroupStates returns the states of the tasks of group groupID (none
// for a task that has not started) in the triggered run of dagID at
// logicalDate.
func (t *Triggered) GroupStates(ctx context.Context, dagID, groupID string, logicalDate time.Time) ([]dags.TaskState, error) {
	logical := logicalDate.UTC().Truncate(time.Microsecond)
	run := t.find1(func(r *childRun) bool { return r.info.DAGID == dagID && r.info.LogicalDate.Equal(logical) })
	if run == nil {
		return nil, nil
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	var out []dags.TaskState
	for _, task := range run.dag.Tasks() {
		if strings.HasPrefix(task.ID, groupID+".") {
			s, ok := run.states[task.ID]
			if !ok {
				s = dags.TaskStateNone
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func (t *Triggered) find1(match func(*childRun) bool) *childRun {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.runs {
		if !r.reset && match(r) {
			return r
		}
	}
	return nil
}

func (r *childRun) state() dags.DagRunState {
	select {
	case <-r.done:
	default:
		return dags.DagRunStateRunning
	}
	if r.res == nil {
		return dags.DagRunStateFailed
	}
	return r.res.State
}

// Wait waits until every triggered run has ended (runs triggered by
// triggered runs too) and returns their results in the order they were
// triggered. A run that could not be driven (ctx ended) is in errs.
func (t *Triggered) Wait() (results []*Result, errs error) {
	t.wg.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	var all []error
	for _, r := range t.runs {
		if r.res != nil {
			results = append(results, r.res)
		}
		if r.err != nil {
			all = append(all, r.err)
		}
	}
	return results, errors.Join(all...)
}
