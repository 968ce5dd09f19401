-- Queues a job for member (subject|channel), replacing a job waiting for
-- the same member: bursts collapse into the latest. ARGV[4] "nx" keeps a
-- waiting member's due time (the collapse window runs from the first
-- job); "set" moves it (a scheduled job whose time changed).
-- KEYS[1] due, KEYS[2] jobs; ARGV: member, job JSON, due ms, mode
-- Returns the job it replaced, or false.
local old = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] == 'nx' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return old
