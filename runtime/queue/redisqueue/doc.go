// Package redisqueue implements queue.Queue on Redis Streams and
// queue.Notifier on Redis pub/sub, for workers on many hosts
// (STARFLOW_REDIS_URL=redis://host:port/db).
//
// # Layout in Redis
//
// Each named queue is one stream, <prefix>:queue:<name>, read by one
// consumer group, "workers"; the prefix defaults to "starflow". An entry
// has two fields: m, the message's ids as compact JSON, and p, its
// priority. Receive reads with XREADGROUP (BLOCK and COUNT), Ack runs XACK
// then XDEL in one MULTI so a stream only holds messages not yet
// acknowledged (XLEN is the queue's depth, and a stream never needs
// trimming; a second consumer group on these streams would lose entries and
// is not supported), Reclaim runs XAUTOCLAIM, Extend runs XCLAIM … JUSTID to
// the holding consumer, and Depth reads XLEN and XPENDING. Events are
// published on the channel <prefix>:events.
//
// The multi-step operations are Lua scripts, each documented with its KEYS
// and ARGV contract in scripts.go, so that they are atomic: reading across
// several queues with one COUNT, reclaiming with the delivery counts,
// extending only what the consumer still holds.
//
// # Priority is first in, first out
//
// Redis Streams are first in, first out, and so is this queue within each
// named queue: Message.Priority is carried but does not reorder. Priority
// still holds approximately, because the scheduler enqueues the task
// instances of each tick in priority order. When a consumer names several
// queues, the earlier-named queue is served first.
//
// # Blocking and cancellation
//
// A Receive that must wait blocks on a dedicated connection whose client ID
// it knows, so that cancelling its context sends CLIENT UNBLOCK and the
// Receive returns at once instead of when BLOCK runs out. A Receive over one
// queue blocks in XREADGROUP itself. One over several queues first reads
// them in order with a script, and when all are empty waits in a plain XREAD
// from each stream's last ID, then reads again: XREADGROUP over several
// streams could return more than Max entries on Redis 7.2 and later. Each
// Receive blocked at a given moment holds one connection of the client's
// pool (pool_size in the URL, ten per CPU by default), so a worker should
// receive for all its slots from one loop rather than from one goroutine
// per slot.
//
// # Redis restarts and lost data
//
// Every read recreates the consumer group (from ID 0, with MKSTREAM) when
// Redis answers NOGROUP, so the queue carries on after a restart that lost
// the streams, and the scripts are reloaded on NOSCRIPT. Messages in a lost
// stream are gone: the scheduler's reconciliation re-enqueues the task
// instances the store still shows as queued. It learns of the loss from
// Epoch, a random token kept at <prefix>:epoch that a restart loses with
// everything else, and finds what is missing with Held, which lists a
// stream (XRANGE) less the pending entries idle too long (XPENDING … IDLE).
// While Redis is unreachable the methods return errors; callers retry with
// back-off.
//
// Reclaim also removes from the group the consumers that hold nothing and
// have been idle for Options.ConsumerTTL, so that names of workers that are
// gone (host:pid) do not pile up.
//
// # Events
//
// The Notifier gives each subscription its own pub/sub connection, which
// go-redis re-establishes (and re-subscribes) after a disconnection or a
// Redis restart. Events published while it is disconnected are lost, as
// pub/sub promises nothing more; they are hints, and the scheduler's poll
// is the safety net.
package redisqueue
