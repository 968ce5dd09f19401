-- Apply one carrier update to one shipment, atomically.
-- KEYS: 1 state hash, 2 event stream, 3 seen hash (event key -> stream id),
--       4 outbox hash (change version -> change JSON). All share one hash tag.
-- ARGV: 1 shipment id, 2 carrier, 3 tracking number, 4 now (unix ms),
--       5 estimated delivery ('' if none), 6 its ordering key,
--       7 stream cap, 8 retention of finished shipments (s), 9 idle retention (s),
--       10 event count n, then n groups of: key, sort key, status, event JSON.
-- Returns {new, duplicates, from, to, eta_changed, {stream ids}, outbox pairs,
--          updated_at (unix ms, after this update), order id ('' if none)}.
--
-- This runs for every event trackd receives, so it reads the state once,
-- writes it once, and refreshes expiry only when needed: each redis.call
-- costs about as much as the script's own logic.
local state, evs, seen, out = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = ARGV[4]

local cur = redis.call('HMGET', state, 'status', 'status_key', 'eta_first', 'eta_first_key',
  'eta_latest', 'eta_latest_key', 'event_count', 'ver', 'order_id', 'direction', 'exp', 'delayed',
  'updated_at')
local set = {}
local fresh = not cur[1]
if fresh then
  set = {'id', ARGV[1], 'carrier', ARGV[2], 'tracking_number', ARGV[3], 'status_key', '',
    'created_at', now, 'direction', 'outbound', 'event_count', 0, 'ver', 0}
  cur[1], cur[2], cur[10] = 'pending', '', 'outbound'
end
local count, ver = tonumber(cur[7]) or 0, tonumber(cur[8]) or 0
local updated = cur[13] or now
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
      set[#set + 1] = 'status'; set[#set + 1] = st
      set[#set + 1] = 'status_key'; set[#set + 1] = sk
      set[#set + 1] = 'status_event'; set[#set + 1] = body
      set[#set + 1] = 'status_cursor'; set[#set + 1] = id
    end
  end
  ids[#ids + 1] = id
end

local eta_changed, first_changed = 0, 0
local eta, ek = ARGV[5], ARGV[6]
local eta_first, eta_latest = cur[3] or '', cur[5] or ''
if eta ~= '' then
  if not cur[3] then
    eta_first, eta_latest, eta_changed = eta, eta, 1
    for _, v in ipairs({'eta_first', eta, 'eta_first_key', ek, 'eta_latest', eta, 'eta_latest_key', ek}) do set[#set + 1] = v end
  else
    if ek < cur[4] then
      eta_first, first_changed = eta, 1
      for _, v in ipairs({'eta_first', eta, 'eta_first_key', ek}) do set[#set + 1] = v end
    end
    if ek > cur[6] then
      for _, v in ipairs({'eta_latest', eta, 'eta_latest_key', ek}) do set[#set + 1] = v end
      if eta ~= cur[5] then eta_changed = 1 end
      eta_latest = eta
    end
  end
end

-- An earlier promise that arrives late moves only the first estimate: it is
-- stored, but it is no change of what the shopper is told (the latest).
if added > 0 or eta_changed == 1 or first_changed == 1 or fresh then
  updated = now
  for _, v in ipairs({'updated_at', now, 'status', status}) do set[#set + 1] = v end
  if added > 0 then
    for _, v in ipairs({'event_count', count + added, 'cursor', last}) do set[#set + 1] = v end
  end
  if status ~= from or eta_changed == 1 then
    -- The change is recorded in the shipment's own outbox, inside this
    -- script, so it cannot be lost; the processor forwards it to the shared
    -- change stream and only then deletes it.
    ver = ver + 1
    set[#set + 1] = 'ver'; set[#set + 1] = ver
    redis.call('HSET', out, ver, cjson.encode({
      id = ARGV[1] .. ':' .. ver, shipment_id = ARGV[1], carrier = ARGV[2], tracking_number = ARGV[3],
      from = from, to = status, order_id = cur[9] or '', eta_first = eta_first, eta_latest = eta_latest,
      eta_changed = eta_changed == 1, cursor = last or redis.call('HGET', state, 'cursor') or '',
      direction = cur[10] or 'outbound', at = now,
      -- The flag as the delay watcher last stored it; only the watcher moves it.
      delayed = cur[12] == '1', delay_changed = false }))
  end
  -- Retention: refresh the keys' expiry when the kind of retention changes,
  -- on the first event (the stream and seen keys are new), and once a day.
  local ttl, kind = ARGV[9], 'i'
  if status == 'delivered' or status == 'returned' or status == 'expired' then ttl, kind = ARGV[8], 'f' end
  local exp = kind .. math.floor(tonumber(now) / 86400000)
  if exp ~= cur[11] or count == 0 then
    set[#set + 1] = 'exp'; set[#set + 1] = exp
    redis.call('HSET', state, unpack(set))
    for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ttl) end
  else
    redis.call('HSET', state, unpack(set))
  end
end

return {added, dups, from, status, eta_changed, ids, redis.call('HGETALL', out), updated, cur[9] or ''}
