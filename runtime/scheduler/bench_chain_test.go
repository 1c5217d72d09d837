package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// benchChainSizes are the chain lengths of BenchmarkChainStep:
// STARFLOW_BENCH_CHAIN (comma-separated) or 100, 1,000 and 5,000.
func benchChainSizes(b *testing.B) []int {
	spec := os.Getenv("STARFLOW_BENCH_CHAIN")
	if spec == "" {
		return []int{100, 1000, 5000}
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			b.Fatalf("STARFLOW_BENCH_CHAIN: %q is not a chain length", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkChainStep runs one chain of no-op Go tasks as standalone wires
// them (the scheduler's Run and a worker with the mini-scheduler) on
// SQLite and PostgreSQL, at several lengths, and reports the step: the
// run's time per task, and the median hop from a task's end to its
// downstream's start. Issue 12's goal: the step at 5,000 tasks within
// 1.3x of the step at 100.
func BenchmarkChainStep(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, n := range benchChainSizes(b) {
			b.Run(fmt.Sprintf("%s/tasks=%d", db, n), func(b *testing.B) {
				var st store.Store
				if db == "sqlite" {
					st = testdb.SQLite(b)
				} else {
					st = testdb.Postgres(b)
				}
				benchChain(b, st, n, 1)
			})
		}
	}
}

// BenchmarkWideRun runs one run of 1,000 independent no-op Go tasks wired
// as BenchmarkChainStep wires its chain, on SQLite and PostgreSQL: the
// throughput of concurrent task ends (issue 12's 1,000-task run) and its
// commits per task instance.
func BenchmarkWideRun(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db+"/tasks=1000", func(b *testing.B) {
			var st store.Store
			if db == "sqlite" {
				st = testdb.SQLite(b)
			} else {
				st = testdb.Postgres(b)
			}
			benchChain(b, st, 1000, 1000)
		})
	}
}

// BenchmarkManyRuns runs 100 runs of 10 independent no-op Go tasks, all
// triggered at once, wired as BenchmarkChainStep wires its chain, on SQLite
// and PostgreSQL: issue 12's second standalone shape (goal 2,000 TI/s).
// The DAG keeps Airflow's defaults (max_active_runs 16), so runs past the
// sixteenth wait queued and start as others finish.
func BenchmarkManyRuns(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db+"/runs=100/tasks=10", func(b *testing.B) {
			var st store.Store
			if db == "sqlite" {
				st = testdb.SQLite(b)
			} else {
				st = testdb.Postgres(b)
			}
			benchRuns(b, st, 100, 10, 10)
		})
	}
}

