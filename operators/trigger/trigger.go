package trigger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of trigger_dag tasks.
const Kind = "trigger_dag"

// XComRunIDKey is the XCom key under which the triggered run's id is also
// pushed, as Airflow's TriggerDagRunOperator does.
const XComRunIDKey = "trigger_run_id"

// DefaultPokeInterval is how often wait_for_completion checks the run.
const DefaultPokeInterval = 60 * time.Second

// Operator triggers a run of another DAG.
type Operator struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var (
	_ operators.Operator  = (*Operator)(nil)
	_ operators.Specified = (*Operator)(nil)
)

// New returns a trigger_dag operator.
func New() *Operator { return &Operator{} }

// Register adds a new trigger_dag operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// Spec describes the arguments of trigger_dag tasks.
func (*Operator) Spec() operators.Spec {
	return operators.Spec{
		Kind:       Kind,
		Doc:        "Triggers a run of another DAG; the new run's id is the XCom. With wait_for_completion, waits for it to end.",
		Positional: 1,
		Params: []operators.Param{
			{Name: "trigger_dag_id", Type: operators.ParamString, Required: true, Templated: true,
				Doc: "the id of the DAG to trigger"},
			{Name: "trigger_run_id", Type: operators.ParamString, Templated: true,
				Doc: "the new run's id (default manual__<logical date>)"},
			{Name: "conf", Type: operators.ParamDict, Templated: true,
				Doc: "the new run's conf; the strings in it are templates"},
			{Name: "logical_date", Type: operators.ParamString, Templated: true,
				Doc: "the new run's logical date, a date or RFC 3339 time (default now)"},
			{Name: "wait_for_completion", Type: operators.ParamBool, Default: false,
				Doc: "wait until the triggered run ends in one of allowed_states or failed_states"},
			{Name: "poke_interval", Type: operators.ParamDuration, Default: DefaultPokeInterval,
				Doc: "how often wait_for_completion checks the triggered run"},
			{Name: "allowed_states", Type: operators.ParamStringOrList, Default: []any{string(dags.DagRunStateSuccess)},
				Doc: "run states that make the task succeed when waiting"},
			{Name: "failed_states", Type: operators.ParamStringOrList, Default: []any{string(dags.DagRunStateFailed)},
				Doc: "run states that make the task fail when waiting"},
			{Name: "reset_dag_run", Type: operators.ParamBool, Default: false,
				Doc: "when the run exists already, clear it so that it runs again (instead of failing)"},
			{Name: "skip_when_already_exists", Type: operators.ParamBool, Default: false,
				Doc: "skip the task, instead of failing it, when the run exists already"},
		},
	}
}

