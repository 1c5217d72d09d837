package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/starflow-dev/starflow/runtime/queue"
)

var _ queue.Queue = (*Queue)(nil)

// Queue is a queue.Queue on Redis Streams. It is safe for concurrent use;
// one per process is enough.
type Queue struct {
	rdb      *redis.Client
	prefix   string
	ttlMs    int64 // consumer TTL in ms, 0 to keep consumers
	log      *slog.Logger
	blockers *blockers
	closed   atomic.Bool
}

// New connects to Redis at opts.URL and returns a Queue. No key is written
// until the first message or read.
func New(ctx context.Context, opts Options) (*Queue, error) {
	opts = opts.withDefaults()
	rdb, err := connect(ctx, opts, "queue")
	if err != nil {
		return nil, err
	}
	q := &Queue{rdb: rdb, prefix: opts.Prefix, log: opts.Logger, blockers: &blockers{rdb: rdb}}
	if opts.ConsumerTTL > 0 {
		q.ttlMs = max(opts.ConsumerTTL.Milliseconds(), 1)
	}
	return q, nil
}

// StreamKey returns the key of the stream that holds the named queue.
func (q *Queue) StreamKey(name string) string {
	if name == "" {
		name = queue.DefaultQueue
	}
	return q.prefix + ":queue:" + name
}

// fail wraps err for the operation op, reporting queue.ErrClosed instead of
// go-redis's errors once Close has been called.
func (q *Queue) fail(op string, err error) error {
	if q.closed.Load() {
		return fmt.Errorf("redisqueue: %s: %w", op, queue.ErrClosed)
	}
	return fmt.Errorf("redisqueue: %s: %w", op, err)
}

// Enqueue appends msgs to their streams in one MULTI, so a batch is added
// whole or not at all.
func (q *Queue) Enqueue(ctx context.Context, msgs ...queue.Message) error {
	if q.closed.Load() {
		return q.fail("enqueue", queue.ErrClosed)
	}
	args := make([]*redis.XAddArgs, len(msgs))
	for i, m := range msgs {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("redisqueue: enqueue: %w", err)
		}
		values, err := entryValues(m)
		if err != nil {
			return fmt.Errorf("redisqueue: enqueue: %w", err)
		}
		args[i] = &redis.XAddArgs{Stream: q.StreamKey(m.QueueName()), Values: values}
	}
	if len(args) == 0 {
		return nil
	}
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range args {
			p.XAdd(ctx, a)
		}
		return nil
	})
	if err != nil {
		return q.fail("enqueue", err)
	}
	return nil
}

// Receive reads new entries for p.Consumer; see the package documentation
// for how it blocks.
func (q *Queue) Receive(ctx context.Context, p queue.ReceiveParams) ([]queue.Delivery, error) {
	if p.Consumer == "" {
		return nil, fmt.Errorf("redisqueue: receive: %w: a consumer name is required", queue.ErrInvalid)
	}
	names := queue.QueueNames(p.Queues)
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = q.StreamKey(n)
	}
	count := queue.MaxOrOne(p.Max)
	deadline := time.Now().Add(p.Block)
	for first := true; ; first = false {
		if q.closed.Load() {
			return nil, q.fail("receive", queue.ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisqueue: receive: %w", err)
		}
		if !first && time.Until(deadline) <= 0 {
			return nil, nil
		}
		var (
			ds  []queue.Delivery
			err error
		)
		if len(keys) == 1 {
			ds, err = q.readOne(ctx, keys[0], names[0], p.Consumer, count, time.Until(deadline), false)
		} else {
			ds, err = q.readMany(ctx, keys, names, p.Consumer, count, time.Until(deadline))
		}
		if err != nil {
			if ctx.Err() != nil && !q.closed.Load() {
				return nil, fmt.Errorf("redisqueue: receive: %w", ctx.Err())
			}
			return nil, q.fail("receive", err)
		}
		if len(ds) > 0 {
			return ds, nil // even if ctx ended meanwhile: they are ours now
		}
	}
}

// blockFor returns the BLOCK argument for waiting wait: at least 1ms, since
// BLOCK 0 waits forever.
func blockFor(wait time.Duration) time.Duration {
	return max(wait.Truncate(time.Millisecond), time.Millisecond)
}

