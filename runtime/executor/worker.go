package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/state"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// Worker defaults, used when the matching field is zero.
const (
	DefaultConcurrency       = 16
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultReclaimIdle       = 5 * time.Minute
	DefaultDrainGrace        = 30 * time.Second
)

const (
	// receiveBlock bounds a Receive so that shutdown is prompt.
	receiveBlock = time.Second
	// finalWriteTimeout is how long, once tries are stopped, the worker
	// keeps trying to record their outcomes.
	finalWriteTimeout = 30 * time.Second
	// abandonAfter is how long Run waits, after giving up on the store,
	// for operators that ignore their cancelled context.
	abandonAfter = 5 * time.Second
)

// storeBackoff paces retries of store and queue calls.
var storeBackoff = store.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// Causes of a cancelled try.
var (
	errShutdown    = errors.New("interrupted by worker shutdown")
	errTaskChanged = errors.New("task instance changed by someone else (cleared or marked)")
)

// DAGSource gives the DAG and the function runner of a stored DAG version
// (parsed once per hash; implemented by starlark/call.Versions).
type DAGSource interface {
	DAG(ctx context.Context, dagID, sourceHash string) (*dags.DAG, error)
	Functions(ctx context.Context, sourceHash string) (operators.FunctionRunner, error)
}

// Worker takes task-instance tries off the queue and runs them, recording
// every state change in the store. Before running a delivery it must win
// the compare-and-set queued → running of that try; a delivery that loses
// (a duplicate, or a task cleared or marked meanwhile) is acknowledged and
// dropped. Set the fields, then call Run; a Worker must not be copied.
type Worker struct {
	Store  store.Store
	Queue  queue.Queue
	DAGs   DAGSource
	Runner *TryRunner
	// Notifier, when set, receives a queue.EventTaskFinished after each
	// recorded try.
	Notifier queue.Notifier
	// AfterTry, when set, is called with the task instance after a try's
	// outcome is recorded and before its delivery is acknowledged: the
	// scheduler's mini-scheduler, which decides what follows that task
	// instance. It logs its own errors.
	AfterTry func(ctx context.Context, key store.TaskInstanceKey)
	// DagRuns, when set, lets operators read and start other DAGs' runs
	// (trigger_dag, external_task_sensor): the scheduler's DagRuns.
	DagRuns operators.DagRuns

	// Queues are the named queues served (queue.DefaultQueue when empty).
	Queues []string
	// Concurrency is the most tries run at once (DefaultConcurrency when 0).
	Concurrency int
	// Hostname is recorded on the tries run (os.Hostname when empty).
	Hostname string
	// Consumer names this worker to the queue (hostname:pid when empty).
	Consumer string

	// HeartbeatInterval paces the heartbeats of running tries and the
	// extension of their deliveries (DefaultHeartbeatInterval when 0).
	HeartbeatInterval time.Duration
	// ReclaimIdle is the idle time after which the deliveries of a dead
	// consumer are taken over (DefaultReclaimIdle when 0); it must be at
	// least three heartbeat intervals.
	ReclaimIdle time.Duration
	// DrainGrace is how long running tries may finish after Run's context
	// ends before they are cancelled (DefaultDrainGrace when 0).
	DrainGrace time.Duration

	// Masker, when set, hides secrets in task logs; the worker adds the
	// secret variables and connection passwords tasks read to it.
	Masker *secrets.Masker
	// Logs is the log folder task logs go to, indexed in the store; nil
	// discards them (tests and benchmarks that do not read logs).
	Logs   *tasklog.Folder
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	running map[string]store.TaskInstanceKey // by heldID
}

// Running returns the task instances whose tries the worker runs now,
// sorted.
func (w *Worker) Running() []store.TaskInstanceKey {
	w.mu.Lock()
	out := make([]store.TaskInstanceKey, 0, len(w.running))
	for _, k := range w.running {
		out = append(out, k)
	}
	w.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.DagID != b.DagID {
			return a.DagID < b.DagID
		}
		if a.RunID != b.RunID {
			return a.RunID < b.RunID
		}
		if a.TaskID != b.TaskID {
			return a.TaskID < b.TaskID
		}
		return a.MapIndex < b.MapIndex
	})
	return out
}

