package salesforce

import (
	"fmt"
	"os"
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

// srv is the redis-server every test here shares, each under its own prefix.
var srv *redistest.Server

func TestMain(m *testing.M) {
	s, err := redistest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}
