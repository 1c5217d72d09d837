package queuetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
)

// RunNotifier runs the Notifier conformance suite. newNotifier returns a new
// notifier isolated from every other one it returned, and arranges to close
// it when the test ends (closing twice must be allowed).
func RunNotifier(t *testing.T, newNotifier func(t *testing.T) queue.Notifier) {
	tests := []struct {
		name string
		fn   func(t *testing.T, n queue.Notifier)
	}{
		{"every subscriber gets every event in order", testEveryEvent},
		{"a subscriber gets only the events published after it subscribed", testAfterSubscribe},
		{"the channel closes when the context ends", testSubscriptionEnds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newNotifier(t))
		})
	}
	t.Run("Close ends every subscription", func(t *testing.T) {
		t.Parallel()
		testNotifierClose(t, newNotifier(t))
	})
}

// event returns the i-th event of a test, every field set.
func event(i int) queue.Event {
	return queue.Event{Kind: queue.EventTaskFinished, DAGID: "dag", RunID: "run \"α\"", TaskID: fmt.Sprintf("t%04d", i), MapIndex: i - 1}
}

func subscribe(t *testing.T, ctx context.Context, n queue.Notifier) <-chan queue.Event {
	t.Helper()
	ch, err := n.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}

func publish(t *testing.T, n queue.Notifier, e queue.Event) {
	t.Helper()
	if err := n.Publish(context.Background(), e); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// next returns the next event on ch, failing the test after 5s.
func next(t *testing.T, ch <-chan queue.Event) queue.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed early")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return queue.Event{}
}

// closes waits up to 5s for ch to be closed, draining it.
func closes(t *testing.T, ch <-chan queue.Event) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("subscription not closed within 5s")
		}
	}
}

func testEveryEvent(t *testing.T, n queue.Notifier) {
	const events, subscribers = 300, 3
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var subs []<-chan queue.Event
	for range subscribers {
		subs = append(subs, subscribe(t, ctx, n))
	}
	for i := range events {
		publish(t, n, event(i))
	}
	for s, ch := range subs {
		for i := range events {
			if got := next(t, ch); got != event(i) {
				t.Fatalf("subscriber %d: event %d is %+v, want %+v", s, i, got, event(i))
			}
		}
	}
}

func testAfterSubscribe(t *testing.T, n queue.Notifier) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	early := subscribe(t, ctx, n)
	publish(t, n, event(1))
	late := subscribe(t, ctx, n)
	publish(t, n, event(2))
	if got := next(t, late); got != event(2) {
		t.Errorf("the late subscriber's first event is %+v, want %+v", got, event(2))
	}
	for _, want := range []queue.Event{event(1), event(2)} {
		if got := next(t, early); got != want {
			t.Errorf("the early subscriber got %+v, want %+v", got, want)
		}
	}
}

func testSubscriptionEnds(t *testing.T, n queue.Notifier) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := subscribe(t, ctx, n)
	other := subscribe(t, context.Background(), n)
	publish(t, n, event(1))
	cancel()
	closes(t, ended)
	publish(t, n, event(2))
	if got := next(t, other); got != event(1) {
		t.Errorf("got %+v, want %+v", got, event(1))
	}
	if got := next(t, other); got != event(2) {
		t.Errorf("the other subscription, after one ended, got %+v, want %+v", got, event(2))
	}
	if _, err := n.Subscribe(ctx); err == nil {
		t.Error("Subscribe with an ended context succeeded")
	}
}

func testNotifierClose(t *testing.T, n queue.Notifier) {
	ctx := context.Background()
	a, b := subscribe(t, ctx, n), subscribe(t, ctx, n)
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closes(t, a)
	closes(t, b)
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := n.Publish(ctx, event(1)); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := n.Subscribe(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}
