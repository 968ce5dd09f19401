package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// apiLimitLua is slidingLogLua that also says how many calls are left and
// when the window frees one, for the RateLimit header. Returns {allowed,
// remaining, microseconds until the oldest counted call leaves}.
const apiLimitLua = `
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
local reset = 0
if #oldest > 0 then reset = tonumber(oldest[2]) + window - now end
return {allowed, limit - n, reset}
`

// apiLimiter limits each API key to limit requests per window, counted in
// Redis so every node shares one count.
type apiLimiter struct {
	lim    *redisLimiter
	script *redis.Script
}

func newAPILimiter(rdb redis.UniversalClient, prefix string, limit int, window time.Duration) *apiLimiter {
	return &apiLimiter{lim: newRedisLimiter(rdb, prefix, "api_key", limit, window), script: redis.NewScript(apiLimitLua)}
}

// take counts a request of the key whose secret is given.
func (a *apiLimiter) take(ctx context.Context, secret string) (ok bool, remaining int64, reset time.Duration, err error) {
	res, err := a.script.Run(ctx, a.lim.rdb, []string{a.lim.key(secret)}, a.lim.limit, a.lim.window.Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, 0, fmt.Errorf("API rate limit: %w", err)
	}
	if len(res) != 3 {
		return false, 0, 0, fmt.Errorf("API rate limit: script answered %v", res)
	}
	return res[0] == 1, max(res[1], 0), time.Duration(res[2]) * time.Microsecond, nil
}

// limitKey applies the per-key rate limit and says so in the headers of
// draft-ietf-httpapi-ratelimit-headers: RateLimit-Policy (the quota and
// its window) and RateLimit (what is left and when it grows). A Redis
// failure lets the request through, logged: the API stays up when the
// limiter cannot count.
func (s *Server) limitKey(c *fiber.Ctx, secret string) error {
	a := s.apiLimit
	if a == nil {
		return nil
	}
	ok, remaining, reset, err := a.take(c.UserContext(), secret)
	if err != nil {
		s.deps.Log.Warn("API rate limit unavailable; request let through", "err", err)
		return nil
	}
	resetS := int64((reset + time.Second - 1) / time.Second)
	c.Set("RateLimit-Policy", fmt.Sprintf(`"per-key";q=%d;w=%d`, a.lim.limit, int64(a.lim.window/time.Second)))
	c.Set("RateLimit", fmt.Sprintf(`"per-key";r=%d;t=%d`, remaining, resetS))
	if !ok {
		return &Error{Status: fiber.StatusTooManyRequests, RetryAfter: int(max(resetS, 1)),
			Message: "this API key made " + strconv.Itoa(a.lim.limit) + " requests in the last " + a.lim.window.String() + "; retry after the Retry-After seconds"}
	}
	return nil
}
