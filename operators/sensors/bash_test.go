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
	"github.com/starflow-dev/starflow/operators/subprocess"
)

func TestBashSensorPokesUntilTheCommandExitsZero(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := newClock(t0)
	s := &sensors.BashSensor{Base: clk.base()}
	// Exits 1 on the first two pokes, 0 on the third; the command is a
	// template.
	c, log := newCall(sensors.BashKind, map[string]any{
		"bash_command":  "echo '{{ ds }}' >> " + dir + "/pokes; [ $(wc -l < " + dir + "/pokes) -ge 3 ]",
		"poke_interval": "30s",
	})
	res, err := s.Execute(context.Background(), c)
	if err != nil || res.State != dags.TaskStateSuccess || res.ReturnValue != nil {
		t.Fatalf("Execute = %+v, %v; want success without an XCom\n%s", res, err, log)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "pokes"))
	if string(data) != "2024-03-01\n2024-03-01\n2024-03-01\n" {
		t.Errorf("pokes file = %q; want three rendered lines", data)
	}
	if n := len(clk.Sleeps()); n != 2 {
		t.Errorf("%d sleeps, want 2", n)
	}
	out := log.String()
	if n := count(out, "Command exited with return code 1"); n != 2 {
		t.Errorf("%d pokes with code 1 in the log, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "Command exited with return code 0") {
		t.Errorf("log lacks the last poke:\n%s", out)
	}
}

func TestBashSensorRetryExitCode(t *testing.T) {
	t.Parallel()
	// Without retry_exit_code, any non-zero code is "not yet" until the
	// timeout, which fails without retrying.
	clk := newClock(t0)
	s := &sensors.BashSensor{Base: clk.base()}
	c, _ := newCall(sensors.BashKind, map[string]any{"bash_command": "exit 3", "poke_interval": "20s", "timeout": "1m"})
	res, err := s.Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "sensor timed out") {
		t.Errorf("exit 3 without retry_exit_code = %+v, %v; want a timeout", res, err)
	}
	if n := len(clk.Sleeps()); n != 4 {
		t.Errorf("%d sleeps, want 4", n)
	}

	// With retry_exit_code = 3, code 3 is "not yet" ...
	clk = newClock(t0)
	s = &sensors.BashSensor{Base: clk.base()}
	c, log := newCall(sensors.BashKind, map[string]any{"bash_command": "exit 3", "retry_exit_code": 3,
		"poke_interval": "20s", "timeout": "1m", "soft_fail": true})
	res, err = s.Execute(context.Background(), c)
	if err != nil || res.State != dags.TaskStateSkipped || !strings.Contains(res.Message, "timed out") {
		t.Errorf("exit 3 with retry_exit_code 3 and soft_fail = %+v, %v; want skipped after the timeout", res, err)
	}
	if !strings.Contains(log.String(), "matches retry_exit_code") {
		t.Errorf("log:\n%s", log)
	}

	// ... and any other non-zero code fails at once, without retrying.
	clk = newClock(t0)
	s = &sensors.BashSensor{Base: clk.base()}
	c, _ = newCall(sensors.BashKind, map[string]any{"bash_command": "exit 2", "retry_exit_code": 3})
	res, err = s.Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "command exited with code 2 (retry_exit_code is 3)") {
		t.Errorf("exit 2 with retry_exit_code 3 = %+v, %v; want a final failure", res, err)
	}
	if n := len(clk.Sleeps()); n != 0 {
		t.Errorf("%d sleeps, want none", n)
	}
	// soft_fail turns that failure into a skip, as Airflow's sensors do
	// with AirflowFailException.
	c, _ = newCall(sensors.BashKind, map[string]any{"bash_command": "exit 2", "retry_exit_code": 3, "soft_fail": true})
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSkipped {
		t.Errorf("exit 2 with soft_fail = %+v, %v; want skipped", res, err)
	}
}

// TestBashSensorEnvironment runs commands in the environment the bash
// operator gives: the worker's secrets never reach them.
func TestBashSensorEnvironment(t *testing.T) {
	t.Setenv("STARFLOW_DATABASE_URL", "postgres://secret")
	t.Setenv("SENSOR_TEST_ALLOWED", "yes")
	t.Setenv("SENSOR_TEST_HIDDEN", "no")
	clk := newClock(t0)
	s := &sensors.BashSensor{Base: clk.base(), Env: subprocess.ParsePolicy("SENSOR_TEST_ALLOWED,STARFLOW_*")}
	c, log := newCall(sensors.BashKind, map[string]any{"bash_command": `echo "db=[$STARFLOW_DATABASE_URL] allowed=[$SENSOR_TEST_ALLOWED] hidden=[$SENSOR_TEST_HIDDEN] task=[$AIRFLOW_CTX_TASK_ID] pwd=[$PWD]"`})
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("Execute = %+v, %v\n%s", res, err, log)
	}
	out := log.String()
	if !strings.Contains(out, "db=[] allowed=[yes] hidden=[] task=[wait] pwd=[") || !strings.Contains(out, "starflow-bash-sensor-") {
		t.Errorf("scrubbed environment, allowed variable, context and temporary directory not as expected:\n%s", out)
	}

	// env replaces the inherited environment; its values are templates.
	c, log = newCall(sensors.BashKind, map[string]any{"bash_command": `echo "day=[$DAY] allowed=[$SENSOR_TEST_ALLOWED] path=[$PATH]"`,
		"env": map[string]any{"DAY": "{{ ds }}"}})
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("Execute with env = %+v, %v\n%s", res, err, log)
	}
	if !strings.Contains(log.String(), "day=[2024-03-01] allowed=[] path=[") {
		t.Errorf("env did not replace the environment:\n%s", log)
	}
}

func TestBashSensorCancelKillsTheCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := &sensors.BashSensor{KillGrace: 200 * time.Millisecond}
	c, _ := newCall(sensors.BashKind, map[string]any{"bash_command": "sleep 60 & echo $! > " + dir + "/pid; wait"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if data, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil && len(data) > 1 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	_, err := s.Execute(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v; want the context's error", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	// The background sleep was in the command's process group: it is gone
	// (or a zombie awaiting its reaper) soon after.
	deadline := time.Now().Add(20 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s of the cancelled command is still running", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBashSensorBadConfig(t *testing.T) {
	t.Parallel()
	s := &sensors.BashSensor{}
	c, _ := newCall(sensors.BashKind, map[string]any{"bash_command": "true", "retry_exit_code": "3"})
	if _, err := s.Execute(context.Background(), c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "retry_exit_code: got string, want int") {
		t.Errorf("retry_exit_code as a string: %v; want a final error", err)
	}
}

func TestTimeSensorWaitsForTheTimeOnTheDataIntervalEndDate(t *testing.T) {
	t.Parallel()
	// The run's data interval ends 2024-03-02 00:00 UTC: the target is
	// 2024-03-02 06:30 UTC.
	clk := newClock(t0.Add(30 * time.Hour))
	s := &sensors.TimeSensor{Base: clk.base()}
	c, log := newCall(sensors.TimeKind, map[string]any{"target_time": "06:30", "mode": "reschedule", "poke_interval": "10m"})
	res, err := s.Execute(context.Background(), c)
	if err != nil || !res.RescheduleAt.Equal(t0.Add(30*time.Hour+10*time.Minute)) {
		t.Fatalf("time_sensor at 06:00 = %+v, %v; want a reschedule\n%s", res, err, log)
	}
	if !strings.Contains(log.String(), "Poking for time 2024-03-02T06:30:00Z: 30m0s to go") {
		t.Errorf("log:\n%s", log)
	}
	clk.Sleep(context.Background(), 30*time.Minute)
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Errorf("time_sensor at 06:30 = %+v, %v; want success", res, err)
	}

	// In the DAG's timezone: 06:30 in Amsterdam is 05:30 UTC.
	c, _ = newCall(sensors.TimeKind, map[string]any{"target_time": "06:30:00", "poke_interval": "1m"})
	c.DAG.Timezone, _ = time.LoadLocation("Europe/Amsterdam")
	clk = newClock(t0.Add(29 * time.Hour))
	s = &sensors.TimeSensor{Base: clk.base()}
	if res, err := s.Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSuccess {
		t.Fatalf("time_sensor in Amsterdam = %+v, %v", res, err)
	}
	if got := clk.Now(); !got.Equal(t0.Add(29*time.Hour + 30*time.Minute)) {
		t.Errorf("done at %s, want 05:30 UTC", got)
	}

	c, _ = newCall(sensors.TimeKind, map[string]any{"target_time": "25:00"})
	if _, err := s.Execute(context.Background(), c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), `target_time "25:00" is not a time of day`) {
		t.Errorf("bad target_time: %v; want a final error", err)
	}
}

func TestSpecChecks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		op     operators.Specified
		config map[string]any
		want   string
	}{
		{&sensors.DayOfWeekSensor{}, map[string]any{"week_day": "Funday"}, `invalid week day passed: "Funday"`},
		{&sensors.DayOfWeekSensor{}, map[string]any{"week_day": []any{"monday", "Caturday"}}, `invalid week day passed: "Caturday"`},
		{&sensors.DayOfWeekSensor{}, map[string]any{"week_day": []any{"monday", "SUNDAY"}}, ""},
		{&sensors.TimeSensor{}, map[string]any{"target_time": "6h"}, `target_time "6h" is not a time of day`},
		{&sensors.TimeSensor{}, map[string]any{"target_time": "23:59:59"}, ""},
	} {
		err := tt.op.Spec().Check(tt.config)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s Check(%v) = %v; want %q", tt.op.Spec().Kind, tt.config, err, tt.want)
		}
	}
}