func (w *Worker) setRunning(id string, k *store.TaskInstanceKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if k == nil {
		delete(w.running, id)
		return
	}
	if w.running == nil {
		w.running = map[string]store.TaskInstanceKey{}
	}
	w.running[id] = *k
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// loop is the state of one call of Run.
type loop struct {
	w           *Worker
	ends        *store.EndBatcher // group commit of the tries' ends
	log         *slog.Logger
	consumer    string
	hostname    string
	pid         int
	concurrency int
	heartbeat   time.Duration
	reclaimIdle time.Duration
	grace       time.Duration

	// tries is the parent of every try's context; it is cancelled with
	// errShutdown when the drain grace runs out.
	tries       context.Context
	cancelTries context.CancelCauseFunc
	// stores bounds store and queue writes; it ends only once Run has
	// given up recording (finalWriteTimeout after the tries were stopped).
	stores       context.Context
	cancelStores context.CancelFunc

	slots      chan struct{} // one token per delivery being handled
	released   chan struct{}
	registered chan struct{} // closed when registerLoop returns
	runs       *runCache
	started    time.Time
	wg         sync.WaitGroup

	mu   sync.Mutex
	held map[string]queue.Delivery // deliveries being handled, by heldID

	// storeDown is set when a store call fails for a reason retrying may
	// fix (the database is unreachable); serve then takes no new work
	// until the store answers a ping.
	storeDown atomic.Bool
}

// Run serves the queues until ctx ends, then stops receiving, lets the
// running tries finish for up to DrainGrace, cancels the rest (recorded
// up_for_retry without using up a retry) and returns once every try is
// recorded. It returns nil after a normal shutdown, and an error for a
// Worker missing its Store, Queue, DAGs or Runner, or a closed queue.
func (w *Worker) Run(ctx context.Context) error {
	l, err := w.newLoop(ctx)
	if err != nil {
		return err
	}
	defer l.cancelStores()
	l.log.Info("worker started", "queues", queue.QueueNames(w.Queues), "concurrency", l.concurrency)

	extendDone := make(chan struct{})
	extendCtx, stopExtend := context.WithCancel(l.stores)
	go func() {
		defer close(extendDone)
		l.extendLoop(extendCtx)
	}()
	go func() {
		defer close(l.registered)
		l.registerLoop(extendCtx)
	}()

	runErr := l.serve(ctx)

	l.log.Info("worker draining", "running", len(l.slots), "grace", l.grace)
	idle := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(idle)
	}()
	giveUp := time.AfterFunc(l.grace+finalWriteTimeout, l.cancelStores)
	defer giveUp.Stop()
	grace := time.NewTimer(l.grace)
	defer grace.Stop()
	select {
	case <-idle:
	case <-grace.C:
		l.log.Warn("drain grace over, interrupting running tries", "running", len(l.slots))
		l.cancelTries(errShutdown)
		select {
		case <-idle:
		case <-l.stores.Done():
			select {
			case <-idle:
			case <-time.After(abandonAfter):
				runErr = errors.Join(runErr, fmt.Errorf("worker: %d tries did not stop after cancellation; their task instances stay running until the zombie check", len(l.slots)))
			}
		}
	}
	l.cancelTries(errShutdown)
	stopExtend()
	<-extendDone
	<-l.registered
	l.unregister()
	l.log.Info("worker stopped")
	return runErr
}

func (w *Worker) newLoop(ctx context.Context) (*loop, error) {
	switch {
	case w.Store == nil:
		return nil, errors.New("worker: no Store")
	case w.Queue == nil:
		return nil, errors.New("worker: no Queue")
	case w.DAGs == nil:
		return nil, errors.New("worker: no DAGs source")
	case w.Runner == nil:
		return nil, errors.New("worker: no TryRunner")
	}
	l := &loop{
		w:           w,
		ends:        store.NewEndBatcher(w.Store),
		log:         w.Logger,
		hostname:    w.Hostname,
		consumer:    w.Consumer,
		pid:         os.Getpid(),
		concurrency: w.Concurrency,
		heartbeat:   w.HeartbeatInterval,
		reclaimIdle: w.ReclaimIdle,
		grace:       w.DrainGrace,
		held:        map[string]queue.Delivery{},
		released:    make(chan struct{}, 1),
		registered:  make(chan struct{}),
		runs:        newRunCache(),
		started:     w.now(),
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if l.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("worker: hostname: %w", err)
		}
		l.hostname = h
	}
	if l.consumer == "" {
		l.consumer = l.hostname + ":" + strconv.Itoa(l.pid)
	}
	if l.concurrency <= 0 {
		l.concurrency = DefaultConcurrency
	}
	if l.heartbeat <= 0 {
		l.heartbeat = DefaultHeartbeatInterval
	}
	if l.reclaimIdle <= 0 {
		l.reclaimIdle = DefaultReclaimIdle
	}
	if l.grace <= 0 {
		l.grace = DefaultDrainGrace
	}
	if l.reclaimIdle < 3*l.heartbeat {
		return nil, fmt.Errorf("worker: ReclaimIdle %s must be at least three heartbeat intervals (%s), or live deliveries would be taken over", l.reclaimIdle, 3*l.heartbeat)
	}
	l.log = l.log.With("consumer", l.consumer)
	l.slots = make(chan struct{}, l.concurrency)
	base := context.WithoutCancel(ctx)
	l.tries, l.cancelTries = context.WithCancelCause(base)
	l.stores, l.cancelStores = context.WithCancel(base)
	return l, nil
}

