package store

import (
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// The lean reads of the web UI's time views: the calendar needs only the
// date and state of a year of runs, the duration charts only each task's
// first start and last end per run. The DAG list counts the runs of the
// DAGs of the page it shows, not of every DAG.

// RunDatesParams selects the runs RunDates returns: one DAG's, with a
// logical date from From (inclusive) to To (exclusive); a zero bound leaves
// that side open. Limit caps the rows (0: all).
type RunDatesParams struct {
	DagID    string
	From, To time.Time
	Limit    int
}

// Validate checks that p names a DAG and that Limit is not negative.
func (p *RunDatesParams) Validate() error {
	if p.DagID == "" {
		return fmt.Errorf("run dates: empty dag id: %w", ErrInvalid)
	}
	if p.Limit < 0 {
		return fmt.Errorf("run dates: negative limit %d: %w", p.Limit, ErrInvalid)
	}
	return nil
}

// RunDate is a run's id, logical date and state.
type RunDate struct {
	RunID       string
	LogicalDate time.Time
	State       dags.DagRunState
}

// TaskSpansParams selects the task instances TaskSpans sums up: those of
// one DAG's runs RunIDs.
type TaskSpansParams struct {
	DagID  string
	RunIDs []string
}

// Validate checks that p names a DAG.
func (p *TaskSpansParams) Validate() error {
	if p.DagID == "" {
		return fmt.Errorf("task spans: empty dag id: %w", ErrInvalid)
	}
	return nil
}

// TaskSpan is the first start and the last end of one task's instances in
// one run, over its map indexes, counting the instances that have both.
type TaskSpan struct {
	RunID, TaskID string
	Start, End    time.Time
}

// RunCountsByDAGParams names the DAGs whose runs RunCountsByDAG counts.
type RunCountsByDAGParams struct {
	DagIDs []string
}
