package localrun

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// Options configure a run.
type Options struct {
	// Runner runs the tries; required.
	Runner *executor.TryRunner
	// Functions calls the DAG's Starlark functions.
	Functions   operators.FunctionRunner
	Variables   operators.Variables
	Connections operators.Connections
	// DagRuns lets tasks trigger and watch other DAGs' runs (trigger_dag):
	// a Triggered runs them in this process.
	DagRuns operators.DagRuns
	// LogDir receives one log file per try; empty discards task logs.
	LogDir string
	// Echo, when set, also receives every task log line (tasks test shows
	// the log on the terminal).
	Echo io.Writer
	// Masker, when set, hides the secrets it knows in task logs (and in
	// Echo), a line at a time; Variables and Connections add to it the
	// secrets the tasks read.
	Masker *secrets.Masker
	// Parallelism caps concurrent tries; zero means the DAG's max_active_tasks.
	Parallelism int
	// OnChange is called, from one goroutine and in order, for every state change.
	OnChange func(Event)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Event is one state change of a task instance.
type Event struct {
	// DAGID and RunID name the run of the task: the run Run drives, or a
	// run that a task of it triggered (see Triggered).
	DAGID  string
	RunID  string
	TaskID string
	// MapIndex is the task instance's map index; -1 when not mapped.
	MapIndex int
	// Expanded, when not zero, reports that the mapped task TaskID was
	// expanded into that many task instances (map indexes 0..Expanded-1);
	// From and To are then empty.
	Expanded  int
	TryNumber int
	From, To  dags.TaskState
	Time      time.Time
	// Err is why a try failed, for up_for_retry and failed.
	Err error
	// LogPath is the try's log file, when there is one.
	LogPath string
	// RescheduleAt is when an up_for_reschedule task runs its try again.
	RescheduleAt time.Time
	// Reschedules is how many times the try was rescheduled so far.
	Reschedules int
}

// TaskResult is the final state of one task instance.
type TaskResult struct {
	TaskID    string
	MapIndex  int
	State     dags.TaskState
	TryNumber int
	Start     time.Time
	End       time.Time
	Duration  time.Duration
	LogPath   string
	Err       string
	// RenderedMapIndex is the label the task's map_index_template gave
	// this mapped task instance; empty without one.
	RenderedMapIndex string
}

// Result is how the run ended.
type Result struct {
	DAGID       string
	RunID       string
	LogicalDate time.Time
	State       dags.DagRunState
	Start, End  time.Time
	// Tasks are in the DAG's topological order.
	Tasks []TaskResult
	// XCom returns the value a task pushed under key, for tests and reports.
	XCom func(taskID, key string) (any, bool)
	// XComs lists every XCom the run's tasks pushed, by task and key.
	XComs []XComEntry
	// DatasetEvents are the dataset updates of the run: one per outlet of
	// each task that ended in success, in the order they happened.
	DatasetEvents []DatasetEvent
}

// DatasetEvent is a dataset updated by a task of a local run.
type DatasetEvent struct {
	URI      string    `json:"uri"`
	TaskID   string    `json:"task_id"`
	MapIndex int       `json:"map_index"`
	Time     time.Time `json:"timestamp"`
	// Extra is what the task's code set with outlet_events (omitted when
	// nothing).
	Extra map[string]any `json:"extra,omitempty"`
}

// XComEntry is one XCom value a task pushed.
type XComEntry struct {
	TaskID   string
	MapIndex int
	Key      string
	Value    any
}

// taskRun is what the loop knows of one task instance beyond its state.
type taskRun struct {
	task      *dags.Task
	mapIndex  int
	rendered  string // the label of its map_index_template, when it has one
	order     int
	weight    int
	try       int
	start     time.Time
	end       time.Time
	err       error
	logPath   string
	fastEmpty bool
	// resume is set while the task waits in up_for_reschedule: its next
	// run continues the same try, from the same start.
	resume      bool
	reschedules int
	// datasets is the Datasets of its current try.
	datasets *localDatasets
}

type completion struct {
	tr      *taskRun
	outcome executor.Outcome
}

// tiKey names one task instance of the run.
type tiKey struct {
	taskID   string
	mapIndex int
}

// Run drives one run of d to its end and returns the final states. It
// returns an error only when the run could not be driven at all (ctx
// cancelled, log folder not writable); a failed run is a Result with
// State failed.
func Run(ctx context.Context, d *dags.DAG, run operators.RunInfo, opt Options) (*Result, error) {
	if opt.Runner == nil {
		return nil, errors.New("localrun: no TryRunner")
	}
	// Tasks whose start_date/end_date leave this run out have no task
	// instance in it, as in Airflow.
	r := newRunner(d.ForRun(run.LogicalDate, false), run, opt)
	return r.run(ctx)
}

type runner struct {
	dag  *dags.DAG
	info operators.RunInfo
	opt  Options
	tis  map[string]state.TI
	runs map[string]*taskRun
	// mapped holds the task instances of expanded mapped tasks, by map index.
	mapped map[string][]*taskRun
	xcom   *memXCom
	ready  readyQueue

	running int
	retries map[tiKey]*time.Timer
	wake    chan tiKey
	done    chan completion
	wg      sync.WaitGroup
	events  *runEvents
}

func newRunner(d *dags.DAG, info operators.RunInfo, opt Options) *runner {
	if opt.Parallelism <= 0 {
		opt.Parallelism = d.MaxActiveTasks
	}
	if opt.Parallelism <= 0 {
		opt.Parallelism = dags.DefaultMaxActiveTasks
	}
	if info.DAGID == "" {
		info.DAGID = d.ID
	}
	weights := d.PriorityWeights()
	r := &runner{
		dag:     d,
		info:    info,
		opt:     opt,
		tis:     make(map[string]state.TI, d.Len()),
		runs:    make(map[string]*taskRun, d.Len()),
		mapped:  map[string][]*taskRun{},
		xcom:    newMemXCom(),
		retries: map[tiKey]*time.Timer{},
		wake:    make(chan tiKey, d.Len()+1),
		done:    make(chan completion, opt.Parallelism),
		events:  &runEvents{dagID: d.ID, runID: info.RunID},
	}
	for i, t := range d.Tasks() {
		r.tis[t.ID] = state.TI{State: dags.TaskStateNone}
		r.runs[t.ID] = &taskRun{
			task:      t,
			mapIndex:  -1,
			order:     i,
			weight:    weights[t.ID],
			fastEmpty: t.Operator == dags.OperatorEmpty && t.Callbacks.IsZero() && len(t.Outlets) == 0,
		}
	}
	return r
}

func (r *runner) now() time.Time {
	if r.opt.Now != nil {
		return r.opt.Now()
	}
	return time.Now()
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	start := r.now()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer r.stopTimers()

	r.apply(state.Evaluate(r.dag, r.tis, r.now(), nil))
	r.dispatch(runCtx)
	// retries holds the timers of up_for_retry and up_for_reschedule
	// tasks alike: both are scheduled again when theirs fires.
	for r.running > 0 || r.ready.Len() > 0 || len(r.retries) > 0 {
		select {
		case c := <-r.done:
			r.running--
			r.finish(c)
		case k := <-r.wake:
			if _, ok := r.retries[k]; ok {
				delete(r.retries, k)
				r.apply(state.Evaluate(r.dag, r.tis, r.now(), []string{k.taskID}))
			}
		case <-ctx.Done():
			cancel()
			for r.running > 0 {
				c := <-r.done
				r.running--
				r.record(c)
			}
			r.wg.Wait()
			return r.result(start, dags.DagRunStateFailed), fmt.Errorf("run %s of %s interrupted: %w", r.info.RunID, r.dag.ID, ctx.Err())
		}
		r.dispatch(runCtx)
	}
	r.wg.Wait()
	final := state.RunState(r.dag, r.tis, r.now())
	if !final.Finished() {
		final = dags.DagRunStateFailed // nothing can run any more: a deadlock
	}
	res := r.result(start, final)
	r.dagCallback(ctx, final)
	return res, nil
}

// instance returns the task instance a change or completion is about.
func (r *runner) instance(taskID string, mapIndex int) *taskRun {
	if mapIndex >= 0 {
		if m := r.mapped[taskID]; mapIndex < len(m) {
			return m[mapIndex]
		}
		return nil
	}
	return r.runs[taskID]
}

// tiState returns the state of one task instance.
func (r *runner) tiState(tr *taskRun) state.TI {
	ti := r.tis[tr.task.ID]
	if tr.mapIndex >= 0 {
		return ti.Mapped[tr.mapIndex]
	}
	return ti
}

// setTI records the state of one task instance.
func (r *runner) setTI(tr *taskRun, ti state.TI) {
	if tr.mapIndex >= 0 {
		r.tis[tr.task.ID].Mapped[tr.mapIndex] = ti
		return
	}
	r.tis[tr.task.ID] = ti
}

// apply records state changes decided by runtime/state and queues the
// tasks that became scheduled.
func (r *runner) apply(changes []state.Change) {
	for len(changes) > 0 {
		var more []string
		for _, ch := range changes {
			tr := r.instance(ch.TaskID, ch.MapIndex)
			if tr == nil {
				continue
			}
			ti := r.tiState(tr)
			if ti.State != ch.From {
				continue // decided twice in one batch; the first decision stands
			}
			if ch.To == dags.TaskStateScheduled && tr.task.IsMapped() && tr.mapIndex < 0 {
				more = append(more, r.expand(tr)...)
				continue
			}
			if ch.To == dags.TaskStateScheduled && tr.fastEmpty {
				// Airflow never sends an empty task to a worker.
				now := r.now()
				tr.start, tr.end = now, now
				ti.State = dags.TaskStateSuccess
				r.setTI(tr, ti)
				r.emit(Event{TaskID: ch.TaskID, MapIndex: tr.mapIndex, TryNumber: tr.try, From: ch.From, To: dags.TaskStateSuccess, Time: now})
				more = append(more, tr.task.Downstream...)
				continue
			}
			ti.State = ch.To
			r.setTI(tr, ti)
			if ch.To.Finished() {
				tr.end = r.now()
				more = append(more, tr.task.Downstream...)
			}
			r.emit(Event{TaskID: ch.TaskID, MapIndex: tr.mapIndex, TryNumber: tr.try, From: ch.From, To: ch.To, Time: r.now()})
			if ch.To == dags.TaskStateScheduled {
				heap.Push(&r.ready, tr)
			}
		}
		changes = nil
		if len(more) > 0 {
			changes = state.Evaluate(r.dag, r.tis, r.now(), more)
		}
	}
}

// expand turns the task instance of a mapped task whose upstream tasks are
// done into one task instance per map index, as Airflow's scheduler does,
// and returns the tasks to evaluate next: the mapped task itself (its new
// task instances), or its downstream tasks when it expanded into nothing
// (skipped) or could not be expanded (failed).
func (r *runner) expand(tr *taskRun) []string {
	t := tr.task
	n, err := dags.MapLength(t, dags.ResolveWith(r.pull))
	now := r.now()
	if err != nil || n == 0 {
		to := dags.TaskStateSkipped
		if err != nil {
			to = dags.TaskStateFailed
			tr.err = err
		}
		tr.start, tr.end = now, now
		r.tis[t.ID] = state.TI{State: to}
		r.emit(Event{TaskID: t.ID, MapIndex: -1, From: dags.TaskStateNone, To: to, Time: now, Err: err})
		return t.Downstream
	}
	r.emit(Event{TaskID: t.ID, MapIndex: -1, Expanded: n, Time: now})
	m := make([]*taskRun, n)
	for i := range m {
		m[i] = &taskRun{task: t, mapIndex: i, order: tr.order, weight: tr.weight, fastEmpty: tr.fastEmpty}
	}
	r.mapped[t.ID] = m
	tis := make([]state.TI, n)
	for i := range tis {
		tis[i].State = dags.TaskStateNone
	}
	r.tis[t.ID] = state.TI{Mapped: tis}
	return []string{t.ID}
}

// pull reads an XCom of the run as a task would, a mapped task's values
// collected into a list.
func (r *runner) pull(taskID, key string) (any, bool, error) {
	if t := r.dag.Task(taskID); t != nil && t.IsMapped() {
		return r.xcom.mappedValues(taskID, key), true, nil
	}
	v, ok := r.xcom.get(taskID, key)
	return v, ok, nil
}

// dispatch starts tries while there is room.
func (r *runner) dispatch(ctx context.Context) {
	for r.running < r.opt.Parallelism && r.ready.Len() > 0 {
		tr := heap.Pop(&r.ready).(*taskRun)
		ti := r.tiState(tr)
		if ti.State != dags.TaskStateScheduled {
			continue
		}
		now := r.now()
		resume := tr.resume
		if resume {
			// Back from up_for_reschedule: the same try, its first start kept.
			tr.resume = false
		} else {
			tr.try++
			tr.start = now
			tr.reschedules = 0
		}
		tr.err = nil
		ti.State = dags.TaskStateRunning
		ti.TryNumber = tr.try
		r.setTI(tr, ti)
		r.xcom.clearTask(tr.task.ID, tr.mapIndex)
		logw, path, err := r.openLog(tr, resume)
		tr.logPath = path
		r.emit(Event{TaskID: tr.task.ID, MapIndex: tr.mapIndex, TryNumber: tr.try, From: dags.TaskStateScheduled, To: dags.TaskStateRunning, Time: now, LogPath: path,
			Reschedules: tr.reschedules})
		r.running++
		if err != nil {
			r.done <- completion{tr: tr, outcome: executor.Outcome{State: dags.TaskStateFailed, Err: err, Start: now, End: r.now()}}
			continue
		}
		tr.datasets = &localDatasets{events: r.events}
		try := &executor.Try{
			DAG:         r.dag,
			Task:        tr.task,
			Run:         r.info,
			MapIndex:    tr.mapIndex,
			TryNumber:   tr.try,
			Log:         logw,
			XCom:        taskXCom{store: r.xcom, taskID: tr.task.ID, mapIndex: tr.mapIndex},
			Variables:   r.opt.Variables,
			Connections: r.opt.Connections,
			Functions:   r.opt.Functions,
			DagRuns:     r.opt.DagRuns,
			Datasets:    tr.datasets,

			FirstStart:      tr.start,
			RescheduleCount: tr.reschedules,
		}
		r.wg.Add(1)
		go func(tr *taskRun) {
			defer r.wg.Done()
			out := r.opt.Runner.Run(ctx, try)
			if c, ok := logw.(io.Closer); ok {
				if err := c.Close(); err != nil && out.State == dags.TaskStateSuccess {
					// The task ran but its log is lost: say so as Airflow
					// fails a try whose log handler cannot write.
					out.State, out.Err = dags.TaskStateFailed, fmt.Errorf("task log: %w", err)
				}
			}
			r.done <- completion{tr: tr, outcome: out}
		}(tr)
	}
}

// record stores a try's outcome without scheduling anything further.
func (r *runner) record(c completion) (state.TI, *taskRun) {
	tr := c.tr
	ti := r.tiState(tr)
	from := ti.State
	ti.State = c.outcome.State
	tr.end = c.outcome.End
	if c.outcome.RenderedMapIndex != "" {
		tr.rendered = c.outcome.RenderedMapIndex
	}
	tr.err = c.outcome.Err
	switch ti.State {
	case dags.TaskStateUpForRetry:
		ti.NextRetryAt = c.outcome.End.Add(state.RetryDelay(tr.task, r.dag.ID, r.info.LogicalDate, tr.try))
	case dags.TaskStateUpForReschedule:
		ti.NextRetryAt = c.outcome.RescheduleAt
		tr.resume = true
		tr.reschedules++
	}
	if ti.State == dags.TaskStateSuccess {
		var extras *operators.OutletExtras
		if tr.datasets != nil {
			extras = &tr.datasets.extras
		}
		for _, uri := range tr.task.Outlets {
			r.events.add(DatasetEvent{URI: uri, TaskID: tr.task.ID, MapIndex: tr.mapIndex, Time: tr.end, Extra: extras.Get(uri)})
		}
	}
	r.setTI(tr, ti)
	r.emit(Event{TaskID: tr.task.ID, MapIndex: tr.mapIndex, TryNumber: tr.try, From: from, To: ti.State, Time: tr.end, Err: c.outcome.Err, LogPath: tr.logPath,
		RescheduleAt: c.outcome.RescheduleAt, Reschedules: tr.reschedules})
	return ti, tr
}

// finish records a try's outcome and evaluates what it unblocks.
func (r *runner) finish(c completion) {
	ti, tr := r.record(c)
	switch ti.State {
	case dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule:
		k := tiKey{tr.task.ID, tr.mapIndex}
		delay := time.Until(ti.NextRetryAt)
		if r.opt.Now != nil {
			delay = ti.NextRetryAt.Sub(r.now())
		}
		r.retries[k] = time.AfterFunc(max(delay, 0), func() { r.wake <- k })
		return
	case dags.TaskStateSuccess:
		if len(c.outcome.Skip) > 0 {
			r.apply(state.ApplySkip(r.dag, r.tis, c.outcome.Skip))
		}
	}
	if len(tr.task.Downstream) > 0 { // nil candidates would mean every task
		r.apply(state.Evaluate(r.dag, r.tis, r.now(), tr.task.Downstream))
	}
}

func (r *runner) stopTimers() {
	for id, t := range r.retries {
		t.Stop()
		delete(r.retries, id)
	}
}

func (r *runner) emit(e Event) {
	e.DAGID, e.RunID = r.dag.ID, r.info.RunID
	if r.opt.OnChange != nil {
		r.opt.OnChange(e)
	}
}

// openLog returns the try's log: LogDir/dag_id=D/run_id=R/task_id=T/attempt=N.log,
// the layout Airflow users know. The folder and file are created by the
// try's first write, off the run loop: a try that writes nothing leaves no
// file, so a run of quiet tasks costs the disk nothing (file creation was
// most of test-dag's time per task). A resumed try (back from
// up_for_reschedule) appends to its log.
func (r *runner) openLog(tr *taskRun, resume bool) (io.Writer, string, error) {
	if r.opt.LogDir == "" {
		if r.opt.Echo != nil {
			return r.masked(&lockedWriter{w: r.opt.Echo}), "", nil
		}
		return io.Discard, "", nil
	}
	key := store.TaskInstanceKey{DagID: r.dag.ID, RunID: r.info.RunID, TaskID: tr.task.ID, MapIndex: max(tr.mapIndex, store.NoMapIndex)}
	path := filepath.Join(r.opt.LogDir, filepath.FromSlash(tasklog.RelPath(key, tr.try)))
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resume {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND // a rescheduled try goes on in its log
	}
	f := &lazyFile{path: path, flags: flags}
	var w io.Writer = f
	if r.opt.Echo != nil {
		w = io.MultiWriter(r.opt.Echo, f)
	}
	return r.masked(&lockedWriter{w: w, c: f}), path, nil
}

// lazyFile is a log file created, with its folder, by its first write.
// Its writes are serialised by the lockedWriter in front of it.
type lazyFile struct {
	path  string
	flags int
	f     *os.File
	err   error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = l.open()
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

func (l *lazyFile) open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return nil, fmt.Errorf("create task log folder: %w", err)
	}
	f, err := os.OpenFile(l.path, l.flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create task log: %w", err)
	}
	return f, nil
}

