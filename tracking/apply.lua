-- Apply one carrier update to one shipment, atomically.
-- KEYS: 1 state hash, 2 event stream, 3 seen hash (event key -> stream id),
--       4 outbox hash (change version -> change JSON). All share one hash tag.
-- ARGV: 1 shipment id, 2 carrier, 3 tracking number, 4 now (unix ms),
--       5 estimated delivery ('' if none), 6 its ordering key,
--       7 stream cap, 8 retention of finished shipments (s), 9 idle retention (s),
--       10 event count n, then n groups of: key, sort key, status, event JSON.
-- Returns {new, duplicates, from, to, eta_changed, {stream ids}, outbox pairs}.
local state, evs, seen, out = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[4]

if redis.call('EXISTS', state) == 0 then
  redis.call('HSET', state, 'id', ARGV[1], 'carrier', ARGV[2], 'tracking_number', ARGV[3],
    'status', 'pending', 'status_key', '', 'created_at', now, 'updated_at', now,
    'direction', 'outbound', 'event_count', 0, 'ver', 0)
end
local cur = redis.call('HMGET', state, 'status', 'status_key', 'eta_first', 'eta_first_key', 'eta_latest', 'eta_latest_key')
local from = cur[1]
local status, skey = cur[1], cur[2] or ''

local added, dups, last = 0, 0, false
local ids = {}
local n = tonumber(ARGV[10])
for i = 0, n - 1 do
  local b = 11 + i * 4
  local key, sk, st, body = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local id = redis.call('HGET', seen, key)
  if id then
    dups = dups + 1
  else
    id = redis.call('XADD', evs, 'MAXLEN', '~', ARGV[7], '*', 'k', sk, 'e', body)
    redis.call('HSET', seen, key, id)
    added = added + 1
    last = id
    if sk > skey then
      skey, status = sk, st
      redis.call('HSET', state, 'status', st, 'status_key', sk, 'status_event', body, 'status_cursor', id)
    end
  end
  ids[#ids + 1] = id
end

local eta_changed = 0
local eta, ek = ARGV[5], ARGV[6]
if eta ~= '' then
  if not cur[3] then
    redis.call('HSET', state, 'eta_first', eta, 'eta_first_key', ek, 'eta_latest', eta, 'eta_latest_key', ek)
    eta_changed = 1
  else
    if ek < cur[4] then
      redis.call('HSET', state, 'eta_first', eta, 'eta_first_key', ek)
    end
    if ek > cur[6] then
      redis.call('HSET', state, 'eta_latest', eta, 'eta_latest_key', ek)
      if eta ~= cur[5] then eta_changed = 1 end
    end
  end
end

if added > 0 or eta_changed == 1 then
  redis.call('HSET', state, 'updated_at', now)
  if added > 0 then
    redis.call('HINCRBY', state, 'event_count', added)
    redis.call('HSET', state, 'cursor', last)
  end
  if status ~= from or eta_changed == 1 then
    -- The change is recorded in the shipment's own outbox, inside this
    -- script, so it cannot be lost; the processor forwards it to the shared
    -- change stream and only then deletes it.
    local ver = redis.call('HINCRBY', state, 'ver', 1)
    local meta = redis.call('HMGET', state, 'order_id', 'eta_first', 'eta_latest', 'cursor', 'direction')
    redis.call('HSET', out, ver, cjson.encode({
      id = ARGV[1] .. ':' .. ver, shipment_id = ARGV[1], carrier = ARGV[2], tracking_number = ARGV[3],
      from = from, to = status, order_id = meta[1] or '', eta_first = meta[2] or '', eta_latest = meta[3] or '',
      eta_changed = eta_changed == 1, cursor = meta[4] or '', direction = meta[5] or '', at = now }))
  end
  local ttl = ARGV[9]
  if status == 'delivered' or status == 'returned' or status == 'expired' then ttl = ARGV[8] end
  for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ttl) end
end

return {added, dups, from, status, eta_changed, ids, redis.call('HGETALL', out)}
