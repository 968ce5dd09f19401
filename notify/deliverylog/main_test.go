package deliverylog

import (
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

// realRedis is the redis-server every test in this package shares, each
// under its own key prefix.
var realRedis *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &realRedis) }

// backends are the real redis-server and the embedded one `make run` uses:
// the store must behave the same on both.
var backends = redistest.Backends(&realRedis)
