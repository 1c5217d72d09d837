package queue

import "context"

// Event kinds the scheduler and workers publish. Kind is a free string, so
// components may add their own.
const (
	// EventTaskFinished: a task instance reached a final state, so its
	// downstream tasks may be ready.
	EventTaskFinished = "task_finished"
	// EventRunCreated: a DAG run was created (triggered, scheduled or
	// backfilled).
	EventRunCreated = "run_created"
)

// Event is a small notice broadcast between processes so that schedulers
// react in milliseconds; like Message it carries ids only.
type Event struct {
	// Kind says what happened, for example EventTaskFinished.
	Kind string
	// DAGID, RunID, TaskID and MapIndex name what it happened to; fields
	// that do not apply are empty (MapIndex 0).
	DAGID, RunID, TaskID string
	MapIndex             int
}

// Notifier broadcasts small events between processes at once (task
// finished, run created) so schedulers react in milliseconds. Delivery is
// best effort: every subscriber gets every event published after its
// Subscribe returned, in publication order, unless it falls far behind or
// its connection drops. All methods are safe for concurrent use.
type Notifier interface {
	// Publish sends e to every current subscriber, in this process and
	// others.
	Publish(ctx context.Context, e Event) error
	// Subscribe returns a channel of the events published from now on. The
	// channel is closed when ctx ends or the Notifier is closed.
	Subscribe(ctx context.Context) (<-chan Event, error)
	// Close ends every subscription and releases the Notifier. Closing
	// twice is not an error.
	Close() error
}