// serve receives and reclaims deliveries while slots are free, until ctx
// ends or the queue is closed.
func (l *loop) serve(ctx context.Context) error {
	names := queue.QueueNames(l.w.Queues)
	reclaimEvery := min(l.reclaimIdle/2, 30*time.Second)
	var nextReclaim time.Time // zero: reclaim at once
	failures := 0
	for ctx.Err() == nil {
		if l.storeDown.Load() && !l.waitForStore(ctx) {
			return nil
		}
		free := cap(l.slots) - len(l.slots) // only serve takes slots
		if free == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-l.released:
			}
			continue
		}
		var ds []queue.Delivery
		var err error
		if now := time.Now(); !now.Before(nextReclaim) {
			nextReclaim = now.Add(reclaimEvery)
			ds, err = l.w.Queue.Reclaim(ctx, queue.ReclaimParams{Consumer: l.consumer, Queues: names, MinIdle: l.reclaimIdle, Max: free})
			if len(ds) > 0 {
				l.log.Info("reclaimed deliveries of a dead consumer", "count", len(ds))
			}
		}
		if err == nil && len(ds) == 0 {
			ds, err = l.w.Queue.Receive(ctx, queue.ReceiveParams{Consumer: l.consumer, Queues: names, Max: free, Block: receiveBlock})
		}
		switch {
		case ctx.Err() != nil && len(ds) == 0:
			return nil
		case errors.Is(err, queue.ErrClosed):
			return fmt.Errorf("worker: %w", err)
		case err != nil:
			failures++
			delay := storeBackoff.Delay(failures)
			l.log.Warn("queue unavailable, retrying", "err", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				return nil
			}
			continue
		}
		failures = 0
		for _, d := range ds {
			l.slots <- struct{}{}
			l.mu.Lock()
			l.held[heldID(d)] = d
			l.mu.Unlock()
			l.wg.Add(1)
			go l.handle(d)
		}
	}
	return nil
}

// waitForStore pings the store with back-off until it answers, so that
// a worker cut off from the database takes no deliveries it could not
// start. It reports false when ctx ended first.
func (l *loop) waitForStore(ctx context.Context) bool {
	l.log.Warn("metadata store unreachable: taking no new work until it answers")
	for failures := 1; ; failures++ {
		err := l.w.Store.Ping(ctx)
		if err == nil {
			l.storeDown.Store(false)
			l.log.Info("metadata store reachable again: taking work")
			return true
		}
		delay := storeBackoff.Delay(failures)
		l.log.Debug("metadata store still unreachable", "err", err, "retry_in", delay)
		if !sleep(ctx, delay) {
			return false
		}
	}
}

// noteStoreErr records that the store failed in a way retrying may fix.
func (l *loop) noteStoreErr(err error) {
	if err != nil && !permanent(err) {
		l.storeDown.Store(true)
	}
}

// heldID names a delivery uniquely: ids are unique only within a named
// queue.
func heldID(d queue.Delivery) string { return d.Queue + "\x00" + d.ID }

// extendLoop extends the deliveries being handled every heartbeat, so
// that Reclaim leaves them alone.
func (l *loop) extendLoop(ctx context.Context) {
	t := time.NewTicker(l.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		ds := make([]queue.Delivery, 0, len(l.held))
		for _, d := range l.held {
			ds = append(ds, d)
		}
		l.mu.Unlock()
		if len(ds) == 0 {
			continue
		}
		if err := l.w.Queue.Extend(ctx, ds...); err != nil && ctx.Err() == nil {
			level := slog.LevelWarn
			if errors.Is(err, queue.ErrNotHeld) {
				level = slog.LevelDebug // reclaimed meanwhile; the store decides who runs it
			}
			l.log.Log(ctx, level, "extending deliveries failed", "err", err)
		}
	}
}

