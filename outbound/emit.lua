-- Records an event and queues its deliveries, once: when the event is
-- already recorded (a change read twice), it does nothing, so nothing is
-- queued twice.
-- KEYS: 1 event body, 2 due, 3 jobs, 4.. the index of each subscription
--       that wants the event. All share the shard's hash tag.
-- ARGV: 1 body, 2 retention s, 3 created ms, 4 now ms, 5 index cutoff ms,
--       6 event id, then for each subscription (in KEYS order): member,
--       job JSON, '1' to queue it ('0' only indexes it: a disabled
--       subscription, which a replay can catch up later).
-- Returns the number of jobs queued, or -1 when the event was recorded before.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return -1 end
local queued = 0
for i = 4, #KEYS do
  local a = 7 + (i - 4) * 3
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[5])
  redis.call('EXPIRE', KEYS[i], ARGV[2])
  if ARGV[a + 2] == '1' and redis.call('HSETNX', KEYS[3], ARGV[a], ARGV[a + 1]) == 1 then
    redis.call('ZADD', KEYS[2], 'NX', ARGV[4], ARGV[a])
    queued = queued + 1
  end
end
return queued
