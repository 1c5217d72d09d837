// Package benchscale is the scale-out load benchmark behind `make
// bench-scale`: it starts several `starflow scheduler` and `starflow worker`
// processes of a built binary on loopback against a PostgreSQL database and
// a Redis database of its own, drives runs of a wide and a chain DAG of
// no-op task functions through them, and reports throughput, scheduling
// hops, commits per task instance and the CPU of every process group.
package benchscale

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgresURL is the test server: trust auth, user postgres, database test.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DefaultRedisURL is the test Redis; the benchmark picks an empty database of it.
const DefaultRedisURL = "redis://127.0.0.1:6379"

// Config is one benchmark run.
type Config struct {
	// Bin is the starflow binary.
	Bin string
	// PostgresURL is a database of the server on which the benchmark
	// creates (and at the end drops) a database of its own.
	PostgresURL string
	// RedisURL is the Redis server (without a database number): the
	// benchmark uses an empty database of it, flushed at the end.
	RedisURL string
	// Schedulers and Workers are the process counts; Concurrency each
	// worker's --concurrency.
	Schedulers, Workers, Concurrency int
	// WideRuns runs of a DAG of WideTasks independent tasks and ChainRuns
	// runs of a chain of ChainTasks tasks, all created at once by catchup.
	WideRuns, WideTasks, ChainRuns, ChainTasks int
	// WideActive and ChainActive are the DAGs' max_active_runs.
	WideActive, ChainActive int
	// Timeout bounds the workload; the benchmark stops by itself after it.
	Timeout time.Duration
	// Dir holds the DAG files, task logs and the processes' output.
	Dir string
	// Sample is the CPU sampling interval. Default 1 s.
	Sample time.Duration
	// Logger receives progress. Default slog.Default().
	Logger *slog.Logger
}

// TIs is the number of task instances of the workload.
func (c Config) TIs() int { return c.WideRuns*c.WideTasks + c.ChainRuns*c.ChainTasks }

// DAG ids of the workload.
const (
	wideDAG  = "scale_wide"
	chainDAG = "scale_chain"
)

// dagFiles returns the workload's DAG files: an hourly DAG whose catchup
// creates exactly runs runs ending before now, of n no-op task functions,
// independent or chained.
func dagFiles(c Config, now time.Time) map[string]string {
	file := func(id string, runs, n, active int, chain bool) string {
		start := now.UTC().Truncate(time.Hour).Add(-time.Duration(runs) * time.Hour)
		edge := ""
		if chain {
			edge = "\n        if prev != None:\n            prev >> t\n        prev = t"
		}
		return fmt.Sprintf(`
def noop(ctx):
    return None

def build():
    prev = None
    for i in range(%d):
        t = task(noop, task_id = "t%%d" %% i)%s

dag(
    dag_id = %q,
    build = build,
    schedule = "@hourly",
    start_date = %q,
    end_date = %q,
    catchup = True,
    max_active_runs = %d,
    max_active_tasks = %d,
)
`, n, edge, id, start.Format(time.RFC3339), start.Add(time.Duration(runs-1)*time.Hour).Format(time.RFC3339), active, n)
	}
	files := map[string]string{}
	if c.WideRuns > 0 {
		files[wideDAG+".star"] = file(wideDAG, c.WideRuns, c.WideTasks, c.WideActive, false)
	}
	if c.ChainRuns > 0 {
		files[chainDAG+".star"] = file(chainDAG, c.ChainRuns, c.ChainTasks, c.ChainActive, true)
	}
	return files
}

// proc is a process the benchmark started.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *os.File
	done chan struct{}
	err  error
}

