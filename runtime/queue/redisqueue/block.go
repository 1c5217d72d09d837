package redisqueue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// blocker is a connection reserved for blocking reads, with its client ID
// so that CLIENT UNBLOCK can wake it.
type blocker struct {
	conn *redis.Conn
	id   int64
}

// blockers keeps the idle blocking connections of a Queue. go-redis does
// not interrupt a blocked read when its context is cancelled; CLIENT
// UNBLOCK from another connection does.
type blockers struct {
	rdb    *redis.Client
	mu     sync.Mutex
	idle   []*blocker
	closed bool
}

// do runs read on a blocking connection, sending CLIENT UNBLOCK to it if
// ctx ends first (read then sees a time-out: redis.Nil). read must not use
// ctx itself for the blocking command.
func (bs *blockers) do(ctx context.Context, read func(c *redis.Conn) error) error {
	b, err := bs.get(ctx)
	if err != nil {
		return err
	}
	done, readDone := make(chan struct{}), make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		bs.unblock(context.WithoutCancel(ctx), b.id, readDone)
	})
	err = read(b.conn)
	close(readDone)
	if !stop() {
		<-done // the UNBLOCK must not reach the connection's next user
	}
	bs.put(b, err)
	return err
}

// unblock sends CLIENT UNBLOCK to client id until it unblocks it or
// readDone closes: ctx may end just before the blocking command reaches
// Redis, when there is nothing to unblock yet. An error gives up and leaves
// the command to time out.
func (bs *blockers) unblock(ctx context.Context, id int64, readDone <-chan struct{}) {
	for {
		uctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		n, err := bs.rdb.ClientUnblock(uctx, id).Result()
		cancel()
		if n == 1 || err != nil {
			return
		}
		select {
		case <-readDone:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (bs *blockers) get(ctx context.Context) (*blocker, error) {
	bs.mu.Lock()
	if n := len(bs.idle); n > 0 {
		b := bs.idle[n-1]
		bs.idle = bs.idle[:n-1]
		bs.mu.Unlock()
		return b, nil
	}
	bs.mu.Unlock()
	c := bs.rdb.Conn()
	id, err := c.ClientID(ctx).Result()
	if err != nil {
		c.Close()
		return nil, err
	}
	return &blocker{conn: c, id: id}, nil
}

// put keeps b for reuse unless its last command failed in a way that may
// have broken or replaced the connection (and so changed its client ID).
func (bs *blockers) put(b *blocker, err error) {
	var rerr redis.Error
	healthy := err == nil || errors.Is(err, redis.Nil) || errors.As(err, &rerr)
	bs.mu.Lock()
	if healthy && !bs.closed {
		bs.idle = append(bs.idle, b)
		bs.mu.Unlock()
		return
	}
	bs.mu.Unlock()
	b.conn.Close()
}

// close releases the idle connections; those in use are released by put.
func (bs *blockers) close() {
	bs.mu.Lock()
	idle := bs.idle
	bs.idle, bs.closed = nil, true
	bs.mu.Unlock()
	for _, b := range idle {
		b.conn.Close()
	}
}
