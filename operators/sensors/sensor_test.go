package sensors_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
)

func TestFileSensorWaitsForTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "2024-03-01", "data.csv")
	clk := newClock(t0)
	clk.hook = func(n int) {
		if n == 2 { // the file appears after the second poke
			os.MkdirAll(filepath.Dir(target), 0o755)
			os.WriteFile(target, []byte("x"), 0o644)
		}
	}
	s := &sensors.FileSensor{Base: clk.base()}
	c, log := newCall(sensors.FileKind, map[string]any{"filepath": dir + "/{{ ds }}/data.csv", "poke_interval": "30s"})
	res, err := s.Execute(context.Background(), c)
	if err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("Execute = %+v, %v; want success\n%s", res, err, log)
	}
	if got := clk.Sleeps(); len(got) != 2 || got[0] != 30*time.Second || got[1] != 30*time.Second {
		t.Errorf("sleeps = %v, want two of 30s", got)
	}
	out := log.String()
	if n := count(out, "Poking for file "+target+": not yet"); n != 2 {
		t.Errorf("%d 'not yet' pokes in the log, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "found "+target) || !strings.Contains(out, "poke 2: not yet; next poke in 30s") {
		t.Errorf("log lacks the found file or the next poke:\n%s", out)
	}
}

func TestFileSensorGlobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "in", "a", "b"), 0o755)
	os.MkdirAll(filepath.Join(dir, "empty", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "in", "a", "b", "part-1.parquet"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "in", "notes.txt"), nil, 0o644)
	tests := []struct {
		pattern   string
		recursive bool
		found     bool
	}{
		{dir + "/in/*.txt", false, true},
		{dir + "/in/*.csv", false, false},
		{dir + "/in/a", false, true},   // a directory with a file somewhere below
		{dir + "/empty", false, false}, // a directory without files
		{dir + "/in/**/*.parquet", true, true},
		{dir + "/**/part-?.parquet", true, true},
		{dir + "/in/**/*.parquet", false, false}, // ** is one level without recursive
		{dir + "/in/**/notes.txt", true, true},   // ** matches no directory too
		{dir + "/nowhere/**/x", true, false},
	}
	for _, tt := range tests {
		clk := newClock(t0)
		s := &sensors.FileSensor{Base: clk.base()}
		c, log := newCall(sensors.FileKind, map[string]any{"filepath": tt.pattern, "recursive": tt.recursive, "mode": "reschedule"})
		res, err := s.Execute(context.Background(), c)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		if got := res.RescheduleAt.IsZero(); got != tt.found {
			t.Errorf("%s (recursive %v): found = %v, want %v\n%s", tt.pattern, tt.recursive, got, tt.found, log)
		}
	}
}

func TestRescheduleModePokesOnceAndReschedules(t *testing.T) {
	t.Parallel()
	clk := newClock(t0.Add(time.Hour))
	s := &sensors.FileSensor{Base: clk.base()}
	c, _ := newCall(sensors.FileKind, map[string]any{"filepath": filepath.Join(t.TempDir(), "nope"), "mode": "reschedule",
		"poke_interval": "5m", "timeout": "1h"})
	c.FirstStart = t0.Add(30 * time.Minute)
	c.RescheduleCount = 3
	res, err := s.Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(time.Hour + 5*time.Minute); !res.RescheduleAt.Equal(want) || res.State != "" {
		t.Errorf("result = %+v, want a reschedule at %s", res, want)
	}
	if !strings.Contains(res.Message, "poke 4: not yet") {
		t.Errorf("message %q does not count the pokes", res.Message)
	}
	if len(clk.Sleeps()) != 0 {
		t.Errorf("reschedule mode slept %v", clk.Sleeps())
	}

	// The timeout counts from the first start, across reschedules.
	c.FirstStart = t0.Add(-time.Second)
	_, err = s.Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "sensor timed out: waited 1h0m1s, more than its timeout of 1h") {
		t.Errorf("after the timeout: %v; want a final timeout error", err)
	}
}

// TestDeferrableWaitsAsReschedule: Starflow has no triggerer, so a
// deferrable sensor (Airflow's example_time_delta_sensor_async) gives its
// worker slot back between pokes, as in reschedule mode (the next poke a
// poke_interval later), and succeeds once its time has come.
func TestDeferrableWaitsAsReschedule(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	s := &sensors.TimeDeltaSensor{Base: clk.base()}
	c, _ := newCall(sensors.TimeDeltaKind, map[string]any{"delta": "30s", "deferrable": true})
	c.Run.DataIntervalEnd = t0
	res, err := s.Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(sensors.DefaultPokeInterval); !res.RescheduleAt.Equal(want) || res.State != "" {
		t.Errorf("result = %+v, want a reschedule at %s", res, want)
	}
	if len(clk.Sleeps()) != 0 {
		t.Errorf("a deferrable sensor slept %v in its worker slot", clk.Sleeps())
	}
	clk2 := newClock(t0.Add(31 * time.Second))
	s.Base = clk2.base()
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Errorf("after the delta: %+v, %v; want success", res, err)
	}
}

