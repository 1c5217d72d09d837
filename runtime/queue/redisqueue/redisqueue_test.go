package redisqueue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/queuetest"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue"
	"github.com/starflow-dev/starflow/runtime/queue/redisqueue/redistest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup returns options with a fresh prefix, a Queue on them and a plain
// client to look at Redis directly.
func setup(tb testing.TB) (redisqueue.Options, *redisqueue.Queue, *redis.Client) {
	tb.Helper()
	opts := redistest.Options(tb)
	return opts, openQueue(tb, opts), redistest.Client(tb, opts.URL)
}

func openQueue(tb testing.TB, opts redisqueue.Options) *redisqueue.Queue {
	tb.Helper()
	q, err := redisqueue.New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { q.Close() })
	return q
}

func openNotifier(tb testing.TB, opts redisqueue.Options) *redisqueue.Notifier {
	tb.Helper()
	n, err := redisqueue.NewNotifier(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	return n
}

func TestConformance(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, func(t *testing.T) queue.Queue { return openQueue(t, redistest.Options(t)) })
}

func TestInventoryConformance(t *testing.T) {
	t.Parallel()
	queuetest.RunInventory(t, func(t *testing.T) queue.Queue { return openQueue(t, redistest.Options(t)) })
}

// TestEpochAfterDataLoss deletes the queue's keys, as a restart of a Redis
// without persistence does, and checks that Epoch changes once and that
// Held then sees only what was enqueued since.
func TestEpochAfterDataLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, q, c := setup(t)
	e1, err := q.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := queue.Message{DAGID: "d", RunID: "r", TaskID: "lost", MapIndex: -1, TryNumber: 1}
	if err := q.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ctx, q.EpochKey(), q.StreamKey("")).Err(); err != nil {
		t.Fatal(err)
	}
	m.TaskID = "new"
	if err := q.Enqueue(ctx, m); err != nil {
		t.Fatal(err)
	}
	e2, err := q.Epoch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if e2 == e1 || e2 == "" {
		t.Errorf("Epoch after the data loss = %q, want a new token (was %q)", e2, e1)
	}
	if e3, err := q.Epoch(ctx); err != nil || e3 != e2 {
		t.Errorf("Epoch again = %q, %v; want %q", e3, err, e2)
	}
	ms, err := q.Held(ctx, "", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].TaskID != "new" {
		t.Errorf("Held = %+v, want only the message enqueued after the loss", ms)
	}
}

func TestNotifierConformance(t *testing.T) {
	t.Parallel()
	queuetest.RunNotifier(t, func(t *testing.T) queue.Notifier { return openNotifier(t, redistest.Options(t)) })
}

func msg(task, q string) queue.Message {
	return queue.Message{DAGID: "d", RunID: "r", TaskID: task, MapIndex: -1, TryNumber: 1, Queue: q}
}

func mustReceive(t *testing.T, q queue.Queue, p queue.ReceiveParams) []queue.Delivery {
	t.Helper()
	ds, err := q.Receive(context.Background(), p)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return ds
}

func TestLayout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts, q, c := setup(t)
	if err := q.Enqueue(ctx, msg("a", "gpu"), msg("b", "gpu"), msg("c", "")); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{opts.Prefix + ":queue:gpu": 2, opts.Prefix + ":queue:default": 1} {
		if typ := c.Type(ctx, key).Val(); typ != "stream" {
			t.Errorf("TYPE %s = %q, want stream", key, typ)
		}
		if n := c.XLen(ctx, key).Val(); n != want {
			t.Errorf("XLEN %s = %d, want %d", key, n, want)
		}
	}
	key := q.StreamKey("gpu")
	entries := c.XRange(ctx, key, "-", "+").Val()
	if len(entries) != 2 || entries[0].Values["m"] != `{"d":"d","r":"r","t":"a","i":-1,"n":1}` || entries[0].Values["p"] != "0" {
		t.Errorf("entries of %s = %+v, want compact JSON in m and the priority in p", key, entries)
	}
	ds := mustReceive(t, q, queue.ReceiveParams{Consumer: "w1", Queues: []string{"gpu"}, Max: 2})
	if len(ds) != 2 {
		t.Fatalf("received %d, want 2", len(ds))
	}
	groups := c.XInfoGroups(ctx, key).Val()
	if len(groups) != 1 || groups[0].Name != redisqueue.Group || groups[0].Pending != 2 {
		t.Errorf("groups of %s = %+v, want %s with 2 pending", key, groups, redisqueue.Group)
	}
	if err := q.Ack(ctx, ds...); err != nil {
		t.Fatal(err)
	}
	if n := c.XLen(ctx, key).Val(); n != 0 {
		t.Errorf("XLEN after Ack = %d, want 0: acked entries are deleted", n)
	}
}

