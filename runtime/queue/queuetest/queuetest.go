package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
)

// Lease is the MinIdle the suite reclaims with. Tests sleep past it, so it
// is short, yet long enough that a delivery made a moment ago is never idle
// for that long on a loaded machine.
const Lease = 500 * time.Millisecond

// Run runs the Queue conformance suite. newQueue returns a new, empty queue
// isolated from every other one it returned, and arranges to close it and
// drop its data when the test ends (closing twice must be allowed).
func Run(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	tests := []struct {
		name string
		fn   func(t *testing.T, q queue.Queue)
	}{
		{"a message round-trips with every field", testRoundTrip},
		{"messages of equal priority come out first in first out", testFIFO},
		{"a consumer of named queues never sees another queue", testNamedQueues},
		{"with several queues the earlier named is served first", testQueueOrder},
		{"Receive waits up to Block and then returns nothing", testBlockTimeout},
		{"a blocked Receive wakes up when a message arrives", testBlockWakes},
		{"Max is honoured", testMax},
		{"an unacked delivery is reclaimed after MinIdle and not before", testReclaim},
		{"Reclaim honours Queues and Max", testReclaimLimits},
		{"an acked delivery is never delivered again", testAckedNeverAgain},
		{"Ack is idempotent", testAckTwice},
		{"Extend keeps a delivery from being reclaimed", testExtend},
		{"Depth counts ready and pending messages", testDepth},
		{"invalid messages and parameters are rejected", testInvalid},
		{"cancelling the context unblocks Receive", testCancel},
		{"eight concurrent consumers share 1,000 messages", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newQueue(t))
		})
	}
	t.Run("Close unblocks Receive", func(t *testing.T) {
		t.Parallel()
		testClose(t, newQueue(t))
	})
}

// msg returns the i-th message of a test run, unmapped, on the default queue.
func msg(i int) queue.Message {
	return queue.Message{DAGID: "dag", RunID: "run", TaskID: fmt.Sprintf("t%04d", i), MapIndex: -1, TryNumber: 1, SourceHash: "h1"}
}

func msgs(from, to int, q string) []queue.Message {
	var ms []queue.Message
	for i := from; i < to; i++ {
		m := msg(i)
		m.Queue = q
		ms = append(ms, m)
	}
	return ms
}

func enqueue(t *testing.T, q queue.Queue, ms ...queue.Message) {
	t.Helper()
	if err := q.Enqueue(context.Background(), ms...); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
}

func receive(t *testing.T, q queue.Queue, p queue.ReceiveParams) []queue.Delivery {
	t.Helper()
	ds, err := q.Receive(context.Background(), p)
	if err != nil {
		t.Fatalf("Receive(%+v): %v", p, err)
	}
	return ds
}

func reclaim(t *testing.T, q queue.Queue, p queue.ReclaimParams) []queue.Delivery {
	t.Helper()
	ds, err := q.Reclaim(context.Background(), p)
	if err != nil {
		t.Fatalf("Reclaim(%+v): %v", p, err)
	}
	return ds
}

func ack(t *testing.T, q queue.Queue, ds ...queue.Delivery) {
	t.Helper()
	if err := q.Ack(context.Background(), ds...); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func wantDepth(t *testing.T, q queue.Queue, name string, ready, pending int64) {
	t.Helper()
	r, p, err := q.Depth(context.Background(), name)
	if err != nil {
		t.Fatalf("Depth(%q): %v", name, err)
	}
	if r != ready || p != pending {
		t.Errorf("Depth(%q) = %d ready, %d pending; want %d, %d", name, r, p, ready, pending)
	}
}

// taskIDs lists the deliveries' task ids, to compare orders and sets.
func taskIDs(ds []queue.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.TaskID
	}
	return ids
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testRoundTrip(t *testing.T, q queue.Queue) {
	full := queue.Message{DAGID: "etl", RunID: "scheduled__2024-01-01T00:00:00+00:00", TaskID: "group.extract",
		MapIndex: 3, TryNumber: 2, SourceHash: "sha256:0f1e2d", Queue: queue.DefaultQueue, Priority: 7}
	other := queue.Message{DAGID: "dag \"quoted\"", RunID: "manual__x", TaskID: "tâche-ü", MapIndex: -1, TryNumber: 0, Priority: -5}
	enqueue(t, q, full, other)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 10, Block: 5 * time.Second})
	if len(ds) != 2 {
		t.Fatalf("received %d deliveries, want 2", len(ds))
	}
	wantOther := other
	wantOther.Queue = queue.DefaultQueue
	for i, want := range []queue.Message{full, wantOther} {
		d := ds[i]
		if d.Message != want {
			t.Errorf("delivery %d carries %+v, want %+v", i, d.Message, want)
		}
		if d.ID == "" || d.Deliveries != 1 || d.Consumer != "c1" {
			t.Errorf("delivery %d: ID %q, Deliveries %d, Consumer %q; want an ID, 1, c1", i, d.ID, d.Deliveries, d.Consumer)
		}
	}
	if ds[0].ID == ds[1].ID {
		t.Errorf("both deliveries have ID %q", ds[0].ID)
	}
	wantDepth(t, q, queue.DefaultQueue, 0, 2)
	ack(t, q, ds...)
	wantDepth(t, q, queue.DefaultQueue, 0, 0)
}

