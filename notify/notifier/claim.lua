-- Claims up to ARGV[3] due jobs by moving their due time to the lease's
-- end. KEYS[1] due, KEYS[2] jobs; ARGV: now ms, lease ms, max.
-- Returns {member, job, member, job, ...}.
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(due) do
  local job = redis.call('HGET', KEYS[2], m)
  if job then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), m)
    out[#out + 1] = m
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
