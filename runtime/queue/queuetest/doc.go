// Package queuetest is the conformance suite every queue.Queue and
// queue.Notifier implementation must pass, and the benchmarks they share.
//
// An implementation's tests call it with a constructor that returns a fresh,
// empty, isolated instance for each subtest and arranges its cleanup:
//
//	func TestConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T) queue.Queue { return open(t) })
//	}
//
// The suite checks behaviour through the interface alone: round trips of
// every field, routing by named queue, blocking and its time-out, Max,
// reclaiming after the lease and not before, Extend, acknowledgement,
// concurrent consumers, Depth, Close and context cancellation.
package queuetest
