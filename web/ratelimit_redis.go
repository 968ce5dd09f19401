package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// slidingLogLua allows a call when fewer than ARGV[1] calls were allowed in
// the last ARGV[2] microseconds, and records it. KEYS[1] is a sorted set of
// the allowed calls' times, so at most `limit` members (a few hundred bytes).
//
// Time is Redis's own clock (TIME), so every node counts against one clock
// whatever its own says. Refused calls are not recorded: a client that keeps
// trying is refused until its oldest allowed call leaves the window, no
// longer. Returns {allowed (1 or 0), calls left in the window, microseconds
// until the oldest counted call leaves it}: when refused, that is how long
// until a call would be allowed.
//
// Members are "<seconds>.<micros>:<count>": unique even for two calls in one
// microsecond (the count differs), and built from TIME's strings, since Lua
// would print the microsecond number in scientific notation.
const slidingLogLua = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local allowed = 0
if n < limit then
  redis.call('ZADD', KEYS[1], now, t[1] .. '.' .. t[2] .. ':' .. n)
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  n = n + 1
  allowed = 1
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, limit - n, tonumber(oldest[2]) + window - now}
`

// redisLimiter allows at most limit calls per key in any window (a sliding
// log), counted in Redis so that every web node shares one count. Unlike a
// fixed window it never lets 2×limit through around a window boundary.
//
// Keys are <prefix>{rl:<name>:<first 128 bits of sha256(key), hex>}: the
// raw key (an address, an order number) is not stored as such, and the hash
// tag puts each key in one cluster slot. A plain hash pseudonymizes, it does
// not anonymize: IPv4 addresses can be hashed exhaustively.
type redisLimiter struct {
	rdb    redis.UniversalClient
	script *redis.Script
	prefix string // <prefix>{rl:<name>:
	name   string
	limit  int
	window time.Duration
}

// newRedisLimiter returns a limiter of limit calls per window for each key,
// under prefix, named name in its keys and errors. A limit below 1 or a
// window below a millisecond is a programming error, and panics.
func newRedisLimiter(rdb redis.UniversalClient, prefix, name string, limit int, window time.Duration) *redisLimiter {
	if limit < 1 || window < time.Millisecond {
		panic(fmt.Sprintf("web: rate limit %s: %d per %s cannot work", name, limit, window))
	}
	return &redisLimiter{
		rdb:    rdb,
		script: redis.NewScript(slidingLogLua),
		prefix: prefix + "{rl:" + name + ":",
		name:   name,
		limit:  limit,
		window: window,
	}
}

func (l *redisLimiter) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return l.prefix + hex.EncodeToString(sum[:16]) + "}"
}

// Allow records a call for key when the limit allows it. When it does not,
// retryAfter is how long until it will; err is a Redis failure, in which case
// ok is false (the caller decides whether to fail open or closed).
func (l *redisLimiter) Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	ok, _, reset, err := l.take(ctx, key)
	if err != nil || ok {
		return ok, 0, err
	}
	return false, max(reset, time.Microsecond), nil
}

// take records a call for key when the limit allows it, and says how many
// calls are left in the window and when its oldest call leaves it.
func (l *redisLimiter) take(ctx context.Context, key string) (ok bool, remaining int64, reset time.Duration, err error) {
	res, err := l.script.Run(ctx, l.rdb, []string{l.key(key)}, l.limit, l.window.Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, 0, fmt.Errorf("rate limit %s: %w", l.name, err)
	}
	if len(res) != 3 {
		return false, 0, 0, fmt.Errorf("rate limit %s: script answered %v", l.name, res)
	}
	return res[0] == 1, max(res[1], 0), time.Duration(res[2]) * time.Microsecond, nil
}
