package outbound

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

func TestBlocked(t *testing.T) {
	tests := map[string]string{
		"127.0.0.1":          "a loopback",
		"::1":                "a loopback",
		"10.1.2.3":           "a private",
		"172.16.0.1":         "a private",
		"192.168.1.1":        "a private",
		"fd00:ec2::254":      "a private",
		"::ffff:192.168.1.1": "a private",
		"64:ff9b::a00:1":     "a private", // NAT64 of 10.0.0.1
		"169.254.169.254":    "a link-local",
		"fe80::1":            "a link-local",
		"224.0.0.1":          "a link-local",
		"239.1.2.3":          "a multicast",
		"ff02::1":            "a link-local",
		"ff05::1":            "a multicast",
		"0.0.0.0":            "an unspecified",
		"::":                 "an unspecified",
		"0.1.2.3":            `a "this network"`,
		"100.64.0.1":         "a carrier-grade NAT",
		"198.18.0.1":         "a benchmarking",
		"240.0.0.1":          "a reserved",
		"255.255.255.255":    "a reserved",
		"93.184.216.34":      "",
		"2606:4700::1111":    "",
		"64:ff9b::808:808":   "", // NAT64 of 8.8.8.8
	}
	for ip, want := range tests {
		if got := blocked(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %q, want %q", ip, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	e := newEnv(t, nil)
	res := &fakeResolver{hosts: map[string][]string{
		"hooks.example.com": {"93.184.216.34,2606:2800:220:1::1"},
		"localhost":         {"127.0.0.1,::1"},
		"intranet.example":  {"10.0.0.8"},
		"mixed.example":     {"93.184.216.34,192.168.0.10"},
	}}
	strict := e.service(func(c *Config) { c.AllowPrivate, c.Resolver = false, res })
	tests := []struct {
		url  string
		want string // "" accepted, else part of the error
	}{
		{"https://hooks.example.com/trackd", ""},
		{"https://hooks.example.com:8443/trackd?key=1", ""},
		{"https://93.184.216.34/x", ""},
		{"", "url: is required"},
		{"http://hooks.example.com/trackd", "must be an https:// URL"},
		{"ftp://hooks.example.com/", "must be an https:// URL"},
		{"hooks.example.com/trackd", "must be an https:// URL"},
		{"https:///trackd", "has no host"},
		{"https://localhost/x", "localhost resolves to 127.0.0.1, a loopback address"},
		{"https://127.0.0.1/x", "127.0.0.1 is a loopback address"},
		{"https://[::1]:8443/x", "::1 is a loopback address"},
		{"https://169.254.169.254/latest/meta-data", "a link-local address"},
		{"https://intranet.example/x", "a private address"},
		{"https://mixed.example/x", "resolves to 192.168.0.10, a private address"},
		{"https://nowhere.example/x", "cannot resolve nowhere.example"},
		{"https://" + strings.Repeat("a", 2100) + ".example/", "longer than 2048"},
	}
	for _, tt := range tests {
		err := strict.CheckURL(context.Background(), tt.url)
		var fe *tracking.FieldError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", tt.url, err)
		case tt.want != "" && (!errors.As(err, &fe) || fe.Field != "url" || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want a url error saying %q", tt.url, err, tt.want)
		}
	}
	if err := strict.CheckURL(context.Background(), "https://localhost/x"); !strings.Contains(err.Error(), "TRACKD_OUTBOUND_ALLOW_PRIVATE=true") {
		t.Errorf("the refusal should say how to allow it: %v", err)
	}
	if _, err := strict.Create(context.Background(), "https://localhost/x", []string{"shipment.updated"}); err == nil {
		t.Error("a loopback target was saved")
	}
	// With AllowPrivate (tests, a receiver on the same host), http and
	// private addresses are fine.
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "https://10.0.0.8/x"} {
		if err := e.s.CheckURL(context.Background(), u); err != nil {
			t.Errorf("%s with AllowPrivate: %v", u, err)
		}
	}
}

func TestDelivery_ANameThatResolvesPrivateAtDialTimeIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rcv.srv.Listener.Addr().String())
	// Public when the subscription is saved, loopback when delivering.
	res := &fakeResolver{hosts: map[string][]string{"rebind.example": {"93.184.216.34", "127.0.0.1"}}}
	strict := e.service(func(c *Config) { c.AllowPrivate, c.Resolver = false, res })
	sub, err := strict.Create(e.ctx, "https://rebind.example:"+port+"/hook", []string{"shipment.updated"})
	if err != nil {
		t.Fatalf("create while public: %v", err)
	}
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	e.runWith(strict)
	if n := rcv.conns.Load(); n != 0 {
		t.Fatalf("the receiver on 127.0.0.1 got %d connections", n)
	}
	log := e.deliveries(sub.ID)
	if len(log) != 1 || log[0].Result != ResultRetrying || !strings.Contains(log[0].Error, "refused: rebind.example resolves to 127.0.0.1, a loopback address") {
		t.Errorf("log %+v", log)
	}
}

func TestRefusePrivate_TheDialerRefusesAtTheSocket(t *testing.T) {
	rcv := newReceiver(t, nil)
	d := net.Dialer{Timeout: 5 * time.Second, Control: refusePrivate}
	_, err := d.DialContext(context.Background(), "tcp", rcv.srv.Listener.Addr().String())
	var re *RefusedError
	if !errors.As(err, &re) || re.Kind != "a loopback" {
		t.Errorf("dial 127.0.0.1: %v, want refused as loopback", err)
	}
	if rcv.conns.Load() != 0 {
		t.Error("the connection was made")
	}
	if err := refusePrivate("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("public address: %v", err)
	}
	if err := refusePrivate("tcp6", "[::ffff:10.0.0.1]:443", nil); err == nil {
		t.Error("a mapped private address passed")
	}
}