func testFIFO(t *testing.T, q queue.Queue) {
	enqueue(t, q, msgs(0, 10, "")...)
	for i := 10; i < 20; i++ {
		enqueue(t, q, msg(i))
	}
	var got []string
	for len(got) < 20 {
		ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 3, Block: time.Second})
		if len(ds) == 0 {
			t.Fatalf("received nothing after %d of 20 messages", len(got))
		}
		got = append(got, taskIDs(ds)...)
		ack(t, q, ds...)
	}
	if want := taskIDs(deliveriesOf(msgs(0, 20, ""))); !sameStrings(got, want) {
		t.Errorf("received %v, want %v", got, want)
	}
}

func deliveriesOf(ms []queue.Message) []queue.Delivery {
	ds := make([]queue.Delivery, len(ms))
	for i, m := range ms {
		ds[i].Message = m
	}
	return ds
}

func testNamedQueues(t *testing.T, q queue.Queue) {
	enqueue(t, q, append(append(msgs(0, 3, "gpu"), msgs(3, 6, "")...), msgs(6, 8, "cpu")...)...)
	tests := []struct {
		queues    []string
		wantQueue string
		want      []string
	}{
		{[]string{"gpu"}, "gpu", []string{"t0000", "t0001", "t0002"}},
		{[]string{"gpu"}, "", nil},
		{nil, queue.DefaultQueue, []string{"t0003", "t0004", "t0005"}},
		{[]string{"gpu", "cpu"}, "cpu", []string{"t0006", "t0007"}},
		{[]string{"gpu", "cpu", "default"}, "", nil},
	}
	for _, tt := range tests {
		ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Queues: tt.queues, Max: 10})
		if got := taskIDs(ds); !sameStrings(got, tt.want) {
			t.Errorf("a consumer of %q received %v, want %v", tt.queues, got, tt.want)
		}
		for _, d := range ds {
			if d.Queue != tt.wantQueue {
				t.Errorf("a consumer of %q received %s from queue %q, want %q", tt.queues, d.TaskID, d.Queue, tt.wantQueue)
			}
		}
	}
	wantDepth(t, q, "gpu", 0, 3)
	wantDepth(t, q, "cpu", 0, 2)
	wantDepth(t, q, "", 0, 3)
	wantDepth(t, q, "never-used", 0, 0)
}

func testQueueOrder(t *testing.T, q queue.Queue) {
	enqueue(t, q, msgs(0, 2, "b")...)
	enqueue(t, q, msgs(2, 4, "a")...)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Queues: []string{"a", "b"}, Max: 3})
	if got, want := taskIDs(ds), []string{"t0002", "t0003", "t0000"}; !sameStrings(got, want) {
		t.Errorf("a consumer of [a b] received %v, want %v", got, want)
	}
}

func testBlockTimeout(t *testing.T, q queue.Queue) {
	for _, block := range []time.Duration{0, 300 * time.Millisecond} {
		start := time.Now()
		ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Queues: []string{"a", "b"}, Block: block})
		took := time.Since(start)
		if len(ds) != 0 {
			t.Errorf("Block %v on empty queues received %v", block, taskIDs(ds))
		}
		if took < block-20*time.Millisecond || took > block+2*time.Second {
			t.Errorf("Block %v on empty queues returned after %v", block, took)
		}
		start = time.Now()
		ds = receive(t, q, queue.ReceiveParams{Consumer: "c1", Block: block})
		if took := time.Since(start); len(ds) != 0 || took < block-20*time.Millisecond || took > block+2*time.Second {
			t.Errorf("Block %v on the empty default queue received %d after %v", block, len(ds), took)
		}
	}
}