func startProc(dir, name string, env []string, bin string, args ...string) (*proc, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILL.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last lines of the process's output.
func (p *proc) tail(n int) string {
	data, _ := os.ReadFile(p.out.Name())
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase returns raw naming database db and the application name app.
func withDatabase(raw, db, app string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL URL: %w", err)
	}
	u.Path = "/" + db
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pgStats are pg_stat_database's counters of one database.
type pgStats struct{ commits, rollbacks, written int64 }

func readPGStats(ctx context.Context, conn *pgx.Conn, db string) (pgStats, error) {
	var s pgStats
	err := conn.QueryRow(ctx, `SELECT xact_commit, xact_rollback, tup_inserted + tup_updated + tup_deleted
		FROM pg_stat_database WHERE datname = $1`, db).Scan(&s.commits, &s.rollbacks, &s.written)
	if err != nil {
		return s, fmt.Errorf("pg_stat_database: %w", err)
	}
	return s, nil
}

// pickRedisDB returns a Redis client on an empty database (1–15) that the
// benchmark claimed with a marker key.
func pickRedisDB(ctx context.Context, raw string) (*redis.Client, string, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("Redis URL: %w", err)
	}
	for db := 15; db >= 1; db-- {
		o := *opts
		o.DB = db
		c := redis.NewClient(&o)
		ok, err := c.SetNX(ctx, "starflow-bench-scale", "1", time.Hour).Result()
		if err != nil {
			c.Close()
			return nil, "", fmt.Errorf("Redis at %s: %w", opts.Addr, err)
		}
		if ok {
			if n, err := c.DBSize(ctx).Result(); err == nil && n == 1 {
				return c, fmt.Sprintf("redis://%s/%d", opts.Addr, db), nil
			}
			c.Del(ctx, "starflow-bench-scale")
		}
		c.Close()
	}
	return nil, "", errors.New("Redis: no empty database among 1–15 for the benchmark")
}

// Run runs the benchmark and returns its report. It removes what it
// created (the database, the Redis keys, the processes) before returning.
func Run(ctx context.Context, c Config) (rep *Report, err error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Sample <= 0 {
		c.Sample = time.Second
	}
	log := c.Logger
	if c.Bin, err = filepath.Abs(c.Bin); err != nil {
		return nil, fmt.Errorf("starflow binary: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cleanupCtx := context.WithoutCancel(ctx)

	// A database of the benchmark's own, so that its pg_stat_database
	// counters are the benchmark's alone.
	admin, err := pgx.Connect(ctx, c.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", c.PostgresURL, err)
	}
	defer admin.Close(cleanupCtx)
	db := "bench_scale_" + randomHex(4)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return nil, fmt.Errorf("create database %s: %w", db, err)
	}
	defer func() {
		if _, derr := admin.Exec(cleanupCtx, "DROP DATABASE "+db+" WITH (FORCE)"); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop database %s: %w", db, derr))
		}
	}()
	dbURL, err := withDatabase(c.PostgresURL, db, "starflow-bench-scale")
	if err != nil {
		return nil, err
	}
	rdb, redisURL, err := pickRedisDB(ctx, c.RedisURL)
	if err != nil {
		return nil, err
	}
	defer func() {
		rdb.FlushDB(cleanupCtx)
		rdb.Close()
	}()

	dagsDir := filepath.Join(c.Dir, "dags")
	if err := os.MkdirAll(dagsDir, 0o755); err != nil {
		return nil, fmt.Errorf("DAG folder: %w", err)
	}
	for name, src := range dagFiles(c, time.Now()) {
		if err := os.WriteFile(filepath.Join(dagsDir, name), []byte(src), 0o644); err != nil {
			return nil, fmt.Errorf("DAG file: %w", err)
		}
	}
	env := []string{
		"STARFLOW_DATABASE_URL=" + dbURL,
		"STARFLOW_REDIS_URL=" + redisURL,
		"STARFLOW_SECRET_KEY=" + randomHex(32),
		"STARFLOW_DAGS_FOLDER=" + dagsDir,
		"STARFLOW_LOG_FOLDER=" + filepath.Join(c.Dir, "logs"),
	}
	migrate, err := startProc(c.Dir, "migrate", env, c.Bin, "db", "migrate")
	if err != nil {
		return nil, err
	}
	<-migrate.done
	if migrate.err != nil {
		return nil, fmt.Errorf("starflow db migrate: %w\n%s", migrate.err, migrate.tail(20))
	}

	// The harness's own connection to the database, for progress.
	mon, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", db, err)
	}
	defer mon.Close(cleanupCtx)
	var monPID int
	if err := mon.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&monPID); err != nil {
		return nil, fmt.Errorf("backend pid: %w", err)
	}
	monQueries := int64(1)
	stats0, err := readPGStats(ctx, admin, db)
	if err != nil {
		return nil, err
	}
	info0, err := rdb.Info(ctx, "server", "stats").Result()
	if err != nil {
		return nil, fmt.Errorf("Redis INFO: %w", err)
	}
	redis0 := parseRedisInfo(info0)
	redisPID, _ := strconv.Atoi(redis0["process_id"])

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop(15 * time.Second)
		}
	}()
	began := time.Now()
	var schedPIDs, workerPIDs []int
	for i := range c.Workers {
		name := fmt.Sprintf("worker-%d", i+1)
		p, err := startProc(c.Dir, name, env, c.Bin, "worker", "--hostname", name, "--concurrency", strconv.Itoa(c.Concurrency))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		workerPIDs = append(workerPIDs, p.cmd.Process.Pid)
	}
	for i := range c.Schedulers {
		p, err := startProc(c.Dir, fmt.Sprintf("scheduler-%d", i+1), env, c.Bin, "scheduler")
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		schedPIDs = append(schedPIDs, p.cmd.Process.Pid)
	}

	// CPU by process group. The backends of the benchmark's database are
	// listed by pg_stat_activity (the harness's own connection left out).
	ncpu := runtime.NumCPU()
	backends := []int{}
	listBackends := func() []int {
		rows, err := admin.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> $2", db, monPID)
		if err != nil {
			return backends
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return backends
		}
		backends = backends[:0]
		for _, p := range pids {
			backends = append(backends, int(p))
		}
		return backends
	}
	ours := map[int]bool{}
	otherPostgres := func() []int {
		var out []int
		for _, p := range processesNamed("postgres") {
			if !ours[p] {
				out = append(out, p)
			}
		}
		return out
	}
	groups := []*group{
		{name: "schedulers", limit: float64(ncpu), pids: func() []int { return schedPIDs }, fromZero: true},
		{name: "workers", limit: float64(ncpu), pids: func() []int { return workerPIDs }, fromZero: true},
		{name: "postgres backends (benchmark db)", limit: float64(ncpu), fromZero: true, pids: func() []int {
			b := listBackends()
			for _, p := range b {
				ours[p] = true
			}
			return b
		}},
		{name: "postgres other (wal, other dbs)", limit: float64(ncpu), pids: otherPostgres},
	}
	if redisPID > 0 {
		groups = append(groups, &group{name: "redis-server (whole server)", limit: 1, pids: func() []int { return []int{redisPID} }})
	}
	smp := newSampler(c.Sample, groups...)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		smp.run(sampleCtx)
		close(sampled)
	}()

	// Wait for every run to end.
	wantRuns := c.WideRuns + c.ChainRuns
	lastLog := time.Now()
	for {
		var ended int
		monQueries++
		if err := mon.QueryRow(ctx, "SELECT count(*) FROM dag_run WHERE state IN ('success', 'failed')").Scan(&ended); err != nil {
			stopSampling()
			<-sampled
			return nil, fmt.Errorf("waiting for %d runs (timeout %s): %w", wantRuns, c.Timeout, err)
		}
		if ended >= wantRuns {
			break
		}
		if ended == 0 && time.Since(began) > 5*time.Second {
			var msg string
			monQueries++
			if err := mon.QueryRow(ctx, "SELECT coalesce(min(file || ': ' || message), '') FROM import_error").Scan(&msg); err == nil && msg != "" {
				stopSampling()
				<-sampled
				return nil, fmt.Errorf("the workload's DAG files do not load: %s", msg)
			}
		}
		for _, p := range procs {
			if p.exited() {
				stopSampling()
				<-sampled
				return nil, fmt.Errorf("%s exited during the benchmark: %v\n%s", p.name, p.err, p.tail(20))
			}
		}
		if time.Since(lastLog) >= 10*time.Second {
			lastLog = time.Now()
			log.Info("bench-scale", "runs ended", ended, "of", wantRuns, "elapsed", time.Since(began).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			stopSampling()
			<-sampled
			return nil, fmt.Errorf("after %s only %d of %d runs ended", c.Timeout, ended, wantRuns)
		case <-time.After(200 * time.Millisecond):
		}
	}
	wall := time.Since(began)
	stopSampling()
	<-sampled

	rep = &Report{Schedulers: c.Schedulers, Workers: c.Workers, Concurrency: c.Concurrency, TIs: c.TIs(), Wall: wall}
	rep.CPU, rep.Machine = smp.cpuFigures(ncpu)
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		rep.LoadAverage = strings.Fields(string(data))[0]
	}
	info1, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return nil, fmt.Errorf("Redis INFO: %w", err)
	}
	c0, _ := strconv.ParseInt(redis0["total_commands_processed"], 10, 64)
	c1, _ := strconv.ParseInt(parseRedisInfo(info1)["total_commands_processed"], 10, 64)
	rep.RedisCommands = c1 - c0 - 2 // the harness's INFO

	// The figures from the task instances.
	monQueries++
	var first, last time.Time
	if err := mon.QueryRow(ctx, "SELECT count(*), min(start_date), max(end_date) FROM task_instance WHERE state = 'success'").
		Scan(&rep.Succeeded, &first, &last); err != nil {
		return nil, fmt.Errorf("task instances: %w", err)
	}
	rep.Span = last.Sub(first)
	if rep.Span > 0 {
		rep.TIPerSec = float64(rep.TIs) / rep.Span.Seconds()
	}
	monQueries++
	hops, err := chainHops(ctx, mon)
	if err != nil {
		return nil, err
	}
	rep.Hops, rep.HopP50, rep.HopP99 = hopStats(hops)

	// Stop the processes: their backends report their last counters as
	// they exit.
	for _, p := range procs {
		p.stop(15 * time.Second)
	}
	procs = nil
	mon.Close(ctx)
	time.Sleep(1500 * time.Millisecond)
	stats1, err := readPGStats(ctx, admin, db)
	if err != nil {
		return nil, err
	}
	rep.Commits = stats1.commits - stats0.commits - monQueries
	rep.Rollbacks = stats1.rollbacks - stats0.rollbacks
	rep.TuplesWritten = stats1.written - stats0.written
	return rep, nil
}

