package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue/redistest"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// The distributed benchmarks run the parts of `starflow scheduler` and
// `starflow worker` in this process, each with its own PostgreSQL pool and
// Redis clients as separate processes would have, against the test
// PostgreSQL and Redis. Every connection goes through a counting proxy, so
// the SQL statements and Redis commands per task instance, and the round
// trips they take, are measured on the wire. Targets (issue 5): 1,000
// task instances a second through Redis with one scheduler and two
// workers; a downstream task starts within 10 ms (median) of its
// upstream's end.

// envBenchDirect, when set, makes the benchmarks connect straight to
// PostgreSQL and Redis, without the counting proxies (whose copying costs
// CPU in this process), to measure throughput alone.
const envBenchDirect = "STARFLOW_BENCH_DIRECT"

// benchNoop is the operator of the tasks that go through Redis: a Go no-op,
// so that what is measured is the scheduling and the queue around it.
const benchNoop = "bench_noop"

// benchDAGs is the scheduler's and the workers' DAG source for DAGs built
// in Go.
type benchDAGs struct {
	mu   sync.Mutex
	dags map[string]*dags.DAG
}

func (v *benchDAGs) DAG(_ context.Context, dagID, hash string) (*dags.DAG, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d, ok := v.dags[dagID+"@"+hash]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("no DAG %s in version %s: %w", dagID, hash, store.ErrNotFound)
}

func (v *benchDAGs) Functions(context.Context, string) (operators.FunctionRunner, error) {
	return nil, nil
}

// cluster is one scheduler and some workers over proxied PostgreSQL and
// Redis.
type cluster struct {
	b      *testing.B
	pg, rd *countingProxy
	direct bool        // connected without the proxies: nothing is counted
	st     store.Store // the scheduler's
	// commits count the write transactions of every part's store.
	commits []*store.CommitCounter
	sched   *scheduler.Scheduler
	src     *benchDAGs
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newCluster wires the parts; with workers > 0 it starts the scheduler's
// loop and the workers, each as its own "process" (store pool, Redis
// clients, mini-scheduler), with the daemons' defaults.
func newCluster(b *testing.B, workers int) *cluster {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pgURL, err := url.Parse(testdb.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	c := &cluster{b: b, pg: startProxy(b, pgURL.Host, newPGParser), src: &benchDAGs{dags: map[string]*dags.DAG{}}}
	c.direct = os.Getenv(envBenchDirect) != ""
	if !c.direct {
		pgURL.Host = c.pg.Addr()
	}
	ropts := redistest.Options(b)
	ro, err := redis.ParseURL(ropts.URL)
	if err != nil {
		b.Fatal(err)
	}
	c.rd = startProxy(b, ro.Addr, newRESPParser)
	if !c.direct {
		ropts.URL = "redis://" + c.rd.Addr() + fmt.Sprintf("/%d", ro.DB)
	}
	ropts.Logger = logger
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	b.Cleanup(c.stop)

	open := func() (store.Store, *redisqueue.Queue, *redisqueue.Notifier) {
		st, err := postgres.Open(ctx, pgURL.String(), testdb.Options(b))
		if err != nil {
			b.Fatal(err)
		}
		q, err := redisqueue.New(ctx, ropts)
		if err != nil {
			b.Fatal(err)
		}
		n, err := redisqueue.NewNotifier(ctx, ropts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { n.Close(); q.Close(); st.Close() })
		cc := store.CountCommits(st)
		c.commits = append(c.commits, cc)
		return cc, q, n
	}
	st, q, n := open()
	c.st = st
	c.sched = scheduler.New(st, q, c.src, logger, scheduler.Config{})
	c.sched.Notifier = n
	if workers == 0 {
		return c
	}
	c.wg.Go(func() { _ = c.sched.Run(ctx) })
	reg := operators.NewRegistry()
	reg.Register(benchNoop, operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(nil), nil
	}))
	for i := range workers {
		wst, wq, wn := open()
		mini := scheduler.New(wst, wq, c.src, logger, scheduler.Config{})
		w := &executor.Worker{Store: wst, Queue: wq, DAGs: c.src, Runner: &executor.TryRunner{Registry: reg, Logger: logger},
			Notifier: wn, AfterTry: mini.AdvanceAndDispatch, Hostname: fmt.Sprintf("bench-%d", i), Logger: logger}
		c.wg.Go(func() { _ = w.Run(ctx) })
	}
	return c
}