func testBlockWakes(t *testing.T, q queue.Queue) {
	tests := []struct {
		queues []string
		to     string
	}{
		{nil, ""},
		{[]string{"a", "b"}, "b"},
	}
	for i, tt := range tests {
		done := make(chan []queue.Delivery, 1)
		start := time.Now()
		go func() {
			ds, err := q.Receive(context.Background(), queue.ReceiveParams{Consumer: "c1", Queues: tt.queues, Max: 5, Block: 10 * time.Second})
			if err != nil {
				t.Errorf("Receive: %v", err)
			}
			done <- ds
		}()
		time.Sleep(100 * time.Millisecond)
		enqueue(t, q, msgs(i, i+1, tt.to)...)
		ds := <-done
		if took := time.Since(start); len(ds) != 1 || took > 3*time.Second {
			t.Errorf("a consumer of %q blocked for 10s got %d deliveries after %v, want 1 soon after the enqueue at 100ms", tt.queues, len(ds), took)
		}
	}
}

func testMax(t *testing.T, q queue.Queue) {
	enqueue(t, q, msgs(0, 10, "")...)
	for _, tt := range []struct{ max, want int }{{3, 3}, {0, 1}, {-1, 1}, {100, 5}} {
		if ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: tt.max, Block: time.Second}); len(ds) != tt.want {
			t.Errorf("Max %d: received %d, want %d", tt.max, len(ds), tt.want)
		}
	}
	enqueue(t, q, append(msgs(10, 14, "a"), msgs(14, 18, "b")...)...)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Queues: []string{"a", "b"}, Max: 5})
	if len(ds) != 5 {
		t.Errorf("Max 5 over queues a and b holding 4 each: received %d", len(ds))
	}

	// A blocked receiver of several queues that all fill at once.
	done := make(chan []queue.Delivery, 1)
	go func() {
		ds, err := q.Receive(context.Background(), queue.ReceiveParams{Consumer: "c2", Queues: []string{"x", "y", "z"}, Max: 2, Block: 10 * time.Second})
		if err != nil {
			t.Errorf("Receive: %v", err)
		}
		done <- ds
	}()
	time.Sleep(100 * time.Millisecond)
	enqueue(t, q, append(append(msgs(20, 23, "x"), msgs(23, 26, "y")...), msgs(26, 29, "z")...)...)
	if ds := <-done; len(ds) < 1 || len(ds) > 2 {
		t.Errorf("a blocked Receive with Max 2 over three queues that filled at once returned %d", len(ds))
	}
}

func testReclaim(t *testing.T, q queue.Queue) {
	enqueue(t, q, msg(1))
	first := receive(t, q, queue.ReceiveParams{Consumer: "c1", Block: time.Second})
	if len(first) != 1 {
		t.Fatalf("received %d, want 1", len(first))
	}
	received := time.Now()
	if ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease, Max: 10}); len(ds) != 0 {
		t.Fatalf("reclaimed %v right after delivery, before MinIdle", taskIDs(ds))
	}
	time.Sleep(time.Until(received.Add(Lease + 100*time.Millisecond)))
	ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease, Max: 10})
	if len(ds) != 1 {
		t.Fatalf("reclaimed %d after MinIdle, want 1", len(ds))
	}
	d := ds[0]
	if d.Message != first[0].Message || d.ID != first[0].ID || d.Deliveries != 2 || d.Consumer != "c2" {
		t.Errorf("reclaimed %+v, want %+v with Deliveries 2 and Consumer c2", d, first[0])
	}
	if ds := receive(t, q, queue.ReceiveParams{Consumer: "c1"}); len(ds) != 0 {
		t.Errorf("Receive after a reclaim returned %v", taskIDs(ds))
	}
	if ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c3", MinIdle: Lease}); len(ds) != 0 {
		t.Errorf("reclaimed %v again right after a reclaim", taskIDs(ds))
	}
	wantDepth(t, q, "", 0, 1)
	ack(t, q, d)
	wantDepth(t, q, "", 0, 0)
}