func (o *Operator) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Execute triggers the run and, with wait_for_completion, waits for it.
func (o *Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("trigger_dag: the call has no task"))
	}
	spec := o.Spec()
	args, err := spec.Args(c.Task.Config)
	if err != nil {
		return nil, err
	}
	if err := args.Render(ctx, c); err != nil {
		return nil, err
	}
	allowed, err := runStates("allowed_states", args.Strings("allowed_states"))
	if err != nil {
		return nil, err
	}
	failed, err := runStates("failed_states", args.Strings("failed_states"))
	if err != nil {
		return nil, err
	}
	if c.DagRuns == nil {
		return nil, operators.Fail(errors.New("trigger_dag: this runner gives no access to other DAGs' runs"))
	}
	dagID := strings.TrimSpace(args.String("trigger_dag_id"))
	if dagID == "" {
		return nil, operators.Fail(errors.New("trigger_dag: trigger_dag_id is empty"))
	}
	logical := o.now().UTC().Truncate(time.Microsecond)
	if s := strings.TrimSpace(args.String("logical_date")); s != "" {
		if logical, err = dags.ParseDate(s, time.UTC); err != nil {
			return nil, operators.Fail(fmt.Errorf("trigger_dag: logical_date: %w", err))
		}
		logical = logical.UTC()
	}
	runID := strings.TrimSpace(args.String("trigger_run_id"))
	if runID == "" {
		runID = dags.RunID(dags.RunTypeManual, logical)
	}
	conf := args.Dict("conf")

	c.Logf("Triggering DAG %s: run %s, logical date %s", dagID, runID, logical.Format(time.RFC3339))
	got, err := c.DagRuns.Trigger(ctx, operators.TriggerParams{DAGID: dagID, RunID: runID, LogicalDate: logical, Conf: conf})
	switch {
	case errors.Is(err, operators.ErrRunExists) && args.Bool("reset_dag_run"):
		// As Airflow: clear the existing run so that it runs again.
		c.Logf("Run %s of DAG %s exists already: clearing it (reset_dag_run)", runID, dagID)
		if err := c.DagRuns.Reset(ctx, dagID, runID); err != nil {
			return nil, fmt.Errorf("trigger_dag: reset run %s of DAG %s: %w", runID, dagID, err)
		}
		if got, err = c.DagRuns.Trigger(ctx, operators.TriggerParams{DAGID: dagID, RunID: runID, LogicalDate: logical, Conf: conf}); err != nil && !errors.Is(err, operators.ErrRunExists) {
			return nil, fmt.Errorf("trigger_dag: %w", err)
		}
	case errors.Is(err, operators.ErrRunExists) && args.Bool("skip_when_already_exists"):
		return operators.Skipped(fmt.Sprintf("run %s of DAG %s exists already (skip_when_already_exists)", runID, dagID)), nil
	case errors.Is(err, operators.ErrRunExists):
		return nil, fmt.Errorf("trigger_dag: run %s of DAG %s exists already (pass reset_dag_run = True to run it again, or skip_when_already_exists = True to skip)", runID, dagID)
	case err != nil:
		if operators.IsFinal(err) {
			return nil, operators.Fail(fmt.Errorf("trigger_dag: %w", err))
		}
		return nil, fmt.Errorf("trigger_dag: %w", err)
	}
	if got != "" {
		runID = got
	}
	c.Logf("Triggered run %s of DAG %s", runID, dagID)
	if c.XCom != nil {
		if err := c.XCom.Push(ctx, XComRunIDKey, runID); err != nil {
			return nil, fmt.Errorf("trigger_dag: push %s: %w", XComRunIDKey, err)
		}
	}
	if !args.Bool("wait_for_completion") {
		return operators.Success(runID), nil
	}
	return o.wait(ctx, c, dagID, runID, args.Duration("poke_interval"), allowed, failed)
}

// wait polls the triggered run until it reaches an allowed or a failed
// state. A run that ends in neither fails the task rather than waiting
// forever.
func (o *Operator) wait(ctx context.Context, c *operators.Call, dagID, runID string, every time.Duration, allowed, failed []dags.DagRunState) (*operators.Result, error) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		c.Logf("Waiting for run %s of DAG %s to end (checking every %s)", runID, dagID, dags.FormatDuration(every))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		st, err := c.DagRuns.RunState(ctx, dagID, runID)
		switch {
		case errors.Is(err, operators.ErrNoRun):
			return nil, fmt.Errorf("trigger_dag: run %s of DAG %s disappeared while waiting for it", runID, dagID)
		case err != nil:
			return nil, fmt.Errorf("trigger_dag: state of run %s of DAG %s: %w", runID, dagID, err)
		}
		c.Logf("Run %s of DAG %s is %s", runID, dagID, st)
		switch {
		case slices.Contains(failed, st):
			return nil, fmt.Errorf("trigger_dag: run %s of DAG %s ended %s, one of failed_states %v", runID, dagID, st, failed)
		case slices.Contains(allowed, st):
			return operators.Success(runID), nil
		case st.Finished():
			return nil, fmt.Errorf("trigger_dag: run %s of DAG %s ended %s, which is in neither allowed_states %v nor failed_states %v", runID, dagID, st, allowed, failed)
		}
		t.Reset(every)
	}
}

// runStates reads a list of DAG-run states; an unknown one fails the task
// for good.
func runStates(param string, names []string) ([]dags.DagRunState, error) {
	out := make([]dags.DagRunState, 0, len(names))
	for _, n := range names {
		s := dags.DagRunState(n)
		if !s.Valid() {
			return nil, operators.Fail(fmt.Errorf("trigger_dag: %s: unknown DAG run state %q (known: queued, running, success, failed)", param, n))
		}
		out = append(out, s)
	}
	return out, nil
}
