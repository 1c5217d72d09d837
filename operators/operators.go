package operators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// Operator executes one try of a task instance.
//
// Execute returns a Result when the try ends normally (success, or skipped
// when the operator decides so). It returns an error when the try failed;
// wrap the error with Fail to fail the task without using its retries.
// Execute must return promptly once ctx is done (execution_timeout, a
// draining worker).
type Operator interface {
	Execute(ctx context.Context, c *Call) (*Result, error)
}

// OperatorFunc adapts a function to Operator.
type OperatorFunc func(ctx context.Context, c *Call) (*Result, error)

// Execute calls f.
func (f OperatorFunc) Execute(ctx context.Context, c *Call) (*Result, error) { return f(ctx, c) }

// RunInfo describes the DAG run a task instance belongs to.
type RunInfo struct {
	DAGID             string
	RunID             string
	RunType           dags.RunType
	LogicalDate       time.Time
	DataIntervalStart time.Time
	DataIntervalEnd   time.Time
	Conf              map[string]any
}

// XCom reads and writes the cross-task values of the current run.
type XCom interface {
	// Pull returns the value task taskID pushed under key in this run
	// (map index -1), and whether there was one.
	Pull(ctx context.Context, taskID, key string) (any, bool, error)
	// Push stores value under key for the current task instance.
	Push(ctx context.Context, key string, value any) error
}

// XComLatest is implemented by XCom sources that can pull the XCom a task
// pushed last in this run (map index -1), whatever its key: Airflow's
// ti.xcom_pull(key=None).
type XComLatest interface {
	PullLatest(ctx context.Context, taskID string) (value any, found bool, err error)
}

// Variables reads Starflow variables.
type Variables interface {
	// Get returns the variable's value and whether it exists.
	Get(ctx context.Context, name string) (string, bool, error)
}

// Connection is a named connection to an external system, as in Airflow.
type Connection struct {
	ID       string         `json:"conn_id"`
	Type     string         `json:"conn_type"`
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	Schema   string         `json:"schema"`
	Login    string         `json:"login"`
	Password string         `json:"password"`
	Extra    map[string]any `json:"extra"`
}

// Connections reads connections.
type Connections interface {
	Get(ctx context.Context, connID string) (*Connection, error)
}

// Renderer renders a template string (Jinja syntax) with the task
// instance's context.
type Renderer interface {
	Render(ctx context.Context, template string) (string, error)
}

// FunctionRunner calls a Starlark function of the DAG's source by its key
// (dags.Task.Function or a callback key). args may hold dags.XComRef values,
// which the runner replaces with the pulled XCom value. The result is a
// plain Go value (nil, bool, int64, float64, string, []any, map[string]any).
type FunctionRunner interface {
	CallFunction(ctx context.Context, c *Call, key string, args []any, kwargs map[string]any) (any, error)
}

// DatasetEvent is one recorded update of a dataset, as task code reads it
// (inlet_events, triggering_asset_events).
type DatasetEvent struct {
	ID             int64          `json:"id"`
	URI            string         `json:"uri"`
	Timestamp      time.Time      `json:"timestamp"`
	SourceDagID    string         `json:"source_dag_id"`
	SourceRunID    string         `json:"source_run_id"`
	SourceTaskID   string         `json:"source_task_id"`
	SourceMapIndex int            `json:"source_map_index"`
	Extra          map[string]any `json:"extra"`
}

// MaxInletEvents bounds the events Datasets.Events returns for one
// dataset: the newest ones.
const MaxInletEvents = 1000

// Datasets is what task code reaches of datasets: the events of its
// inlets, the events that triggered its run, and the extra of the events
// its outlets get when the try succeeds (Airflow's inlet_events,
// triggering_asset_events and outlet_events).
type Datasets interface {
	// Events returns the newest MaxInletEvents events of uri, oldest
	// first.
	Events(ctx context.Context, uri string) ([]DatasetEvent, error)
	// Triggering returns, for a dataset-triggered run, the events it
	// consumed by URI, oldest first; nothing for other runs.
	Triggering(ctx context.Context) (map[string][]DatasetEvent, error)
	// SetExtra sets the extra of the event outlet uri gets when the try
	// succeeds.
	SetExtra(ctx context.Context, uri string, extra map[string]any) error
}

// OutletExtras collects the extras task code sets for a try's outlet
// events (Datasets.SetExtra); safe for concurrent use. The zero value is
// ready.
type OutletExtras struct {
	mu sync.Mutex
	m  map[string]map[string]any
}

// Set records the extra of outlet uri.
func (o *OutletExtras) Set(uri string, extra map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil {
		o.m = map[string]map[string]any{}
	}
	o.m[uri] = extra
}

// Get returns the extra recorded for uri (nil when none).
func (o *OutletExtras) Get(uri string) map[string]any {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.m[uri]
}

