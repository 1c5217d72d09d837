package store

import (
	"context"
	"sync"
)

// MaxEndBatch bounds how many try ends an EndBatcher commits in one
// transaction.
const MaxEndBatch = 64

// EndBatcher records the ends of concurrent tries of one process in shared
// transactions (group commit): a caller that finds no commit under way
// commits its own end at once; the ends that arrive meanwhile wait, and
// the first of them then commits them all in one transaction
// (Store.TaskInstancesEnd). A lone try pays no wait; a burst of tries
// ending together pays one commit (one fsync on PostgreSQL, one turn of
// SQLite's single writer) instead of one each. The zero value is not
// usable; see NewEndBatcher.
type EndBatcher struct {
	st Store

	mu      sync.Mutex
	leading bool      // a commit is under way
	queue   []*endReq // ends waiting for the next commit
}

type endReq struct {
	p       *TaskInstanceEndParams
	lead    chan struct{} // closed: this request commits the next batch
	done    chan struct{} // closed: applied and err are set
	applied []bool
	err     error
}

// NewEndBatcher returns an EndBatcher over st.
func NewEndBatcher(st Store) *EndBatcher { return &EndBatcher{st: st} }

// TaskInstanceEnd records p as Store.TaskInstanceEnd does, in a
// transaction it may share with other callers. Its result is p's own: the
// loss of another end in the batch does not fail it.
func (b *EndBatcher) TaskInstanceEnd(ctx context.Context, p *TaskInstanceEndParams) ([]bool, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	r := &endReq{p: p, lead: make(chan struct{}), done: make(chan struct{})}
	b.mu.Lock()
	if b.leading {
		b.queue = append(b.queue, r)
		b.mu.Unlock()
		// A queued end is committed by whoever leads, even when this
		// caller's ctx ends meanwhile: the caller waits for the outcome
		// rather than leave it unknown.
		select {
		case <-r.done:
			return r.applied, r.err
		case <-r.lead:
		}
	} else {
		b.leading = true
		b.mu.Unlock()
	}
	b.commit(ctx, r)
	return r.applied, r.err
}

// commit records the leader's batch: r and what waits behind it (up to
// MaxEndBatch), then hands the lead to the next waiting end, if any.
func (b *EndBatcher) commit(ctx context.Context, r *endReq) {
	b.mu.Lock()
	batch := []*endReq{r}
	n := min(len(b.queue), MaxEndBatch-1)
	if n > 0 && b.queue[0] == r {
		b.queue = b.queue[1:]
		n = min(len(b.queue), MaxEndBatch-1)
	}
	batch = append(batch, b.queue[:n]...)
	b.queue = b.queue[n:]
	b.mu.Unlock()

	// The batch's commit must not fail because the leader's caller went
	// away: the others wait for it.
	cctx := context.WithoutCancel(ctx)
	if len(batch) == 1 {
		r.applied, r.err = b.st.TaskInstanceEnd(cctx, r.p)
	} else {
		ps := make([]*TaskInstanceEndParams, len(batch))
		for i, q := range batch {
			ps[i] = q.p
		}
		res, err := b.st.TaskInstancesEnd(cctx, ps)
		for i, q := range batch {
			if err == nil {
				q.applied, q.err = res[i].Applied, res[i].Err
				continue
			}
			// The shared transaction failed (an end broke a constraint,
			// the connection was lost): each end on its own, so that one
			// cannot fail the others.
			q.applied, q.err = b.st.TaskInstanceEnd(cctx, q.p)
		}
	}

	b.mu.Lock()
	var next *endReq
	if len(b.queue) > 0 {
		next = b.queue[0]
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	for _, q := range batch {
		if q != r {
			close(q.done)
		}
	}
	if next != nil {
		close(next.lead)
	}
}
