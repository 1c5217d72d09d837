package executor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the worker's
// loops, heartbeats and log flushers must all stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