// Close closes the file, if a write created it, and reports why it could
// not be created or written.
func (l *lazyFile) Close() error {
	if l.f == nil {
		return l.err
	}
	return errors.Join(l.err, l.f.Close())
}

// masked returns w behind the masker, when there is one.
func (r *runner) masked(w *lockedWriter) io.Writer {
	if r.opt.Masker == nil {
		return w
	}
	return &maskedLog{LineWriter: secrets.NewLineWriter(w, r.opt.Masker), c: w}
}

// maskedLog is a task log whose lines pass through the masker; Close
// writes an unterminated last line before it closes the log file.
type maskedLog struct {
	*secrets.LineWriter
	c *lockedWriter
}

func (m *maskedLog) Close() error {
	ferr := m.Flush()
	if err := m.c.Close(); err != nil {
		return err
	}
	return ferr
}

// lockedWriter serialises writes from an operator's concurrent readers
// and closes the log file, if any, once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c == nil {
		return nil
	}
	err := l.c.Close()
	l.c = nil
	return err
}

func (r *runner) result(start time.Time, final dags.DagRunState) *Result {
	res := &Result{
		DAGID:       r.dag.ID,
		RunID:       r.info.RunID,
		LogicalDate: r.info.LogicalDate,
		State:       final,
		Start:       start,
		End:         r.now(),
		XCom: func(taskID, key string) (any, bool) {
			v, ok, _ := r.pull(taskID, key)
			return v, ok
		},
		XComs:         r.xcom.entries(),
		DatasetEvents: r.events.all(),
	}
	for _, t := range r.dag.Tasks() {
		trs := []*taskRun{r.runs[t.ID]}
		if m, ok := r.mapped[t.ID]; ok {
			trs = m
		}
		for _, tr := range trs {
			tres := TaskResult{TaskID: t.ID, MapIndex: tr.mapIndex, State: r.tiState(tr).State, TryNumber: tr.try, Start: tr.start, End: tr.end, LogPath: tr.logPath,
				RenderedMapIndex: tr.rendered}
			if !tr.start.IsZero() && !tr.end.IsZero() {
				tres.Duration = tr.end.Sub(tr.start)
			}
			if tr.err != nil {
				tres.Err = tr.err.Error()
			}
			res.Tasks = append(res.Tasks, tres)
		}
	}
	return res
}

