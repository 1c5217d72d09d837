package redisqueue

import "github.com/redis/go-redis/v9"

// readScript reads new entries for one consumer across several streams
// without blocking, so that one COUNT covers them all.
//
// KEYS: the stream keys, in the order they are served.
// ARGV[1]: the group; ARGV[2]: the consumer; ARGV[3]: the most entries to read.
//
// It creates the group (from ID 0, with MKSTREAM) where Redis answers
// NOGROUP. It returns {entries, lastIDs}: entries lists {key index (1-based),
// id, {field, value, …}}; lastIDs is empty unless entries is, and then holds
// each stream's last generated ID, from which a blocking XREAD returns as
// soon as a new entry arrives.
var readScript = redis.NewScript(`
local group, consumer = ARGV[1], ARGV[2]
local left = tonumber(ARGV[3])
local entries = {}
for i, key in ipairs(KEYS) do
  if left <= 0 then break end
  local r = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', left, 'STREAMS', key, '>')
  if type(r) == 'table' and r.err then
    if string.find(r.err, 'NOGROUP', 1, true) ~= 1 then return r end
    redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
    r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', left, 'STREAMS', key, '>')
  end
  if r then
    for _, e in ipairs(r[1][2]) do
      entries[#entries + 1] = {i, e[1], e[2]}
      left = left - 1
    end
  end
end
local last = {}
if #entries == 0 then
  for i, key in ipairs(KEYS) do
    local info = redis.call('XINFO', 'STREAM', key)
    for j = 1, #info, 2 do
      if info[j] == 'last-generated-id' then last[i] = info[j + 1] end
    end
  end
end
return {entries, last}
`)

// reclaimScript takes over idle entries, as XAUTOCLAIM does, and reports
// their delivery counts, which XAUTOCLAIM does not.
//
// KEYS: the stream keys, searched in order.
// ARGV[1]: the group; ARGV[2]: the consumer taking the entries over;
// ARGV[3]: the minimum idle time in ms; ARGV[4]: the most entries to take;
// ARGV[5]: the consumer TTL in ms, 0 to keep every consumer.
//
// It follows XAUTOCLAIM's cursor through each stream's pending entries
// until it has ARGV[4] entries or the list ends; XAUTOCLAIM adds one to each
// entry's delivery count and resets its idle time. A stream or group that
// does not exist holds nothing to reclaim. It then removes from each group
// the consumers that hold no entry and have been idle for ARGV[5] ms. It
// returns a list of {key index (1-based), id, {field, value, …}, delivery
// count}.
var reclaimScript = redis.NewScript(`
local group, consumer, minIdle = ARGV[1], ARGV[2], ARGV[3]
local left, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
for i, key in ipairs(KEYS) do
  local cursor = '0-0'
  local nogroup = false
  while left > 0 do
    local r = redis.pcall('XAUTOCLAIM', key, group, consumer, minIdle, cursor, 'COUNT', left)
    if type(r) == 'table' and r.err then
      if string.find(r.err, 'NOGROUP', 1, true) ~= 1 then return r end
      nogroup = true
      break
    end
    cursor = r[1]
    for _, e in ipairs(r[2]) do
      if e and e[2] then
        local p = redis.call('XPENDING', key, group, e[1], e[1], 1)
        out[#out + 1] = {i, e[1], e[2], p[1][4]}
        left = left - 1
      end
    end
    if cursor == '0-0' then break end
  end
  if ttl > 0 and not nogroup then
    local cs = redis.pcall('XINFO', 'CONSUMERS', key, group)
    if type(cs) == 'table' and not cs.err then
      for _, c in ipairs(cs) do
        local name, pending, idle
        for j = 1, #c, 2 do
          if c[j] == 'name' then name = c[j + 1]
          elseif c[j] == 'pending' then pending = c[j + 1]
          elseif c[j] == 'idle' then idle = c[j + 1] end
        end
        if name and pending == 0 and idle and idle >= ttl then
          redis.call('XGROUP', 'DELCONSUMER', key, group, name)
        end
      end
    end
  end
end
return out
`)

// extendScript resets the idle time of the entries their consumers still
// hold, and only those: a plain XCLAIM would take an entry back from a
// consumer that reclaimed it meanwhile.
//
// KEYS: the stream keys.
// ARGV[1]: the group; then triples of key index (1-based), entry ID and
// the consumer that should hold it.
//
// For each entry the named consumer holds, it runs XCLAIM … JUSTID to that
// consumer, which resets the idle time and leaves the delivery count alone.
// It returns the 1-based positions of the triples whose entry the consumer
// does not hold (acknowledged, reclaimed by another, or lost with its
// stream).
var extendScript = redis.NewScript(`
local group = ARGV[1]
local lost = {}
for j = 2, #ARGV, 3 do
  local key, id, consumer = KEYS[tonumber(ARGV[j])], ARGV[j + 1], ARGV[j + 2]
  local p = redis.pcall('XPENDING', key, group, id, id, 1)
  if type(p) == 'table' and not p.err and p[1] and p[1][2] == consumer then
    redis.call('XCLAIM', key, group, consumer, 0, id, 'JUSTID')
  else
    lost[#lost + 1] = (j + 1) / 3
  end
end
return lost
`)

// depthScript counts a stream's entries and the group's pending ones in one
// step, so that the two agree.
//
// KEYS[1]: the stream key. ARGV[1]: the group.
//
// It returns {XLEN, pending count}; a missing stream or group counts 0.
var depthScript = redis.NewScript(`
local len = redis.call('XLEN', KEYS[1])
local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(p) == 'table' and p.err then return {len, 0} end
return {len, p[1]}
`)
