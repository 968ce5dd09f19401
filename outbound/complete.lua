-- Completes a claimed job if its lease is still the claimer's: removes it,
-- or keeps it with new content and due time (a retry).
-- KEYS: 1 due, 2 jobs; ARGV: 1 member, 2 lease end ms, 3 next job JSON
-- ('' removes the job), 4 next due ms.
-- Returns 1, or 0 when the lease was lost (the job is another node's now).
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
end
return 1
