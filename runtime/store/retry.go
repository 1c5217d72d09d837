package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Backoff is an exponential back-off: Initial, doubled after each failure
// up to Max, for at most Attempts tries (0 means until the context ends).
type Backoff struct {
	Initial  time.Duration
	Max      time.Duration
	Attempts int
}

// DefaultBackoff suits a daemon waiting for its database: 0.5s doubling to
// 30s, until its context ends.
var DefaultBackoff = Backoff{Initial: 500 * time.Millisecond, Max: 30 * time.Second}

// Delay returns the wait after the given number of failures (1 = first).
func (b Backoff) Delay(failures int) time.Duration {
	d := b.Initial
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	for i := 1; i < failures; i++ {
		d *= 2
		if b.Max > 0 && d >= b.Max {
			return b.Max
		}
	}
	if b.Max > 0 && d > b.Max {
		return b.Max
	}
	return d
}

// OpenWithRetry calls open until it succeeds, the back-off runs out of
// attempts or ctx ends, logging each failure. Errors that waiting cannot
// fix (ErrSchemaTooNew, ErrSchemaOutdated, ErrInvalid) are returned at
// once. Daemons use it so that a database still starting up is waited for.
func OpenWithRetry(ctx context.Context, open func(context.Context) (Store, error), b Backoff, log *slog.Logger) (Store, error) {
	if log == nil {
		log = slog.Default()
	}
	for failures := 1; ; failures++ {
		s, err := open(ctx)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, ErrSchemaTooNew) || errors.Is(err, ErrSchemaOutdated) || errors.Is(err, ErrInvalid) {
			return nil, err
		}
		if b.Attempts > 0 && failures >= b.Attempts {
			return nil, fmt.Errorf("gave up after %d attempts: %w", failures, err)
		}
		delay := b.Delay(failures)
		log.WarnContext(ctx, "metadata database not available, retrying", "err", err, "attempt", failures, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (while waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}
