package branch

import (
	"context"
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// KindLatestOnly is the operator kind of latest_only tasks.
const KindLatestOnly = "latest_only"

// LatestOnly runs a latest_only task, Airflow's LatestOnlyOperator: it
// skips its direct downstream tasks unless its run is the latest one the
// schedule has made. The zero value uses the real clock.
type LatestOnly struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var (
	_ operators.Operator  = (*LatestOnly)(nil)
	_ operators.Specified = (*LatestOnly)(nil)
)

// Spec describes latest_only: it takes only the common task keywords.
func (*LatestOnly) Spec() operators.Spec {
	return operators.Spec{Kind: KindLatestOnly,
		Doc: "Skips its direct downstream tasks unless the run is the latest scheduled one (manual runs always proceed)."}
}

// Execute decides as Airflow's LatestOnlyOperator.choose_branch:
//
//   - a manual run (triggered by hand, by the API or by trigger_dag)
//     proceeds;
//   - otherwise the run's interval [start, end) is followed by the next
//     interval the schedule makes (as with catchup, whatever the DAG's
//     catchup); when there is none (schedule None, @once, datasets, past
//     the end) the run proceeds; else it proceeds only while the clock is
//     in (start, end of the next interval], that is while no later run is
//     due, and skips every direct downstream task otherwise.
//
// The task itself ends success either way.
func (o *LatestOnly) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil || c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("latest_only: the call has no task or DAG"))
	}
	proceed := func(why string) (*operators.Result, error) {
		res := operators.Success(nil)
		res.Message = why + ": allowing execution to proceed"
		return res, nil
	}
	if c.Run.RunType == dags.RunTypeManual {
		return proceed("Manually triggered DAG run")
	}
	cur := dags.DataInterval{Start: c.Run.DataIntervalStart, End: c.Run.DataIntervalEnd}
	if cur.Start.IsZero() {
		cur.Start = c.Run.LogicalDate
	}
	if cur.End.IsZero() {
		cur.End = c.Run.LogicalDate
	}
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	catchup := *c.DAG // a shallow copy: only Catchup differs
	catchup.Catchup = true
	next, ok := catchup.NextDagRun(&cur, now)
	if !ok {
		return proceed("Last scheduled execution")
	}
	left, right := cur.Start, next.DataIntervalEnd
	c.Logf("Checking latest only with left_window: %s right_window: %s now: %s",
		left.UTC().Format(time.RFC3339), right.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	if left.Before(now) && !now.After(right) {
		return proceed("Latest")
	}
	skip, err := c.DAG.BranchSkips(c.Task.ID, nil)
	if err != nil {
		return nil, operators.Fail(err)
	}
	res := operators.Success(nil)
	res.Skip = skip
	res.Message = fmt.Sprintf("Not latest execution: skipping the direct downstream tasks (%s)", list(skip))
	return res, nil
}
