package store

import (
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// DAGUpsertParams records a parsed DAG. A new DAG starts paused only when
// IsPausedUponCreation is set; an existing DAG keeps its paused flag and its
// next run.
type DAGUpsertParams struct {
	DagID       string
	File        string
	SourceHash  string
	Schedule    string
	Description string
	// DisplayName is the DAG's dag_display_name, "" for none.
	DisplayName          string
	Tags                 []string
	MaxActiveRuns        int
	MaxActiveTasks       int
	IsPausedUponCreation bool
	// ParsedAt is the time of the parse; zero means now.
	ParsedAt time.Time
}

// DAGListParams filters DAGList. Nil pointers and zero values do not
// filter.
type DAGListParams struct {
	Paused *bool
	Active *bool
	// DueBefore keeps DAGs whose next run may be created at or before
	// this time (the scheduler's "which DAGs need a run" query).
	DueBefore time.Time
	// Search keeps the DAGs whose id or display name contains it,
	// ignoring case, as the search box of Airflow's DAG list (an ILIKE;
	// SQLite folds the case of ASCII letters only).
	Search string
	// Tags keeps the DAGs that have at least one of these tags; none
	// keeps every DAG.
	Tags   []string
	Limit  int
	Offset int
}

// DAGSetNextRunParams sets (or with a zero Next, clears) a DAG's next
// scheduled run.
type DAGSetNextRunParams struct {
	DagID string
	Next  NextRun
}

// DAGDeactivateParams marks the DAGs of a file inactive when they are no
// longer defined in it (the file was deleted, or a dag() call removed).
type DAGDeactivateParams struct {
	File string
	// Keep lists the DAG ids that the file still defines.
	Keep []string
}

// DAGVersionPutParams stores a source bundle; putting the same hash twice
// keeps the first.
type DAGVersionPutParams struct {
	SourceHash string
	EntryFile  string
	Files      map[string]string
}

// ImportErrorsReplaceParams replaces every import error of one file; an
// empty Errors clears the file's errors.
type ImportErrorsReplaceParams struct {
	File   string
	Errors []ImportErrorEntry
	// Timestamp is when the file was parsed; zero means now.
	Timestamp time.Time
}

// ImportErrorEntry is one problem in a file; Pos.File is ignored in favour
// of ImportErrorsReplaceParams.File.
type ImportErrorEntry struct {
	Pos     dags.Pos
	Message string
}

// RunCreateParams creates a DAG run. State defaults to queued and QueuedAt
// to now.
type RunCreateParams struct {
	DagID             string
	RunID             string
	RunType           dags.RunType
	State             dags.DagRunState
	LogicalDate       time.Time
	DataIntervalStart time.Time
	DataIntervalEnd   time.Time
	// Conf is the run's configuration; it must encode to at most
	// MaxConfBytes of JSON.
	Conf       map[string]any
	SourceHash string
	QueuedAt   time.Time
	StartDate  time.Time
}

// RunListParams filters RunList. Runs come newest logical date first.
type RunListParams struct {
	DagID    string
	States   []dags.DagRunState
	RunTypes []dags.RunType
	// LogicalDateFrom and LogicalDateTo bound the logical date, from
	// inclusive, to exclusive; zero leaves a side open.
	LogicalDateFrom time.Time
	LogicalDateTo   time.Time
	// OldestFirst orders by logical date ascending instead (the order in
	// which queued runs are started).
	OldestFirst bool
	Limit       int
	Offset      int
}

// OrderBy is RunList's ORDER BY clause, the same in every SQL dialect:
// newest logical date first, or oldest first with OldestFirst.
func (p *RunListParams) OrderBy() string {
	if p.OldestFirst {
		return ` ORDER BY logical_date, dag_id, run_id`
	}
	return ` ORDER BY logical_date DESC, dag_id, run_id DESC`
}

// RunSetStateParams moves a DAG run from one of the states From (any state
// when From is empty) to To. StartDate and EndDate are written when not
// zero.
type RunSetStateParams struct {
	DagID     string
	RunID     string
	From      []dags.DagRunState
	To        dags.DagRunState
	StartDate time.Time
	EndDate   time.Time
}

// RunCountParams counts runs per DAG; States defaults to queued and
// running (the runs that count against max_active_runs).
type RunCountParams struct {
	DagID  string
	States []dags.DagRunState
}

// TaskInstanceCreate describes one task instance of a new run.
type TaskInstanceCreate struct {
	TaskID   string
	MapIndex int
	// State defaults to none.
	State          dags.TaskState
	MaxTries       int
	Pool           string
	PoolSlots      int
	PriorityWeight int
	Queue          string
	Operator       string
}

// TaskInstancesCreateParams creates the task instances of one run in one
// transaction. Instances that already exist are left as they are, so a
// retried call is harmless.
type TaskInstancesCreateParams struct {
	DagID string
	RunID string
	Tasks []TaskInstanceCreate
}

// TaskInstanceListParams filters TaskInstanceList. Results are ordered by
// dag, run, task and map index.
type TaskInstanceListParams struct {
	DagID  string
	RunID  string
	TaskID string
	States []dags.TaskState
	Pool   string
	Queue  string
	// HeartbeatBefore keeps instances whose last heartbeat (or start,
	// without one) is older than this: zombie candidates.
	HeartbeatBefore time.Time
	// RetryDueBefore keeps instances whose next retry time has passed.
	RetryDueBefore time.Time
	// LogicalDateFrom and LogicalDateTo bound the run's logical date,
	// StartDateFrom and StartDateTo the start date (Airflow's TI list
	// filters logical_date_gte/lte, start_date_gte/lte): from inclusive,
	// to exclusive; zero leaves a side open. A start bound leaves out
	// instances that never started.
	LogicalDateFrom time.Time
	LogicalDateTo   time.Time
	StartDateFrom   time.Time
	StartDateTo     time.Time
	Limit           int
	Offset          int
}

// TaskInstanceStatesParams selects the task instances of one run that
// TaskInstanceStates returns: the scheduler reads only the task instances
// its decisions need (a finished task's downstream and their upstream).
type TaskInstanceStatesParams struct {
	DagID string
	RunID string
	// TaskIDs keeps the task instances of these tasks, every map index;
	// nil keeps every task, an empty non-nil slice none.
	TaskIDs []string
	// States keeps the task instances in these states; nil keeps every
	// state, an empty non-nil slice none.
	States []dags.TaskState
	// Limit caps the number of rows returned; 0 returns them all.
	Limit int
	// ByPriority orders the rows by priority weight, highest first (then
	// by task id and map index), so that a Limit keeps the most urgent.
	ByPriority bool
}

// TaskInstanceSetStateParams is one compare-and-set transition of a task
// instance. The update applies only while the instance is in one of From
// (any state when From is empty) and, when FromTryNumber > 0, at that try.
//
// Fields that are zero are left unchanged, except NextRetryAt, which every
// transition writes (zero clears it). When EndDate is set, the duration is
// computed from the start date.
//
// A move to up_for_reschedule increments the instance's RescheduleCount; a
// move to none or to another try number resets it. While it is above zero,
// a move to running keeps the StartDate of the try's first run instead of
// writing p.StartDate, so that a rescheduled sensor's timeout and duration
// count from its first poke; up_for_reschedule's time to run again is
// NextRetryAt.
type TaskInstanceSetStateParams struct {
	Key           TaskInstanceKey
	From          []dags.TaskState
	FromTryNumber int
	To            dags.TaskState
	TryNumber     int
	MaxTries      int
	Hostname      string
	PID           int
	QueuedAt      time.Time
	StartDate     time.Time
	EndDate       time.Time
	NextRetryAt   time.Time
	// RenderedMapIndex, when not empty, records the label the task's
	// map_index_template rendered for this try; a move to none clears it.
	RenderedMapIndex string
	// ClearXComs, when the transition wins, deletes the task instance's
	// XComs in the same transaction (the start of a try: a clean slate).
	ClearXComs bool
	// LogFile, when set and the transition wins, records the index row of
	// the try's log file in the same transaction (the start of a try: the
	// log is readable from its first line without a commit of its own).
	// A row already recorded keeps the larger of the two sizes.
	LogFile *TaskLogFile
}

// TaskInstanceEndParams records the end of a try in one transaction: its
// outcome, the tail of its log, and the transitions that follow from it.
type TaskInstanceEndParams struct {
	// State is the try's outcome: a compare-and-set that must win (from
	// running at the try's number); when it loses, nothing is written.
	State TaskInstanceSetStateParams
	// Log, when not empty, is appended to the log of try
	// State.FromTryNumber kept in the database (at most
	// MaxLogChunkBytes); the worker writes logs to files and sends LogFile
	// instead.
	Log []byte
	// LogFile, when set, records the index row of the try's log file (its
	// final size) with the outcome.
	LogFile *TaskLogFile
	// Then are the transitions the outcome decides (downstream tasks
	// skipped by a branch, scheduled by the mini-scheduler): each a
	// compare-and-set that may lose without failing the end.
	Then []*TaskInstanceSetStateParams
}

// TaskInstanceEndResult is the result of one end of TaskInstancesEnd: as
// TaskInstanceEnd's.
type TaskInstanceEndResult struct {
	Applied []bool
	Err     error
}

// TaskInstanceClaimParams claims up to Limit scheduled task instances,
// highest priority weight first, then oldest logical date, and moves them
// to queued. Pool, Queue and DagID narrow the candidates when set.
type TaskInstanceClaimParams struct {
	Limit int
	Pool  string
	Queue string
	DagID string
	// QueuedAt is written on the claimed instances; zero means now.
	QueuedAt time.Time
}

// TaskInstanceHeartbeatParams records that the worker running a try is
// alive. It fails with ErrStale once the instance is no longer running
// that try (marked failed by a user, for example): the worker should stop.
type TaskInstanceHeartbeatParams struct {
	Key       TaskInstanceKey
	TryNumber int
	At        time.Time
}

// TaskInstanceCountsParams counts task instances per run and state.
type TaskInstanceCountsParams struct {
	DagID  string
	RunID  string
	States []dags.TaskState
}

// TaskLogAppendParams appends to the log of one try.
type TaskLogAppendParams struct {
	Key       TaskInstanceKey
	TryNumber int
	Data      []byte
}

// TaskLogReadParams reads the log of one try from Offset, at most Limit
// bytes (MaxLogChunkBytes when zero).
type TaskLogReadParams struct {
	Key       TaskInstanceKey
	TryNumber int
	Offset    int64
	Limit     int
}

// XComSetParams stores an XCom value (replacing one under the same key).
// Value must be JSON-encodable to at most MaxXComBytes.
type XComSetParams struct {
	TaskInstanceKey
	Key   string
	Value any
}

// XComGetParams names one XCom.
type XComGetParams struct {
	TaskInstanceKey
	Key string
}

// XComListParams lists the XComs of a run, narrowed to a task (and map
// index, when MapIndex is not nil) when TaskID is set.
type XComListParams struct {
	DagID    string
	RunID    string
	TaskID   string
	MapIndex *int
}

// XComBrowseParams selects XComs for browsing. Empty fields do not
// filter; MapIndex nil does not filter.
type XComBrowseParams struct {
	DagID, RunID, TaskID, Key string
	MapIndex                  *int
	// Limit bounds the number of XComs (default 100, at most 1000);
	// Offset skips that many first.
	Limit, Offset int
}

// Normalize applies the default and the bound of Limit.
func (p *XComBrowseParams) Normalize() {
	if p.Limit <= 0 {
		p.Limit = 100
	}
	p.Limit = min(p.Limit, 1000)
	p.Offset = max(p.Offset, 0)
}

// VariableSetParams creates or replaces a variable. A secret variable is
// encrypted at rest.
type VariableSetParams struct {
	Key         string
	Value       string
	Description string
	Secret      bool
}

// ConnectionCreateParams creates a connection; its password is encrypted
// at rest.
type ConnectionCreateParams struct {
	Connection  operators.Connection
	Description string
}

// ConnectionUpdateParams changes a stored connection in place (Airflow's
// PATCH /connections/{connection_id}); nil fields keep their value.
type ConnectionUpdateParams struct {
	ConnID      string
	Type        *string
	Description *string
	Host        *string
	Port        *int
	Schema      *string
	Login       *string
	// Password nil keeps the stored password, "" clears it, any other
	// value replaces it (encrypted at rest).
	Password *string
	// Extra nil keeps the stored extra; a non-nil map replaces it whole.
	Extra map[string]any
}

// PoolSetParams creates or resizes a pool.
type PoolSetParams struct {
	Name        string
	Slots       int
	Description string
}

// TaskInstanceExpandParams expands a mapped task's task instance.
type TaskInstanceExpandParams struct {
	// Key names the task instance to expand; its MapIndex must be NoMapIndex.
	Key   TaskInstanceKey
	From  []dags.TaskState
	Count int
}