// registerLoop records the worker's state in the store (store.Worker:
// queues, tries running, slots) at once and then every heartbeat, for
// `starflow workers list` and the UI. A failed write means the store may
// be unreachable, so serve pauses until it answers.
func (l *loop) registerLoop(ctx context.Context) {
	t := time.NewTicker(l.heartbeat)
	defer t.Stop()
	for {
		err := l.w.Store.WorkerHeartbeat(ctx, &store.WorkerHeartbeatParams{
			Consumer: l.consumer, Hostname: l.hostname, Queues: queue.QueueNames(l.w.Queues),
			Running: len(l.w.Running()), Slots: l.concurrency, StartedAt: l.started, At: l.w.now(),
		})
		if err != nil && ctx.Err() == nil {
			l.noteStoreErr(err)
			l.log.Warn("worker heartbeat not recorded", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// unregister removes the worker from the store's list on a clean
// shutdown; a worker that dies stays listed with its last heartbeat.
func (l *loop) unregister() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.stores), 5*time.Second)
	defer cancel()
	if err := l.w.Store.WorkerDelete(ctx, l.consumer); err != nil && !errors.Is(err, store.ErrNotFound) {
		l.log.Warn("worker not removed from the list of workers", "err", err)
	}
}

// handle runs one delivery through the protocol: win the try, run it,
// record it, call AfterTry, acknowledge, notify.
func (l *loop) handle(d queue.Delivery) {
	defer func() {
		l.mu.Lock()
		delete(l.held, heldID(d))
		l.mu.Unlock()
		<-l.slots
		signal(l.released)
		l.wg.Done()
	}()
	key := store.TaskInstanceKey{DagID: d.DAGID, RunID: d.RunID, TaskID: d.TaskID, MapIndex: d.MapIndex}
	log := l.log.With("task_instance", key.String(), "try", d.TryNumber)
	if d.TryNumber < 1 {
		log.Error("dropping a message without a try number")
		l.ack(log, d)
		return
	}
	start := &store.TaskInstanceSetStateParams{
		Key: key, From: []dags.TaskState{dags.TaskStateQueued}, FromTryNumber: d.TryNumber,
		To: dags.TaskStateRunning, Hostname: l.hostname, PID: l.pid, StartDate: l.w.now(),
		ClearXComs: true, // a clean slate for the try, in the same transaction
	}
	if l.w.Logs != nil && l.w.Logs.Dir != "" {
		// The log file's index row too: no commit of its own.
		if row, err := l.w.Logs.Row(key, d.TryNumber); err == nil {
			start.LogFile = row
		}
	}
	ti, err := l.setState(l.stores, log, start)
	switch {
	case errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound):
		log.Debug("delivery not run: the try is not queued any more", "reason", err, "deliveries", d.Deliveries)
		l.ack(log, d)
		return
	case err != nil:
		// Left unacknowledged: it is redelivered once its lease runs out.
		log.Error("cannot start the try", "err", err)
		return
	}
	l.w.setRunning(heldID(d), &key)
	defer l.w.setRunning(heldID(d), nil)
	if l.runTry(log, d, ti, start.LogFile != nil) {
		if l.w.AfterTry != nil {
			l.w.AfterTry(l.stores, key)
		}
		l.ack(log, d)
		if l.w.Notifier != nil {
			if err := l.w.Notifier.Publish(l.stores, queue.Event{Kind: queue.EventTaskFinished, DAGID: key.DagID, RunID: key.RunID, TaskID: key.TaskID, MapIndex: key.MapIndex}); err != nil {
				log.Warn("publish task finished", "err", err)
			}
		}
		return
	}
	l.ack(log, d)
}