func (c *cluster) stop() {
	c.cancel()
	c.wg.Wait()
}

// register builds a DAG of n tasks of operator op in `chains` parallel
// chains and records it as the DAG processor would.
func (c *cluster) register(id, op string, n, chains int) *dags.DAG {
	c.b.Helper()
	d := dags.New(id, dags.Pos{File: id + ".star", Line: 1})
	per := n / chains
	for ch := range chains {
		for i := range per {
			tid := fmt.Sprintf("c%d_t%03d", ch, i)
			d.AddTask(dags.NewTask(tid, op, dags.Pos{File: id + ".star", Line: 2}))
			if i > 0 {
				d.Connect(fmt.Sprintf("c%d_t%03d", ch, i-1), tid, dags.Pos{})
			}
		}
	}
	d.MaxActiveTasks = n
	if fs := d.Finalize(); len(fs) > 0 {
		c.b.Fatal(fs)
	}
	d.SourceHash = "hash-" + id
	c.src.mu.Lock()
	c.src.dags[id+"@"+d.SourceHash] = d
	c.src.mu.Unlock()
	if _, err := c.st.DAGUpsert(context.Background(), &store.DAGUpsertParams{DagID: d.ID, File: d.File, SourceHash: d.SourceHash,
		Schedule: d.Schedule.String(), MaxActiveRuns: d.MaxActiveRuns, MaxActiveTasks: d.MaxActiveTasks}); err != nil {
		c.b.Fatal(err)
	}
	return d
}

// trigger creates a manual run and returns its id.
func (c *cluster) trigger(d *dags.DAG, i int) string {
	c.b.Helper()
	run, err := c.sched.Trigger(context.Background(), scheduler.TriggerParams{DAGID: d.ID, RunID: fmt.Sprintf("bench_%d", i),
		LogicalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)}, time.Now())
	if err != nil {
		c.b.Fatal(err)
	}
	return run.RunID
}