// Call is everything an operator needs to run one try of a task instance.
type Call struct {
	DAG       *dags.DAG
	Task      *dags.Task
	Run       RunInfo
	MapIndex  int
	TryNumber int
	// Params are the DAG's params, overlaid with the task's and then with
	// the run's conf, as Airflow does by default.
	Params map[string]any

	// Log receives the task's log lines; it is safe for concurrent use.
	Log         io.Writer
	XCom        XCom
	Variables   Variables
	Connections Connections
	Renderer    Renderer
	Functions   FunctionRunner
	// DagRuns reads and starts runs of other DAGs (trigger_dag,
	// external_task_sensor); nil where no store is at hand.
	DagRuns DagRuns
	// Datasets reads dataset events and takes the extras of the try's
	// outlet events; nil where there are none.
	Datasets Datasets

	// FirstStart is when the task instance's current try first started:
	// for a sensor in reschedule mode it is the start of its first poke,
	// kept across reschedules (the zero time means "now").
	FirstStart time.Time
	// RescheduleCount is how many times this try was rescheduled so far.
	RescheduleCount int
	// Mapped names the arguments whose values a mapped task instance got
	// from XComs through expand (function keyword arguments for task(),
	// operator arguments otherwise). As in Airflow, they are not
	// templated; literal mapped values are.
	Mapped map[string]bool
	// GroupArgs, for a task instance of a task in a mapped task group, are
	// the group's argument values of its map index: ResolveXComs replaces
	// a dags.XComRef with GroupArg by them, after rendering, as Airflow
	// resolves a MappedArgument without templating it.
	GroupArgs map[string]any

	// State, set when the call runs callbacks and notifiers, is the state
	// they are about: the try's final state for a task callback, the run's
	// for a DAG callback, the task instance's current one for an SLA miss.
	// Empty while the operator runs ("running" in templates).
	State dags.TaskState
	// Exception is why the try failed, for failure and retry callbacks
	// (the `exception` of the template context); empty otherwise.
	Exception string
}

// TriggerParams describes a run of another DAG to start.
type TriggerParams struct {
	DAGID string
	// RunID defaults to "manual__<logical date>".
	RunID string
	// LogicalDate defaults to now.
	LogicalDate time.Time
	Conf        map[string]any
}

// DagRuns is what operators may do with other DAGs' runs.
type DagRuns interface {
	// Trigger creates a queued manual run of another DAG and returns its
	// run id. A run that exists already is an error wrapping ErrRunExists.
	Trigger(ctx context.Context, p TriggerParams) (runID string, err error)
	// RunState returns the state of a run (queued, running, success or
	// failed); an unknown run is an error wrapping ErrNoRun.
	RunState(ctx context.Context, dagID, runID string) (dags.DagRunState, error)
	// Reset clears every task instance of an existing run so that it runs
	// again, its run back to queued (trigger_dag's reset_dag_run). An
	// unknown run is an error wrapping ErrNoRun.
	Reset(ctx context.Context, dagID, runID string) error
	// TaskState returns the state of task taskID (map index -1) in the run
	// of dagID with the given logical date; found is false when there is
	// no such run or task instance. An empty taskID asks for the run's
	// own state, as a task state (success, failed, running, queued).
	TaskState(ctx context.Context, dagID, taskID string, logicalDate time.Time) (state dags.TaskState, found bool, err error)
	// GroupStates returns the states of the task instances of task group
	// groupID (the tasks whose id starts with groupID + ".") in the run of
	// dagID with the given logical date; none when there is no such run
	// or group.
	GroupStates(ctx context.Context, dagID, groupID string, logicalDate time.Time) ([]dags.TaskState, error)
}

// PrevSuccess is the dates of a DAG's previous successful run: what
// Airflow's prev_data_interval_start_success, prev_data_interval_end_success,
// prev_start_date_success and prev_end_date_success read.
type PrevSuccess struct {
	DataIntervalStart, DataIntervalEnd time.Time
	StartDate, EndDate                 time.Time
}

// PrevSuccessRuns is implemented by DagRuns that can find a DAG's previous
// successful run.
type PrevSuccessRuns interface {
	// PrevSuccess returns the latest successful run of dagID whose logical
	// date is before the given one, as Airflow's
	// get_previous_dagrun_success; nil when there is none.
	PrevSuccess(ctx context.Context, dagID string, before time.Time) (*PrevSuccess, error)
}

// PrevSuccess returns the previous successful run of the call's DAG, nil
// when there is none, when the run has no logical date, or when c.DagRuns
// cannot tell (test-dag: one run, no history).
func (c *Call) PrevSuccess(ctx context.Context) (*PrevSuccess, error) {
	r, ok := c.DagRuns.(PrevSuccessRuns)
	if !ok || c.Run.LogicalDate.IsZero() {
		return nil, nil
	}
	dagID := c.Run.DAGID
	if dagID == "" && c.DAG != nil {
		dagID = c.DAG.ID
	}
	return r.PrevSuccess(ctx, dagID, c.Run.LogicalDate)
}

