-- Completes claimed jobs whose lease is still the claimer's. Per job: if a
-- newer job replaced it meanwhile, that one is due at once; otherwise the
-- job is removed (done) or kept as its next version (a retry) due then.
-- KEYS[1] due, KEYS[2] jobs, KEYS[3] inflight.
-- ARGV: now ms, lease end ms, then groups of: member, job claimed,
-- next job JSON ('' when done), next due ms.
-- Returns how many were completed (the others' lease was lost).
local done = 0
for i = 3, #ARGV, 4 do
  local m, claimed, nxt, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('ZSCORE', KEYS[1], m)
  if cur and tonumber(cur) == tonumber(ARGV[2]) then
    redis.call('HDEL', KEYS[3], m)
    local job = redis.call('HGET', KEYS[2], m)
    if job ~= claimed then
      if job then
        redis.call('ZADD', KEYS[1], ARGV[1], m)
      else
        redis.call('ZREM', KEYS[1], m)
      end
    elseif nxt == '' then
      redis.call('ZREM', KEYS[1], m)
      redis.call('HDEL', KEYS[2], m)
    else
      redis.call('HSET', KEYS[2], m, nxt)
      redis.call('ZADD', KEYS[1], at, m)
    end
    done = done + 1
  end
end
return done
