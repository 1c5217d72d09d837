// Command benchscale runs the scale-out load benchmark (`make bench-scale`):
// several `starflow scheduler` and `starflow worker` processes against
// PostgreSQL and Redis, with a report of throughput, hops, commits and CPU.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/starflow-dev/starflow/internal/benchscale"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scale:", err)
		os.Exit(1)
	}
}

func run() error {
	c := benchscale.Config{}
	flag.StringVar(&c.Bin, "bin", "bin/starflow", "the starflow binary")
	flag.StringVar(&c.PostgresURL, "postgres", envOr("STARFLOW_TEST_POSTGRES_URL", benchscale.DefaultPostgresURL), "PostgreSQL server (a database of it to connect to); the benchmark creates and drops its own database")
	flag.StringVar(&c.RedisURL, "redis", benchscale.DefaultRedisURL, "Redis server; the benchmark uses an empty database of it and flushes it at the end")
	flag.IntVar(&c.Schedulers, "schedulers", 3, "scheduler processes")
	flag.IntVar(&c.Workers, "workers", 2, "worker processes")
	flag.IntVar(&c.Concurrency, "concurrency", 32, "each worker's --concurrency")
	flag.IntVar(&c.WideRuns, "wide-runs", 80, "runs of the wide DAG")
	flag.IntVar(&c.WideTasks, "wide-tasks", 1000, "independent tasks of the wide DAG")
	flag.IntVar(&c.WideActive, "wide-active", 4, "max_active_runs of the wide DAG")
	flag.IntVar(&c.ChainRuns, "chain-runs", 100, "runs of the chain DAG")
	flag.IntVar(&c.ChainTasks, "chain-tasks", 200, "tasks of the chain DAG")
	flag.IntVar(&c.ChainActive, "chain-active", 100, "max_active_runs of the chain DAG")
	flag.DurationVar(&c.Timeout, "timeout", 40*time.Minute, "the benchmark stops after this long")
	dir := flag.String("dir", "", "folder for DAG files, task logs and the processes' output (default: a new temporary folder, removed at the end)")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "starflow-bench-scale-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	c.Dir = *dir
	c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "bench-scale: %d task instances (%d runs × %d wide, %d runs × %d chain), %d schedulers, %d workers\n",
		c.TIs(), c.WideRuns, c.WideTasks, c.ChainRuns, c.ChainTasks, c.Schedulers, c.Workers)
	rep, err := benchscale.Run(ctx, c)
	if err != nil {
		return err
	}
	return rep.Write(os.Stdout)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
