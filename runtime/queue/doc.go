// Package queue defines how task-instance tries travel from the scheduler to
// the workers, and how small events travel between processes.
//
// A [Queue] carries [Message] values: ids only (DAG, run, task, map index,
// try number and the DAG's source hash), never state; the metadata store is
// the source of truth. The scheduler enqueues a message for each task
// instance it moves to queued; a worker receives it, wins the store's
// compare-and-set queued → running for that try, runs the task, records the
// result and then acknowledges the delivery with [Queue.Ack].
//
// # Delivery is at least once
//
// A received message stays pending, held by the consumer that received it,
// until it is acknowledged. It is never lost while that consumer lives: a
// consumer working on a long task calls [Queue.Extend] to keep its hold
// fresh. When a consumer dies, its deliveries go idle and another consumer
// takes them over with [Queue.Reclaim] once they have been idle for a
// lease (MinIdle), with [Delivery.Deliveries] counting the deliveries. A
// message can therefore be delivered twice (a slow consumer that missed its
// Extend, a crash after the run but before the Ack); the store's
// compare-and-set makes the second delivery harmless, so workers always
// acknowledge deliveries they lose the race for.
//
// # Named queues and priority
//
// Every message goes to the named queue in [Message.Queue] ("default" when
// empty), as Airflow's queue argument routes tasks to the workers that
// listen on it. A consumer names the queues it serves in
// [ReceiveParams.Queues] and never sees any other. Within a queue a backend
// delivers higher [Message.Priority] first where it can; the in-memory queue
// does, Redis Streams are first in, first out (see each implementation).
// Among equal priorities delivery is first in, first out in both.
//
// # Events
//
// A [Notifier] broadcasts small [Event] values (a task finished, a run was
// created) so that schedulers react within milliseconds instead of waiting
// for their next poll. Events are hints: a subscriber that is slow or
// disconnected may miss some, and the scheduler's periodic poll remains the
// safety net.
//
// # Implementations
//
// runtime/queue/memqueue works inside one process (`starflow standalone`);
// runtime/queue/redisqueue uses Redis Streams and Redis pub/sub for
// distributed workers. Both pass the conformance suite in
// runtime/queue/queuetest.
package queue
