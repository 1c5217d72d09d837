package redisqueue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/starflow-dev/starflow/runtime/queue"
)

var _ queue.Inventory = (*Queue)(nil)

// inventoryPage is how many entries one XRANGE or XPENDING call of Held
// reads.
const inventoryPage = 1000

// EpochKey returns the key that holds the Redis storage's epoch token.
func (q *Queue) EpochKey() string { return q.prefix + ":epoch" }

// Held lists the named queue's stream, which holds exactly the messages
// not yet acknowledged (Ack deletes entries), leaving out the pending
// entries idle for fresh or longer (XPENDING … IDLE). It reads in pages of
// a thousand entries, so it costs one round trip per thousand messages.
func (q *Queue) Held(ctx context.Context, name string, fresh time.Duration) ([]queue.Message, error) {
	if q.closed.Load() {
		return nil, q.fail("held", queue.ErrClosed)
	}
	key := q.StreamKey(name)
	if name == "" {
		name = queue.DefaultQueue
	}
	stale := map[string]bool{}
	if fresh > 0 {
		start := "-"
		for {
			ps, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: Group, Idle: fresh, Start: start, End: "+", Count: inventoryPage}).Result()
			if redis.HasErrorPrefix(err, "NOGROUP") {
				break // no group yet: nothing is pending
			}
			if err != nil {
				return nil, q.fail("held: pending entries of "+key, err)
			}
			for _, p := range ps {
				stale[p.ID] = true
			}
			if len(ps) < inventoryPage {
				break
			}
			start = "(" + ps[len(ps)-1].ID
		}
	}
	var out []queue.Message
	start := "-"
	for {
		entries, err := q.rdb.XRangeN(ctx, key, start, "+", inventoryPage).Result()
		if err != nil {
			return nil, q.fail("held: entries of "+key, err)
		}
		for _, e := range entries {
			if stale[e.ID] {
				continue
			}
			f := fieldsFromMap(e.Values)
			msg, err := decodeMessage(name, f.m, f.p)
			if err != nil {
				continue // malformed: no consumer runs it, so it holds nothing
			}
			out = append(out, msg)
		}
		if len(entries) < inventoryPage {
			return out, nil
		}
		start = "(" + entries[len(entries)-1].ID
	}
}

// Epoch returns the token stored at EpochKey, writing a random one first
// when the key is missing: a Redis that lost its data (a restart without
// persistence, FLUSHALL) lost the token too, so the next call returns a
// new one.
func (q *Queue) Epoch(ctx context.Context) (string, error) {
	if q.closed.Load() {
		return "", q.fail("epoch", queue.ErrClosed)
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redisqueue: epoch: %w", err)
	}
	var get *redis.StringCmd
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, q.EpochKey(), hex.EncodeToString(b[:]), 0)
		get = p.Get(ctx, q.EpochKey())
		return nil
	})
	if err != nil {
		return "", q.fail("epoch", err)
	}
	return get.Val(), nil
}
