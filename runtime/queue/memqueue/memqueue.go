package memqueue

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
)

var (
	_ queue.Queue     = (*Queue)(nil)
	_ queue.Inventory = (*Queue)(nil)
)

// maxFree bounds the recycled items a Queue keeps.
const maxFree = 4096

// Queue is an in-process queue.Queue. The zero value is not usable; call New.
type Queue struct {
	mu     sync.Mutex
	named  map[string]*namedQueue
	held   map[string]*item // pending deliveries by ID
	seq    uint64
	free   []*item
	closed bool
	epoch  string
}

// namedQueue is one named queue: its ready heap, its pending deliveries
// (oldest last-delivered first) and the receivers waiting on it.
type namedQueue struct {
	ready      []*item
	head, tail *item
	pending    int
	waiters    []chan struct{}
}

// item is one message; it stays the same through deliveries and reclaims.
type item struct {
	msg        queue.Message // msg.Queue is always set
	seq        uint64
	id         string
	deliveries int
	consumer   string
	at         time.Time // last delivered or extended
	prev, next *item     // in the pending list
	nq         *namedQueue
}

// New returns an empty Queue.
func New() *Queue {
	return &Queue{named: make(map[string]*namedQueue), held: make(map[string]*item),
		epoch: "mem-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

func (it *item) delivery() queue.Delivery {
	return queue.Delivery{Message: it.msg, ID: it.id, Deliveries: it.deliveries, Consumer: it.consumer}
}

// namedFor returns the named queue called name, creating it. Call with q.mu held.
func (q *Queue) namedFor(name string) *namedQueue {
	nq := q.named[name]
	if nq == nil {
		nq = &namedQueue{}
		q.named[name] = nq
	}
	return nq
}

// Enqueue adds msgs to their named queues and wakes the receivers waiting
// on those queues.
func (q *Queue) Enqueue(ctx context.Context, msgs ...queue.Message) error {
	for i := range msgs {
		if err := msgs[i].Validate(); err != nil {
			return fmt.Errorf("memqueue: enqueue: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memqueue: enqueue: %w", err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("memqueue: enqueue: %w", queue.ErrClosed)
	}
	var (
		nq       *namedQueue
		lastName string
	)
	for _, m := range msgs {
		if name := m.QueueName(); nq == nil || name != lastName {
			if nq != nil {
				nq.wake()
			}
			nq, lastName = q.namedFor(name), name
		}
		m.Queue = lastName
		q.seq++
		it := q.newItem()
		it.msg, it.seq, it.id, it.nq = m, q.seq, strconv.FormatUint(q.seq, 10), nq
		nq.push(it)
	}
	if nq != nil {
		nq.wake()
	}
	return nil
}

func (q *Queue) newItem() *item {
	if n := len(q.free); n > 0 {
		it := q.free[n-1]
		q.free = q.free[:n-1]
		return it
	}
	return new(item)
}

func (q *Queue) recycle(it *item) {
	if len(q.free) < maxFree {
		*it = item{}
		q.free = append(q.free, it)
	}
}

// Receive returns up to p.Max deliveries, the highest priority first across
// p.Queues, waiting up to p.Block for one.
func (q *Queue) Receive(ctx context.Context, p queue.ReceiveParams) ([]queue.Delivery, error) {
	if p.Consumer == "" {
		return nil, fmt.Errorf("memqueue: receive: %w: a consumer name is required", queue.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memqueue: receive: %w", err)
	}
	names := queue.QueueNames(p.Queues)
	max := queue.MaxOrOne(p.Max)
	var (
		wake  chan struct{}
		timer *time.Timer
	)
	for {
		q.mu.Lock()
		if q.closed {
			q.unwait(names, wake)
			q.mu.Unlock()
			return nil, fmt.Errorf("memqueue: receive: %w", queue.ErrClosed)
		}
		if ds := q.take(names, max, p.Consumer); len(ds) > 0 || p.Block <= 0 {
			q.unwait(names, wake)
			q.mu.Unlock()
			return ds, nil
		}
		if wake == nil {
			wake = make(chan struct{}, 1)
			for _, name := range names {
				nq := q.namedFor(name)
				nq.waiters = append(nq.waiters, wake)
			}
			timer = time.NewTimer(p.Block)
			defer timer.Stop()
		}
		q.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			q.mu.Lock()
			q.unwait(names, wake)
			q.mu.Unlock()
			return nil, nil
		case <-ctx.Done():
			q.mu.Lock()
			q.unwait(names, wake)
			q.mu.Unlock()
			return nil, fmt.Errorf("memqueue: receive: %w", ctx.Err())
		}
	}
}

// take moves up to max ready messages of names to pending for consumer.
// Call with q.mu held.
func (q *Queue) take(names []string, max int, consumer string) []queue.Delivery {
	var nqs [4]*namedQueue
	queues := nqs[:0]
	avail := 0
	for _, name := range names {
		if nq := q.named[name]; nq != nil && len(nq.ready) > 0 {
			queues = append(queues, nq)
			avail += len(nq.ready)
		}
	}
	if avail == 0 {
		return nil
	}
	ds := make([]queue.Delivery, 0, min(max, avail))
	now := time.Now()
	for len(ds) < max {
		var best *namedQueue
		for _, nq := range queues {
			if len(nq.ready) > 0 && (best == nil || nq.ready[0].msg.Priority > best.ready[0].msg.Priority) {
				best = nq
			}
		}
		if best == nil {
			break
		}
		it := best.pop()
		it.deliveries++
		it.consumer, it.at = consumer, now
		best.pushPending(it)
		q.held[it.id] = it
		ds = append(ds, it.delivery())
	}
	return ds
}

// unwait removes wake from the waiters of names. Call with q.mu held.
func (q *Queue) unwait(names []string, wake chan struct{}) {
	if wake == nil {
		return
	}
	for _, name := range names {
		nq := q.named[name]
		if nq == nil {
			continue
		}
		for i, w := range nq.waiters {
			if w == wake {
				last := len(nq.waiters) - 1
				nq.waiters[i] = nq.waiters[last]
				nq.waiters[last] = nil
				nq.waiters = nq.waiters[:last]
				break
			}
		}
	}
}

// Ack forgets the deliveries; unknown and already acknowledged ones are
// ignored.
func (q *Queue) Ack(ctx context.Context, ds ...queue.Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("memqueue: ack: %w", queue.ErrClosed)
	}
	for i := range ds {
		it := q.held[ds[i].ID]
		if it == nil {
			continue
		}
		delete(q.held, it.id)
		it.nq.unlinkPending(it)
		q.recycle(it)
	}
	return nil
}

// Reclaim takes over deliveries idle for at least p.MinIdle, the longest
// idle first.
func (q *Queue) Reclaim(ctx context.Context, p queue.ReclaimParams) ([]queue.Delivery, error) {
	if p.Consumer == "" {
		return nil, fmt.Errorf("memqueue: reclaim: %w: a consumer name is required", queue.ErrInvalid)
	}
	max := queue.MaxOrOne(p.Max)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, fmt.Errorf("memqueue: reclaim: %w", queue.ErrClosed)
	}
	now := time.Now()
	var idle []*item
	for _, name := range queue.QueueNames(p.Queues) {
		nq := q.named[name]
		if nq == nil {
			continue
		}
		for it := nq.head; it != nil && len(idle) < max && now.Sub(it.at) >= p.MinIdle; it = it.next {
			idle = append(idle, it)
		}
	}
	ds := make([]queue.Delivery, len(idle))
	for i, it := range idle {
		it.nq.unlinkPending(it)
		it.deliveries++
		it.consumer, it.at = p.Consumer, now
		it.nq.pushPending(it)
		ds[i] = it.delivery()
	}
	return ds, nil
}

// Extend resets the idle time of the deliveries their consumer still holds.
func (q *Queue) Extend(ctx context.Context, ds ...queue.Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("memqueue: extend: %w", queue.ErrClosed)
	}
	now := time.Now()
	lost := 0
	for i := range ds {
		it := q.held[ds[i].ID]
		if it == nil || it.consumer != ds[i].Consumer {
			lost++
			continue
		}
		it.nq.unlinkPending(it)
		it.at = now
		it.nq.pushPending(it)
	}
	if lost > 0 {
		return fmt.Errorf("memqueue: extend: %d of %d deliveries: %w", lost, len(ds), queue.ErrNotHeld)
	}
	return nil
}

// Depth counts the ready and pending messages of a named queue.
func (q *Queue) Depth(ctx context.Context, name string) (ready, pending int64, err error) {
	if name == "" {
		name = queue.DefaultQueue
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, 0, fmt.Errorf("memqueue: depth: %w", queue.ErrClosed)
	}
	if nq := q.named[name]; nq != nil {
		return int64(len(nq.ready)), int64(nq.pending), nil
	}
	return 0, 0, nil
}

// Close drops every message and wakes blocked receivers, which return
// queue.ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	for _, nq := range q.named {
		nq.wake()
	}
	q.named, q.held, q.free = nil, nil, nil
	return nil
}