// runTry runs a won try and records its outcome; it reports whether the
// outcome was recorded.
func (l *loop) runTry(log *slog.Logger, d queue.Delivery, ti *store.TaskInstance, indexed bool) bool {
	key := ti.TaskInstanceKey
	tryCtx, cancel := context.WithCancelCause(l.tries)
	defer cancel(nil)
	hbCtx, stopHB := context.WithCancel(l.stores)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		l.heartbeatLoop(hbCtx, log, key, d.TryNumber, cancel)
	}()
	stopHeartbeat := func() {
		stopHB()
		<-hbDone
	}
	defer stopHeartbeat()

	tl := newTaskLog(l.stores, l.w.Logs, key, d.TryNumber, indexed, l.w.Masker, log)
	defer tl.Close()
	if ti.RescheduleCount > 0 {
		fmt.Fprintf(tl, "%s: resuming try %d of %d after %d reschedules on %s (pid %d)\n", key, d.TryNumber, ti.MaxTries, ti.RescheduleCount, l.hostname, l.pid)
	} else {
		fmt.Fprintf(tl, "%s: starting try %d of %d on %s (pid %d)\n", key, d.TryNumber, ti.MaxTries, l.hostname, l.pid)
	}

	var out Outcome
	try, err := l.prepare(tryCtx, d, ti)
	if err == nil {
		try.Log = tl
		try.FirstStart, try.RescheduleCount = ti.StartDate, ti.RescheduleCount
		out = l.w.Runner.Run(tryCtx, try)
	} else {
		now := l.w.now()
		out = Outcome{State: dags.TaskStateFailed, Err: err, Start: now, End: now}
		if cause := context.Cause(tryCtx); cause == nil {
			fmt.Fprintf(tl, "error: %v\n", err)
		}
	}
	stopHeartbeat()

	cause := context.Cause(tryCtx)
	if errors.Is(cause, errTaskChanged) {
		fmt.Fprintf(tl, "try stopped: %v; its outcome is not recorded\n", cause)
		log.Warn("try stopped: the task instance changed while it ran")
		return false
	}
	p := &store.TaskInstanceSetStateParams{
		Key: key, From: []dags.TaskState{dags.TaskStateRunning}, FromTryNumber: d.TryNumber,
		To: out.State, EndDate: out.End, RenderedMapIndex: out.RenderedMapIndex,
	}
	interrupted := errors.Is(cause, errShutdown) && out.State != dags.TaskStateSuccess && out.State != dags.TaskStateSkipped &&
		out.State != dags.TaskStateUpForReschedule
	switch {
	case interrupted:
		fmt.Fprintf(tl, "%v; the task will be retried without using up a retry\n", errShutdown)
		now := l.w.now()
		p.To, p.EndDate, p.NextRetryAt, p.MaxTries = dags.TaskStateUpForRetry, now, now, ti.MaxTries+1
	case out.State == dags.TaskStateUpForRetry:
		p.NextRetryAt = out.End.Add(state.RetryDelay(try.Task, key.DagID, try.Run.LogicalDate, d.TryNumber))
	case out.State == dags.TaskStateUpForReschedule:
		// The slot is freed now; the scheduler runs the same try again
		// (same try number) once NextRetryAt has come.
		p.NextRetryAt = out.RescheduleAt
	}
	end := &store.TaskInstanceEndParams{State: *p}
	if len(out.Skip) > 0 && !interrupted {
		end.Then = l.skips(log, key, out.Skip)
	}
	logFile, err := tl.CloseFile()
	if err != nil {
		log.Warn("task log", "err", err)
	}
	end.LogFile = logFile
	if err := l.end(l.stores, log, end); err != nil {
		if errors.Is(err, store.ErrStale) {
			log.Warn("outcome not recorded: the task instance changed meanwhile", "outcome", p.To, "err", err)
		} else {
			log.Error("outcome not recorded", "outcome", p.To, "err", err)
		}
		if logFile != nil {
			if err := tl.WriteIndex(logFile); err != nil {
				log.Warn("task log not indexed", "err", err)
			}
		}
		return false
	}
	if p.To == dags.TaskStateSuccess && len(try.Task.Outlets) > 0 {
		var extras *operators.OutletExtras
		if sd, ok := try.Datasets.(*storeDatasets); ok {
			extras = &sd.extras
		}
		l.recordDatasetEvents(log, key, try.Task.Outlets, extras, out.End)
	}
	log.Info("try finished", "state", p.To, "duration", out.Duration())
	return true
}

