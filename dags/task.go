package dags

import "time"

// Operator kinds built into Starflow. Operators of other packages register
// their own kinds; the model treats the kind as an opaque string except for
// the few semantics it checks (branch targets).
const (
	OperatorBash         = "bash"
	OperatorTask         = "task"
	OperatorBranch       = "branch"
	OperatorShortCircuit = "short_circuit"
	OperatorEmpty        = "empty"
	// OperatorExternalTaskMarker is Airflow's ExternalTaskMarker: a clear
	// of it with its downstream goes on into another DAG's run.
	OperatorExternalTaskMarker = "external_task_marker"
)

// Defaults for task settings, as in Airflow.
const (
	DefaultRetryDelay     = 5 * time.Minute
	DefaultPool           = "default_pool"
	DefaultQueue          = "default"
	DefaultPriorityWeight = 1
	// DefaultOwner is a task's owner when none is given (Airflow's
	// [operators] default_owner).
	DefaultOwner = "airflow"
	// MaxRetryDelayCap is the hard upper bound of any retry delay (one day).
	MaxRetryDelayCap = 24 * time.Hour
)

// Callback is one thing to do on a state change: call a Starlark
// function (Function, its function key; see Task.Function) or send a
// notification through a built-in notifier (Notifier). Exactly one is set.
type Callback struct {
	Function string    `json:"function,omitempty"`
	Notifier *Notifier `json:"notifier,omitempty"`
}

// Notifier kinds.
const (
	NotifierWebhook = "webhook"
	NotifierEmail   = "email"
)

// Default texts of the notifiers: templates rendered with the task
// context of the callback.
const (
	DefaultNotifierText    = "Task {{ ti.task_id }} of DAG {{ ti.dag_id }} (run {{ run_id }}, try {{ ti.try_number }}) is {{ ti.state }}{% if exception %}: {{ exception }}{% endif %}"
	DefaultNotifierSubject = "Starflow: {{ ti.dag_id }}.{{ ti.task_id }} is {{ ti.state }}"
	DefaultNotifierHTML    = "<p>Task <b>{{ ti.task_id }}</b> of DAG <b>{{ ti.dag_id }}</b> (run {{ run_id }}, try {{ ti.try_number }}) is <b>{{ ti.state }}</b>.</p>{% if exception %}<pre>{{ exception | escape }}</pre>{% endif %}"
)

// Notifier is a built-in notifier, Airflow's notifier classes
// (SlackWebhookNotifier, SmtpNotifier) as data: its kind, the connection
// it sends through, and its own arguments as plain values (strings in
// them are templates rendered with the task context when it sends).
type Notifier struct {
	Kind   string         `json:"kind"`
	ConnID string         `json:"conn_id"`
	Args   map[string]any `json:"args,omitempty"`
}

// Callbacks lists what to do on each state change, in order. A DAG file
// may pass one function, one notifier or a list of them, as Airflow
// accepts a callable or a list; a single function keeps the function key
// it always had. OnSLAMiss is only set on DAGs (sla_miss_callback).
type Callbacks struct {
	OnSuccess []Callback `json:"on_success_callback,omitempty"`
	OnFailure []Callback `json:"on_failure_callback,omitempty"`
	OnRetry   []Callback `json:"on_retry_callback,omitempty"`
	OnSLAMiss []Callback `json:"sla_miss_callback,omitempty"`
	// OnExecute runs right before the operator executes; OnSkipped when
	// the operator itself skipped the task (not for trigger-rule or
	// branch skips), as Airflow's on_execute_callback and
	// on_skipped_callback. Only tasks have them.
	OnExecute []Callback `json:"on_execute_callback,omitempty"`
	OnSkipped []Callback `json:"on_skipped_callback,omitempty"`
}

// IsZero reports whether there is no callback at all.
func (c Callbacks) IsZero() bool {
	return len(c.OnSuccess) == 0 && len(c.OnFailure) == 0 && len(c.OnRetry) == 0 && len(c.OnSLAMiss) == 0 &&
		len(c.OnExecute) == 0 && len(c.OnSkipped) == 0
}

// XComRef is an argument that is filled at run time with an XCom value of
// another task, as `t.output` is in a DAG file.
type XComRef struct {
	TaskID string `json:"task_id"`
	Key    string `json:"key"`
	// MapFns, when set, are the keys of the Starlark functions applied,
	// in order, to each item before a mapped task gets it
	// (`t.output.map(f).map(g)`); only mapped arguments may carry them.
	MapFns []string `json:"map_fns,omitempty"`
	// GroupArg, when set, makes the reference stand for the argument of
	// that name of the mapped task group holding the task (Airflow's
	// MappedArgument): a task instance gets the group's value at its own
	// map index. TaskID and Key are then empty.
	GroupArg string `json:"group_arg,omitempty"`
	// Group is the id of that mapped task group, with GroupArg.
	Group string `json:"group,omitempty"`
}