// wake signals every receiver waiting on nq without blocking.
func (nq *namedQueue) wake() {
	for _, w := range nq.waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// before orders the ready heap: higher priority first, then first in.
func before(a, b *item) bool {
	if a.msg.Priority != b.msg.Priority {
		return a.msg.Priority > b.msg.Priority
	}
	return a.seq < b.seq
}

func (nq *namedQueue) push(it *item) {
	h := append(nq.ready, it)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !before(h[i], h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	nq.ready = h
}

func (nq *namedQueue) pop() *item {
	h := nq.ready
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && before(h[l], h[m]) {
			m = l
		}
		if r < len(h) && before(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	nq.ready = h
	return top
}

// pushPending appends it to the pending list, whose order is the order of
// last delivery or extension.
func (nq *namedQueue) pushPending(it *item) {
	it.prev, it.next = nq.tail, nil
	if nq.tail != nil {
		nq.tail.next = it
	} else {
		nq.head = it
	}
	nq.tail = it
	nq.pending++
}

func (nq *namedQueue) unlinkPending(it *item) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		nq.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		nq.tail = it.prev
	}
	it.prev, it.next = nil, nil
	nq.pending--
}

// Held returns the named queue's ready messages and its pending ones
// delivered or extended less than fresh ago.
func (q *Queue) Held(ctx context.Context, name string, fresh time.Duration) ([]queue.Message, error) {
	if name == "" {
		name = queue.DefaultQueue
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, fmt.Errorf("memqueue: held: %w", queue.ErrClosed)
	}
	nq := q.named[name]
	if nq == nil {
		return nil, nil
	}
	out := make([]queue.Message, 0, len(nq.ready)+nq.pending)
	for _, it := range nq.ready {
		out = append(out, it.msg)
	}
	since := time.Now().Add(-fresh)
	for it := nq.head; it != nil; it = it.next {
		if fresh <= 0 || it.at.After(since) {
			out = append(out, it.msg)
		}
	}
	return out, nil
}

// Epoch returns a token fixed for the Queue's life: an in-process queue
// loses its messages only with its process.
func (q *Queue) Epoch(ctx context.Context) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return "", fmt.Errorf("memqueue: epoch: %w", queue.ErrClosed)
	}
	return q.epoch, nil
}