func testReclaimLimits(t *testing.T, q queue.Queue) {
	enqueue(t, q, append(msgs(0, 5, ""), msgs(5, 7, "gpu")...)...)
	if ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Queues: []string{"default", "gpu"}, Max: 10}); len(ds) != 7 {
		t.Fatalf("received %d, want 7", len(ds))
	}
	time.Sleep(Lease + 100*time.Millisecond)
	ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", Queues: []string{"gpu"}, MinIdle: Lease, Max: 10})
	if got := taskIDs(ds); !sameStrings(got, []string{"t0005", "t0006"}) {
		t.Errorf("reclaimed %v from gpu, want [t0005 t0006]", got)
	}
	for _, d := range ds {
		if d.Queue != "gpu" || d.Deliveries != 2 {
			t.Errorf("reclaimed %s from queue %q with Deliveries %d, want gpu and 2", d.TaskID, d.Queue, d.Deliveries)
		}
	}
	if ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease, Max: 3}); len(ds) != 3 {
		t.Errorf("Max 3: reclaimed %d", len(ds))
	}
	if ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease}); len(ds) != 1 {
		t.Errorf("Max 0: reclaimed %d, want 1", len(ds))
	}
	if ds := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease, Max: 10}); len(ds) != 1 {
		t.Errorf("the last idle one: reclaimed %d, want 1", len(ds))
	}
}

func testAckedNeverAgain(t *testing.T, q queue.Queue) {
	enqueue(t, q, msgs(0, 3, "")...)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 3, Block: time.Second})
	if len(ds) != 3 {
		t.Fatalf("received %d, want 3", len(ds))
	}
	ack(t, q, ds[0], ds[2])
	time.Sleep(Lease + 100*time.Millisecond)
	if got := taskIDs(reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease, Max: 10})); !sameStrings(got, []string{"t0001"}) {
		t.Errorf("reclaimed %v, want only the unacked t0001", got)
	}
	if got := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: 0, Max: 10}); len(got) != 1 {
		t.Errorf("MinIdle 0 reclaimed %v, want only t0001", taskIDs(got))
	}
	if got := receive(t, q, queue.ReceiveParams{Consumer: "c3", Max: 10}); len(got) != 0 {
		t.Errorf("received %v after acks", taskIDs(got))
	}
}

func testAckTwice(t *testing.T, q queue.Queue) {
	enqueue(t, q, msg(1))
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Block: time.Second})
	if len(ds) != 1 {
		t.Fatalf("received %d, want 1", len(ds))
	}
	ack(t, q, ds...)
	ack(t, q, ds...)
	ack(t, q)
	wantDepth(t, q, "", 0, 0)
}

func testExtend(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	enqueue(t, q, msg(1))
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Block: time.Second})
	if len(ds) != 1 {
		t.Fatalf("received %d, want 1", len(ds))
	}
	for range 8 { // 8 × 150ms = 1.2s, more than twice the lease
		time.Sleep(Lease * 3 / 10)
		if err := q.Extend(ctx, ds...); err != nil {
			t.Fatalf("Extend by its holder: %v", err)
		}
		if got := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease}); len(got) != 0 {
			t.Fatalf("reclaimed %v although it was extended", taskIDs(got))
		}
	}
	time.Sleep(Lease + 100*time.Millisecond)
	got := reclaim(t, q, queue.ReclaimParams{Consumer: "c2", MinIdle: Lease})
	if len(got) != 1 || got[0].Deliveries != 2 {
		t.Fatalf("reclaimed %+v once Extend stopped, want the delivery with Deliveries 2", got)
	}
	if err := q.Extend(ctx, ds...); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Extend by the consumer it was reclaimed from = %v, want ErrNotHeld", err)
	}
	if err := q.Extend(ctx, got...); err != nil {
		t.Errorf("Extend by the consumer that reclaimed it: %v", err)
	}
	ack(t, q, got...)
	if err := q.Extend(ctx, got...); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Extend of an acked delivery = %v, want ErrNotHeld", err)
	}
}

func testDepth(t *testing.T, q queue.Queue) {
	wantDepth(t, q, "", 0, 0)
	enqueue(t, q, msgs(0, 5, "")...)
	enqueue(t, q, msgs(5, 6, "other")...)
	wantDepth(t, q, "", 5, 0)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 2, Block: time.Second})
	if len(ds) != 2 {
		t.Fatalf("received %d, want 2", len(ds))
	}
	wantDepth(t, q, queue.DefaultQueue, 3, 2)
	ack(t, q, ds[0])
	wantDepth(t, q, "", 3, 1)
	wantDepth(t, q, "other", 1, 0)
}

