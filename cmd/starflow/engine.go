package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/internal/dagfolder"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
	"github.com/starflow-dev/starflow/starlark/sandbox"
)

// engineConfig says which parts of Starflow a daemon runs and where its
// state lives.
type engineConfig struct {
	databaseURL string
	// migrate says what to do with an older schema: standalone upgrades it,
	// as `airflow standalone` does; distributed daemons wait for `db migrate`.
	migrate store.MigrateMode
	// redisURL selects the distributed queue; empty means in-process.
	redisURL string
	dagsDir  string

	parse, schedule, work bool

	concurrency int
	queues      []string
	hostname    string
	drainGrace  time.Duration
	rescan      time.Duration
	// logDir is the log folder task logs are written to and read from.
	logDir string
	// heartbeat paces a worker's heartbeats; zombieTimeout is how long the
	// scheduler waits for them.
	heartbeat     time.Duration
	zombieTimeout time.Duration
	// reconcileAfter is how long a task may stay queued without its
	// message in the queue before the scheduler queues it again.
	reconcileAfter time.Duration
	// web, when set, runs the webserver too.
	web *webConfig
	// firstStart, when set, runs once the settings are checked, before the
	// engine creates anything (standalone writes starflow.yaml).
	firstStart func()
}

// engine is a wired Starflow: store, queue, DAG versions, and the parts
// the daemon runs (DAG processor, scheduler, worker).
type engine struct {
	cfg      engineConfig
	logger   *slog.Logger
	store    store.Store
	queue    queue.Queue
	notifier queue.Notifier
	versions *call.Versions
	// loader evaluates DAG files (through parse processes), closed last.
	loader *loader.Loader
	// sqlPools are the worker's pooled PostgreSQL connections (sql
	// operator and sql module), closed after the worker stops.
	sqlPools *sqlop.Pools
	// tasks are the sandbox processes of Starlark task functions (nil:
	// they run in-process).
	tasks     *sandbox.Pool
	sched     *scheduler.Scheduler
	processor *dagprocessor.Processor
	worker    *executor.Worker
	// logs is the log folder task logs go to and are read from.
	logs *tasklog.Folder
	// errOut receives what a daemon prints once (the first admin's
	// password).
	errOut io.Writer
}

// versionCacheSize is how many parsed DAG versions a process keeps.
const versionCacheSize = 256

func newEngine(ctx context.Context, cfg engineConfig, logger *slog.Logger) (*engine, error) {
	e := &engine{cfg: cfg, logger: logger, errOut: os.Stderr}
	st, err := store.OpenWithRetry(ctx, func(ctx context.Context) (store.Store, error) {
		return openStoreMode(ctx, cfg.databaseURL, cfg.migrate)
	}, store.DefaultBackoff, logger)
	if err != nil {
		return nil, err
	}
	e.store = st
	if cfg.redisURL == "" {
		e.queue, e.notifier = memqueue.New(), memqueue.NewNotifier()
	} else {
		opts := redisqueue.Options{URL: cfg.redisURL, Logger: logger}
		if e.queue, err = redisqueue.New(ctx, opts); err != nil {
			e.close()
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
		if e.notifier, err = redisqueue.NewNotifier(ctx, opts); err != nil {
			e.close()
			return nil, fmt.Errorf("connect to Redis: %w", err)
		}
	}
	l := newLoader(logger)
	e.loader = l
	dir := cfg.dagsDir
	e.versions = call.NewVersions(l, func(ctx context.Context, hash string) (call.Bundle, error) {
		v, err := st.DAGVersionGet(ctx, hash)
		if err != nil {
			return call.Bundle{}, err
		}
		return call.Bundle{Dir: dir, EntryFile: v.EntryFile, Files: v.Files}, nil
	}, versionCacheSize)

	if cfg.work {
		e.sqlPools = sqlop.NewPools(0)
		e.versions.SQL = e.sqlPools
	}
	// Task functions and callbacks run in sandbox processes, a worker's
	// up to its concurrency at once, one started ahead.
	if e.tasks = newTaskIsolator(logger, cfg.concurrency); e.tasks != nil {
		e.versions.Isolator = e.tasks
		if cfg.work {
			e.tasks.Prestart(1)
		}
	}
	e.sched = scheduler.New(st, e.queue, e.versions, logger, scheduler.Config{ZombieTimeout: cfg.zombieTimeout, ReconcileAfter: cfg.reconcileAfter})
	e.sched.Notifier = e.notifier
	e.sched.Callbacks = &executor.RunCallbacks{Store: st, DAGs: e.versions, Runner: newTryRunner(logger, e.sqlPools), Logger: logger, DagRuns: e.sched.DagRuns()}
	if cfg.parse {
		e.processor = &dagprocessor.Processor{Store: st, Parser: dagfolder.New(l, filepath.Clean(cfg.dagsDir), e.versions),
			Folder: filepath.Clean(cfg.dagsDir), Logger: logger}
	}
	e.logs = tasklog.New(st, cmp.Or(cfg.logDir, defaultLogFolder(cfg.databaseURL)), cmp.Or(cfg.hostname, hostname()))
	if cfg.work {
		e.worker = &executor.Worker{
			Store:             st,
			Queue:             e.queue,
			DAGs:              e.versions,
			Runner:            newTryRunner(logger, e.sqlPools),
			Notifier:          e.notifier,
			AfterTry:          e.sched.AdvanceAndDispatch,
			DagRuns:           e.sched.DagRuns(),
			Queues:            cfg.queues,
			Concurrency:       cfg.concurrency,
			Hostname:          cfg.hostname,
			DrainGrace:        cfg.drainGrace,
			HeartbeatInterval: cfg.heartbeat,
			Masker:            secrets.NewMasker(deploymentSecrets(cfg.databaseURL, cfg.redisURL)...),
			Logs:              e.logs,
			Logger:            logger,
		}
	}
	return e, nil
}

// run runs the configured parts until ctx ends, then stops them: the DAG
// processor and the scheduler at once, the worker after draining its
// running tries. It returns the first error that stopped a part.
func (e *engine) run(ctx context.Context) error {
	if e.cfg.schedule && e.cfg.redisURL == "" {
		// The in-process queue starts empty: what a previous process had
		// queued is queued again.
		if _, err := e.sched.RequeueLost(ctx, time.Now()); err != nil {
			e.logger.Warn("could not queue again the task instances of a previous process", "err", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	if e.processor != nil {
		start("DAG processor", func(ctx context.Context) error {
			return e.processor.Watch(ctx, e.cfg.dagsDir, e.cfg.rescan)
		})
	}
	if e.cfg.schedule {
		start("scheduler", e.sched.Run)
	}
	if e.worker != nil {
		start("worker", e.worker.Run)
	}
	if e.cfg.schedule {
		id := hostname() + ":" + strconv.Itoa(os.Getpid())
		start("scheduler heartbeat", func(ctx context.Context) error { return e.sched.Heartbeat(ctx, id, hostname(), 0) })
	}
	if e.cfg.web != nil {
		start("webserver", func(ctx context.Context) error {
			err := e.serveWeb(ctx)
			if err != nil {
				cancel() // a daemon that cannot serve its UI stops
			}
			return err
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (e *engine) close() {
	e.sqlPools.Close()
	if e.tasks != nil {
		_ = e.tasks.Close()
	}
	if e.loader != nil {
		_ = e.loader.Close()
	}
	if e.notifier != nil {
		_ = e.notifier.Close()
	}
	if e.queue != nil {
		_ = e.queue.Close()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
}

// hostname returns the machine's name for task instances, or "localhost".
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return h
}
