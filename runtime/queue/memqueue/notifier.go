package memqueue

import (
	"context"
	"fmt"
	"sync"

	"github.com/starflow-dev/starflow/runtime/queue"
)

var _ queue.Notifier = (*Notifier)(nil)

// Notifier is an in-process queue.Notifier. The zero value is not usable;
// call NewNotifier.
type Notifier struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup
}

// subscriber buffers the events not yet handed to its channel.
type subscriber struct {
	mu   sync.Mutex
	buf  []queue.Event
	wake chan struct{} // capacity 1: "buf may be non-empty"
}

// NewNotifier returns a Notifier without subscribers.
func NewNotifier() *Notifier {
	return &Notifier{subs: make(map[*subscriber]struct{}), done: make(chan struct{})}
}

// Publish appends e to every subscriber's buffer; it never blocks on a slow
// subscriber.
func (n *Notifier) Publish(ctx context.Context, e queue.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("memqueue: publish: %w", queue.ErrClosed)
	}
	for s := range n.subs {
		s.mu.Lock()
		s.buf = append(s.buf, e)
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Subscribe returns a channel of the events published from now on, closed
// when ctx ends or n is closed. One goroutine per subscription feeds it.
func (n *Notifier) Subscribe(ctx context.Context) (<-chan queue.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memqueue: subscribe: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("memqueue: subscribe: %w", queue.ErrClosed)
	}
	s := &subscriber{wake: make(chan struct{}, 1)}
	n.subs[s] = struct{}{}
	out := make(chan queue.Event, 64)
	n.wg.Add(1)
	go n.feed(ctx, s, out)
	return out, nil
}

// feed moves s's buffered events to out in order until ctx ends or n closes.
func (n *Notifier) feed(ctx context.Context, s *subscriber, out chan<- queue.Event) {
	defer n.wg.Done()
	defer close(out)
	defer func() {
		n.mu.Lock()
		delete(n.subs, s)
		n.mu.Unlock()
	}()
	var batch []queue.Event
	for {
		s.mu.Lock()
		clear(batch)
		batch, s.buf = s.buf, batch[:0]
		s.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			case <-n.done:
				return
			}
		}
		for _, e := range batch {
			select {
			case out <- e:
			case <-ctx.Done():
				return
			case <-n.done:
				return
			}
		}
	}
}

// Close ends every subscription, closing their channels, and waits for
// their goroutines to finish.
func (n *Notifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	close(n.done)
	n.mu.Unlock()
	n.wg.Wait()
	return nil
}
