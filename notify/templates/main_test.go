package templates

import (
	"fmt"
	"os"
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

// realRedis is the redis-server the store tests share, each under its own
// key prefix.
var realRedis *redistest.Server

func TestMain(m *testing.M) {
	s, err := redistest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	realRedis = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}
