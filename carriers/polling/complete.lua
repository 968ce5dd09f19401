-- Completes one claimed poll, if the lease is still this node's: the
-- shipment's due time is still the lease's end. A lease that ran out and
-- was claimed again, or a shipment unscheduled meanwhile, is left alone.
-- KEYS[1] due, KEYS[2] rate, KEYS[3] failures (hash: number -> count)
-- ARGV: number, lease score, outcome ("ok", "stop", "err"), next due ms
-- (for "ok"), now ms, backoff base ms, backoff max ms, jitter (0.5-1),
-- retry after ms, throttle until ms (0: none), burst, interval ms
-- Returns the next due ms, 0 when polling stopped, -1 when the lease was lost.
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not cur or tonumber(cur) ~= tonumber(ARGV[2]) then return -1 end
local outcome, now = ARGV[3], tonumber(ARGV[5])
local throttle = tonumber(ARGV[10])
if throttle > 0 then
  -- The carrier said "too many": every node waits, not just this poll.
  local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
  local want = throttle + tonumber(ARGV[11]) * tonumber(ARGV[12])
  if tat < want then redis.call('SET', KEYS[2], want, 'PX', math.max(1, math.ceil(want - now))) end
end
if outcome == 'stop' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 0
end
local nextDue
if outcome == 'ok' then
  redis.call('HDEL', KEYS[3], ARGV[1])
  nextDue = tonumber(ARGV[4])
else
  local fails = redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
  local wait = tonumber(ARGV[6]) * 2 ^ math.min(fails - 1, 30)
  if wait > tonumber(ARGV[7]) then wait = tonumber(ARGV[7]) end
  wait = wait * tonumber(ARGV[8])
  if wait < tonumber(ARGV[9]) then wait = tonumber(ARGV[9]) end
  nextDue = math.floor(now + wait)
end
redis.call('ZADD', KEYS[1], nextDue, ARGV[1])
return nextDue