// readOne reads from one stream with XREADGROUP, blocking up to wait. It
// returns no deliveries and no error on a time-out or a CLIENT UNBLOCK.
// When the group is missing it creates it and, if it must not wait and
// this is not already the retry, reads again at once.
func (q *Queue) readOne(ctx context.Context, key, name, consumer string, count int, wait time.Duration, retry bool) ([]queue.Delivery, error) {
	args := &redis.XReadGroupArgs{Group: Group, Consumer: consumer, Streams: []string{key, ">"}, Count: int64(count), Block: -1}
	var (
		res []redis.XStream
		err error
	)
	if wait <= 0 {
		res, err = q.rdb.XReadGroup(ctx, args).Result()
	} else {
		args.Block = blockFor(wait)
		err = q.blockers.do(ctx, func(c *redis.Conn) error {
			var err error
			res, err = c.XReadGroup(context.WithoutCancel(ctx), args).Result()
			return err
		})
	}
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case redis.HasErrorPrefix(err, "NOGROUP"), redis.HasErrorPrefix(err, "UNBLOCKED"):
		// The stream or group is new, or was lost (deleted while we were
		// blocked on it, or in a Redis restart).
		if err := q.createGroup(ctx, key); err != nil {
			return nil, err
		}
		if wait <= 0 && !retry {
			return q.readOne(ctx, key, name, consumer, count, 0, true)
		}
		return nil, nil
	case err != nil:
		return nil, err
	}
	var ds []queue.Delivery
	var bad []string
	for _, s := range res {
		for _, m := range s.Messages {
			d, ok := q.delivery(name, m.ID, consumer, 1, fieldsFromMap(m.Values))
			if !ok {
				bad = append(bad, m.ID)
				continue
			}
			ds = append(ds, d)
		}
	}
	q.drop(ctx, key, bad)
	return ds, nil
}

// readMany reads from several streams with readScript and, when they are all
// empty and wait allows, waits with XREAD for a new entry in any of them.
// It returns no deliveries and no error once the wait ends.
func (q *Queue) readMany(ctx context.Context, keys, names []string, consumer string, count int, wait time.Duration) ([]queue.Delivery, error) {
	res, err := readScript.Run(ctx, q.rdb, keys, Group, consumer, count).Slice()
	if err != nil {
		return nil, err
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("read script: unexpected reply %v", res)
	}
	entries, _ := res[0].([]any)
	if len(entries) > 0 {
		return q.scriptDeliveries(ctx, keys, names, consumer, entries, false), nil
	}
	if wait <= 0 {
		return nil, nil
	}
	last, _ := res[1].([]any)
	if len(last) != len(keys) {
		return nil, fmt.Errorf("read script: %d last IDs for %d streams", len(last), len(keys))
	}
	streams := append([]string(nil), keys...)
	for _, id := range last {
		s, _ := id.(string)
		streams = append(streams, s)
	}
	err = q.blockers.do(ctx, func(c *redis.Conn) error {
		return c.XRead(context.WithoutCancel(ctx), &redis.XReadArgs{Streams: streams, Count: 1, Block: blockFor(wait)}).Err()
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return nil, nil
}

// scriptDeliveries decodes entries of readScript ({key index, id, fields})
// or, withCount, of reclaimScript ({key index, id, fields, delivery count}).
// Malformed entries are logged and dropped.
func (q *Queue) scriptDeliveries(ctx context.Context, keys, names []string, consumer string, entries []any, withCount bool) []queue.Delivery {
	ds := make([]queue.Delivery, 0, len(entries))
	bad := make(map[int][]string)
	for _, raw := range entries {
		e, _ := raw.([]any)
		if len(e) < 3 {
			q.log.Warn("redisqueue: malformed script reply", "entry", raw)
			continue
		}
		ki, _ := e[0].(int64)
		id, _ := e[1].(string)
		if ki < 1 || int(ki) > len(keys) || id == "" {
			q.log.Warn("redisqueue: malformed script reply", "entry", raw)
			continue
		}
		deliveries := 1
		if withCount && len(e) > 3 {
			n, _ := e[3].(int64)
			deliveries = int(n)
		}
		d, ok := q.delivery(names[ki-1], id, consumer, deliveries, fieldsFromPairs(e[2]))
		if !ok {
			bad[int(ki)-1] = append(bad[int(ki)-1], id)
			continue
		}
		ds = append(ds, d)
	}
	for i, ids := range bad {
		q.drop(ctx, keys[i], ids)
	}
	return ds
}

// delivery builds the delivery of entry id of the named queue, logging and
// reporting false when its fields do not decode.
func (q *Queue) delivery(name, id, consumer string, deliveries int, f fields) (queue.Delivery, bool) {
	msg, err := decodeMessage(name, f.m, f.p)
	if err != nil {
		q.log.Warn("redisqueue: dropping a malformed entry", "stream", q.StreamKey(name), "id", id, "error", err)
		return queue.Delivery{}, false
	}
	return queue.Delivery{Message: msg, ID: id, Deliveries: deliveries, Consumer: consumer}, true
}

// drop acknowledges and deletes malformed entries, which no consumer could
// ever run.
func (q *Queue) drop(ctx context.Context, key string, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := q.ackKey(ctx, q.rdb, key, ids); err != nil {
		q.log.Warn("redisqueue: could not drop malformed entries", "stream", key, "ids", ids, "error", err)
	}
}

func (q *Queue) ackKey(ctx context.Context, c redis.Cmdable, key string, ids []string) error {
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, key, Group, ids...)
		p.XDel(ctx, key, ids...)
		return nil
	})
	return err
}

