package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Config tunes a Scheduler. Zero fields take the defaults below.
type Config struct {
	// TickInterval is how often Run ticks when nothing wakes it: the
	// safety net behind event-driven scheduling.
	TickInterval time.Duration
	// MaxRunsPerDAGPerTick bounds the runs one tick creates for one DAG, so
	// a long catchup does not starve the other DAGs.
	MaxRunsPerDAGPerTick int
	// Parallelism caps the task instances queued or running at once across
	// every DAG (Airflow's [core] parallelism).
	Parallelism int
	// ZombieTimeout is how long a running task instance may go without a
	// heartbeat before it is failed or retried. After the scheduler itself
	// lost the store, it waits this long again before judging heartbeats
	// (see failZombies).
	ZombieTimeout time.Duration
	// ReconcileAfter is how long a task instance may stay queued without
	// its queue holding its message before it is queued again (see
	// Reconcile); a delivery not extended for this long counts as lost.
	// Reconciliation runs every half of it, and at once when the queue
	// lost its content.
	ReconcileAfter time.Duration
	// SweepInterval is how often a tick advances every running run whole:
	// the safety net behind the runs marked dirty by events (a try that
	// finished in a process that died before deciding what follows it, a
	// change made straight in the database). Other ticks advance only the
	// dirty runs, each only as far as what changed.
	SweepInterval time.Duration
}

// Defaults of Config.
const (
	DefaultTickInterval         = time.Second
	DefaultMaxRunsPerDAGPerTick = 1000
	DefaultParallelism          = 32
	// DefaultZombieTimeout is five missed heartbeats of a worker beating
	// every 5 s (executor.DefaultHeartbeatInterval): a dead worker's tries
	// are failed or put up for retry within 26 s of its last heartbeat
	// (this timeout plus one tick), where Airflow waits 300 s.
	DefaultZombieTimeout  = 25 * time.Second
	DefaultReconcileAfter = 30 * time.Second
	DefaultSweepInterval  = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.TickInterval <= 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.MaxRunsPerDAGPerTick <= 0 {
		c.MaxRunsPerDAGPerTick = DefaultMaxRunsPerDAGPerTick
	}
	if c.Parallelism <= 0 {
		c.Parallelism = DefaultParallelism
	}
	if c.ZombieTimeout <= 0 {
		c.ZombieTimeout = DefaultZombieTimeout
	}
	if c.ReconcileAfter <= 0 {
		c.ReconcileAfter = DefaultReconcileAfter
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	return c
}

// Scheduler drives DAG runs through the store. Its fields are set once
// before use; it is safe for concurrent use (Tick from Run, Advance from
// workers).
type Scheduler struct {
	Store store.Store
	Queue queue.Queue
	DAGs  DAGSource
	// Notifier, when set, wakes Run as soon as a task finishes or a run is
	// created in another process.
	Notifier queue.Notifier
	// Callbacks, when set, runs DAG-level callbacks of finished runs.
	Callbacks RunCallbacks
	Logger    *slog.Logger
	Config    Config

	wake chan struct{}

	// advancing holds the runs whose mini-scheduling is under way in this
	// process, with the tasks of the run that finished meanwhile: the run
	// is advanced once more for them (see AdvanceAndDispatch).
	advMu     sync.Mutex
	advancing map[[2]string][]store.TaskInstanceKey
	dirty     dirtySet
	rec       reconcileState
	zomb      zombieState
	ds        datasetState
	sla       slaState
	disp      dispatchState
	// wCache holds the effective priority weights of DAG versions.
	wMu    sync.Mutex
	wCache map[string]map[string]int // by DAG id and source hash
	// hashes holds the DAG version (source hash) of runs seen, which a
	// run keeps from its creation: dispatch reads no run for it.
	hashMu sync.Mutex
	hashes map[runHashKey]string
}

// RunCallbacks runs a DAG's on_success_callback or on_failure_callback
// when one of its runs finishes.
type RunCallbacks interface {
	RunFinished(ctx context.Context, run *store.DagRun)
}

// New returns a Scheduler over the given store, queue and DAG source.
func New(st store.Store, q queue.Queue, src DAGSource, logger *slog.Logger, cfg Config) *Scheduler {
	if logger == nil {
		logger = slog.Default()
	}
	return &Scheduler{Store: st, Queue: q, DAGs: src, Logger: logger, Config: cfg.withDefaults(), wake: make(chan struct{}, 1)}
}

// TickStats counts what one Tick did.
type TickStats struct {
	RunsCreated  int
	RunsStarted  int
	RunsFinished int
	Scheduled    int // task instances that became scheduled (or skipped/failed by trigger rules)
	Queued       int // task instances handed to the queue
	Zombies      int
	TimedOut     int
	Reconciled   int // queued task instances whose message was lost, queued again
}

func (t *TickStats) add(o TickStats) {
	t.RunsCreated += o.RunsCreated
	t.RunsStarted += o.RunsStarted
	t.RunsFinished += o.RunsFinished
	t.Scheduled += o.Scheduled
	t.Queued += o.Queued
	t.Zombies += o.Zombies
	t.TimedOut += o.TimedOut
	t.Reconciled += o.Reconciled
}

// Tick is one deterministic scheduling pass at time now: create the runs
// that are due, start queued runs within max_active_runs, fail zombies and
// timed-out runs, advance every running run, reconcile the queue with the
// store when due, and queue what is ready. A
// failure of one DAG or run is logged and does not stop the others.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) (TickStats, error) {
	var st TickStats
	steps := []struct {
		name string
		fn   func(context.Context, time.Time, *TickStats) error
	}{
		{"create due runs", s.createDueRuns},
		{"create dataset-triggered runs", s.createDatasetRuns},
		{"start queued runs", s.startQueuedRuns},
		{"fail zombies", s.failZombies},
		{"advance running runs", s.advanceRunning},
		{"record SLA misses", s.checkSLAs},
		{"reconcile the queue", s.reconcileStep},
		{"dispatch", s.dispatchStep},
	}
	var errs []error
	for _, step := range steps {
		if err := step.fn(ctx, now, &st); err != nil {
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", step.name, err))
		}
	}
	return st, errors.Join(errs...)
}