// recordDatasetEvents records one event per outlet of a task whose try
// ended in success, with the extra its code set (outlet_events). The events are written before the try's finish is
// acknowledged and published, so the scheduler that the publication wakes
// sees them and starts the DAGs scheduled on the datasets.
func (l *loop) recordDatasetEvents(log *slog.Logger, key store.TaskInstanceKey, outlets []string, extras *operators.OutletExtras, at time.Time) {
	events := make([]store.DatasetEventCreate, len(outlets))
	for i, uri := range outlets {
		events[i] = store.DatasetEventCreate{URI: uri, SourceDagID: key.DagID, SourceRunID: key.RunID, SourceTaskID: key.TaskID, SourceMapIndex: key.MapIndex,
			Extra: extras.Get(uri)}
	}
	if err := retryStore(l.stores, log, "record dataset events", func(ctx context.Context) error {
		_, err := l.w.Store.DatasetEventsCreate(ctx, &store.DatasetEventsCreateParams{Events: events, Timestamp: at})
		return err
	}); err != nil {
		log.Error("dataset events not recorded", "outlets", outlets, "err", err)
	}
}

// prepare gathers what a try needs: the run, the DAG version and its task,
// and the function runner (the start's transition cleared the XComs).
func (l *loop) prepare(ctx context.Context, d queue.Delivery, ti *store.TaskInstance) (*Try, error) {
	key := ti.TaskInstanceKey
	info, ok := l.runs.get(key.DagID, key.RunID)
	if !ok {
		var run *store.DagRun
		if err := retryStore(ctx, l.log, "read the run", func(ctx context.Context) error {
			var err error
			run, err = l.w.Store.RunGet(ctx, key.DagID, key.RunID)
			return err
		}); err != nil {
			return nil, operators.Fail(fmt.Errorf("cannot run: %w", err))
		}
		info = runInfo(run)
		l.runs.put(info)
	}
	dag, err := l.w.DAGs.DAG(ctx, key.DagID, d.SourceHash)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("cannot run: DAG %s version %s: %w", key.DagID, shortHash(d.SourceHash), err))
	}
	task := dag.Task(key.TaskID)
	if task == nil {
		return nil, operators.Fail(fmt.Errorf("cannot run: task %q is not in DAG %s version %s (the DAG changed?)", key.TaskID, key.DagID, shortHash(d.SourceHash)))
	}
	fns, err := l.w.DAGs.Functions(ctx, d.SourceHash)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("cannot run: functions of DAG %s version %s: %w", key.DagID, shortHash(d.SourceHash), err))
	}
	// The store's max_tries, not the task's retries, decides whether a
	// failed try is retried: a cleared or interrupted task has more tries.
	if ti.MaxTries > 0 && ti.MaxTries-1 != task.Retries {
		t := *task
		t.Retries = ti.MaxTries - 1
		task = &t
	}
	return &Try{
		DAG:         dag,
		Task:        task,
		Run:         info,
		MapIndex:    key.MapIndex,
		TryNumber:   d.TryNumber,
		XCom:        storeXCom{st: l.w.Store, key: key},
		Variables:   envsecrets.Variables{Next: storeVariables{st: l.w.Store, masker: l.w.Masker}, Masker: l.w.Masker},
		Connections: envsecrets.Connections{Next: storeConnections{st: l.w.Store, masker: l.w.Masker}, Masker: l.w.Masker},
		Functions:   fns,
		DagRuns:     l.w.DagRuns,
		Datasets:    &storeDatasets{st: l.w.Store, dag: dag, run: info},
	}, nil
}

// runInfo describes a stored run to operators.
func runInfo(run *store.DagRun) operators.RunInfo {
	return operators.RunInfo{
		DAGID: run.DagID, RunID: run.RunID, RunType: run.RunType, LogicalDate: run.LogicalDate,
		DataIntervalStart: run.DataIntervalStart, DataIntervalEnd: run.DataIntervalEnd, Conf: run.Conf,
	}
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// heartbeatLoop records every interval that the try is alive. When the
// store says the try is no longer running (cleared, marked by a user) it
// cancels the try with errTaskChanged and stops.
func (l *loop) heartbeatLoop(ctx context.Context, log *slog.Logger, key store.TaskInstanceKey, try int, cancel context.CancelCauseFunc) {
	t := time.NewTicker(l.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := l.w.Store.TaskInstanceHeartbeat(ctx, &store.TaskInstanceHeartbeatParams{Key: key, TryNumber: try, At: l.w.now()})
		switch {
		case errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotFound):
			log.Info("stopping the try", "reason", err)
			cancel(errTaskChanged)
			return
		case err != nil && ctx.Err() == nil:
			l.noteStoreErr(err)
			log.Warn("heartbeat failed", "err", err)
		}
	}
}

