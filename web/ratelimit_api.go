package web

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

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
	c.Set("RateLimit-Policy", fmt.Sprintf(`"per-key";q=%d;w=%d`, a.limit, int64(a.window/time.Second)))
	c.Set("RateLimit", fmt.Sprintf(`"per-key";r=%d;t=%d`, remaining, resetS))
	if !ok {
		return &Error{Status: fiber.StatusTooManyRequests, RetryAfter: int(max(resetS, 1)),
			Message: "this API key made " + strconv.Itoa(a.limit) + " requests in the last " + a.window.String() + "; retry after the Retry-After seconds"}
	}
	return nil
}
