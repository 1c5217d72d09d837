package store

import (
	"context"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// Size limits on stored values. Larger values are refused with an error
// wrapping ErrTooLarge that names the object and the limit.
const (
	// MaxXComBytes bounds one XCom value's JSON encoding (1 MiB).
	MaxXComBytes = 1 << 20
	// MaxConfBytes bounds a DAG run's conf as JSON (1 MiB).
	MaxConfBytes = 1 << 20
	// MaxVariableBytes bounds a variable's value (1 MiB).
	MaxVariableBytes = 1 << 20
	// MaxLogChunkBytes bounds one TaskLogAppend call and one read (1 MiB).
	MaxLogChunkBytes = 1 << 20
	// MaxSourceBytes bounds a DAG version's source bundle (16 MiB).
	MaxSourceBytes = 16 << 20
)

// DefaultPool is the pool every task uses unless it names another; the
// first migration creates it with DefaultPoolSlots slots.
const (
	DefaultPool      = dags.DefaultPool
	DefaultPoolSlots = 128
)

// Store is Starflow's metadata database. Implementations are safe for
// concurrent use by many goroutines and, through the database, many
// processes. Every method that waits takes a context.
type Store interface {
	// DAGUpsert records a parsed DAG and returns the stored row.
	DAGUpsert(ctx context.Context, p *DAGUpsertParams) (*DAG, error)
	// DAGGet returns one DAG or an error wrapping ErrNotFound.
	DAGGet(ctx context.Context, dagID string) (*DAG, error)
	// DAGList returns DAGs ordered by id.
	DAGList(ctx context.Context, p *DAGListParams) ([]*DAG, error)
	// DAGSetPaused pauses or unpauses a DAG.
	DAGSetPaused(ctx context.Context, dagID string, paused bool) error
	// DAGSetNextRun records when the DAG's next scheduled run is due.
	DAGSetNextRun(ctx context.Context, p *DAGSetNextRunParams) error
	// DAGDeactivate marks inactive the DAGs of a file that it no longer
	// defines and returns how many changed.
	DAGDeactivate(ctx context.Context, p *DAGDeactivateParams) (int, error)

	// DAGVersionPut stores a source bundle under its hash (idempotent).
	DAGVersionPut(ctx context.Context, p *DAGVersionPutParams) error
	// DAGVersionGet returns the source bundle with the given hash.
	DAGVersionGet(ctx context.Context, sourceHash string) (*DAGVersion, error)

	// ImportErrorsReplace replaces the import errors of one file.
	ImportErrorsReplace(ctx context.Context, p *ImportErrorsReplaceParams) error
	// ImportErrorList returns every import error, by file and position.
	ImportErrorList(ctx context.Context) ([]*ImportError, error)

	// RunCreate creates a DAG run. A taken (dag_id, run_id), or a taken
	// logical date for a scheduled run, is an error wrapping ErrConflict.
	RunCreate(ctx context.Context, p *RunCreateParams) (*DagRun, error)
	// RunGet returns one run or an error wrapping ErrNotFound.
	RunGet(ctx context.Context, dagID, runID string) (*DagRun, error)
	// RunList returns runs, newest logical date first.
	RunList(ctx context.Context, p *RunListParams) ([]*DagRun, error)
	// RunSetState moves a run between states (compare-and-set; ErrStale
	// when the run is no longer in one of p.From).
	RunSetState(ctx context.Context, p *RunSetStateParams) (*DagRun, error)
	// RunCount counts runs per DAG id in the given states.
	RunCount(ctx context.Context, p *RunCountParams) (map[string]int, error)

	// TaskInstancesCreate creates a run's task instances in one batch and
	// returns how many were new.
	TaskInstancesCreate(ctx context.Context, p *TaskInstancesCreateParams) (int, error)
	// TaskInstanceGet returns one task instance.
	TaskInstanceGet(ctx context.Context, key TaskInstanceKey) (*TaskInstance, error)
	// TaskInstanceList returns task instances matching the filters.
	TaskInstanceList(ctx context.Context, p *TaskInstanceListParams) ([]*TaskInstance, error)
	// TaskInstanceStates returns what the scheduler decides over for
	// the task instances of one run that p selects (ids, state, try
	// number, next retry time): a lean TaskInstanceList. They are ordered
	// by task id and map index unless p.States is set (then in no order).
	TaskInstanceStates(ctx context.Context, p *TaskInstanceStatesParams) ([]TaskInstanceState, error)
	// TaskInstanceSetState applies one compare-and-set transition and
	// returns the updated instance; ErrStale when it lost.
	TaskInstanceSetState(ctx context.Context, p *TaskInstanceSetStateParams) (*TaskInstance, error)
	// TaskInstancesSetStates applies many transitions in one transaction;
	// applied[i] reports whether ps[i] won. A lost transition is not an
	// error.
	TaskInstancesSetStates(ctx context.Context, ps []*TaskInstanceSetStateParams) (applied []bool, err error)
	// TaskInstanceEnd records the end of a try in one transaction: the
	// outcome p.State (compare-and-set; an error wrapping ErrStale, and
	// nothing written, when it loses), the tail of the try's log, and the
	// transitions p.Then; applied[i] reports whether p.Then[i] won.
	TaskInstanceEnd(ctx context.Context, p *TaskInstanceEndParams) (applied []bool, err error)
	// TaskInstancesEnd records several ends in one transaction (group
	// commit), each as TaskInstanceEnd would: results[i] is ps[i]'s, and
	// an end that loses (ErrStale, ErrNotFound) writes nothing and fails
	// only itself. err is set when the transaction failed: then nothing
	// was written.
	TaskInstancesEnd(ctx context.Context, ps []*TaskInstanceEndParams) (results []TaskInstanceEndResult, err error)
	// TaskInstanceClaim atomically moves up to p.Limit scheduled instances
	// to queued and returns them in claim order. Concurrent claimers never
	// receive the same instance.
	TaskInstanceClaim(ctx context.Context, p *TaskInstanceClaimParams) ([]*TaskInstance, error)
	// TaskInstanceHeartbeat records that a running try is alive.
	TaskInstanceHeartbeat(ctx context.Context, p *TaskInstanceHeartbeatParams) error
	// TaskInstanceCounts counts task instances per run and state.
	TaskInstanceCounts(ctx context.Context, p *TaskInstanceCountsParams) ([]*TaskInstanceCount, error)
	// TaskInstanceExpand turns the task instance of a mapped task not yet
	// expanded (map index -1, in one of p.From) into p.Count task
	// instances with map indexes 0..Count-1 in state none, each with the
	// settings of the original, in one transaction. It returns an error
	// wrapping ErrStale when the row is gone or not in p.From (another
	// scheduler expanded it).
	TaskInstanceExpand(ctx context.Context, p *TaskInstanceExpandParams) error

	// TaskLogAppend appends to a try's log kept in the database. Task
	// logs go to files since schema version 10 (runtime/tasklog); this
	// remains for the logs written before, and for tests.
	TaskLogAppend(ctx context.Context, p *TaskLogAppendParams) (int64, error)
	// TaskLogRead reads a try's log kept in the database from an offset
	// (see TaskLogAppend).
	TaskLogRead(ctx context.Context, p *TaskLogReadParams) (*TaskLogChunk, error)
	// TaskLogFileSet records or updates the index row of a try's log file.
	TaskLogFileSet(ctx context.Context, f *TaskLogFile) error
	// TaskLogFileGet returns the index row of a try's log file, or
	// ErrNotFound when the try has none (it has not started, or it logged
	// into the database before schema version 10).
	TaskLogFileGet(ctx context.Context, key TaskInstanceKey, try int) (*TaskLogFile, error)

	// XComSet stores an XCom value.
	XComSet(ctx context.Context, p *XComSetParams) error
	// XComGet returns one XCom; ErrNotFound when absent, ErrCorrupt when
	// its stored JSON cannot be decoded.
	XComGet(ctx context.Context, p *XComGetParams) (*XCom, error)
	// XComList returns a run's XComs ordered by task, map index and key.
	XComList(ctx context.Context, p *XComListParams) ([]*XCom, error)
	// XComBrowse returns XComs across DAGs and runs, newest first (by
	// updated_at, then by key columns), filtered and paged by p.
	XComBrowse(ctx context.Context, p *XComBrowseParams) ([]*XCom, error)
	// XComClear deletes the XComs of one task instance (before a retry)
	// and returns how many there were.
	XComClear(ctx context.Context, key TaskInstanceKey) (int, error)

	// VariableSet creates or replaces a variable.
	VariableSet(ctx context.Context, p *VariableSetParams) error
	// VariableGet returns a variable with its plain value.
	VariableGet(ctx context.Context, key string) (*Variable, error)
	// VariableList returns every variable by key, with plain values.
	VariableList(ctx context.Context) ([]*Variable, error)
	// VariableDelete deletes a variable; ErrNotFound when absent.
	VariableDelete(ctx context.Context, key string) error

	// ConnectionCreate stores a new connection; ErrConflict when its id
	// is taken.
	ConnectionCreate(ctx context.Context, p *ConnectionCreateParams) error
	// ConnectionUpdate changes a connection in place, in one statement;
	// ErrNotFound when absent.
	ConnectionUpdate(ctx context.Context, p *ConnectionUpdateParams) error
	// ConnectionGet returns a connection with its plain password.
	ConnectionGet(ctx context.Context, connID string) (*Connection, error)
	// ConnectionList returns every connection by id.
	ConnectionList(ctx context.Context) ([]*Connection, error)
	// ConnectionDelete deletes a connection; ErrNotFound when absent.
	ConnectionDelete(ctx context.Context, connID string) error

	// PoolSet creates or resizes a pool.
	PoolSet(ctx context.Context, p *PoolSetParams) error
	// PoolGet returns a pool with its occupancy.
	PoolGet(ctx context.Context, name string) (*Pool, error)
	// PoolList returns every pool with its occupancy, by name.
	PoolList(ctx context.Context) ([]*Pool, error)
	// PoolDelete deletes a pool; the default pool cannot be deleted.
	PoolDelete(ctx context.Context, name string) error

	// UserCreate creates a webserver user; ErrConflict when the username
	// is taken.
	UserCreate(ctx context.Context, p *UserCreateParams) (*User, error)
	// UserGet returns one user or an error wrapping ErrNotFound.
	UserGet(ctx context.Context, username string) (*User, error)
	// UserList returns every user by username.
	UserList(ctx context.Context) ([]*User, error)
	// UserUpdate changes a user's password hash, role or active flag;
	// ErrNotFound when absent. A new password, a different role or a
	// deactivation deletes the user's API tokens in the same transaction
	// (see UserUpdateParams.EndsTokens).
	UserUpdate(ctx context.Context, p *UserUpdateParams) (*User, error)
	// UserDelete deletes a user and its API tokens; ErrNotFound when
	// absent.
	UserDelete(ctx context.Context, username string) error

	// APITokenCreate stores a new API token's hash.
	APITokenCreate(ctx context.Context, p *APITokenCreateParams) (*APIToken, error)
	// APITokenGetByHash returns the token with the given hash or an error
	// wrapping ErrNotFound.
	APITokenGetByHash(ctx context.Context, hash string) (*APIToken, error)
	// APITokenList returns the tokens of one user, or of every user when
	// username is empty, by user and name.
	APITokenList(ctx context.Context, username string) ([]*APIToken, error)
	// APITokenDelete deletes a token; ErrNotFound when absent.
	APITokenDelete(ctx context.Context, id int64) error

	// WorkerHeartbeat records a worker's state (upsert).
	WorkerHeartbeat(ctx context.Context, p *WorkerHeartbeatParams) error
	// WorkerList returns every worker that has reported, by consumer.
	WorkerList(ctx context.Context) ([]*Worker, error)
	// WorkerDelete forgets a worker (on clean shutdown); ErrNotFound when
	// absent.
	WorkerDelete(ctx context.Context, consumer string) error
	// WorkerPrune forgets workers silent since before the given time and
	// returns how many.
	WorkerPrune(ctx context.Context, before time.Time) (int, error)

	// SchedulerHeartbeat records a scheduler's heartbeat (upsert).
	SchedulerHeartbeat(ctx context.Context, p *SchedulerHeartbeatParams) error
	// SchedulerHeartbeatList returns every scheduler's last heartbeat,
	// newest first.
	SchedulerHeartbeatList(ctx context.Context) ([]*SchedulerHeartbeat, error)

	// DAGCount counts the DAGs DAGList would return without p.Limit and
	// p.Offset.
	DAGCount(ctx context.Context, p *DAGListParams) (int, error)
	// RunStateCounts counts every DAG run per state (for metrics).
	RunStateCounts(ctx context.Context) (map[dags.DagRunState]int, error)
	// TaskInstanceStateCounts counts every task instance per state (for
	// metrics).
	TaskInstanceStateCounts(ctx context.Context) (map[dags.TaskState]int, error)

	// SchemaStatus reports the schema version against the binary's.
	SchemaStatus(ctx context.Context) (SchemaStatus, error)
	// Migrate upgrades the schema to the binary's version.
	Migrate(ctx context.Context) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's connections.
	Close() error

	// Datasets (data-aware scheduling): events of updated datasets and,
	// per DAG scheduled on datasets, the last event it consumed.

	// DatasetEventsCreate records dataset events in one transaction and
	// returns them with their ids.
	DatasetEventsCreate(ctx context.Context, p *DatasetEventsCreateParams) ([]*DatasetEvent, error)
	// DatasetEventList returns the events matching p, by id.
	DatasetEventList(ctx context.Context, p *DatasetEventListParams) ([]*DatasetEvent, error)
	// DatasetEventStats summarises the events matching p per URI, by URI;
	// a URI without such events is absent.
	DatasetEventStats(ctx context.Context, p *DatasetEventStatsParams) ([]*DatasetStat, error)
	// DatasetConsumerGet returns the id of the last event the DAG consumed
	// and whether it has a cursor at all.
	DatasetConsumerGet(ctx context.Context, dagID string) (lastEventID int64, found bool, err error)
	// DatasetConsumerAdvance moves a DAG's cursor from p.From to p.To
	// (compare-and-set: ErrStale when the cursor is not at p.From, or
	// exists already when p.From is 0 and the DAG had none).
	DatasetConsumerAdvance(ctx context.Context, p *DatasetConsumerAdvanceParams) error

	// SLA misses (task keyword sla, DAG keyword sla_miss_callback).

	// SLAMissRecord records an SLA miss once: created is false when the
	// task instance's miss was recorded before (by this or another
	// scheduler), so that its callback runs once.
	SLAMissRecord(ctx context.Context, p *SLAMissRecordParams) (created bool, err error)
	// SLAMissList returns SLA misses, latest deadline first.
	SLAMissList(ctx context.Context, p *SLAMissListParams) ([]*SLAMiss, error)

	// Sessions (logout): ids of web sessions ended before their expiry,
	// which the webserver refuses although their cookies are still signed.

	// SessionRevoke records that the session id is revoked until expires
	// (idempotent: revoking it again keeps the later expiry) and deletes
	// the revoked sessions whose expiry has passed. An empty id or a zero
	// expiry is an error wrapping ErrInvalid.
	SessionRevoke(ctx context.Context, id string, expires time.Time) error
	// SessionRevoked reports whether the session id was revoked (and not
	// yet purged after its expiry).
	SessionRevoked(ctx context.Context, id string) (bool, error)

	// DBClean prunes old finished runs with their task instances, logs and
	// XComs (or only the tables p names), as `airflow db clean`; one
	// transaction. A dry run only counts.
	DBClean(ctx context.Context, p *DBCleanParams) (*DBCleanResult, error)
	// DAGDelete deletes every record of a DAG, as `airflow dags delete`:
	// the DAG row, its runs with their task instances, logs, XComs and SLA
	// misses, and its dataset cursor, in one transaction. It returns an
	// error wrapping ErrNotFound when the store knows neither the DAG nor
	// any run of it. The DAG comes back at the next parse of its file.
	DAGDelete(ctx context.Context, dagID string) (*DAGDeleteResult, error)
	// Reset drops every table and creates the schema again, as `airflow
	// db reset`: all metadata is gone.
	Reset(ctx context.Context) error

	// Login throttling: failed logins per key, shared by every webserver.

	// LoginFailureAdd counts one failed login for each of p.Keys at p.At
	// (a key whose last failure is older than p.Window starts again at 1),
	// deletes the keys whose last failure is older than
	// LoginFailureRetention, and returns the new counts in p.Keys' order.
	LoginFailureAdd(ctx context.Context, p *LoginFailureAddParams) ([]LoginFailure, error)
	// LoginFailureList returns the counts of the given keys that have
	// failures recorded, in no particular order.
	LoginFailureList(ctx context.Context, keys []string) ([]LoginFailure, error)
	// LoginFailureReset forgets the failures of a key (after a successful
	// login).
	LoginFailureReset(ctx context.Context, key string) error

	// The audit log of user actions (Airflow's Log model).
	Auditor

	// The web UI's time views.

	// RunDates returns the id, logical date and state of the runs p
	// selects, newest first as RunList (the calendar).
	RunDates(ctx context.Context, p *RunDatesParams) ([]RunDate, error)
	// TaskSpans returns, for each task of each run p names, the first
	// start and last end of its task instances that started and ended,
	// by run and task id (the duration charts). A run or task without
	// such instances is absent.
	TaskSpans(ctx context.Context, p *TaskSpansParams) ([]TaskSpan, error)

	// The web UI's DAG list.

	// DAGTags returns the distinct tags of the DAGs DAGList would return
	// without p.Limit and p.Offset, sorted (the tag filter's choices).
	DAGTags(ctx context.Context, p *DAGListParams) ([]string, error)
	// RunCountsByDAG counts the runs of each DAG p names per state, in
	// one query whatever the number of DAGs (the DAG list's run
	// circles); a DAG without runs is absent.
	RunCountsByDAG(ctx context.Context, p *RunCountsByDAGParams) (map[string]map[dags.DagRunState]int, error)
}

// TimeOrNow returns Truncate(t), or the current time when t is zero.
func TimeOrNow(t time.Time) time.Time {
	if t.IsZero() {
		return Truncate(time.Now())
	}
	return Truncate(t)
}

// Auditor records and lists the audit log of user actions.
type Auditor interface {
	// AuditAdd records one user action and sets e.ID.
	AuditAdd(ctx context.Context, e *AuditEntry) error
	// AuditList returns audit entries newest first (by id).
	AuditList(ctx context.Context, p *AuditListParams) ([]*AuditEntry, error)
}
