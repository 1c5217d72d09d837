package scheduler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
)

func TestHeartbeatRecordsTheScheduler(t *testing.T) {
	t.Parallel()
	st := testdb.SQLite(t)
	q := memqueue.New()
	defer q.Close()
	s := scheduler.New(st, q, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), scheduler.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	before := time.Now()
	if err := s.Heartbeat(ctx, "host:1", "host", 50*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Heartbeat returned %v, want the context's error", err)
	}
	beats, err := st.SchedulerHeartbeatList(context.Background())
	if err != nil || len(beats) != 1 {
		t.Fatalf("heartbeats = %+v, %v", beats, err)
	}
	b := beats[0]
	// Several beats happened: the last is well after the start.
	if b.ID != "host:1" || b.Hostname != "host" || b.StartedAt.Before(before.Add(-time.Second)) || b.LastHeartbeat.Sub(b.StartedAt) < 150*time.Millisecond {
		t.Errorf("heartbeat = %+v", b)
	}
}