// TestTwoProcesses checks that two Queues on the same prefix, as two
// worker processes would have, share one queue.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts, q1, _ := setup(t)
	q2 := openQueue(t, opts)
	if err := q1.Enqueue(ctx, msg("a", ""), msg("b", "")); err != nil {
		t.Fatal(err)
	}
	first := mustReceive(t, q2, queue.ReceiveParams{Consumer: "host2:1", Max: 1})
	second := mustReceive(t, q1, queue.ReceiveParams{Consumer: "host1:1", Max: 5})
	if len(first) != 1 || len(second) != 1 || first[0].TaskID != "a" || second[0].TaskID != "b" {
		t.Fatalf("process 2 received %v and process 1 %v, want a and b", first, second)
	}
	if err := q1.Ack(ctx, second...); err != nil {
		t.Fatal(err)
	}
	// Process 2 dies; process 1 takes its delivery over.
	time.Sleep(300 * time.Millisecond)
	got, err := q1.Reclaim(ctx, queue.ReclaimParams{Consumer: "host1:1", MinIdle: 200 * time.Millisecond, Max: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].TaskID != "a" || got[0].Deliveries != 2 || got[0].Consumer != "host1:1" {
		t.Errorf("reclaimed %+v, want a with Deliveries 2", got)
	}
}

// TestDataLoss simulates Redis losing its data (a restart without
// persistence) by deleting the stream under the queue: the group is
// recreated and the queue carries on; the lost messages stay lost.
func TestDataLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, q, c := setup(t)
	if err := q.Enqueue(ctx, msg("lost1", ""), msg("lost2", "")); err != nil {
		t.Fatal(err)
	}
	held := mustReceive(t, q, queue.ReceiveParams{Consumer: "w1", Max: 1})
	if len(held) != 1 {
		t.Fatalf("received %d, want 1", len(held))
	}
	if err := c.Del(ctx, q.StreamKey("")).Err(); err != nil {
		t.Fatal(err)
	}

	if err := q.Enqueue(ctx, msg("after", "")); err != nil {
		t.Fatalf("Enqueue after the loss: %v", err)
	}
	if r, p, err := q.Depth(ctx, ""); err != nil || r != 1 || p != 0 {
		t.Errorf("Depth after the loss = %d, %d, %v; want 1 ready", r, p, err)
	}
	got := mustReceive(t, q, queue.ReceiveParams{Consumer: "w1", Max: 10})
	if len(got) != 1 || got[0].TaskID != "after" {
		t.Fatalf("received %+v after the loss, want only the message enqueued after it", got)
	}
	if err := q.Extend(ctx, held...); !errors.Is(err, queue.ErrNotHeld) {
		t.Errorf("Extend of a delivery lost with its stream = %v, want ErrNotHeld", err)
	}
	if err := q.Ack(ctx, held...); err != nil {
		t.Errorf("Ack of a delivery lost with its stream: %v", err)
	}
	if err := q.Ack(ctx, got...); err != nil {
		t.Fatal(err)
	}

	// Consumers blocked on a stream when it is lost carry on too.
	for _, queues := range [][]string{nil, {"default", "other"}} {
		done := make(chan []queue.Delivery, 1)
		go func() {
			ds, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "w2", Queues: queues, Block: 10 * time.Second})
			if err != nil {
				t.Errorf("blocked Receive: %v", err)
			}
			done <- ds
		}()
		time.Sleep(200 * time.Millisecond)
		c.Del(ctx, q.StreamKey(""), q.StreamKey("other"))
		time.Sleep(100 * time.Millisecond)
		if err := q.Enqueue(ctx, msg("late", "")); err != nil {
			t.Fatal(err)
		}
		select {
		case ds := <-done:
			if len(ds) != 1 || ds[0].TaskID != "late" {
				t.Errorf("a consumer of %q blocked across the loss received %+v, want late", queues, ds)
			}
			if err := q.Ack(ctx, ds...); err != nil {
				t.Fatal(err)
			}
		case <-time.After(8 * time.Second):
			t.Fatalf("a consumer of %q blocked across the loss received nothing", queues)
		}
	}
	if got, err := q.Reclaim(ctx, queue.ReclaimParams{Consumer: "w1", Queues: []string{"default", "other"}, Max: 10}); err != nil || len(got) != 0 {
		t.Errorf("Reclaim after the loss = %v, %v; want nothing", got, err)
	}
}

