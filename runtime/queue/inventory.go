package queue

import (
	"context"
	"time"
)

// Inventory is implemented by queues that can say which messages they
// hold. The scheduler's reconciliation uses it to queue again the task
// instances the store shows as queued but whose message is gone: lost in a
// restart of a Redis that keeps nothing on disk, or held by a consumer that
// died. It is optional; a queue without it is never reconciled.
type Inventory interface {
	// Held returns the messages the named queue holds now: the ready ones,
	// and the pending ones received, reclaimed or extended less than fresh
	// ago. A pending message idle for longer belongs to a consumer presumed
	// dead and is left out; fresh 0 or less keeps every pending message.
	// The order is unspecified.
	Held(ctx context.Context, name string, fresh time.Duration) ([]Message, error)
	// Epoch returns a token of the queue's storage that changes when the
	// storage lost its content, such as a Redis restart without
	// persistence, so that the caller reconciles at once. It is never ""
	// with a nil error.
	Epoch(ctx context.Context) (string, error)
}

// MessageKey names the task-instance try of a message; messages with the
// same key are duplicates.
type MessageKey struct {
	DAGID, RunID, TaskID string
	MapIndex, TryNumber  int
}

// Key returns the key of m's task-instance try.
func (m Message) Key() MessageKey {
	return MessageKey{DAGID: m.DAGID, RunID: m.RunID, TaskID: m.TaskID, MapIndex: m.MapIndex, TryNumber: m.TryNumber}
}