// Errors of DagRuns, Connections and Variables.
var (
	// ErrNotFound is wrapped by Connections.Get for a connection that does
	// not exist (store.ErrNotFound is this error).
	ErrNotFound  = errors.New("not found")
	ErrRunExists = errors.New("run exists already")
	ErrNoRun     = errors.New("no such run")
)

// Logf writes one formatted line to the task log.
func (c *Call) Logf(format string, args ...any) {
	if c.Log == nil {
		return
	}
	fmt.Fprintf(c.Log, format+"\n", args...)
}

// RenderArg renders the string value of argument name, unless the
// argument is mapped over an XCom (Call.Mapped), whose values are used as
// they are.
func (c *Call) RenderArg(ctx context.Context, name, s string) (string, error) {
	if c.Mapped[name] {
		return s, nil
	}
	if content, ok, err := c.TemplateFile(ctx, name); err != nil {
		return "", err
	} else if ok {
		s = content
	}
	return c.Render(ctx, s)
}

// Render renders s with the call's renderer; without one s is returned as is.
func (c *Call) Render(ctx context.Context, s string) (string, error) {
	if c.Renderer == nil {
		return s, nil
	}
	return c.Renderer.Render(ctx, s)
}

// Result is how a try ended when it did not fail.
type Result struct {
	// State is success or skipped; empty means success.
	State dags.TaskState
	// ReturnValue, when not nil, is pushed as the "return_value" XCom.
	ReturnValue any
	// Skip lists downstream task ids to mark skipped (branch and
	// short-circuit); tasks already running or finished are left alone.
	Skip []string
	// Message says why the try was skipped or what it decided, for the log.
	Message string
	// RescheduleAt, when not zero, ends the try as up_for_reschedule: the
	// worker slot is freed and the scheduler runs the same try again at
	// that time (a sensor in reschedule mode). State must be empty.
	RescheduleAt time.Time
}

// Reschedule is a Result that ends the try as up_for_reschedule until at.
func Reschedule(at time.Time, why string) *Result {
	return &Result{RescheduleAt: at, Message: why}
}

// Success is a Result for a normal end with an optional return value.
func Success(value any) *Result { return &Result{State: dags.TaskStateSuccess, ReturnValue: value} }

// Skipped is a Result that marks the task itself skipped.
func Skipped(why string) *Result { return &Result{State: dags.TaskStateSkipped, Message: why} }

// failError marks an error as final: the task fails without retrying.
type failError struct{ err error }

func (e *failError) Error() string { return e.err.Error() }
func (e *failError) Unwrap() error { return e.err }

// Fail wraps err so that the task fails at once, whatever retries it has
// left (Airflow's AirflowFailException).
func Fail(err error) error {
	if err == nil {
		return nil
	}
	return &failError{err: err}
}

// IsFinal reports whether err was wrapped with Fail.
func IsFinal(err error) bool {
	var f *failError
	return errors.As(err, &f)
}

// Registry maps operator kinds to operators. It is a value built by the
// program, not a global.
type Registry struct {
	ops map[string]Operator
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{ops: map[string]Operator{}} }

// Register adds op under kind, replacing any earlier one.
func (r *Registry) Register(kind string, op Operator) { r.ops[kind] = op }

// Lookup returns the operator for kind.
func (r *Registry) Lookup(kind string) (Operator, error) {
	op, ok := r.ops[kind]
	if !ok {
		return nil, fmt.Errorf("no operator registered for kind %q (known: %v)", kind, r.Kinds())
	}
	return op, nil
}

// Specs returns the specs of the registered operators that implement
// Specified, sorted by kind; each spec's Kind is the kind it is
// registered under. The DAG loader makes one builtin of each.
func (r *Registry) Specs() []Spec {
	var out []Spec
	for _, k := range r.Kinds() {
		if s, ok := r.ops[k].(Specified); ok {
			spec := s.Spec()
			spec.Kind = k
			out = append(out, spec)
		}
	}
	return out
}

// Kinds returns the registered kinds, sorted.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.ops))
	for k := range r.ops {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TemplateFile returns the contents of the template file the task's
// parameter name names (Spec.TemplateExt), from the call's DAG version,
// and whether it names one.
func (c *Call) TemplateFile(ctx context.Context, name string) (string, bool, error) {
	if c.Task == nil || c.Mapped[name] {
		return "", false, nil
	}
	files, _ := c.Task.Config[TemplateFilesKey].(map[string]any)
	p, ok := files[name].(string)
	if !ok {
		return "", false, nil
	}
	sf, ok := c.Functions.(SourceFiles)
	if !ok {
		return "", false, Fail(fmt.Errorf("template file %s: this runner gives no access to the DAG's source files", p))
	}
	sources, err := sf.SourceFiles(ctx, c)
	if err != nil {
		return "", false, fmt.Errorf("template file %s: the DAG's source files: %w", p, err)
	}
	content, ok := sources[p]
	if !ok {
		return "", false, Fail(fmt.Errorf("template file %s is not part of this DAG version", p))
	}
	return content, true, nil
}
