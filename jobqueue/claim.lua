-- Claims up to ARGV[3] due jobs by moving their due time to the lease's
-- end, so no other node takes them until it passes.
-- KEYS: 1 due, 2 jobs; ARGV: 1 now ms, 2 lease end ms, 3 max.
-- Returns {member, job, member, job, ...}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(due) do
  local job = redis.call('HGET', KEYS[2], m)
  if job then
    redis.call('ZADD', KEYS[1], ARGV[2], m)
    out[#out + 1] = m
    out[#out + 1] = job
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return out
