// Package executor runs task tries.
//
// TryRunner turns a task instance into an operators.Call, runs the operator
// under the task's execution_timeout, recovers from panics, decides the
// state the try ends in (success, skipped, up_for_retry, up_for_reschedule
// or failed) and runs the task's callbacks; it records nothing itself, so test-dag's in-process
// runner uses it as is.
//
// Worker is the loop of `starflow worker` and of standalone's workers: it
// takes messages off the queue, wins the compare-and-set queued → running
// in the store (a duplicate delivery loses it and does nothing), runs the
// try with store-backed XCom, variables, connections and streamed logs,
// sends heartbeats, records the outcome, calls the scheduler's
// mini-scheduler and acknowledges the message. A try that ends
// up_for_reschedule (a sensor in reschedule mode) frees its slot; the
// scheduler runs the same try again at its NextRetryAt, and the worker
// passes the try's first start and reschedule count to the operator. Every heartbeat it also
// records itself in the store's list of workers (queues, tries running,
// slots) for `starflow workers list`, and removes itself on a clean
// shutdown. When the store stops answering, it takes no new deliveries
// until a ping succeeds. RunCallbacks runs DAG-level callbacks when the
// scheduler finishes a run.
package executor
