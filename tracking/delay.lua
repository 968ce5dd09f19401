-- Set or clear a shipment's delayed flag, recording the change, if the
-- shipment is still as the delay watcher read it.
-- KEYS: 1 state hash, 2 outbox hash (change version -> change JSON). Both
--       share the shipment's hash tag.
-- ARGV: 1 shipment id, 2 ver read, 3 event_count read, 4 new flag ('1' or '0'),
--       5 now (unix ms).
-- Returns false when the shipment moved since it was read (or is gone),
-- else {new ver, outbox pairs}.
--
-- ver alone is not enough to tell: a scan that keeps the status bumps only
-- event_count, and it restarts the no-scan clock.
local state, out = KEYS[1], KEYS[2]
local cur = redis.call('HMGET', state, 'ver', 'event_count', 'status', 'order_id', 'direction',
  'carrier', 'tracking_number', 'eta_first', 'eta_latest', 'cursor')
if not cur[1] or tonumber(cur[1]) ~= tonumber(ARGV[2]) or (tonumber(cur[2]) or 0) ~= tonumber(ARGV[3]) then
  return false
end
local ver = tonumber(cur[1]) + 1
-- updated_at moves too: the delay is news about the shipment, and the
-- listings (list.go) find shipments by it. The no-scan rule reads the
-- status event's time, not this.
redis.call('HSET', state, 'delayed', ARGV[4], 'ver', ver, 'updated_at', ARGV[5])
-- The same change apply.lua records, with the status unmoved, so every
-- consumer of the change stream handles it without knowing the watcher.
redis.call('HSET', out, ver, cjson.encode({
  id = ARGV[1] .. ':' .. ver, shipment_id = ARGV[1], carrier = cur[6] or '', tracking_number = cur[7] or '',
  from = cur[3], to = cur[3], order_id = cur[4] or '', eta_first = cur[8] or '', eta_latest = cur[9] or '',
  eta_changed = false, cursor = cur[10] or '', direction = cur[5] or 'outbound', at = ARGV[5],
  delayed = ARGV[4] == '1', delay_changed = true }))
-- An outbox left behind by a crash must not outlive its shipment.
local ttl = redis.call('PTTL', state)
if ttl > 0 then redis.call('PEXPIRE', out, ttl) end
return {ver, redis.call('HGETALL', out)}
