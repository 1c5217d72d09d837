package api

import (
	"encoding/json"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Time is a time in JSON as RFC 3339 in UTC, or null when unset.
type Time time.Time

// MarshalJSON encodes t, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(tt.UTC().Format(time.RFC3339Nano))
}

// DAG is a DAG as the API shows it.
type DAG struct {
	DagID string `json:"dag_id"`
	// DisplayName is the DAG's dag_display_name, its id when unset, as
	// Airflow's API gives it.
	DisplayName    string   `json:"dag_display_name"`
	Description    string   `json:"description"`
	File           string   `json:"fileloc"`
	IsPaused       bool     `json:"is_paused"`
	IsActive       bool     `json:"is_active"`
	Schedule       string   `json:"schedule_interval"`
	Tags           []string `json:"tags"`
	MaxActiveRuns  int      `json:"max_active_runs"`
	MaxActiveTasks int      `json:"max_active_tasks"`
	// NextRun is the next scheduled run, or null when none is planned.
	NextRun      *NextRun `json:"next_dagrun"`
	SourceHash   string   `json:"source_hash"`
	LastParsedAt Time     `json:"last_parsed_time"`
}

// NextRun is a DAG's next scheduled run.
type NextRun struct {
	LogicalDate       Time `json:"logical_date"`
	DataIntervalStart Time `json:"data_interval_start"`
	DataIntervalEnd   Time `json:"data_interval_end"`
	CreateAfter       Time `json:"create_after"`
}

func dagOut(d *store.DAG) *DAG {
	out := &DAG{DagID: d.DagID, DisplayName: d.Label(), Description: d.Description, File: d.File, IsPaused: d.IsPaused, IsActive: d.IsActive,
		Schedule: d.Schedule, Tags: d.Tags, MaxActiveRuns: d.MaxActiveRuns, MaxActiveTasks: d.MaxActiveTasks,
		SourceHash: d.SourceHash, LastParsedAt: Time(d.LastParsedAt)}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if !d.Next.LogicalDate.IsZero() {
		out.NextRun = &NextRun{Time(d.Next.LogicalDate), Time(d.Next.DataIntervalStart), Time(d.Next.DataIntervalEnd), Time(d.Next.CreateAfter)}
	}
	return out
}

// DagRun is a run as the API shows it.
type DagRun struct {
	DagID             string           `json:"dag_id"`
	RunID             string           `json:"dag_run_id"`
	RunType           dags.RunType     `json:"run_type"`
	State             dags.DagRunState `json:"state"`
	LogicalDate       Time             `json:"logical_date"`
	DataIntervalStart Time             `json:"data_interval_start"`
	DataIntervalEnd   Time             `json:"data_interval_end"`
	Conf              map[string]any   `json:"conf"`
	SourceHash        string           `json:"source_hash"`
	QueuedAt          Time             `json:"queued_at"`
	StartDate         Time             `json:"start_date"`
	EndDate           Time             `json:"end_date"`
}

func runOut(r *store.DagRun) *DagRun {
	conf := r.Conf
	if conf == nil {
		conf = map[string]any{}
	}
	return &DagRun{DagID: r.DagID, RunID: r.RunID, RunType: r.RunType, State: r.State, LogicalDate: Time(r.LogicalDate),
		DataIntervalStart: Time(r.DataIntervalStart), DataIntervalEnd: Time(r.DataIntervalEnd), Conf: conf,
		SourceHash: r.SourceHash, QueuedAt: Time(r.QueuedAt), StartDate: Time(r.StartDate), EndDate: Time(r.EndDate)}
}

// TaskInstance is a task instance as the API shows it.
type TaskInstance struct {
	DagID  string `json:"dag_id"`
	RunID  string `json:"dag_run_id"`
	TaskID string `json:"task_id"`
	// TaskDisplayName is the task's task_display_name in the version the
	// run ran, its id when unset, as in Airflow 3.
	TaskDisplayName string `json:"task_display_name"`
	MapIndex        int    `json:"map_index"`
	// RenderedMapIndex is the label map_index_template gave a mapped
	// task instance; null without one.
	RenderedMapIndex *string        `json:"rendered_map_index"`
	State            dags.TaskState `json:"state"`
	TryNumber        int            `json:"try_number"`
	MaxTries         int            `json:"max_tries"`
	Hostname         string         `json:"hostname"`
	Pool             string         `json:"pool"`
	PoolSlots        int            `json:"pool_slots"`
	PriorityWeight   int            `json:"priority_weight"`
	Queue            string         `json:"queue"`
	Operator         string         `json:"operator"`
	LogicalDate      Time           `json:"logical_date"`
	QueuedAt         Time           `json:"queued_when"`
	StartDate        Time           `json:"start_date"`
	EndDate          Time           `json:"end_date"`
	// Duration is in seconds, null until the instance ends.
	Duration    *float64 `json:"duration"`
	NextRetryAt Time     `json:"next_retry_at"`
	HeartbeatAt Time     `json:"heartbeat_at"`
}

// tiOut is t as the API shows it; dag is the DAG version its run ran, nil
// when it cannot be built (the display name is then the task id).
func tiOut(t *store.TaskInstance, dag *dags.DAG) *TaskInstance {
	out := &TaskInstance{DagID: t.DagID, RunID: t.RunID, TaskID: t.TaskID, TaskDisplayName: dag.TaskLabel(t.TaskID), MapIndex: t.MapIndex, State: t.State,
		TryNumber: t.TryNumber, MaxTries: t.MaxTries, Hostname: t.Hostname, Pool: t.Pool, PoolSlots: t.PoolSlots,
		PriorityWeight: t.PriorityWeight, Queue: t.Queue, Operator: t.Operator, LogicalDate: Time(t.LogicalDate),
		QueuedAt: Time(t.QueuedAt), StartDate: Time(t.StartDate), EndDate: Time(t.EndDate),
		NextRetryAt: Time(t.NextRetryAt), HeartbeatAt: Time(t.HeartbeatAt)}
	if !t.EndDate.IsZero() {
		d := t.Duration.Seconds()
		out.Duration = &d
	}
	if t.RenderedMapIndex != "" {
		out.RenderedMapIndex = &t.RenderedMapIndex
	}
	return out
}

// TaskInstanceRef names a task instance that an action changed.
type TaskInstanceRef struct {
	DagID    string `json:"dag_id"`
	RunID    string `json:"dag_run_id"`
	TaskID   string `json:"task_id"`
	MapIndex int    `json:"map_index"`
}

func refsOut(keys []store.TaskInstanceKey) []TaskInstanceRef {
	out := make([]TaskInstanceRef, len(keys))
	for i, k := range keys {
		out[i] = TaskInstanceRef{k.DagID, k.RunID, k.TaskID, k.MapIndex}
	}
	return out
}
