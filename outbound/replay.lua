-- Queues deliveries again for events still kept. A job already waiting
-- for the same subscription and event stays as it is: it will deliver.
-- KEYS: 1 due, 2 jobs, then the body of each event.
-- ARGV: 1 now ms, then for each event (in KEYS order): member, job JSON.
-- Returns how many of the events are kept (queued now or already waiting).
local kept = 0
for i = 3, #KEYS do
  local a = 2 + (i - 3) * 2
  if redis.call('EXISTS', KEYS[i]) == 1 then
    kept = kept + 1
    if redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1]) == 1 then
      redis.call('ZADD', KEYS[1], ARGV[1], ARGV[a])
    end
  end
end
return kept
