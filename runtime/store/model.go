package store

import (
	"fmt"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// NoMapIndex is the map index of a task instance that is not mapped, as in
// Airflow.
const NoMapIndex = -1

// ReturnValueKey is the XCom key of a task's return value.
const ReturnValueKey = "return_value"

// Truncate returns t in UTC with the microsecond precision the store keeps,
// so that a time written and read back compares equal.
func Truncate(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// DAG is a DAG as the store knows it: where it was parsed from, its current
// source version, whether it is paused, and when its next scheduled run is
// due.
type DAG struct {
	DagID string `json:"dag_id"`
	// File is the DAG file's path as the loader names it.
	File string `json:"file"`
	// SourceHash is the content hash of the DAG's current version; the
	// source bundle is read with DAGVersionGet.
	SourceHash  string `json:"source_hash"`
	IsPaused    bool   `json:"is_paused"`
	IsActive    bool   `json:"is_active"`
	Schedule    string `json:"schedule"`
	Description string `json:"description"`
	// DisplayName is the DAG's dag_display_name; "" means the id (see
	// Label).
	DisplayName    string   `json:"display_name"`
	Tags           []string `json:"tags"`
	MaxActiveRuns  int      `json:"max_active_runs"`
	MaxActiveTasks int      `json:"max_active_tasks"`
	// Next is the next scheduled run the scheduler will create; its zero
	// value means none is planned.
	Next         NextRun   `json:"next"`
	LastParsedAt time.Time `json:"last_parsed_at"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Label returns the DAG's display name, or its id when it has none.
func (d *DAG) Label() string {
	if d.DisplayName != "" {
		return d.DisplayName
	}
	return d.DagID
}

// NextRun is the next scheduled run of a DAG: its logical date, its data
// interval, and the time after which it may be created (the end of the data
// interval under Airflow 2's semantics).
type NextRun struct {
	LogicalDate       time.Time `json:"logical_date"`
	DataIntervalStart time.Time `json:"data_interval_start"`
	DataIntervalEnd   time.Time `json:"data_interval_end"`
	CreateAfter       time.Time `json:"create_after"`
}

// DAGVersion is an immutable source bundle: every file a DAG was built from,
// keyed by the content hash the loader computed. A run is pinned to the
// version it started with; workers and the webserver parse it from here, so
// no shared file system is needed.
type DAGVersion struct {
	SourceHash string `json:"source_hash"`
	// EntryFile is the path, within Files, of the file to evaluate.
	EntryFile string `json:"entry_file"`
	// Files maps each file's path to its content.
	Files     map[string]string `json:"files"`
	CreatedAt time.Time         `json:"created_at"`
}

// DagRun is one run of a DAG.
type DagRun struct {
	DagID             string           `json:"dag_id"`
	RunID             string           `json:"run_id"`
	RunType           dags.RunType     `json:"run_type"`
	State             dags.DagRunState `json:"state"`
	LogicalDate       time.Time        `json:"logical_date"`
	DataIntervalStart time.Time        `json:"data_interval_start"`
	DataIntervalEnd   time.Time        `json:"data_interval_end"`
	Conf              map[string]any   `json:"conf"`
	// ConfError is set by RunList when the stored conf is corrupt (Conf
	// is then empty); RunGet returns an error wrapping ErrCorrupt instead.
	ConfError  string    `json:"conf_error,omitempty"`
	SourceHash string    `json:"source_hash"`
	QueuedAt   time.Time `json:"queued_at"`
	StartDate  time.Time `json:"start_date"`
	EndDate    time.Time `json:"end_date"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// TaskInstanceKey names one task instance.
type TaskInstanceKey struct {
	DagID    string `json:"dag_id"`
	RunID    string `json:"run_id"`
	TaskID   string `json:"task_id"`
	MapIndex int    `json:"map_index"`
}

// String formats the key as dag/run/task, with [i] for a mapped instance.
func (k TaskInstanceKey) String() string {
	if k.MapIndex == NoMapIndex {
		return fmt.Sprintf("%s/%s/%s", k.DagID, k.RunID, k.TaskID)
	}
	return fmt.Sprintf("%s/%s/%s[%d]", k.DagID, k.RunID, k.TaskID, k.MapIndex)
}

// TaskInstance is one task of one DAG run (one map index of a mapped task).
type TaskInstance struct {
	TaskInstanceKey
	State dags.TaskState `json:"state"`
	// TryNumber is the number of tries started so far.
	TryNumber int `json:"try_number"`
	// MaxTries is the number of tries allowed (retries + 1).
	MaxTries       int    `json:"max_tries"`
	Hostname       string `json:"hostname"`
	PID            int    `json:"pid"`
	Pool           string `json:"pool"`
	PoolSlots      int    `json:"pool_slots"`
	PriorityWeight int    `json:"priority_weight"`
	Queue          string `json:"queue"`
	Operator       string `json:"operator"`
	// LogicalDate is the run's logical date, kept on the task instance so
	// that claims can order by it without a join.
	LogicalDate time.Time     `json:"logical_date"`
	QueuedAt    time.Time     `json:"queued_at"`
	StartDate   time.Time     `json:"start_date"`
	EndDate     time.Time     `json:"end_date"`
	Duration    time.Duration `json:"duration"`
	NextRetryAt time.Time     `json:"next_retry_at"`
	HeartbeatAt time.Time     `json:"heartbeat_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	// RescheduleCount is how many times the current try went to
	// up_for_reschedule (a sensor in reschedule mode). While it is above
	// zero, StartDate is the start of the try's first run: a move to
	// running does not overwrite it.
	RescheduleCount int `json:"reschedule_count"`
	// RenderedMapIndex is the label the task's map_index_template gave this
	// mapped task instance on its last try; empty without a template.
	RenderedMapIndex string `json:"rendered_map_index,omitempty"`
}

// XCom is one cross-task value.
type XCom struct {
	TaskInstanceKey
	Key string `json:"key"`
	// Value is the decoded JSON value: nil, bool, int64, float64, string,
	// []any or map[string]any.
	Value any `json:"value"`
	// ValueError is set by XComList when the stored JSON is corrupt
	// (Value is then nil); XComGet returns an error wrapping ErrCorrupt
	// instead.
	ValueError string    `json:"value_error,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Variable is a named configuration value. A secret variable is encrypted
// at rest; Value is always the plain text.
type Variable struct {
	Key         string    `json:"key"`
	Value       string    `json:"value"`
	Description string    `json:"description"`
	Secret      bool      `json:"secret"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Connection is a stored connection. Its password is encrypted at rest;
// Password holds the plain text.
type Connection struct {
	operators.Connection
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Pool limits how many task slots run at once. The occupancy fields are
// computed when the pool is read: the slots taken by its running and queued
// task instances.
type Pool struct {
	Name         string `json:"name"`
	Slots        int    `json:"slots"`
	Description  string `json:"description"`
	RunningSlots int    `json:"running_slots"`
	QueuedSlots  int    `json:"queued_slots"`
}

// OpenSlots returns the slots not taken by running or queued task
// instances; it is negative when a pool was shrunk below its use.
func (p *Pool) OpenSlots() int { return p.Slots - p.RunningSlots - p.QueuedSlots }

// ImportError is a DAG file that failed to load, with where and why.
type ImportError struct {
	ID        int64     `json:"id"`
	Pos       dags.Pos  `json:"pos"`
	Message   string    `json:"message"`
	Timestamp time.Time `json:"timestamp"`
}

// TaskInstanceCount is the number of task instances of one DAG run in one
// state.
type TaskInstanceCount struct {
	DagID string         `json:"dag_id"`
	RunID string         `json:"run_id"`
	State dags.TaskState `json:"state"`
	Count int            `json:"count"`
}

// TaskLogChunk is a piece of a task try's log read from an offset.
type TaskLogChunk struct {
	Data []byte `json:"data"`
	// NextOffset is the offset to read from next; it equals the log's size
	// when everything written so far was returned.
	NextOffset int64 `json:"next_offset"`
}

// TaskLogFile is the index row of one try's log: the log itself is a file
// in a log folder (runtime/tasklog), the database only says where.
type TaskLogFile struct {
	Key       TaskInstanceKey `json:"-"`
	TryNumber int             `json:"try_number"`
	// Path is the file's path relative to the log folder, with forward
	// slashes.
	Path string `json:"path"`
	// Hostname is the host whose worker wrote the file.
	Hostname string `json:"hostname"`
	// Size is the file's size when its try closed it; 0 while it is
	// written.
	Size int64 `json:"size"`
}

// SchemaStatus reports the database's schema version against the newest
// one this binary knows.
type SchemaStatus struct {
	Current int64 `json:"current"`
	Latest  int64 `json:"latest"`
}

// UpToDate reports whether the schema is exactly the binary's.
func (s SchemaStatus) UpToDate() bool { return s.Current == s.Latest }

// TaskInstanceState is the part of a task instance the scheduler decides
// over (see Store.TaskInstanceStates).
type TaskInstanceState struct {
	TaskID      string
	MapIndex    int
	State       dags.TaskState
	TryNumber   int
	NextRetryAt time.Time
}
