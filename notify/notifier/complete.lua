-- Completes a claimed job if the lease is still the claimer's. If a newer
-- job replaced it meanwhile, that one stays and is due at once (or at
-- ARGV[5] if later); otherwise the job is removed, or kept with ARGV[3] as
-- its new content and ARGV[4] as its due time (a retry, a held SMS).
-- KEYS[1] due, KEYS[2] jobs; ARGV: member, lease score, job claimed,
-- next job JSON ('' to remove), next due ms.
-- Returns 1 when done as asked, 0 when a newer job stays, -1 when the
-- lease was lost.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return -1 end
local job = redis.call('HGET', KEYS[2], ARGV[1])
if job ~= ARGV[3] then
  if job then
    redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  else
    redis.call('ZREM', KEYS[1], ARGV[1])
  end
  return 0
end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
end
return 1