// dagCallback runs the DAG's on_success_callback or on_failure_callback
// (functions and notifiers) with the context of the last task that
// finished.
func (r *runner) dagCallback(ctx context.Context, final dags.DagRunState) {
	cbs, name := r.dag.Callbacks.OnSuccess, "on_success_callback"
	if final == dags.DagRunStateFailed {
		cbs, name = r.dag.Callbacks.OnFailure, "on_failure_callback"
	}
	if len(cbs) == 0 {
		return
	}
	var last *taskRun
	for _, tr := range r.runs {
		if last == nil || tr.end.After(last.end) {
			last = tr
		}
	}
	for _, m := range r.mapped {
		for _, tr := range m {
			if last == nil || tr.end.After(last.end) {
				last = tr
			}
		}
	}
	if last == nil {
		return
	}
	c := r.opt.Runner.NewCall(&executor.Try{DAG: r.dag, Task: last.task, Run: r.info, MapIndex: last.mapIndex, TryNumber: last.try,
		XCom: taskXCom{store: r.xcom, taskID: last.task.ID, mapIndex: last.mapIndex}, Variables: r.opt.Variables, Connections: r.opt.Connections, Functions: r.opt.Functions,
		DagRuns: r.opt.DagRuns})
	c.State = dags.TaskState(final)
	if final == dags.DagRunStateFailed {
		c.Exception = "task_failure"
	}
	r.opt.Runner.RunCallbacks(ctx, c, "DAG "+name, cbs)
}

// readyQueue orders scheduled tasks by priority weight, then topological order.
type readyQueue []*taskRun

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(i, j int) bool {
	if q[i].weight != q[j].weight {
		return q[i].weight > q[j].weight
	}
	if q[i].order != q[j].order {
		return q[i].order < q[j].order
	}
	return q[i].mapIndex < q[j].mapIndex
}
func (q readyQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(*taskRun)) }
func (q *readyQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
