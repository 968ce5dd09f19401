package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rejectLimiter limits how many rejected requests one client may make. Only
// rejections count, so a carrier's valid webhooks are never slowed however
// many it sends; a client that keeps sending bad signatures or bodies is
// refused (429) before trackd spends work on them.
type rejectLimiter struct {
	mu     sync.Mutex
	every  rate.Limit
	burst  int
	byKey  map[string]*rate.Limiter
	swept  time.Time
	maxAge time.Duration
}

func newRejectLimiter(perSecond float64, burst int) *rejectLimiter {
	return &rejectLimiter{every: rate.Limit(perSecond), burst: burst, byKey: map[string]*rate.Limiter{}, maxAge: time.Minute}
}

// blocked reports whether key has used up its rejections.
func (l *rejectLimiter) blocked(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.byKey[key]
	return lim != nil && lim.TokensAt(now) < 1
}

// reject records a rejection of key.
func (l *rejectLimiter) reject(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.byKey[key]
	if lim == nil {
		lim = rate.NewLimiter(l.every, l.burst)
		l.byKey[key] = lim
	}
	lim.AllowN(now, 1)
	// Forget clients whose allowance is full again, so the map holds only
	// recent offenders.
	if now.Sub(l.swept) > l.maxAge {
		l.swept = now
		for k, v := range l.byKey {
			if v.TokensAt(now) >= float64(l.burst) {
				delete(l.byKey, k)
			}
		}
	}
}
