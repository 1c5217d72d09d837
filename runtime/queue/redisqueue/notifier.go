package redisqueue

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/starflow-dev/starflow/runtime/queue"
)

var _ queue.Notifier = (*Notifier)(nil)

// Notifier is a queue.Notifier on Redis pub/sub: events are published as
// compact JSON on the channel <prefix>:events.
type Notifier struct {
	rdb     *redis.Client
	channel string
	log     *slog.Logger

	mu     sync.Mutex
	closed bool
	done   chan struct{} // closed by Close
	wg     sync.WaitGroup
}

// NewNotifier connects to Redis at opts.URL and returns a Notifier.
func NewNotifier(ctx context.Context, opts Options) (*Notifier, error) {
	opts = opts.withDefaults()
	rdb, err := connect(ctx, opts, "notifier")
	if err != nil {
		return nil, err
	}
	return &Notifier{rdb: rdb, channel: opts.Prefix + ":events", log: opts.Logger, done: make(chan struct{})}, nil
}

// Channel returns the pub/sub channel the events travel on.
func (n *Notifier) Channel() string { return n.channel }

// Publish sends e to the subscribers of every process (PUBLISH).
func (n *Notifier) Publish(ctx context.Context, e queue.Event) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return fmt.Errorf("redisqueue: publish: %w", queue.ErrClosed)
	}
	b, err := encodeEvent(e)
	if err != nil {
		return fmt.Errorf("redisqueue: publish %s: %w", e.Kind, err)
	}
	if err := n.rdb.Publish(ctx, n.channel, b).Err(); err != nil {
		return fmt.Errorf("redisqueue: publish %s: %w", e.Kind, err)
	}
	return nil
}

// Subscribe subscribes a new pub/sub connection and returns once Redis has
// confirmed it, so every event published after it returns is delivered
// (unless the connection drops meanwhile). go-redis reconnects and
// resubscribes the connection after a failure.
func (n *Notifier) Subscribe(ctx context.Context) (<-chan queue.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redisqueue: subscribe: %w", err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, fmt.Errorf("redisqueue: subscribe: %w", queue.ErrClosed)
	}
	n.wg.Add(1)
	n.mu.Unlock()
	ps := n.rdb.Subscribe(ctx, n.channel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		n.wg.Done()
		return nil, fmt.Errorf("redisqueue: subscribe to %s: %w", n.channel, err)
	}
	out := make(chan queue.Event, 64)
	go n.forward(ctx, ps, out)
	return out, nil
}

// forward decodes the subscription's messages onto out until ctx ends or n
// closes.
func (n *Notifier) forward(ctx context.Context, ps *redis.PubSub, out chan<- queue.Event) {
	defer n.wg.Done()
	defer close(out)
	defer ps.Close()
	in := ps.Channel(redis.WithChannelSize(1024))
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return
			}
			e, err := decodeEvent(m.Payload)
			if err != nil {
				n.log.Warn("redisqueue: dropping a malformed event", "channel", n.channel, "error", err)
				continue
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			case <-n.done:
				return
			}
		case <-ctx.Done():
			return
		case <-n.done:
			return
		}
	}
}

// Close ends every subscription, closing their channels, waits for their
// goroutines and closes the connections.
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
	if err := n.rdb.Close(); err != nil {
		return fmt.Errorf("redisqueue: close notifier: %w", err)
	}
	return nil
}
