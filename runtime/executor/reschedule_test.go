package executor_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

func TestARescheduleEndsTheTryUpForReschedule(t *testing.T) {
	t.Parallel()
	first := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	at := time.Now().Add(time.Minute)
	var seen []string
	r, try, fns, x := setup(t, func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		seen = append(seen, c.FirstStart.Format(time.RFC3339), strconv.Itoa(c.RescheduleCount))
		return operators.Reschedule(at, "not yet"), nil
	}, nil)
	try.FirstStart, try.RescheduleCount = first, 2
	out := r.Run(context.Background(), try)
	if out.State != dags.TaskStateUpForReschedule || !out.RescheduleAt.Equal(at) || out.Err != nil {
		t.Fatalf("outcome %+v, want up_for_reschedule at %s", out, at)
	}
	if strings.Join(seen, " ") != "2024-03-01T10:00:00Z 2" {
		t.Errorf("the operator saw first start and count %v", seen)
	}
	if len(fns.calls) != 0 || len(x) != 0 {
		t.Errorf("a reschedule ran callbacks %v or pushed XComs %v", fns.calls, x)
	}

	// A reschedule that also returns a value is a broken operator: failed, no retry.
	r, try, _, _ = setup(t, func(context.Context, *operators.Call) (*operators.Result, error) {
		res := operators.Reschedule(at, "")
		res.ReturnValue = "x"
		return res, nil
	}, func(task *dags.Task) { task.Retries = 3 })
	if out := r.Run(context.Background(), try); out.State != dags.TaskStateFailed || !operators.IsFinal(out.Err) {
		t.Errorf("reschedule with a value: %+v, want failed for good", out)
	}
}