// TestMalformedEntry checks that an entry no consumer could run is logged,
// removed and never delivered, and does not hold the others back.
func TestMalformedEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts, _, c := setup(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	opts.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	q := openQueue(t, opts)
	for _, queues := range [][]string{nil, {"default", "b"}} {
		c.XAdd(ctx, &redis.XAddArgs{Stream: q.StreamKey(""), Values: []string{"m", "not json"}})
		c.XAdd(ctx, &redis.XAddArgs{Stream: q.StreamKey(""), Values: []string{"m", `{"d":"d","r":"r","t":""}`}})
		if err := q.Enqueue(ctx, msg("good", "")); err != nil {
			t.Fatal(err)
		}
		ds := mustReceive(t, q, queue.ReceiveParams{Consumer: "w", Queues: queues, Max: 10})
		if len(ds) != 1 || ds[0].TaskID != "good" {
			t.Errorf("consumer of %q received %+v, want only good", queues, ds)
		}
		if err := q.Ack(ctx, ds...); err != nil {
			t.Fatal(err)
		}
		if r, p, err := q.Depth(ctx, ""); err != nil || r != 0 || p != 0 {
			t.Errorf("Depth = %d, %d, %v; want the malformed entries gone", r, p, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "malformed entry"); n != 4 {
		t.Errorf("logged %d malformed entries, want 4:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestConsumerTTL checks that Reclaim removes consumers that hold nothing
// and have been idle for the TTL, and keeps the others.
func TestConsumerTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts, _, c := setup(t)
	opts.ConsumerTTL = 300 * time.Millisecond
	q := openQueue(t, opts)
	if err := q.Enqueue(ctx, msg("a", ""), msg("b", "")); err != nil {
		t.Fatal(err)
	}
	done := mustReceive(t, q, queue.ReceiveParams{Consumer: "gone:1"})
	if err := q.Ack(ctx, done...); err != nil {
		t.Fatal(err)
	}
	if ds := mustReceive(t, q, queue.ReceiveParams{Consumer: "busy:1"}); len(ds) != 1 {
		t.Fatalf("received %d, want 1", len(ds))
	}
	time.Sleep(400 * time.Millisecond)
	if err := q.Enqueue(ctx, msg("c", "")); err != nil {
		t.Fatal(err)
	}
	fresh := mustReceive(t, q, queue.ReceiveParams{Consumer: "fresh:1"})
	if err := q.Ack(ctx, fresh...); err != nil || len(fresh) != 1 {
		t.Fatalf("received %d, ack: %v", len(fresh), err)
	}
	if _, err := q.Reclaim(ctx, queue.ReclaimParams{Consumer: "reaper:1", MinIdle: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ci := range c.XInfoConsumers(ctx, q.StreamKey(""), redisqueue.Group).Val() {
		names = append(names, ci.Name)
	}
	if strings.Join(names, ",") != "busy:1,fresh:1" {
		t.Errorf("consumers after Reclaim = %v, want busy:1 (holds a delivery) and fresh:1 (active), without gone:1", names)
	}
}

// TestNotifierAcrossProcesses checks that events reach the subscribers of
// another Notifier on the same prefix and not those of another prefix.
func TestNotifierAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := redistest.Options(t)
	pub, sub, stranger := openNotifier(t, opts), openNotifier(t, opts), openNotifier(t, redistest.Options(t))
	ch, err := sub.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := stranger.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := queue.Event{Kind: queue.EventRunCreated, DAGID: "etl", RunID: "manual__1"}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got != want {
			t.Errorf("received %+v, want %+v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	select {
	case got := <-other:
		t.Errorf("a notifier on another prefix received %+v", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestNotifierReconnects kills the subscription's connection, as a Redis
// restart would, and checks that the subscription delivers again.
func TestNotifierReconnects(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := redistest.Options(t)
	c := redistest.Client(t, opts.URL)
	n := openNotifier(t, opts)
	ch, err := n.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	killed := killClients(t, c, opts.Prefix+":notifier", "subscribe")
	if killed != 1 {
		t.Fatalf("killed %d subscriber connections, want 1", killed)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no event received within 20s of the connection being killed")
		}
		if err := n.Publish(ctx, queue.Event{Kind: "ping", MapIndex: i}); err != nil {
			t.Fatal(err)
		}
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("subscription closed after its connection was killed")
			}
			if e.Kind != "ping" {
				t.Fatalf("received %+v", e)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// killClients kills the connections named name whose last command was cmd,
// and returns how many it killed.
func killClients(t *testing.T, c *redis.Client, name, cmd string) int {
	t.Helper()
	ctx := context.Background()
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	killed := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		f := make(map[string]string)
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		if f["name"] == name && f["cmd"] == cmd {
			if err := c.Do(ctx, "CLIENT", "KILL", "ID", f["id"]).Err(); err != nil {
				t.Fatal(err)
			}
			killed++
		}
	}
	return killed
}

func TestNewFailsClearly(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		name, url, want string
	}{
		{"an unparsable URL", "http://host", "Redis URL"},
		{"an unreachable server, with the password hidden", "redis://:s3cret@127.0.0.1:1/0", "connect to redis://:xxxxx@127.0.0.1:1/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := redisqueue.New(ctx, redisqueue.Options{URL: tt.url})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("New(%q) = %v, want an error containing %q without the password", tt.url, err, tt.want)
			}
		})
	}
}

func BenchmarkQueue(b *testing.B) {
	queuetest.Bench(b, func(tb testing.TB) queue.Queue { return openQueue(tb, redistest.Options(tb)) })
}

func BenchmarkNotifier(b *testing.B) {
	queuetest.BenchNotifier(b, func(tb testing.TB) queue.Notifier { return openNotifier(tb, redistest.Options(tb)) })
}