// skips returns the transitions that skip the listed downstream tasks
// where they have not started (in state none, scheduled, up_for_retry or
// up_for_reschedule, every map index): they are applied with the try's
// outcome, in its transaction.
func (l *loop) skips(log *slog.Logger, key store.TaskInstanceKey, taskIDs []string) []*store.TaskInstanceSetStateParams {
	from := []dags.TaskState{dags.TaskStateNone, dags.TaskStateScheduled, dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule}
	want := make(map[string]bool, len(taskIDs))
	for _, id := range taskIDs {
		want[id] = true
	}
	var tis []*store.TaskInstance
	err := retryStore(l.stores, log, "list task instances to skip", func(ctx context.Context) error {
		var err error
		tis, err = l.w.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: key.DagID, RunID: key.RunID, States: from})
		return err
	})
	if err != nil {
		log.Error("downstream tasks not skipped", "tasks", taskIDs, "err", err)
		return nil
	}
	now := l.w.now()
	var ps []*store.TaskInstanceSetStateParams
	for _, ti := range tis {
		if want[ti.TaskID] {
			ps = append(ps, &store.TaskInstanceSetStateParams{Key: ti.TaskInstanceKey, From: from, To: dags.TaskStateSkipped, StartDate: now, EndDate: now})
		}
	}
	return ps
}

// end records a try's end in one transaction (store.Store.TaskInstanceEnd),
// shared with the tries of this worker that end at the same time (group
// commit, store.EndBatcher), retrying transient store errors. A retry that finds the outcome already
// recorded (the first attempt committed but its answer was lost) counts as
// a win: the whole transaction committed.
func (l *loop) end(ctx context.Context, log *slog.Logger, p *store.TaskInstanceEndParams) error {
	attempts := 0
	return retryStore(ctx, log, "record the end of the try", func(ctx context.Context) error {
		attempts++
		_, err := l.ends.TaskInstanceEnd(ctx, p)
		l.noteStoreErr(err)
		if errors.Is(err, store.ErrStale) && attempts > 1 {
			if cur, gerr := l.w.Store.TaskInstanceGet(ctx, p.State.Key); gerr == nil && p.State.Matches(cur) {
				return nil
			}
		}
		return err
	})
}

// setState applies a transition, retrying transient store errors. A retry
// that finds the transition already applied (the first attempt committed
// but its answer was lost) counts as a win.
func (l *loop) setState(ctx context.Context, log *slog.Logger, p *store.TaskInstanceSetStateParams) (*store.TaskInstance, error) {
	var ti *store.TaskInstance
	attempts := 0
	err := retryStore(ctx, log, "set task instance state", func(ctx context.Context) error {
		attempts++
		var err error
		ti, err = l.w.Store.TaskInstanceSetState(ctx, p)
		l.noteStoreErr(err)
		if errors.Is(err, store.ErrStale) && attempts > 1 {
			if cur, gerr := l.w.Store.TaskInstanceGet(ctx, p.Key); gerr == nil && p.Matches(cur) {
				ti = cur
				return nil
			}
		}
		return err
	})
	return ti, err
}

// ack acknowledges a delivery, retrying transient errors; an unacknowledged
// delivery is redelivered later and then dropped by the store's check.
func (l *loop) ack(log *slog.Logger, d queue.Delivery) {
	if err := retryStore(l.stores, log, "acknowledge delivery", func(ctx context.Context) error {
		return l.w.Queue.Ack(ctx, d)
	}); err != nil {
		log.Warn("delivery not acknowledged", "err", err)
	}
}

// permanent reports errors that retrying cannot fix.
func permanent(err error) bool {
	for _, target := range []error{
		store.ErrStale, store.ErrNotFound, store.ErrConflict, store.ErrInvalid, store.ErrTooLarge, store.ErrCorrupt,
		queue.ErrClosed, queue.ErrInvalid, context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// retryStore calls f until it succeeds, fails permanently or ctx ends.
func retryStore(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) error {
	for failures := 1; ; failures++ {
		err := f(ctx)
		if err == nil || permanent(err) || ctx.Err() != nil {
			return err
		}
		delay := storeBackoff.Delay(failures)
		log.Warn(what+" failed, retrying", "err", err, "retry_in", delay)
		if !sleep(ctx, delay) {
			return fmt.Errorf("%s: %w (gave up: %w)", what, err, ctx.Err())
		}
	}
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