// createGroup creates the consumer group of key, and key itself, unless it
// exists; the group starts at ID 0 so that it delivers every entry already
// in the stream.
func (q *Queue) createGroup(ctx context.Context, key string) error {
	err := q.rdb.XGroupCreateMkStream(ctx, key, Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", Group, key, err)
	}
	return nil
}

// Ack acknowledges and deletes the deliveries' entries (XACK then XDEL, in
// one MULTI).
func (q *Queue) Ack(ctx context.Context, ds ...queue.Delivery) error {
	if q.closed.Load() {
		return q.fail("ack", queue.ErrClosed)
	}
	if len(ds) == 0 {
		return nil
	}
	byKey := make(map[string][]string)
	var order []string
	for _, d := range ds {
		key := q.StreamKey(d.QueueName())
		if _, ok := byKey[key]; !ok {
			order = append(order, key)
		}
		byKey[key] = append(byKey[key], d.ID)
	}
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range order {
			p.XAck(ctx, key, Group, byKey[key]...)
			p.XDel(ctx, key, byKey[key]...)
		}
		return nil
	})
	if err != nil {
		return q.fail("ack", err)
	}
	return nil
}

// Reclaim takes over idle entries with reclaimScript (XAUTOCLAIM).
func (q *Queue) Reclaim(ctx context.Context, p queue.ReclaimParams) ([]queue.Delivery, error) {
	if p.Consumer == "" {
		return nil, fmt.Errorf("redisqueue: reclaim: %w: a consumer name is required", queue.ErrInvalid)
	}
	if q.closed.Load() {
		return nil, q.fail("reclaim", queue.ErrClosed)
	}
	names := queue.QueueNames(p.Queues)
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = q.StreamKey(n)
	}
	minIdle := max(p.MinIdle.Milliseconds(), 0)
	res, err := reclaimScript.Run(ctx, q.rdb, keys, Group, p.Consumer, minIdle, queue.MaxOrOne(p.Max), q.ttlMs).Slice()
	if err != nil {
		return nil, q.fail("reclaim", err)
	}
	return q.scriptDeliveries(ctx, keys, names, p.Consumer, res, true), nil
}

// Extend resets the idle time of the deliveries their consumers still hold,
// with extendScript (XCLAIM … JUSTID).
func (q *Queue) Extend(ctx context.Context, ds ...queue.Delivery) error {
	if q.closed.Load() {
		return q.fail("extend", queue.ErrClosed)
	}
	if len(ds) == 0 {
		return nil
	}
	var keys []string
	index := make(map[string]int)
	args := make([]any, 1, 1+3*len(ds))
	args[0] = Group
	for _, d := range ds {
		key := q.StreamKey(d.QueueName())
		i, ok := index[key]
		if !ok {
			keys = append(keys, key)
			i = len(keys)
			index[key] = i
		}
		args = append(args, i, d.ID, d.Consumer)
	}
	lost, err := extendScript.Run(ctx, q.rdb, keys, args...).Slice()
	if err != nil {
		return q.fail("extend", err)
	}
	if len(lost) > 0 {
		return fmt.Errorf("redisqueue: extend: %d of %d deliveries: %w", len(lost), len(ds), queue.ErrNotHeld)
	}
	return nil
}

// Depth counts the named queue's ready entries (XLEN minus pending) and
// pending ones (XPENDING).
func (q *Queue) Depth(ctx context.Context, name string) (ready, pending int64, err error) {
	if q.closed.Load() {
		return 0, 0, q.fail("depth", queue.ErrClosed)
	}
	res, err := depthScript.Run(ctx, q.rdb, []string{q.StreamKey(name)}, Group).Int64Slice()
	if err != nil {
		return 0, 0, q.fail("depth "+strconv.Quote(name), err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisqueue: depth %q: unexpected reply %v", name, res)
	}
	return max(res[0]-res[1], 0), res[1], nil
}

// Close closes the connections, waking blocked receivers, which return
// queue.ErrClosed. Messages stay in Redis.
func (q *Queue) Close() error {
	if q.closed.Swap(true) {
		return nil
	}
	q.blockers.close()
	if err := q.rdb.Close(); err != nil {
		return fmt.Errorf("redisqueue: close: %w", err)
	}
	return nil
}
