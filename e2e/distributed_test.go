package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/postgres"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/runtime/tasklog"
)

// The fault test's shape: runs of a DAG of tasks, each task a short bash
// command that records that it ran.
const (
	faultRuns  = 50
	faultTasks = 20
	// faultRetries is every task's retries: a try killed with its worker
	// is a zombie and is retried.
	faultRetries = 2
	// faultConcurrency is each worker's --concurrency.
	faultConcurrency = 8
	// maxGap bounds the longest stretch without a task start: the kills
	// and the restart may slow the work down, never stop it.
	maxGap = 10 * time.Second
	// faultTimeout bounds the whole workload.
	faultTimeout = 4 * time.Minute
)

// faultDAG returns a 20-task DAG (start, ten in parallel, join, seven in
// parallel, end) with an hourly schedule whose catchup creates faultRuns
// runs. Each task sleeps a little and appends "<run_id> <task_id>" to
// ranLog.
func faultDAG(start time.Time, ranLog string) string {
	return fmt.Sprintf(`
def cmd(task_id):
    return "sleep 0.2; echo '{{ run_id }} %%s' >> %s" %% task_id

def build():
    first = bash(task_id = "start", bash_command = cmd("start"))
    fan = [bash(task_id = "m%%d" %% i, bash_command = cmd("m%%d" %% i)) for i in range(10)]
    join = bash(task_id = "join", bash_command = cmd("join"))
    tail = [bash(task_id = "t%%d" %% i, bash_command = cmd("t%%d" %% i)) for i in range(7)]
    last = bash(task_id = "end", bash_command = cmd("end"))
    first >> fan
    fan >> join
    join >> tail
    tail >> last

dag(
    dag_id = "faults",
    build = build,
    schedule = "@hourly",
    start_date = %q,
    end_date = %q,  # exactly faultRuns runs, even when the clock passes an hour meanwhile
    catchup = True,
    max_active_runs = 16,
    default_args = {"retries": %d, "retry_delay": "1s"},
)
`, ranLog, start.Format(time.RFC3339), start.Add((faultRuns-1)*time.Hour).Format(time.RFC3339), faultRetries)
}

