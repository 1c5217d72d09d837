package builtins

import (
	"strings"
	"testing"
	"time"

	startime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
)

func TestNearest(t *testing.T) {
	t.Parallel()
	known := []string{"task_id", "bash_command", "retries", "retry_delay", "on_failure_callback", "pool"}
	tests := []struct{ in, want string }{
		{"bash_comand", "bash_command"},
		{"retry", "retries"},
		{"on_failur_callback", "on_failure_callback"},
		{"Task_ID", "task_id"},
		{"xyz", ""},
		{"owner", ""},
	}
	for _, tt := range tests {
		if got := nearest(tt.in, known); got != tt.want {
			t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnpackHintsEveryParameter(t *testing.T) {
	t.Parallel()
	// starlark.UnpackArgs only suggests names from the first half of the
	// parameters; unpack must find the last one too.
	var a, b, c, d starlark.Value
	kwargs := []starlark.Tuple{{starlark.String("fourht"), starlark.None}}
	err := unpack("f", nil, kwargs, 0, "first?", &a, "second?", &b, "third?", &c, "fourth?", &d)
	if err == nil || !strings.Contains(err.Error(), "did you mean fourth?") {
		t.Fatalf("unpack error = %v, want a hint for fourth", err)
	}
}

func TestDurationOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      starlark.Value
		want    time.Duration
		wantErr string
	}{
		{starlark.String("1h30m"), 90 * time.Minute, ""},
		{starlark.String("2d"), 48 * time.Hour, ""},
		{starlark.MakeInt(30), 30 * time.Second, ""},
		{starlark.Float(0.5), 500 * time.Millisecond, ""},
		{Duration(time.Minute), time.Minute, ""},
		{startime.Duration(time.Hour), time.Hour, ""},
		{starlark.MakeInt(-1), 0, "out of range"},
		{Duration(-time.Second), 0, "negative duration"},
		{starlark.String("soon"), 0, "bad duration"},
		{starlark.True, 0, "got bool, want a duration"},
	}
	for _, tt := range tests {
		got, err := durationOf(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("durationOf(%s) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("durationOf(%s) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestRuntimeFlag(t *testing.T) {
	t.Parallel()
	parse, run := &starlark.Thread{}, &starlark.Thread{}
	SetRuntime(run)
	if IsRuntime(parse) || !IsRuntime(run) {
		t.Fatalf("IsRuntime: parse=%v run=%v, want false, true", IsRuntime(parse), IsRuntime(run))
	}
	// Defining tasks on a run-time thread is refused with a clear message.
	_, err := starlark.Call(run, Universe()["empty"], nil, []starlark.Tuple{{starlark.String("task_id"), starlark.String("x")}})
	if err == nil || !strings.Contains(err.Error(), "not when a task runs") {
		t.Fatalf("empty() at run time: error = %v", err)
	}
}

func TestSafeRecoversPanics(t *testing.T) {
	t.Parallel()
	b := Safe("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		var m map[string]int
		m["x"]++ // nil map write panics
		return starlark.None, nil
	})
	_, err := starlark.Call(&starlark.Thread{}, b, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "boom: internal error: assignment to entry in nil map") {
		t.Fatalf("error = %v, want the recovered panic", err)
	}
}
