-- Counts a failed delivery attempt in a subscription's streak, and disables
-- the subscription when the streak is long enough both in attempts and in
-- time. Nothing happens to a subscription deleted meanwhile.
-- KEYS[1] subscription; ARGV: 1 now ms, 2 attempts, 3 span ms, 4 last error.
-- Returns the reason when it disabled the subscription, else false.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local n = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HSETNX', KEYS[1], 'fail_since', ARGV[1])
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return false end
local since = tonumber(redis.call('HGET', KEYS[1], 'fail_since'))
if n < tonumber(ARGV[2]) or tonumber(ARGV[1]) - since < tonumber(ARGV[3]) then return false end
local reason = n .. ' deliveries in a row failed; the last: ' .. ARGV[4]
redis.call('HSET', KEYS[1], 'status', 'disabled', 'disabled_reason', reason,
  'disabled_at', ARGV[1], 'updated_at', ARGV[1])
return reason