// chainHops returns, for every task of the chain runs after the first, the
// time from its upstream's end to its start.
func chainHops(ctx context.Context, conn *pgx.Conn) ([]time.Duration, error) {
	rows, err := conn.Query(ctx, `SELECT run_id, task_id, start_date, end_date FROM task_instance
		WHERE dag_id = $1 AND state = 'success'`, chainDAG)
	if err != nil {
		return nil, fmt.Errorf("chain hops: %w", err)
	}
	tis, err := pgx.CollectRows(rows, pgx.RowToStructByPos[chainTI])
	if err != nil {
		return nil, fmt.Errorf("chain hops: %w", err)
	}
	return hopsOf(tis), nil
}

// chainTI is one finished task instance of a chain run (tasks t0, t1, …).
type chainTI struct {
	RunID, TaskID string
	Start, End    time.Time
}

// hopsOf returns the hops of chains: for each t<i> with a t<i-1> in the
// same run, t<i>'s start minus t<i-1>'s end.
func hopsOf(tis []chainTI) []time.Duration {
	type at struct {
		run string
		i   int
	}
	byPos := make(map[at]chainTI, len(tis))
	for _, ti := range tis {
		if i, err := strconv.Atoi(strings.TrimPrefix(ti.TaskID, "t")); err == nil {
			byPos[at{ti.RunID, i}] = ti
		}
	}
	var hops []time.Duration
	for pos, ti := range byPos {
		if up, ok := byPos[at{pos.run, pos.i - 1}]; ok {
			hops = append(hops, ti.Start.Sub(up.End))
		}
	}
	return hops
}
