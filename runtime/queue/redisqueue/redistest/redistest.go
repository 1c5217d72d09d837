package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue"
)

// EnvURL names the environment variable that overrides the test Redis URL.
const EnvURL = "STARFLOW_TEST_REDIS_URL"

// StartHint says how to start a Redis for the tests.
const StartHint = "start one with: redis-server --daemonize yes --port 6379 --save '' --appendonly no (or set " + EnvURL + ")"

// URL returns the test Redis URL, failing tb with StartHint when Redis does
// not answer.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		u = redisqueue.DefaultURL
	}
	c := Client(tb, u)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis at %s is unreachable (%v); %s", u, err, StartHint)
	}
	return u
}

// Client returns a client for url that tb closes when it ends.
func Client(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("%s=%q: %v", EnvURL, url, err)
	}
	c := redis.NewClient(o)
	tb.Cleanup(func() { c.Close() })
	return c
}

// Options returns redisqueue options for the test Redis with a random
// prefix ("sftest-" and 16 hex digits). When tb ends, every key under the
// prefix is deleted (SCAN and DEL), after the cleanups registered later,
// such as closing the queue, have run.
func Options(tb testing.TB) redisqueue.Options {
	tb.Helper()
	u := URL(tb)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	prefix := "sftest-" + hex.EncodeToString(b[:])
	c := Client(tb, u)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			tb.Errorf("delete the keys of %s: %v", prefix, err)
		}
	})
	return redisqueue.Options{URL: u, Prefix: prefix}
}

// DeletePrefix deletes every key that starts with prefix and a colon.
func DeletePrefix(ctx context.Context, c *redis.Client, prefix string) error {
	iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			if err := c.Del(ctx, keys...).Err(); err != nil {
				return err
			}
			keys = keys[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) > 0 {
		return c.Del(ctx, keys...).Err()
	}
	return nil
}
