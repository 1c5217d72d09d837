// Package memqueue implements queue.Queue and queue.Notifier inside one
// process, for `starflow standalone`, `starflow test-dag` and tests.
//
// The Queue keeps, per named queue, a heap of ready messages ordered by
// priority (higher first, then first in, first out) and a list of pending
// deliveries ordered by the time they were last delivered or extended, so
// Reclaim finds idle deliveries at the front without scanning. Receive
// serves the highest-priority message across the queues it names, the
// earlier-named queue winning a tie. Blocked receivers wait on channels
// that Enqueue and Close signal; the Queue starts no goroutines.
//
// Nothing survives the process: a standalone scheduler re-enqueues the task
// instances its store still shows as queued when it starts.
//
// The Notifier hands each event to every subscriber through an unbounded
// per-subscriber buffer, so a publisher never blocks and no subscriber
// misses an event published after it subscribed.
package memqueue