func TestTimeoutFailsWithoutRetryOrSkipsWithSoftFail(t *testing.T) {
	t.Parallel()
	for _, soft := range []bool{false, true} {
		clk := newClock(t0)
		s := &sensors.FileSensor{Base: clk.base()}
		c, log := newCall(sensors.FileKind, map[string]any{"filepath": filepath.Join(t.TempDir(), "nope"),
			"poke_interval": "20s", "timeout": "1m", "soft_fail": soft})
		res, err := s.Execute(context.Background(), c)
		if soft {
			if err != nil || res.State != dags.TaskStateSkipped || !strings.Contains(res.Message, "timed out") {
				t.Errorf("soft_fail: %+v, %v; want skipped", res, err)
			}
		} else if err == nil || !operators.IsFinal(err) {
			t.Errorf("timeout: %+v, %v; want a final error", res, err)
		}
		// Pokes at 0, 20, 40, 60 s are within the timeout; 80 s is not.
		if n := len(clk.Sleeps()); n != 4 {
			t.Errorf("soft_fail=%v: %d sleeps, want 4\n%s", soft, n, log)
		}
	}
}

func TestPokeErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	clk := newClock(t0)
	s := &sensors.FileSensor{Base: clk.base()}
	c, _ := newCall(sensors.FileKind, map[string]any{"filepath": "[", "soft_fail": true})
	_, err := s.Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("bad pattern: %v; want a final error", err)
	}
	c, _ = newCall(sensors.FileKind, map[string]any{"filepath": "x", "mode": "sideways"})
	if _, err := s.Execute(context.Background(), c); err == nil || !strings.Contains(err.Error(), "want one of poke, reschedule") {
		t.Errorf("bad mode: %v", err)
	}
}