// Wake makes Run tick at once (a run was triggered in this process).
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run ticks every TickInterval, and at once when woken by Wake or by the
// Notifier, until ctx ends. Errors are logged; Run returns ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	var events <-chan queue.Event
	if s.Notifier != nil {
		ch, err := s.Notifier.Subscribe(ctx)
		if err != nil {
			s.Logger.Warn("scheduler: no event subscription; ticking on the timer only", "err", err)
		} else {
			events = ch
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		need := true
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-s.wake:
		case ev, ok := <-events:
			if !ok {
				events = nil
			}
			need = s.noteEvent(ev)
		}
		// One tick covers every wake-up that came before it: a burst of
		// finished tasks costs one tick, not one each.
		var more bool
		events, more = s.drainWakeups(events)
		if !need && !more && !s.backlog() {
			// Only task-finished events whose downstream this process's
			// mini-scheduler already decided (and dispatched): nothing
			// for a tick to do before the timer's.
			continue
		}
		stats, err := s.Tick(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("scheduler tick failed", "err", err)
		} else if stats != (TickStats{}) {
			s.Logger.Debug("scheduler tick", "stats", fmt.Sprintf("%+v", stats))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(s.Config.TickInterval)
	}
}

// drainWakeups empties the wake channel and the pending events without
// blocking; it returns nil when the events channel was closed, and
// whether a wake-up or an event needs a tick (see noteEvent).
func (s *Scheduler) drainWakeups(events <-chan queue.Event) (<-chan queue.Event, bool) {
	need := false
	for {
		select {
		case <-s.wake:
			need = true
		case ev, ok := <-events:
			if !ok {
				events, need = nil, true
				continue
			}
			need = s.noteEvent(ev) || need
		default:
			return events, need
		}
	}
}