// benchLogDir is the task log folder of a benchmark's worker: a new
// folder under STARFLOW_BENCH_LOGS when set (tmpfs, say, to leave out the
// log disk's cost of creating a folder and a file per try), else the test's
// temporary folder.
func benchLogDir(b *testing.B) string {
	base := os.Getenv("STARFLOW_BENCH_LOGS")
	if base == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(base, "bench-logs-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// countingStore counts the task instance rows the scheduler reads to
// decide (TaskInstanceStates): the work that should grow with what
// changed, not with the run.
type countingStore struct {
	store.Store
	rows atomic.Int64
}

func (c *countingStore) TaskInstanceStates(ctx context.Context, p *store.TaskInstanceStatesParams) ([]store.TaskInstanceState, error) {
	rows, err := c.Store.TaskInstanceStates(ctx, p)
	c.rows.Add(int64(len(rows)))
	return rows, err
}

// benchChain runs n no-op tasks in the given number of chains (1: one
// chain; n: n independent tasks) and reports the per-task figures.
func benchChain(b *testing.B, base store.Store, n, chains int) {
	benchRuns(b, base, 1, n, chains)
}

// benchRuns triggers nruns runs at once of a DAG of n no-op tasks in the
// given number of chains, waits for them all, and reports the per-task
// figures.
func benchRuns(b *testing.B, base store.Store, nruns, n, chains int) {
	commits := store.CountCommits(base)
	calls := &callStore{Store: commits}
	defer func() { calls.dump(b.N * n * nruns) }()
	counting := &countingStore{Store: calls}
	var st store.Store = counting
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, notifier := memqueue.New(), memqueue.NewNotifier()
	defer q.Close()
	defer notifier.Close()
	src := &benchDAGs{dags: map[string]*dags.DAG{}}
	d := benchBuild(b, "chain", benchNoop, n, chains, nil)
	benchRegister(b, st, src, d, time.Now())
	sched := benchScheduler(st, src, q)
	sched.Notifier = notifier
	reg := operators.NewRegistry()
	reg.Register(benchNoop, operators.OperatorFunc(func(context.Context, *operators.Call) (*operators.Result, error) {
		return operators.Success(nil), nil
	}))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := &executor.Worker{Store: st, Queue: q, DAGs: src, Runner: &executor.TryRunner{Registry: reg, Logger: logger},
		Notifier: notifier, AfterTry: sched.AdvanceAndDispatch, Hostname: "bench", Logger: logger,
		Logs: tasklog.New(st, benchLogDir(b), "bench")} // task logs in files, as standalone writes them
	var wg sync.WaitGroup
	wg.Go(func() { _ = sched.Run(ctx) })
	wg.Go(func() { _ = w.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	var runIDs []string
	i := 0
	pg, _ := base.(*postgres.Store)
	tuples0 := benchPGTuples(b, pg)
	cpu0 := benchCPU(b)
	commits0 := commits.Commits()
	for b.Loop() {
		var batch []string
		for range nruns {
			i++
			run, err := sched.Trigger(ctx, scheduler.TriggerParams{DAGID: d.ID, RunID: fmt.Sprintf("chain_%d", i),
				LogicalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, run.RunID)
		}
		if pg != nil && os.Getenv("STARFLOW_BENCH_ANALYZE") != "" {
			// Statistics for the planner, as autovacuum's analyze gives
			// them (the test server may run without autovacuum).
			if _, err := pg.Pool().Exec(ctx, "ANALYZE task_instance"); err != nil {
				b.Fatal(err)
			}
		}
		for _, runID := range batch {
			benchAwaitRunFor(b, st, d.ID, runID, time.Duration(n*nruns)*100*time.Millisecond)
		}
		runIDs = append(runIDs, batch...)
	}
	b.StopTimer()
	cpu := benchCPU(b) - cpu0
	ncommits := commits.Commits() - commits0
	var gaps []time.Duration
	for _, runID := range runIDs {
		tis, err := st.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: d.ID, RunID: runID})
		if err != nil {
			b.Fatal(err)
		}
		byID := map[string]*store.TaskInstance{}
		for _, ti := range tis {
			byID[ti.TaskID] = ti
		}
		for j := 1; j < n/chains; j++ {
			up, down := byID[fmt.Sprintf("c0_t%03d", j-1)], byID[fmt.Sprintf("c0_t%03d", j)]
			gaps = append(gaps, down.StartDate.Sub(up.EndDate))
		}
	}
	slices.Sort(gaps)
	if len(gaps) > 0 {
		b.ReportMetric(benchMillis(gaps[len(gaps)/2]), "ms-hop-p50")
	}
	tasks := float64(b.N * nruns * n)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/tasks, "ms/task")
	b.ReportMetric(tasks/b.Elapsed().Seconds(), "TI/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/tasks, "cpu-ms/task")
	b.ReportMetric(float64(counting.rows.Load())/tasks, "rows-read/task")
	b.ReportMetric(float64(ncommits)/tasks, "commits/task")
	if pg != nil {
		time.Sleep(1500 * time.Millisecond) // the server's backends report their counts within a second
		b.ReportMetric(float64(benchPGTuples(b, pg)-tuples0)/tasks, "pg-tuples/task")
	}
}

// benchPGTuples returns the rows PostgreSQL's scans read so far in the
// store's schema (index entries and sequentially read rows; the server's
// cumulative statistics): what the database did, whatever the load on the
// machine. Zero for another store.
func benchPGTuples(b *testing.B, pg *postgres.Store) int64 {
	if pg == nil {
		return 0
	}
	var n int64
	err := pg.Pool().QueryRow(context.Background(), `SELECT
		(SELECT COALESCE(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE schemaname = current_schema())
		+ (SELECT COALESCE(sum(seq_tup_read), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema())`).Scan(&n)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
