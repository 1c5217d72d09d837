package executor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

// TestReturnValueOverTheXComLimitFailsTheTask: a task (a Starlark task
// function returns through the same path) whose return value is over the
// XCom limit fails at once, without using its retries, with a message
// naming the limit, as bash's over-long last line does; nothing is cut.
func TestReturnValueOverTheXComLimitFailsTheTask(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, task{id: "big", retries: 2, op: func(context.Context, *operators.Call) (*operators.Result, error) {
			return operators.Success(strings.Repeat("x", store.MaxXComBytes+1)), nil
		}})
		e.queueTry("big", 1)
		e.start()
		ti := e.waitState("big", dags.TaskStateFailed, dags.TaskStateUpForRetry)
		if ti.State != dags.TaskStateFailed || ti.TryNumber != 1 {
			t.Errorf("big is %s after try %d, want failed at once", ti.State, ti.TryNumber)
		}
		if log := e.logOf("big", 1); !strings.Contains(log, "over the XCom limit") || !strings.Contains(log, "1048576") {
			t.Errorf("log lacks the XCom limit error:\n%s", log)
		}
		if _, err := st.XComGet(context.Background(), &store.XComGetParams{TaskInstanceKey: e.key("big"), Key: "return_value"}); err == nil {
			t.Error("a cut return value was pushed")
		}
	})
}
