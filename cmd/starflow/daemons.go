package main

import (
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

func redisURLFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "redis-url", Usage: "the Redis of the distributed queue: redis://host:6379/0", EnvVars: []string{"STARFLOW_REDIS_URL"}}
}

func workerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Usage: "tasks run at once", EnvVars: []string{"STARFLOW_WORKER_CONCURRENCY"}, Value: max(runtime.NumCPU()*4, executor.DefaultConcurrency)},
		&cli.StringSliceFlag{Name: "queues", Aliases: []string{"q"}, Usage: "named queues served", EnvVars: []string{"STARFLOW_WORKER_QUEUES"}, Value: cli.NewStringSlice("default")},
		&cli.StringFlag{Name: "hostname", Usage: "the name recorded on the tasks this worker runs", EnvVars: []string{"STARFLOW_HOSTNAME"}, Value: hostname()},
		&cli.DurationFlag{Name: "grace", Usage: "on SIGTERM, how long running tasks may finish before they are stopped and marked for retry", EnvVars: []string{"STARFLOW_DRAIN_GRACE"}, Value: executor.DefaultDrainGrace},
		logFolderFlag(),
		&cli.DurationFlag{Name: "heartbeat", Usage: "how often running tasks tell the scheduler they are alive; keep it well under the scheduler's --zombie-timeout (standalone: at most a fifth of it unless set)", EnvVars: []string{"STARFLOW_HEARTBEAT_INTERVAL"}, Value: executor.DefaultHeartbeatInterval},
	}
}

func reconcileAfterFlag() *cli.DurationFlag {
	return &cli.DurationFlag{Name: "reconcile-after", Usage: "a task queued this long whose message the queue lost (Redis restarted, its worker died) is queued again", EnvVars: []string{"STARFLOW_RECONCILE_AFTER"}, Value: scheduler.DefaultReconcileAfter}
}

func zombieTimeoutFlag() *cli.DurationFlag {
	return &cli.DurationFlag{Name: "zombie-timeout", Usage: "a running task without a heartbeat for this long is failed or retried (its worker died)", EnvVars: []string{"STARFLOW_ZOMBIE_TIMEOUT"}, Value: scheduler.DefaultZombieTimeout}
}

func standaloneCommand() *cli.Command {
	return &cli.Command{
		Name:  "standalone",
		Usage: "run everything in one process: DAG processor, scheduler and workers, on an embedded SQLite database",
		Description: "Watches the DAG folder, schedules runs and runs their tasks in this process. State lives in\n" +
			"starflow.db (or --database-url). SIGINT/SIGTERM stop taking new work, let running tasks finish\n" +
			"up to --grace, then mark the rest for retry; nothing is lost on restart.",
		Flags: append([]cli.Flag{
			dagsFolderFlag(),
			databaseURLFlag(),
			&cli.DurationFlag{Name: "rescan", Usage: "rescan the DAG folder this often besides watching it", Value: dagprocessor.DefaultRescan},
			zombieTimeoutFlag(),
			reconcileAfterFlag(),
		}, append(workerFlags(), webFlags()...)...),
		Action: func(c *cli.Context) error {
			return runDaemon(c, engineConfig{
				firstStart:  func() { writeFirstConfig(c) },
				databaseURL: c.String("database-url"),
				migrate:     store.MigrateAlways,
				dagsDir:     c.String("dags"),
				parse:       true, schedule: true, work: true,
			}.withWeb(c, true))
		},
	}
}

