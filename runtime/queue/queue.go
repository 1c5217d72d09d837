package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultQueue is the named queue of a message whose Queue is empty, and the
// queue a consumer serves when it names none.
const DefaultQueue = "default"

// Errors returned by every implementation, wrapped with context; test them
// with errors.Is.
var (
	// ErrClosed is returned by every method called after Close, and by a
	// Receive that Close interrupted.
	ErrClosed = errors.New("queue: closed")
	// ErrInvalid is returned for a message or parameters that cannot be
	// right, such as a message without a task id or a Receive without a
	// consumer name.
	ErrInvalid = errors.New("queue: invalid")
	// ErrNotHeld is returned by Extend for deliveries the consumer no longer
	// holds: acknowledged, or reclaimed by another consumer. The others in
	// the same call are extended all the same.
	ErrNotHeld = errors.New("queue: delivery no longer held")
)

// Message identifies one task-instance try to run; it carries only ids — the
// store is the source of truth.
type Message struct {
	// DAGID, RunID and TaskID name the task instance.
	DAGID, RunID, TaskID string
	// MapIndex is the task instance's map index (-1 when not mapped).
	MapIndex int
	// TryNumber is the try this message asks to run.
	TryNumber int
	// SourceHash is the content hash of the DAG version to run, which
	// workers fetch from the store and parse once per hash.
	SourceHash string
	// Queue is the named queue the message goes to; "" means DefaultQueue.
	// Deliveries always carry the name, never "".
	Queue string
	// Priority orders messages within a queue where the backend allows:
	// higher first (Airflow's priority_weight).
	Priority int
}

// QueueName returns the named queue m goes to: m.Queue, or DefaultQueue when
// m.Queue is empty.
func (m Message) QueueName() string {
	if m.Queue == "" {
		return DefaultQueue
	}
	return m.Queue
}

// Validate reports a message that cannot name a task-instance try: one
// without a DAG, run or task id, or with a negative try number.
func (m Message) Validate() error {
	switch {
	case m.DAGID == "" || m.RunID == "" || m.TaskID == "":
		return fmt.Errorf("%w: message %s/%s/%s: DAG, run and task ids are required", ErrInvalid, m.DAGID, m.RunID, m.TaskID)
	case m.TryNumber < 0:
		return fmt.Errorf("%w: message %s/%s/%s: negative try number %d", ErrInvalid, m.DAGID, m.RunID, m.TaskID, m.TryNumber)
	}
	return nil
}

// Delivery is a message as a consumer received it. Pass it back unchanged to
// Ack and Extend.
type Delivery struct {
	Message
	// ID is assigned by the queue; it is unique within the message's named
	// queue and stays the same when the message is reclaimed.
	ID string
	// Deliveries counts the times the message was delivered: 1 on first
	// delivery, one more on each reclaim.
	Deliveries int
	// Consumer is the consumer that holds the delivery: the one that received
	// or reclaimed it.
	Consumer string
}

// ReceiveParams are the arguments of Queue.Receive.
type ReceiveParams struct {
	// Consumer names the receiving consumer, unique among live consumers and
	// stable for its lifetime (for example host:pid). Required.
	Consumer string
	// Queues are the named queues served; empty means DefaultQueue alone.
	// Earlier queues are served first when several have messages, unless
	// the backend orders by priority across them (see each implementation).
	Queues []string
	// Max is the most deliveries returned; 0 or less means 1.
	Max int
	// Block is how long to wait for at least one message when none is
	// ready; 0 or less returns at once.
	Block time.Duration
}

// ReclaimParams are the arguments of Queue.Reclaim.
type ReclaimParams struct {
	// Consumer names the consumer that takes the deliveries over. Required.
	Consumer string
	// Queues are the named queues searched; empty means DefaultQueue alone.
	Queues []string
	// MinIdle is the lease: only deliveries neither acknowledged nor
	// extended for at least MinIdle are taken. 0 takes every pending one.
	MinIdle time.Duration
	// Max is the most deliveries returned; 0 or less means 1.
	Max int
}

// Queue carries task-instance tries from the scheduler to workers with
// at-least-once delivery. All methods are safe for concurrent use.
type Queue interface {
	// Enqueue adds msgs, each to its own named queue, in order. It rejects
	// the whole batch, adding nothing, when a message is invalid.
	Enqueue(ctx context.Context, msgs ...Message) error
	// Receive returns up to p.Max new deliveries from p.Queues for
	// p.Consumer, waiting up to p.Block for at least one. An empty result
	// with a nil error means the wait timed out. It returns ctx.Err() when
	// ctx ends first and ErrClosed when the queue is closed meanwhile.
	Receive(ctx context.Context, p ReceiveParams) ([]Delivery, error)
	// Ack marks deliveries done: they are never delivered again. Acking a
	// delivery twice, or one that another consumer reclaimed, is not an
	// error.
	Ack(ctx context.Context, ds ...Delivery) error
	// Reclaim takes over, for p.Consumer, up to p.Max deliveries of
	// p.Queues held by any consumer and neither acknowledged nor extended
	// for p.MinIdle (their consumer presumably died), as Redis XAUTOCLAIM
	// does. Each returned delivery's Deliveries is one more than before.
	Reclaim(ctx context.Context, p ReclaimParams) ([]Delivery, error)
	// Extend tells the queue that each delivery's consumer still works on
	// it, resetting its idle time so that Reclaim leaves it alone. It
	// returns an error wrapping ErrNotHeld for deliveries their consumer no
	// longer holds.
	Extend(ctx context.Context, ds ...Delivery) error
	// Depth counts a named queue's messages: ready (never delivered) and
	// pending (delivered, not acknowledged).
	Depth(ctx context.Context, queue string) (ready, pending int64, err error)
	// Close releases the queue and wakes blocked receivers, which return
	// ErrClosed. Closing twice is not an error.
	Close() error
}

// QueueNames normalizes a list of named queues as Receive and Reclaim read
// it: "" becomes DefaultQueue, duplicates are dropped keeping the first, and
// an empty list becomes [DefaultQueue].
func QueueNames(queues []string) []string {
	if len(queues) == 0 {
		return []string{DefaultQueue}
	}
	if len(queues) == 1 && queues[0] != "" {
		return queues
	}
	out := make([]string, 0, len(queues))
	for _, q := range queues {
		if q == "" {
			q = DefaultQueue
		}
		dup := false
		for _, o := range out {
			if o == q {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, q)
		}
	}
	return out
}

// MaxOrOne returns max, or 1 when max is 0 or less, as Receive and Reclaim
// read their Max.
func MaxOrOne(max int) int {
	if max <= 0 {
		return 1
	}
	return max
}