// await waits until the run has succeeded.
func (c *cluster) await(dagID, runID string) {
	c.b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		run, err := c.st.RunGet(context.Background(), dagID, runID)
		if err != nil {
			c.b.Fatal(err)
		}
		switch {
		case run.State == dags.DagRunStateSuccess:
			return
		case run.State == dags.DagRunStateFailed:
			c.b.Fatalf("run %s failed", runID)
		case time.Now().After(deadline):
			c.b.Fatalf("run %s still %s after 2 minutes", runID, run.State)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// counts is a snapshot of both proxies' counts and of the commits.
type counts struct{ sql, pgRT, redisCmd, redisRT, commits int64 }

func (c *cluster) counts() counts {
	var k counts
	for _, cc := range c.commits {
		k.commits += cc.Commits()
	}
	k.sql, k.pgRT = c.pg.Counts()
	k.redisCmd, k.redisRT = c.rd.Counts()
	return k
}

// report adds the per-task-instance wire metrics since from.
func (c *cluster) report(from counts, tis int) {
	to := c.counts()
	per := func(v int64) float64 { return float64(v) / float64(tis) }
	c.b.ReportMetric(per(to.commits-from.commits), "commits/ti")
	if c.direct {
		return
	}
	c.b.ReportMetric(per(to.sql-from.sql), "sql/ti")
	c.b.ReportMetric(per(to.pgRT-from.pgRT), "pg-rt/ti")
	c.b.ReportMetric(per(to.redisCmd-from.redisCmd), "redis-cmd/ti")
	c.b.ReportMetric(per(to.redisRT-from.redisRT), "redis-rt/ti")
}

// BenchmarkDistributedEmptyTasks runs 1,000-task DAG runs of empty tasks
// (10 chains of 100) through the scheduler on PostgreSQL: empty tasks
// succeed in the scheduler and never reach Redis or a worker. It reports
// task instances per second and the wire cost per task instance.
func BenchmarkDistributedEmptyTasks(b *testing.B) {
	const tasks = 1000
	c := newCluster(b, 0)
	d := c.register("empties", dags.OperatorEmpty, tasks, 10)
	ctx := context.Background()
	from := c.counts()
	i := 0
	for b.Loop() {
		i++
		runID := c.trigger(d, i)
		for {
			if _, err := c.sched.Tick(ctx, time.Now()); err != nil {
				b.Fatal(err)
			}
			run, err := c.st.RunGet(ctx, d.ID, runID)
			if err != nil {
				b.Fatal(err)
			}
			if run.State == dags.DagRunStateSuccess {
				break
			}
		}
	}
	b.ReportMetric(float64(tasks*i)/b.Elapsed().Seconds(), "ti/s")
	c.report(from, tasks*i)
}

// BenchmarkDistributedNoopTasks runs 1,000 no-op task instances per op
// through Redis with one scheduler and two workers: one run of 1,000
// independent tasks, or ten runs of 100 at once. It reports task instances
// per second (target 1,000) and the wire cost per task instance.
func BenchmarkDistributedNoopTasks(b *testing.B) {
	for _, shape := range []struct{ runs, tasks int }{{1, 1000}, {10, 100}} {
		b.Run(fmt.Sprintf("runs=%d/tasks=%d", shape.runs, shape.tasks), func(b *testing.B) {
			c := newCluster(b, 2)
			d := c.register("noops", benchNoop, shape.tasks, shape.tasks)
			from := c.counts()
			i := 0
			for b.Loop() {
				var runIDs []string
				for range shape.runs {
					i++
					runIDs = append(runIDs, c.trigger(d, i))
				}
				for _, runID := range runIDs {
					c.await(d.ID, runID)
				}
			}
			b.ReportMetric(float64(shape.tasks*i)/b.Elapsed().Seconds(), "ti/s")
			c.report(from, shape.tasks*i)
		})
	}
}

// BenchmarkDistributedLatency runs a 20-task chain of no-op tasks through
// Redis with one scheduler and two workers, five runs one after the other
// per op, and reports the time from each task's end to its downstream's
// start, read from the store: median and p99 (target: median under 10 ms).
func BenchmarkDistributedLatency(b *testing.B) {
	const chain, runsPerOp = 20, 5
	c := newCluster(b, 2)
	d := c.register("latency", benchNoop, chain, 1)
	from := c.counts()
	var runIDs []string
	i := 0
	for b.Loop() {
		for range runsPerOp {
			i++
			runID := c.trigger(d, i)
			c.await(d.ID, runID)
			runIDs = append(runIDs, runID)
		}
	}
	b.StopTimer()
	c.report(from, chain*len(runIDs))
	var gaps []time.Duration
	for _, runID := range runIDs {
		tis, err := c.st.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: d.ID, RunID: runID})
		if err != nil {
			b.Fatal(err)
		}
		byID := map[string]*store.TaskInstance{}
		for _, ti := range tis {
			byID[ti.TaskID] = ti
		}
		for j := 1; j < chain; j++ {
			up, down := byID[fmt.Sprintf("c0_t%03d", j-1)], byID[fmt.Sprintf("c0_t%03d", j)]
			gaps = append(gaps, down.StartDate.Sub(up.EndDate))
		}
	}
	slices.Sort(gaps)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(gaps[len(gaps)/2]), "ms-p50/edge")
	b.ReportMetric(ms(gaps[min(len(gaps)-1, len(gaps)*99/100)]), "ms-p99/edge")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(len(runIDs)), "ms/run")
}
