-- Queues the record wanted for a tracking number, replacing one waiting:
-- only the latest state of a shipment is worth writing. A change older than
-- the last one queued for the same shipment (a redelivered or reclaimed
-- entry) is ignored, so Salesforce never moves back.
-- KEYS[1] due, KEYS[2] jobs, KEYS[3] inflight, KEYS[4] last (string:
-- "<shipment id>|<version>" of the newest change queued, with a TTL).
-- ARGV: member, job JSON, shipment id, version, due ms, last TTL s.
-- Returns 1 when queued, 0 when ignored as older.
local last = redis.call('GET', KEYS[4])
if last then
  local sid, ver = string.match(last, '^(.*)|(%d+)$')
  if sid == ARGV[3] and tonumber(ver) >= tonumber(ARGV[4]) then return 0 end
end
redis.call('SET', KEYS[4], ARGV[3] .. '|' .. ARGV[4], 'EX', ARGV[6])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
-- A job in flight keeps its lease: completing it sees the newer job and
-- makes that one due at once. Otherwise the earlier due time wins, so a
-- new change cuts short the backoff of a failed one.
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 1 end
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[5]) then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
end
return 1
