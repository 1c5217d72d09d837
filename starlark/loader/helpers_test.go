package loader_test

import (
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"
)

// discardLogger returns a logger that drops everything.
func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestMain checks that no test leaves a goroutine behind (the Bag's
// workers, the time-limit watchers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