func schedulerCommand() *cli.Command {
	return &cli.Command{
		Name:  "scheduler",
		Usage: "watch the DAG folder and schedule runs; tasks go to the Redis queue for `starflow worker`",
		Description: "Several schedulers may run against the same PostgreSQL and Redis: they share the work and\n" +
			"never create a run or queue a task twice.",
		Flags: []cli.Flag{
			dagsFolderFlag(),
			databaseURLFlag(),
			redisURLFlag(),
			&cli.DurationFlag{Name: "rescan", Usage: "rescan the DAG folder this often besides watching it", Value: dagprocessor.DefaultRescan},
			zombieTimeoutFlag(),
			reconcileAfterFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.String("redis-url") == "" {
				return usageError("scheduler needs a queue for its workers: set STARFLOW_REDIS_URL or --redis-url (or run `starflow standalone`)")
			}
			return runDaemon(c, engineConfig{
				databaseURL: c.String("database-url"),
				migrate:     store.MigrateAuto,
				redisURL:    c.String("redis-url"),
				dagsDir:     c.String("dags"),
				parse:       true, schedule: true,
			})
		},
	}
}

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:  "worker",
		Usage: "run tasks from the Redis queue; reads DAG sources from the metadata database, no DAG folder needed",
		Flags: append([]cli.Flag{databaseURLFlag(), redisURLFlag()}, workerFlags()...),
		Action: func(c *cli.Context) error {
			if c.String("redis-url") == "" {
				return usageError("worker needs the queue's Redis: set STARFLOW_REDIS_URL or --redis-url")
			}
			return runDaemon(c, engineConfig{
				databaseURL: c.String("database-url"),
				migrate:     store.MigrateAuto,
				redisURL:    c.String("redis-url"),
				dagsDir:     "dags",
				work:        true,
			})
		},
	}
}

// runDaemon wires an engine, runs it until SIGINT or SIGTERM, and shuts it
// down cleanly.
func runDaemon(c *cli.Context, cfg engineConfig) error {
	logger := newLeveledLogger(c, slog.LevelInfo)
	// Tasks run as this user: keep this process's environment and memory
	// (the database URL, the secret key) out of their reach.
	if err := keepProcessPrivate(); err != nil {
		logger.Warn("tasks may read this process's environment through /proc", "err", err)
	}
	if cfg.work {
		cfg.concurrency = c.Int("concurrency")
		cfg.queues = c.StringSlice("queues")
		cfg.hostname = c.String("hostname")
		cfg.drainGrace = c.Duration("grace")
		cfg.heartbeat = c.Duration("heartbeat")
		if cfg.heartbeat <= 0 {
			return usageError("--heartbeat must be positive, not %s", cfg.heartbeat)
		}
	}
	if cfg.work || cfg.web != nil {
		cfg.logDir = logFolder(c, cfg.databaseURL)
	}
	if cfg.schedule {
		cfg.zombieTimeout = c.Duration("zombie-timeout")
		if cfg.zombieTimeout <= 0 {
			return usageError("--zombie-timeout must be positive, not %s", cfg.zombieTimeout)
		}
		if cfg.reconcileAfter = c.Duration("reconcile-after"); cfg.reconcileAfter <= 0 {
			return usageError("--reconcile-after must be positive, not %s", cfg.reconcileAfter)
		}
	}
	if cfg.schedule && cfg.work {
		// One process: keep the heartbeats well within the zombie timeout.
		if !c.IsSet("heartbeat") {
			cfg.heartbeat = min(cfg.heartbeat, cfg.zombieTimeout/5)
		}
		if 3*cfg.heartbeat > cfg.zombieTimeout {
			return usageError("--heartbeat %s must be at most a third of --zombie-timeout %s, or live tasks would be taken for zombies", cfg.heartbeat, cfg.zombieTimeout)
		}
	}
	if cfg.parse {
		cfg.rescan = c.Duration("rescan")
		if fi, err := os.Stat(cfg.dagsDir); err != nil || !fi.IsDir() {
			return usageError("DAG folder %s is not a folder (set --dags or STARFLOW_DAGS_FOLDER)", cfg.dagsDir)
		}
	}
	if cfg.web != nil {
		// Before anything is created: the database, the key, starflow.yaml.
		if err := checkPortFree(cfg.web.addr); err != nil {
			return err
		}
	}
	if cfg.firstStart != nil {
		cfg.firstStart()
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	e, err := newEngine(ctx, cfg, logger)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return storeError(err)
	}
	defer e.close()
	e.errOut = c.App.ErrWriter
	logger.Info("starflow started", "database", store.RedactURL(cfg.databaseURL), "dags", cfg.dagsDir,
		"scheduler", cfg.schedule, "worker", cfg.work, "webserver", cfg.web != nil, "queue", queueName(cfg))
	go func() {
		<-ctx.Done()
		logger.Info("shutting down: no new work; running tasks may finish", "grace", cfg.drainGrace)
	}()
	if err := e.run(ctx); err != nil {
		return internalError(err)
	}
	logger.Info("starflow stopped")
	return nil
}

func queueName(cfg engineConfig) string {
	if cfg.redisURL == "" {
		return "in-process"
	}
	return store.RedactURL(cfg.redisURL)
}