func TestPokeModeStopsWithItsContext(t *testing.T) {
	t.Parallel()
	s := &sensors.FileSensor{} // the real clock
	c, _ := newCall(sensors.FileKind, map[string]any{"filepath": filepath.Join(t.TempDir(), "nope"), "poke_interval": "1h"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Execute(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Execute = %v after %s; want the context's error at once", err, time.Since(start))
	}
}

func TestExponentialBackoff(t *testing.T) {
	t.Parallel()
	set := sensors.Settings{PokeInterval: 60 * time.Second, Timeout: 7 * 24 * time.Hour, ExponentialBackoff: true}
	started := t0
	// poke_count 1 → [30, 59] s, 2 → [60, 119], 3 → [120, 239], 4 → [240, 479].
	for n, lo := range map[int]int{1: 30, 2: 60, 3: 120, 4: 240, 10: 15360} {
		got := sensors.NextInterval(set, "d", "t", started, n, 0)
		if got < time.Duration(lo)*time.Second || got > time.Duration(2*lo-1)*time.Second || got%time.Second != 0 {
			t.Errorf("poke %d: wait %s, want whole seconds in [%d, %d]", n, got, lo, 2*lo-1)
		}
		if again := sensors.NextInterval(set, "d", "t", started, n, 0); again != got {
			t.Errorf("poke %d: wait %s then %s; want the same (deterministic jitter)", n, got, again)
		}
	}
	// The jitter depends on the task.
	differ := false
	for n := 3; n < 10; n++ {
		differ = differ || sensors.NextInterval(set, "d", "t", started, n, 0) != sensors.NextInterval(set, "d", "u", started, n, 0)
	}
	if !differ {
		t.Error("two tasks got the same waits at every poke")
	}
	// At least one second, even for short intervals.
	short := set
	short.PokeInterval = 100 * time.Millisecond
	if got := sensors.NextInterval(short, "d", "t", started, 1, 0); got != time.Second {
		t.Errorf("short interval: %s, want 1s", got)
	}
	// Capped by max_wait and by the time left before the timeout.
	capped := set
	capped.MaxWait = 90 * time.Second
	if got := sensors.NextInterval(capped, "d", "t", started, 5, 0); got != 90*time.Second {
		t.Errorf("max_wait: %s, want 1m30s", got)
	}
	capped.Timeout = 10 * time.Minute
	if got := sensors.NextInterval(capped, "d", "t", started, 5, 9*time.Minute+40*time.Second+300*time.Millisecond); got != 20*time.Second {
		t.Errorf("near the timeout: %s, want 20s", got)
	}
	// Without back-off, the poke interval, and max_wait does not apply.
	plain := sensors.Settings{PokeInterval: 5 * time.Minute, Timeout: time.Hour, MaxWait: time.Minute}
	if got := sensors.NextInterval(plain, "d", "t", started, 7, 0); got != 5*time.Minute {
		t.Errorf("no back-off: %s, want 5m", got)
	}

	// The poke loop sleeps these waits.
	clk := newClock(t0)
	s := &sensors.FileSensor{Base: clk.base()}
	c, _ := newCall(sensors.FileKind, map[string]any{"filepath": filepath.Join(t.TempDir(), "nope"), "poke_interval": "60s",
		"timeout": "30m", "exponential_backoff": true, "soft_fail": true})
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSkipped {
		t.Fatalf("Execute = %+v, %v", res, err)
	}
	for i, got := range clk.Sleeps() {
		var elapsed time.Duration
		for _, d := range clk.Sleeps()[:i] {
			elapsed += d
		}
		set.Timeout = 30 * time.Minute
		if want := sensors.NextInterval(set, "sensing", "wait", t0, i+1, elapsed); got != want {
			t.Errorf("sleep %d: %s, want %s", i+1, got, want)
		}
	}
}

func TestTimeSensors(t *testing.T) {
	t.Parallel()
	// time_delta_sensor: data_interval_end (t0 + 1d) + 2h.
	clk := newClock(t0.Add(25 * time.Hour))
	s := &sensors.TimeDeltaSensor{Base: clk.base()}
	c, log := newCall(sensors.TimeDeltaKind, map[string]any{"delta": "2h", "poke_interval": "10m"})
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("time_delta_sensor = %+v, %v", res, err)
	}
	if n := len(clk.Sleeps()); n != 6 || !clk.Now().Equal(t0.Add(26*time.Hour)) {
		t.Errorf("time_delta_sensor slept %d times until %s; want 6 until %s\n%s", n, clk.Now(), t0.Add(26*time.Hour), log)
	}
	if !strings.Contains(log.String(), "Poking for time 2024-03-02T02:00:00Z: 1h0m0s to go") {
		t.Errorf("log:\n%s", log)
	}

	// date_time_sensor, templated, in reschedule mode.
	clk = newClock(t0.Add(5 * time.Hour))
	ds := &sensors.DateTimeSensor{Base: clk.base()}
	c, _ = newCall(sensors.DateTimeKind, map[string]any{"target_time": "{{ ds }}T06:00:00Z", "mode": "reschedule", "poke_interval": "1h"})
	res, err := ds.Execute(context.Background(), c)
	if err != nil || !res.RescheduleAt.Equal(t0.Add(6*time.Hour)) {
		t.Fatalf("date_time_sensor at 05:00 = %+v, %v; want a reschedule at 06:00", res, err)
	}
	clk.Sleep(context.Background(), time.Hour)
	if res, err := ds.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Errorf("date_time_sensor at 06:00 = %+v, %v; want success", res, err)
	}
	// A plain date in the DAG's timezone.
	c, _ = newCall(sensors.DateTimeKind, map[string]any{"target_time": "2024-03-01 04:00", "mode": "reschedule"})
	c.DAG.Timezone, _ = time.LoadLocation("Europe/Amsterdam") // 03:00 UTC
	clk = newClock(t0.Add(3 * time.Hour))
	ds = &sensors.DateTimeSensor{Base: clk.base()}
	if res, err := ds.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Errorf("date_time_sensor in Amsterdam = %+v, %v; want success", res, err)
	}
	c, _ = newCall(sensors.DateTimeKind, map[string]any{"target_time": "tomorrow"})
	if _, err := ds.Execute(context.Background(), c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), `bad date "tomorrow"`) {
		t.Errorf("bad target_time: %v; want a final error", err)
	}
}

func TestSpecsAreValid(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	sensors.Register(r)
	specs := r.Specs()
	if len(specs) != len(sensors.Kinds)+1 { // and the marker
		t.Fatalf("%d specs, want %d", len(specs), len(sensors.Kinds)+1)
	}
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
		if s.Kind == sensors.ExternalTaskMarkerKind {
			continue
		}
		for _, name := range []string{"poke_interval", "timeout", "mode", "soft_fail", "exponential_backoff", "max_wait", "deferrable"} {
			if _, ok := s.Param(name); !ok {
				t.Errorf("%s lacks the common parameter %s", s.Kind, name)
			}
		}
	}
}

// TestDocsListEveryParameter keeps the docs in step with the specs.
func TestDocsListEveryParameter(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	sensors.Register(r)
	for _, file := range []string{"../../docs/operators.md", "../../docs/authoring.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Specs() {
			_, section, ok := strings.Cut(string(data), "\n## `"+s.Kind+"`\n")
			if !ok {
				t.Errorf("%s has no section ## `%s`", file, s.Kind)
				continue
			}
			section, _, _ = strings.Cut(section, "\n## ")
			own := s.Params
			if s.Kind != sensors.ExternalTaskMarkerKind { // not a sensor
				own = own[:len(own)-7] // the common ones have their own section
			}
			for _, p := range own {
				if !strings.Contains(section, p.Name) {
					t.Errorf("%s: the %s section does not mention parameter %s", file, s.Kind, p.Name)
				}
			}
		}
	}
}
