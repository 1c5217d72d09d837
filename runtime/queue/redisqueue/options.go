package redisqueue

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultURL         = "redis://127.0.0.1:6379/0"
	DefaultPrefix      = "starflow"
	DefaultConsumerTTL = 24 * time.Hour
)

// Group is the consumer group every worker reads the streams with.
const Group = "workers"

// Options configure a Queue or a Notifier.
type Options struct {
	// URL locates Redis: redis://[[user]:password@]host:port/db, rediss://
	// for TLS, or unix:///path?db=N, with go-redis's query options (such as
	// pool_size). Default DefaultURL.
	URL string
	// Prefix starts every key and channel name, so that several Starflow
	// deployments (or tests) can share one Redis. Default DefaultPrefix.
	Prefix string
	// ConsumerTTL is how long a consumer holding nothing stays in the group
	// after its last read before Reclaim removes it. Default
	// DefaultConsumerTTL; negative keeps every consumer.
	ConsumerTTL time.Duration
	// Logger receives warnings about malformed entries and events. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.ConsumerTTL == 0 {
		o.ConsumerTTL = DefaultConsumerTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// redactedURL returns u without its password, for messages.
func redactedURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return "(unparsable URL)"
}

// connect opens a client for o.URL named <prefix>:<role> in CLIENT LIST and
// checks that Redis answers.
func connect(ctx context.Context, o Options, role string) (*redis.Client, error) {
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("redisqueue: Redis URL %s: %w", redactedURL(o.URL), err)
	}
	ro.ContextTimeoutEnabled = true
	if name := o.Prefix + ":" + role; !strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		ro.ClientName = name
	}
	rdb := redis.NewClient(ro)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redisqueue: connect to %s: %w", redactedURL(o.URL), err)
	}
	return rdb, nil
}
