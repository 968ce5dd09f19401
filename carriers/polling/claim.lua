-- Claims up to ARGV[3] due shipments of one carrier, as many as the
-- carrier's shared rate allows, by pushing their due time forward by the
-- lease: another node sees them again only if this one never completes.
-- KEYS[1] due (sorted set: tracking number -> due unix ms)
-- KEYS[2] rate (string: the GCRA theoretical arrival time, unix ms)
-- ARGV: now ms, lease ms, max, emission interval ms, burst
-- Returns {wait ms, numbers...}: wait is 0 when numbers were claimed, else
-- how long until one could be (-1: nothing scheduled).
local now, lease, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local iv, burst = tonumber(ARGV[4]), tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
if tat < now then tat = now end
local avail = math.floor((now + burst * iv - tat) / iv)
if avail > max then avail = max end
if avail <= 0 then
  return {math.max(1, tat - burst * iv + iv - now)}
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, avail)
if #due == 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #first == 0 then return {-1} end
  return {math.max(1, tonumber(first[2]) - now)}
end
local out = {0}
for _, m in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + lease, m)
  out[#out + 1] = m
end
tat = tat + #due * iv
redis.call('SET', KEYS[2], tat, 'PX', math.max(1, math.ceil(tat - now + burst * iv)))
return out