func testInvalid(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	bad := msg(2)
	bad.TaskID = ""
	if err := q.Enqueue(ctx, msg(1), bad); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Enqueue of a message without task id = %v, want ErrInvalid", err)
	}
	wantDepth(t, q, "", 0, 0)
	if _, err := q.Receive(ctx, queue.ReceiveParams{}); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Receive without a consumer = %v, want ErrInvalid", err)
	}
	if _, err := q.Reclaim(ctx, queue.ReclaimParams{MinIdle: time.Second}); !errors.Is(err, queue.ErrInvalid) {
		t.Errorf("Reclaim without a consumer = %v, want ErrInvalid", err)
	}
}

func testCancel(t *testing.T, q queue.Queue) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c1", Block: 10 * time.Second})
	if took := time.Since(start); !errors.Is(err, context.Canceled) || took > 3*time.Second {
		t.Errorf("Receive cancelled at 100ms returned %v after %v, want context.Canceled soon", err, took)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = q.Receive(ctx, queue.ReceiveParams{Consumer: "c1", Queues: []string{"a", "b"}, Block: 10 * time.Second})
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 3*time.Second {
		t.Errorf("Receive with a 200ms deadline returned %v after %v, want context.DeadlineExceeded soon", err, took)
	}
	// Cancelled at any moment, even while the wait is being set up.
	for i := range 40 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Duration(i)*150*time.Microsecond, cancel)
		start := time.Now()
		queues := [][]string{nil, {"a", "b"}}[i%2]
		_, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c1", Queues: queues, Block: 10 * time.Second})
		if took := time.Since(start); !errors.Is(err, context.Canceled) || took > 3*time.Second {
			t.Errorf("Receive of %q cancelled after %v returned %v after %v, want context.Canceled soon", queues, time.Duration(i)*150*time.Microsecond, err, took)
		}
		cancel()
	}
	// The queue still works.
	enqueue(t, q, msg(1))
	if ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Block: 5 * time.Second}); len(ds) != 1 {
		t.Errorf("received %d after cancelled receives, want 1", len(ds))
	}
}

func testConcurrent(t *testing.T, q queue.Queue) {
	const total, consumers = 1000, 8
	for i := 0; i < total; i += 100 {
		enqueue(t, q, msgs(i, i+100, "")...)
	}
	var (
		mu      sync.Mutex
		holder  = make(map[string]string) // task id → consumer holding it now
		seen    = make(map[string]int)
		acked   int
		wg      sync.WaitGroup
		ctx     = context.Background()
		timeout = time.Now().Add(60 * time.Second)
	)
	for c := range consumers {
		name := fmt.Sprintf("c%d", c)
		wg.Go(func() {
			for time.Now().Before(timeout) {
				mu.Lock()
				done := acked == total
				mu.Unlock()
				if done {
					return
				}
				ds, err := q.Receive(ctx, queue.ReceiveParams{Consumer: name, Max: 10, Block: 100 * time.Millisecond})
				if err != nil {
					t.Errorf("%s: Receive: %v", name, err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					if other, ok := holder[d.TaskID]; ok {
						t.Errorf("%s delivered to %s and %s at once", d.TaskID, other, name)
					}
					holder[d.TaskID] = name
					seen[d.TaskID]++
				}
				mu.Unlock()
				if err := q.Ack(ctx, ds...); err != nil {
					t.Errorf("%s: Ack: %v", name, err)
					return
				}
				mu.Lock()
				for _, d := range ds {
					delete(holder, d.TaskID)
				}
				acked += len(ds)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total || acked != total {
		t.Errorf("%d distinct messages delivered and %d acked, want %d", len(seen), acked, total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times without a reclaim", id, n)
		}
	}
	wantDepth(t, q, "", 0, 0)
}

func testClose(t *testing.T, q queue.Queue) {
	ctx := context.Background()
	errc := make(chan error, 2)
	for _, queues := range [][]string{nil, {"a", "b"}} {
		go func() {
			_, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c1", Queues: queues, Block: 10 * time.Second})
			errc <- err
		}()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, queue.ErrClosed) {
				t.Errorf("a Receive blocked during Close returned %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Receive still blocked 5s after Close")
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %v to unblock receivers", took)
	}
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := q.Enqueue(ctx, msg(1)); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if _, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "c1"}); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Receive after Close = %v, want ErrClosed", err)
	}
}
