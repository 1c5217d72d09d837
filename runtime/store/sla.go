package store

import (
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// SLAMiss is a task instance of a scheduled run that had not succeeded by
// its deadline, the end of the run's data interval plus the task's sla.
// The scheduler records each miss once.
type SLAMiss struct {
	DagID       string    `json:"dag_id"`
	RunID       string    `json:"run_id"`
	TaskID      string    `json:"task_id"`
	LogicalDate time.Time `json:"logical_date"`
	Deadline    time.Time `json:"deadline"`
	// State is the task instance's state when the miss was recorded.
	State      dags.TaskState `json:"state"`
	RecordedAt time.Time      `json:"recorded_at"`
}

// SLAMissRecordParams records one SLA miss.
type SLAMissRecordParams struct {
	DagID       string
	RunID       string
	TaskID      string
	LogicalDate time.Time
	Deadline    time.Time
	State       dags.TaskState
	// RecordedAt defaults to now.
	RecordedAt time.Time
}

// Normalize checks p and truncates its times to the store's precision.
func (p *SLAMissRecordParams) Normalize() error {
	if p.DagID == "" || p.RunID == "" || p.TaskID == "" {
		return fmt.Errorf("SLA miss: dag_id, run_id and task_id are required: %w", ErrInvalid)
	}
	if p.Deadline.IsZero() {
		return fmt.Errorf("SLA miss of %s/%s/%s: no deadline: %w", p.DagID, p.RunID, p.TaskID, ErrInvalid)
	}
	p.LogicalDate = Truncate(p.LogicalDate)
	p.Deadline = Truncate(p.Deadline)
	p.RecordedAt = TimeOrNow(p.RecordedAt)
	return nil
}

// SLAMissListParams filters SLA misses.
type SLAMissListParams struct {
	// DagID, when set, keeps the misses of one DAG.
	DagID string
	// RunID, when set, keeps the misses of one run.
	RunID string
	// Limit bounds the result; zero means no limit.
	Limit int
}
