package salesforce

import (
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

// srv is the redis-server every test here shares, each under its own prefix.
var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }
