package benchscale

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel shows it.
	line := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 130 0 0 20 0 8 0 12345 1000 200 18446744073709551615"
	got, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.8 {
		t.Errorf("parseProcStat = %v s, want 3.8 (250 + 130 ticks)", got)
	}
	if _, err := parseProcStat([]byte("4242 no parenthesis")); err == nil {
		t.Error("a line without the command name parsed")
	}
	if _, err := parseProcStat([]byte("1 (x) S 1 2")); err == nil {
		t.Error("a short line parsed")
	}
}

func TestParseMachineStat(t *testing.T) {
	got, err := parseMachineStat([]byte("cpu  100 20 30 400 50 6 4 0 0 0\ncpu0 1 2 3 4 5 6 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (machineCPU{busy: 1.6, idle: 4, iowait: 0.5}); got != want {
		t.Errorf("parseMachineStat = %+v, want %+v", got, want)
	}
	if _, err := parseMachineStat([]byte("intr 1 2 3\n")); err == nil {
		t.Error("a file without the cpu line parsed")
	}
}

func TestProcCPUOfThisProcess(t *testing.T) {
	// Burn some CPU, then read our own /proc entry.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = fmt.Sprint(x)
	}
	got, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got <= 0 {
		t.Errorf("procCPU of this process = %v after burning CPU, want > 0", got)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v, want 0", got)
	}
	n, p50, p99 := hopStats([]time.Duration{5, 1, 3, 2, 4})
	if n != 5 || p50 != 3 || p99 != 5 {
		t.Errorf("hopStats of unsorted 1..5 = %d, %v, %v; want 5, 3, 5", n, p50, p99)
	}
}

func TestHopsOf(t *testing.T) {
	at := func(ms int) time.Time {
		return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
	}
	hops := hopsOf([]chainTI{
		{"r1", "t1", at(15), at(20)}, {"r1", "t0", at(0), at(10)}, {"r1", "t2", at(22), at(30)},
		{"r2", "t0", at(0), at(1)}, {"r2", "t1", at(101), at(102)},
		{"r3", "t1", at(0), at(1)}, // its upstream did not succeed: no hop
	})
	n, p50, p99 := hopStats(hops)
	if n != 3 || p50 != 5*time.Millisecond || p99 != 100*time.Millisecond {
		t.Errorf("hops %v: n %d p50 %v p99 %v; want 3 hops (5, 2, 100 ms), p50 5 ms, p99 100 ms", hops, n, p50, p99)
	}
}

func TestPeak(t *testing.T) {
	if got := peak([]float64{0.1, 1, 1, 1, 0.1}, 3); got != 1 {
		t.Errorf("peak = %v, want 1", got)
	}
	if got := peak([]float64{0.5, 1.5}, 3); got != 1 {
		t.Errorf("peak of fewer samples than the window = %v, want their mean 1", got)
	}
	if got := peak(nil, 3); got != 0 {
		t.Errorf("peak of nothing = %v", got)
	}
}

func TestParseRedisInfo(t *testing.T) {
	m := parseRedisInfo("# Server\r\nredis_version:7.0.15\r\nprocess_id:2269\r\n\r\n# Stats\r\ntotal_commands_processed:12345\r\n")
	if m["process_id"] != "2269" || m["total_commands_processed"] != "12345" || m["redis_version"] != "7.0.15" {
		t.Errorf("parseRedisInfo = %v", m)
	}
	if _, ok := m["# Server"]; ok {
		t.Error("a section header became a field")
	}
}

func TestBottleneck(t *testing.T) {
	r := &Report{Machine: MachineCPU{Cores: 2, BusyCores: 1.9}, CPU: []GroupCPU{
		{Name: "schedulers", MeanCores: 0.3, PeakCores: 0.5, Limit: 2},
		{Name: "postgres backends", MeanCores: 0.9, PeakCores: 1.2, Limit: 2},
		{Name: "redis-server", MeanCores: 0.2, PeakCores: 0.3, Limit: 1},
	}}
	if got := r.Bottleneck(); !strings.Contains(got, "machine CPU (95% of 2 cores busy, 0.50 cores") || !strings.Contains(got, "largest user postgres backends") {
		t.Errorf("busy machine: %s", got)
	}
	r.CPU[2].PeakCores = 0.95
	if got := r.Bottleneck(); !strings.HasPrefix(got, "redis-server: at its limit of 1 core") {
		t.Errorf("Redis at one core: %s", got)
	}
	r.CPU[2].PeakCores = 0.3
	r.Machine.BusyCores = 0.8
	if got := r.Bottleneck(); !strings.HasPrefix(got, "no CPU saturated (40% of 2 cores busy") {
		t.Errorf("idle machine: %s", got)
	}
}

func TestDAGFilesCreateExactRuns(t *testing.T) {
	c := Config{WideRuns: 3, WideTasks: 4, WideActive: 2, ChainRuns: 5, ChainTasks: 6, ChainActive: 5}
	files := dagFiles(c, time.Date(2026, 12, 7, 19, 30, 0, 0, time.UTC))
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	w := files[wideDAG+".star"]
	if !strings.Contains(w, `start_date = "2026-12-07T16:00:00Z"`) || !strings.Contains(w, `end_date = "2026-12-07T18:00:00Z"`) {
		t.Errorf("wide DAG does not cover exactly 3 hourly runs before 19:00:\n%s", w)
	}
	if strings.Contains(w, ">>") || !strings.Contains(files[chainDAG+".star"], "prev >> t") {
		t.Error("only the chain DAG should chain its tasks")
	}
	if c.TIs() != 3*4+5*6 {
		t.Errorf("TIs = %d", c.TIs())
	}
}

// TestRunSmall runs the harness end to end on a tiny workload: three
// schedulers and two workers of a freshly built binary against the test
// PostgreSQL and Redis. It fails (never skips) when they are not running.
func TestRunSmall(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "starflow")
	build := exec.Command("go", "build", "-o", bin, "github.com/starflow-dev/starflow/cmd/starflow")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build starflow: %v\n%s", err, out)
	}
	pg := DefaultPostgresURL
	if u := os.Getenv("STARFLOW_TEST_POSTGRES_URL"); u != "" {
		pg = u
	}
	c := Config{
		Bin: bin, PostgresURL: pg, RedisURL: DefaultRedisURL,
		Schedulers: 3, Workers: 2, Concurrency: 4,
		WideRuns: 2, WideTasks: 6, WideActive: 2,
		ChainRuns: 2, ChainTasks: 4, ChainActive: 2,
		Timeout: 3 * time.Minute, Dir: filepath.Join(dir, "work"), Sample: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	rep, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.TIs != 20 || rep.Succeeded != 20 {
		t.Errorf("%d of %d task instances succeeded, want 20 of 20", rep.Succeeded, rep.TIs)
	}
	if rep.Hops != 2*3 {
		t.Errorf("%d hops, want 6 (2 chains of 4)", rep.Hops)
	}
	if rep.HopP50 <= 0 || rep.HopP99 < rep.HopP50 {
		t.Errorf("hop p50 %v, p99 %v", rep.HopP50, rep.HopP99)
	}
	if rep.Commits < int64(rep.TIs) || rep.TIPerSec <= 0 {
		t.Errorf("commits %d, TI/s %v: every task instance commits at least once", rep.Commits, rep.TIPerSec)
	}
	byName := map[string]GroupCPU{}
	for _, g := range rep.CPU {
		byName[g.Name] = g
	}
	if g := byName["schedulers"]; g.Processes != 3 || g.Seconds <= 0 {
		t.Errorf("schedulers' CPU: %+v", g)
	}
	if g := byName["workers"]; g.Processes != 2 || g.Seconds <= 0 {
		t.Errorf("workers' CPU: %+v", g)
	}
	if g := byName["postgres backends (benchmark db)"]; g.Processes == 0 {
		t.Errorf("no PostgreSQL backend of the benchmark's database seen: %+v", g)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"task instances     20 (20 succeeded)", "commits/TI", "saturates first: "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	t.Logf("\n%s", b.String())
}
