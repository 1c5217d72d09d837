package sensors_test

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/sensors"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// t0 is the fake clock's start and the run's logical date.
var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a fake clock: Sleep advances it and records the waits; each
// sleep may run a hook first (a file appears, a row is inserted).
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	hook   func(n int) // called with the number of the sleep, from 1
}

func newClock(start time.Time) *clock { return &clock{now: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	n := len(c.sleeps)
	hook := c.hook
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func (c *clock) base() sensors.Base { return sensors.Base{Now: c.Now, Sleep: c.Sleep} }

// newCall returns the call of a task of kind with config, in a run whose
// data interval is [t0, t0+1d), with a real template renderer.
func newCall(kind string, config map[string]any) (*operators.Call, *syncBuffer) {
	task := dags.NewTask("wait", kind, dags.Pos{})
	task.Config = config
	d := dags.New("sensing", dags.Pos{})
	log := &syncBuffer{}
	c := &operators.Call{
		DAG:  d,
		Task: task,
		Run: operators.RunInfo{DAGID: "sensing", RunID: "manual__2024-03-01", LogicalDate: t0,
			DataIntervalStart: t0, DataIntervalEnd: t0.Add(24 * time.Hour)},
		MapIndex:  -1,
		TryNumber: 1,
		Params:    map[string]any{},
		Log:       log,
	}
	c.Renderer = templates.NewRenderer(c)
	return c, log
}

func count(s, sub string) int { return strings.Count(s, sub) }