// Task is one node of a DAG: an operator kind, its configuration and the
// scheduling settings every task has.
type Task struct {
	// ID is the task id, prefixed with its group ids ("extract.load").
	ID string
	// DisplayName is the name the UI, API and CLI show instead of the id
	// (Airflow's task_display_name); empty means the id.
	DisplayName string
	// Operator is the operator kind ("bash", "task", "branch", ...).
	Operator string
	// Config holds the operator's own arguments as plain values: string,
	// int64, float64, bool, nil, []any, map[string]any and XComRef, and
	// time.Duration for the duration parameters of an operators.Spec.
	Config map[string]any
	// Function is the key of the Starlark function the operator calls
	// ("" for operators that call none). The loader that built the DAG
	// resolves keys to functions at run time.
	Function string
	// Group is the id of the innermost task group holding the task, or "".
	Group string

	TriggerRule             TriggerRule
	Retries                 int
	RetryDelay              time.Duration
	RetryDelaySet           bool // retry_delay was given (directly or by default_args)
	RetryExponentialBackoff float64
	MaxRetryDelay           time.Duration
	ExecutionTimeout        time.Duration
	Pool                    string
	PoolSlots               int
	PriorityWeight          int
	WeightRule              WeightRule
	Queue                   string
	DependsOnPast           bool
	Params                  map[string]any
	// ParamSpecs are the task's params declared with Param(...): their
	// schema, checked with the DAG's by CheckTaskParams when a try starts.
	ParamSpecs map[string]*ParamSpec
	DocMD      string
	// Doc is the task's plain-text documentation (Airflow's doc).
	Doc       string
	Callbacks Callbacks
	// Owner is the task's owner, shown in the UI ("airflow" by default).
	Owner string
	// Email lists the addresses that get a mail when the task fails
	// (EmailOnFailure) or goes up for retry (EmailOnRetry); both flags
	// default to true, as in Airflow.
	Email          []string
	EmailOnFailure bool
	EmailOnRetry   bool
	// DoXComPush false keeps the operator's return value out of XCom.
	DoXComPush bool
	// MultipleOutputs pushes each key of a dict return value as its own
	// XCom, besides the whole dict under return_value.
	MultipleOutputs bool
	// WaitForDownstream makes the task wait, besides its depends_on_past
	// (which it implies), until the immediate downstream tasks of its
	// previous run succeeded or were skipped.
	WaitForDownstream bool
	// MapIndexTemplate, for a mapped task, is a template rendered after
	// each mapped try into the label shown for its map index.
	MapIndexTemplate string
	// StartDate and EndDate, when set, limit the runs the task is part of:
	// a run whose logical date is before StartDate or after EndDate gets
	// no task instance of it (backfills excepted), as in Airflow.
	StartDate time.Time
	EndDate   time.Time
	// Outlets are the URIs of the datasets the task updates: each gets an
	// event when a try of the task succeeds.
	Outlets []string
	// Inlets are the URIs of the datasets the task reads: its functions
	// reach their events through inlet_events, as in Airflow.
	Inlets []string
	// SLA is how long after its run's data interval ends the task should
	// have succeeded (scheduled runs only); zero means no SLA.
	SLA time.Duration

	// Expand, when not empty, makes the task mapped: it runs once per
	// combination of these arguments' items (see MapValues).
	Expand []MapArg
	// MapGroup, when set, is the mapped task group holding the task: the
	// task is mapped over the group's arguments, as every task of the
	// group is (Airflow's MappedTaskGroup).
	MapGroup *MappedGroup
	// MaxActiveTIsPerDag caps this task's queued and running task
	// instances across all runs of the DAG; zero means no cap.
	MaxActiveTIsPerDag int
	// MaxActiveTIsPerDagrun caps them within one run; zero means no cap.
	MaxActiveTIsPerDagrun int

	// IsSetup and IsTeardown mark setup and teardown tasks (as_setup(),
	// as_teardown()); a task is never both. A teardown's trigger rule is
	// TriggerAllDoneSetupSuccess.
	IsSetup, IsTeardown bool
	// OnFailureFailDagrun makes a teardown count for its run's final state
	// as any other task does; other teardowns are ignored there.
	OnFailureFailDagrun bool

	// Upstream and Downstream are the sorted ids of the direct neighbours.
	Upstream   []string
	Downstream []string

	// Pos is where the task was created.
	Pos Pos
}

// NewTask returns a task with Airflow's defaults for every setting.
func NewTask(id, operator string, pos Pos) *Task {
	return &Task{
		ID:             id,
		Operator:       operator,
		Config:         map[string]any{},
		TriggerRule:    TriggerAllSuccess,
		RetryDelay:     DefaultRetryDelay,
		Pool:           DefaultPool,
		PoolSlots:      1,
		PriorityWeight: DefaultPriorityWeight,
		WeightRule:     WeightDownstream,
		Queue:          DefaultQueue,
		Owner:          DefaultOwner,
		EmailOnFailure: true,
		EmailOnRetry:   true,
		DoXComPush:     true,
		Pos:            pos,
	}
}

// String returns the task id.
func (t *Task) String() string { return t.ID }

// Label returns the task's display name, or its id when it has none (as
// Airflow's task_display_name property falls back to task_id).
func (t *Task) Label() string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.ID
}
