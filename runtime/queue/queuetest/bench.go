package queuetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue"
)

// Bench runs the Queue benchmarks against the queues newQueue returns:
// EnqueueReceiveAck/batch=100 enqueues 100 messages, receives them and
// acknowledges them per iteration, one consumer, and reports msgs/s.
func Bench(b *testing.B, newQueue func(tb testing.TB) queue.Queue) {
	b.Run("EnqueueReceiveAck/batch=100", func(b *testing.B) { benchRoundTrip(b, newQueue(b), 100) })
}

func benchRoundTrip(b *testing.B, q queue.Queue, batch int) {
	ctx := context.Background()
	ms := msgs(0, batch, "")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := q.Enqueue(ctx, ms...); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < batch; {
			ds, err := q.Receive(ctx, queue.ReceiveParams{Consumer: "bench", Max: batch, Block: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				b.Fatalf("received %d of %d", got, batch)
			}
			if err := q.Ack(ctx, ds...); err != nil {
				b.Fatal(err)
			}
			got += len(ds)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "msgs/s")
}

// BenchNotifier measures the latency from Publish to the subscriber's
// receipt, one event at a time, and reports its median and 99th percentile
// in microseconds (p50-µs, p99-µs).
func BenchNotifier(b *testing.B, newNotifier func(tb testing.TB) queue.Notifier) {
	b.Run("PublishReceive", func(b *testing.B) {
		n := newNotifier(b)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ch, err := n.Subscribe(ctx)
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			if err := n.Publish(ctx, event(i)); err != nil {
				b.Fatal(err)
			}
			select {
			case e := <-ch:
				if e.MapIndex != i-1 {
					b.Fatalf("received event %d, want %d", e.MapIndex+1, i)
				}
			case <-time.After(5 * time.Second):
				b.Fatalf("event %d not received within 5s", i)
			}
			lat = append(lat, time.Since(start))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	})
}
