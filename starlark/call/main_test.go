package call_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no call leaves a goroutine behind (the context
// watchers that cancel a running function).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