// TestDistributedFaults is the end-to-end fault test: two
// schedulers and three workers as processes against PostgreSQL and a Redis
// of the test's own run 50 runs of a 20-task DAG while one scheduler and
// one worker are killed with SIGKILL and Redis restarts without its data.
// Every run must succeed, every task instance run once (or, when its
// worker was killed, be retried within its retries), no run be created
// twice and nothing stay queued or running.
func TestDistributedFaults(t *testing.T) {
	dir := t.TempDir()
	dbURL := testdb.PostgresURL(t)
	key, err := secrets.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	rds := startRedis(t, dir)
	dagsDir := filepath.Join(dir, "dags")
	if err := os.Mkdir(dagsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ranLog := filepath.Join(dir, "ran.log")
	startDate := time.Now().UTC().Truncate(time.Hour).Add(-faultRuns * time.Hour)
	if err := os.WriteFile(filepath.Join(dagsDir, "faults.star"), []byte(faultDAG(startDate, ranLog)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		store.EnvDatabaseURL + "=" + dbURL,
		"STARFLOW_REDIS_URL=" + rds.URL(),
		secrets.EnvKey + "=" + secrets.EncodeKey(key),
		// Twelve missed heartbeats: a live worker under -race on a
		// loaded 2-core machine can miss six (a 3 s timeout retried
		// tries of a surviving worker once), a killed one is found
		// a few seconds later.
		"STARFLOW_ZOMBIE_TIMEOUT=6s",
		"STARFLOW_RECONCILE_AFTER=3s",
		"STARFLOW_HEARTBEAT_INTERVAL=500ms",
		"STARFLOW_DRAIN_GRACE=5s",
		"STARFLOW_DAGS_FOLDER=" + dagsDir,
		// The workers share one log folder, as hosts share a mount.
		"STARFLOW_LOG_FOLDER=" + filepath.Join(dir, "logs"),
	}
	migrate := startProc(t, dir, "migrate", env, starflowBin, "db", "migrate")
	<-migrate.done
	if migrate.err != nil {
		t.Fatalf("starflow db migrate: %v\n%s", migrate.err, migrate.output())
	}
	ctx := context.Background()
	st, err := postgres.Open(ctx, dbURL, store.Options{Secrets: &secrets.Keyring{Key: secrets.EncodeKey(key)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	var procs []*proc
	start := func(name string, args ...string) *proc {
		p := startProc(t, dir, name, env, starflowBin, args...)
		procs = append(procs, p)
		return p
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- last lines of %s:\n%s", p.name, p.tail(15))
			}
		}
	})
	sched1 := start("scheduler-1", "scheduler")
	sched2 := start("scheduler-2", "scheduler")
	worker1 := start("worker-1", "worker", "--hostname", "w1", "--concurrency", strconv.Itoa(faultConcurrency))
	worker2 := start("worker-2", "worker", "--hostname", "w2", "--concurrency", strconv.Itoa(faultConcurrency))
	worker3 := start("worker-3", "worker", "--hostname", "w3", "--concurrency", strconv.Itoa(faultConcurrency))

	total := faultRuns * faultTasks
	began := time.Now()
	deadline := began.Add(faultTimeout)
	succeeded := func() int {
		counts, err := st.TaskInstanceCounts(ctx, &store.TaskInstanceCountsParams{DagID: "faults", States: []dags.TaskState{dags.TaskStateSuccess}})
		if err != nil {
			t.Fatalf("count task instances: %v", err)
		}
		n := 0
		for _, c := range counts {
			n += c.Count
		}
		return n
	}
	waitSucceeded := func(n int, what string) {
		t.Helper()
		for succeeded() < n {
			for _, p := range []*proc{sched2, worker2, worker3} {
				if p.exited() {
					t.Fatalf("%s exited while waiting for %s: %v\n%s", p.name, what, p.err, p.tail(30))
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s only %d of %d task instances succeeded, waiting for %s", faultTimeout, succeeded(), total, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s: %d task instances succeeded after %s", what, succeeded(), time.Since(began).Round(time.Millisecond))
	}

	waitRuns(t, st, sched1)
	waitSucceeded(total/4, "a quarter done")
	waitWorkers(t, st, 3)
	sched1.kill()
	worker1.kill()
	t.Logf("killed scheduler-1 and worker-1 (w1) with SIGKILL")
	waitSucceeded(total/2, "half done")
	rds.restart()
	t.Logf("restarted Redis without its data")
	waitFinished(t, st, deadline)
	elapsed := time.Since(began)

	// The survivors drain and exit cleanly on SIGTERM.
	for _, p := range []*proc{sched2, worker2, worker3} {
		if err := p.stop(15 * time.Second); err != nil {
			t.Errorf("%s on SIGTERM: %v\n%s", p.name, err, p.tail(20))
		}
	}

	checkRuns(t, st)
	retried := checkTaskInstances(t, st, tasklog.New(st, filepath.Join(dir, "logs"), ""), countLines(t, ranLog))
	gap := longestGap(t, st)
	if gap > maxGap {
		t.Errorf("no task started for %s at a stretch, want under %s: the survivors did not carry on", gap, maxGap)
	}
	if n := lines(sched2.output(), "the queue lost its messages"); n == 0 {
		t.Errorf("scheduler-2 never noticed that Redis lost its data:\n%s", sched2.tail(30))
	}
	reconciled := lines(sched2.output(), "queued again")
	ws, err := st.WorkerList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Hostname != "w1" {
		t.Errorf("after the survivors stopped the store lists %d workers (%v), want only the killed w1", len(ws), workerNames(ws))
	}
	t.Logf("%d runs x %d tasks in %s; %d task instances retried after the kill; %d queued again by reconciliation; longest stretch without a task start %s",
		faultRuns, faultTasks, elapsed.Round(time.Millisecond), retried, reconciled, gap.Round(time.Millisecond))
}

// waitRuns waits until the schedulers created the DAG's runs, failing
// early when the DAG does not load.
func waitRuns(t *testing.T, st store.Store, sched *proc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, err := st.RunList(context.Background(), &store.RunListParams{DagID: "faults"})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no run of the DAG after 30s:\n%s", sched.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitWorkers waits until the store lists n workers.
func waitWorkers(t *testing.T, st store.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ws, err := st.WorkerList(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store lists %d workers (%v), want %d", len(ws), workerNames(ws), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func workerNames(ws []*store.Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Hostname
	}
	return out
}

// waitFinished waits until every run of the DAG has finished.
func waitFinished(t *testing.T, st store.Store, deadline time.Time) {
	t.Helper()
	for {
		runs, err := st.RunList(context.Background(), &store.RunListParams{DagID: "faults"})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range runs {
			if r.State == dags.DagRunStateSuccess || r.State == dags.DagRunStateFailed {
				done++
			}
		}
		if len(runs) >= faultRuns && done == len(runs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d runs finished", faultTimeout, done, len(runs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRuns checks that the DAG has exactly faultRuns runs, one per
// logical date, all successful.
func checkRuns(t *testing.T, st store.Store) {
	t.Helper()
	runs, err := st.RunList(context.Background(), &store.RunListParams{DagID: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != faultRuns {
		t.Errorf("%d runs, want %d", len(runs), faultRuns)
	}
	dates := map[time.Time]string{}
	for _, r := range runs {
		if prev, ok := dates[r.LogicalDate]; ok {
			t.Errorf("runs %s and %s share the logical date %s", prev, r.RunID, r.LogicalDate)
		}
		dates[r.LogicalDate] = r.RunID
		if r.State != dags.DagRunStateSuccess {
			t.Errorf("run %s is %s, want success", r.RunID, r.State)
		}
	}
}

// checkTaskInstances checks every task instance against the lines the
// tasks wrote: a task instance at try 1 ran exactly once; one at a later
// try was retried because its first try died with worker w1 (so there are
// at most that worker's concurrency of them), and ran at most once per
// try. It returns how many were retried.
func checkTaskInstances(t *testing.T, st store.Store, logs *tasklog.Folder, ran map[string]int) int {
	t.Helper()
	ctx := context.Background()
	tis, err := st.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	if len(tis) != faultRuns*faultTasks {
		t.Errorf("%d task instances, want %d", len(tis), faultRuns*faultTasks)
	}
	retried := 0
	var bad []string
	for _, ti := range tis {
		n := ran[ti.RunID+" "+ti.TaskID]
		switch {
		case ti.State != dags.TaskStateSuccess:
			bad = append(bad, fmt.Sprintf("%s is %s at try %d", ti.TaskInstanceKey, ti.State, ti.TryNumber))
		case ti.TryNumber == 1 && n != 1:
			bad = append(bad, fmt.Sprintf("%s succeeded at try 1 but ran %d times", ti.TaskInstanceKey, n))
		case ti.TryNumber > 1:
			retried++
			if ti.TryNumber > faultRetries+1 || n < 1 || n > ti.TryNumber {
				bad = append(bad, fmt.Sprintf("%s succeeded at try %d of %d and ran %d times", ti.TaskInstanceKey, ti.TryNumber, faultRetries+1, n))
			}
			// The killed worker's log of the try may not have reached
			// the store; when it did, it must be w1's.
			if first := tryLog(t, logs, ti.TaskInstanceKey, 1); first != "" && !strings.Contains(first, " on w1 (pid") {
				bad = append(bad, fmt.Sprintf("%s was retried, but its first try was not on the killed worker w1: %q", ti.TaskInstanceKey, firstLine(first)))
			}
		}
	}
	if retried > faultConcurrency {
		bad = append(bad, fmt.Sprintf("%d task instances were retried, but the killed worker ran at most %d", retried, faultConcurrency))
	}
	sort.Strings(bad)
	for i, b := range bad {
		if i == 20 {
			t.Errorf("… and %d more", len(bad)-i)
			break
		}
		t.Error(b)
	}
	return retried
}

// longestGap returns the longest time between two consecutive task
// starts.
func longestGap(t *testing.T, st store.Store) time.Duration {
	t.Helper()
	tis, err := st.TaskInstanceList(context.Background(), &store.TaskInstanceListParams{DagID: "faults"})
	if err != nil {
		t.Fatal(err)
	}
	starts := make([]time.Time, 0, len(tis))
	for _, ti := range tis {
		starts = append(starts, ti.StartDate)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	var gap time.Duration
	for i := 1; i < len(starts); i++ {
		gap = max(gap, starts[i].Sub(starts[i-1]))
	}
	return gap
}

// tryLog returns the log of one try, from the workers' log folder.
func tryLog(t *testing.T, logs *tasklog.Folder, key store.TaskInstanceKey, try int) string {
	t.Helper()
	c, err := logs.Read(context.Background(), &store.TaskLogReadParams{Key: key, TryNumber: try})
	if err != nil {
		t.Fatalf("log of %s try %d: %v", key, try, err)
	}
	return string(c.Data)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
