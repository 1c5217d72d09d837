package memqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/queue/queuetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(tb testing.TB) queue.Queue {
	q := memqueue.New()
	tb.Cleanup(func() { q.Close() })
	return q
}

func openNotifier(tb testing.TB) queue.Notifier {
	n := memqueue.NewNotifier()
	tb.Cleanup(func() { n.Close() })
	return n
}

func TestConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queue.Queue { return open(t) })
}

func TestInventoryConformance(t *testing.T) {
	t.Parallel()
	queuetest.RunInventory(t, func(t *testing.T) queue.Queue { return open(t) })
}

func TestNotifierConformance(t *testing.T) {
	t.Parallel()
	queuetest.RunNotifier(t, func(t *testing.T) queue.Notifier { return openNotifier(t) })
}

func TestPriority(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		queues []string
		msgs   []queue.Message
		want   []string
	}{
		{
			name: "higher priority first, first in first out among equals",
			msgs: []queue.Message{m("a", "", 1), m("b", "", 5), m("c", "", 1), m("d", "", 5), m("e", "", -2), m("f", "", 9)},
			want: []string{"f", "b", "d", "a", "c", "e"},
		},
		{
			name:   "highest priority across queues, the earlier queue on a tie",
			queues: []string{"x", "y"},
			msgs:   []queue.Message{m("a", "y", 3), m("b", "x", 1), m("c", "x", 3), m("d", "y", 7), m("e", "z", 100)},
			want:   []string{"d", "c", "a", "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := open(t)
			if err := q.Enqueue(ctx, tt.msgs...); err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				ds, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c", Queues: tt.queues, Max: 1})
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) == 0 {
					break
				}
				got = append(got, ds[0].TaskID)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("received %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("received %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func m(task, q string, priority int) queue.Message {
	return queue.Message{DAGID: "d", RunID: "r", TaskID: task, MapIndex: -1, TryNumber: 1, Queue: q, Priority: priority}
}

// TestReclaimOrder checks that Reclaim takes the longest-idle deliveries
// first, counting Extend as activity.
func TestReclaimOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := open(t)
	if err := q.Enqueue(ctx, m("a", "", 0), m("b", "", 0), m("c", "", 0)); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c1", Max: 3})
	if err != nil || len(ds) != 3 {
		t.Fatalf("Receive = %d, %v", len(ds), err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := q.Extend(ctx, ds[0]); err != nil {
		t.Fatal(err)
	}
	got, err := q.Reclaim(ctx, queue.ReclaimParams{Consumer: "c2", Max: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].TaskID != "b" || got[1].TaskID != "c" || got[2].TaskID != "a" {
		t.Errorf("reclaimed %+v, want b, c, then the extended a", got)
	}
}

func BenchmarkQueue(b *testing.B) {
	queuetest.Bench(b, open)
}

func BenchmarkNotifier(b *testing.B) {
	queuetest.BenchNotifier(b, openNotifier)
}
