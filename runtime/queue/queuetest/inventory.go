package queuetest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
)

// RunInventory runs the conformance suite of queue.Inventory; newQueue is
// as for Run and must return queues that implement it.
func RunInventory(t *testing.T, newQueue func(t *testing.T) queue.Queue) {
	inventory := func(t *testing.T) (queue.Queue, queue.Inventory) {
		q := newQueue(t)
		inv, ok := q.(queue.Inventory)
		if !ok {
			t.Fatalf("%T does not implement queue.Inventory", q)
		}
		return q, inv
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, q queue.Queue, inv queue.Inventory)
	}{
		{"Held lists ready and fresh pending messages, not acked ones", testHeld},
		{"Held leaves out pending messages idle for fresh, until extended", testHeldStale},
		{"Held lists one named queue only", testHeldNamed},
		{"Epoch stays the same while nothing is lost", testEpochStable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, inv := inventory(t)
			tt.fn(t, q, inv)
		})
	}
	t.Run("a closed queue answers ErrClosed", func(t *testing.T) {
		t.Parallel()
		q, inv := inventory(t)
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := inv.Held(context.Background(), "", 0); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Held after Close: %v, want ErrClosed", err)
		}
		if _, err := inv.Epoch(context.Background()); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("Epoch after Close: %v, want ErrClosed", err)
		}
	})
}

// held returns the sorted task ids of the named queue's held messages.
func held(t *testing.T, inv queue.Inventory, name string, fresh time.Duration) []string {
	t.Helper()
	ms, err := inv.Held(context.Background(), name, fresh)
	if err != nil {
		t.Fatalf("Held(%q, %s): %v", name, fresh, err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		if m.QueueName() != queue.QueueNames([]string{name})[0] {
			t.Errorf("Held(%q) returned a message of queue %q", name, m.Queue)
		}
		ids[i] = m.TaskID
	}
	sort.Strings(ids)
	return ids
}

func wantHeld(t *testing.T, inv queue.Inventory, name string, fresh time.Duration, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if got := held(t, inv, name, fresh); !sameStrings(got, want) {
		t.Errorf("Held(%q, %s) = %v, want %v", name, fresh, got, want)
	}
}

func testHeld(t *testing.T, q queue.Queue, inv queue.Inventory) {
	wantHeld(t, inv, "", time.Minute)
	ms := msgs(0, 4, "")
	enqueue(t, q, ms...)
	ms2, err := inv.Held(context.Background(), "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms2 {
		if m.Key() != ms[0].Key() && m.Key() != ms[1].Key() && m.Key() != ms[2].Key() && m.Key() != ms[3].Key() {
			t.Errorf("Held returned %+v, which was never enqueued", m)
		}
		if m.SourceHash != "h1" {
			t.Errorf("Held returned source hash %q, want h1", m.SourceHash)
		}
	}
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 2})
	if len(ds) != 2 {
		t.Fatalf("received %d, want 2", len(ds))
	}
	wantHeld(t, inv, "", time.Minute, "t0000", "t0001", "t0002", "t0003")
	ack(t, q, ds[0])
	var left []string
	for _, m := range ms {
		if m.TaskID != ds[0].TaskID {
			left = append(left, m.TaskID)
		}
	}
	wantHeld(t, inv, "", time.Minute, left...)
}

func testHeldStale(t *testing.T, q queue.Queue, inv queue.Inventory) {
	enqueue(t, q, msgs(0, 2, "")...)
	ds := receive(t, q, queue.ReceiveParams{Consumer: "c1", Max: 1})
	if len(ds) != 1 {
		t.Fatalf("received %d, want 1", len(ds))
	}
	other := "t0000"
	if ds[0].TaskID == other {
		other = "t0001"
	}
	time.Sleep(Lease)
	wantHeld(t, inv, "", Lease/2, other)
	wantHeld(t, inv, "", 0, "t0000", "t0001") // fresh 0: every pending message counts
	if err := q.Extend(context.Background(), ds...); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	wantHeld(t, inv, "", Lease/2, "t0000", "t0001")
}

func testHeldNamed(t *testing.T, q queue.Queue, inv queue.Inventory) {
	enqueue(t, q, msgs(0, 2, "gpu")...)
	enqueue(t, q, msgs(2, 3, "")...)
	wantHeld(t, inv, "gpu", time.Minute, "t0000", "t0001")
	wantHeld(t, inv, queue.DefaultQueue, time.Minute, "t0002")
	wantHeld(t, inv, "", time.Minute, "t0002")
	wantHeld(t, inv, "nothing", time.Minute)
}

func testEpochStable(t *testing.T, q queue.Queue, inv queue.Inventory) {
	ctx := context.Background()
	e1, err := inv.Epoch(ctx)
	if err != nil || e1 == "" {
		t.Fatalf("Epoch = %q, %v; want a token", e1, err)
	}
	enqueue(t, q, msgs(0, 3, "")...)
	e2, err := inv.Epoch(ctx)
	if err != nil || e2 != e1 {
		t.Errorf("Epoch after an enqueue = %q, %v; want %q", e2, err, e1)
	}
}
