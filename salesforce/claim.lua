-- Claims up to ARGV[3] due jobs: their due time moves to the lease's end
-- (a node that dies mid-attempt only delays them by the lease) and the
-- claimed content is kept in flight.
-- KEYS[1] due, KEYS[2] jobs, KEYS[3] inflight; ARGV: now ms, lease ms, max.
-- Returns {member, job, member, job, ...}.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(due) do
  local job = redis.call('HGET', KEYS[2], m)
  if job then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), m)
    redis.call('HSET', KEYS[3], m, job)
    out[#out + 1] = m
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], m)
    redis.call('HDEL', KEYS[3], m)
  end
end
return out
