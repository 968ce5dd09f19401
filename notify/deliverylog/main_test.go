package deliverylog

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking/redistest"
)

// realRedis is the redis-server every test in this package shares, each
// under its own key prefix.
var realRedis *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &realRedis) }

// backend is a Redis the log's contract runs against.
type backend struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}

// backends are the real redis-server and the embedded one `make run` uses:
// the log must behave the same on both.
var backends = []backend{
	{"redis-server", func(t *testing.T) redis.UniversalClient { return realRedis.Client(t) }},
	{"embedded", func(t *testing.T) redis.UniversalClient {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		return c
	}},
}
