package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRun_BadConfigurationExitsWithTwo(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown role", map[string]string{"TRACKD_ROLES": "web,teleport"}, nil, "TRACKD_ROLES"},
		{"shards not a number", map[string]string{"TRACKD_SHARDS": "many"}, nil, "TRACKD_SHARDS"},
		{"zero shards", map[string]string{"TRACKD_SHARDS": "0"}, nil, "TRACKD_SHARDS"},
		{"bad retention", map[string]string{"TRACKD_RETAIN_FINISHED": "forever"}, nil, "TRACKD_RETAIN_FINISHED"},
		{"bad demo flag", map[string]string{"TRACKD_DEMO": "sure"}, nil, "TRACKD_DEMO"},
		{"public URL without scheme", map[string]string{"TRACKD_PUBLIC_URL": "track.example.com"}, nil, "TRACKD_PUBLIC_URL"},
		{"short API key", map[string]string{"TRACKD_BOOTSTRAP_API_KEY": "short"}, nil, "TRACKD_BOOTSTRAP_API_KEY"},
		{"braces in the prefix", map[string]string{"TRACKD_KEY_PREFIX": "a{b}"}, nil, "TRACKD_KEY_PREFIX"},
		{"both redis URLs", map[string]string{"REDIS_URL": "redis://a:1", "REDIS_CLUSTER_URL": "redis://b:1"}, nil, "REDIS_CLUSTER_URL"},
		{"bad flag value overrides a good variable", map[string]string{"TRACKD_SHARDS": "4"}, []string{"--trackd-shards", "-1"}, "TRACKD_SHARDS"},
		{"unknown flag", nil, []string{"--no-such-flag"}, "no-such-flag"},
		{"bad trusted proxy", map[string]string{"TRACKD_TRUSTED_PROXIES": "10.0.0.0/8,balancer"}, nil, "TRACKD_TRUSTED_PROXIES"},
		{"bad brand colour", map[string]string{"TRACKD_BRAND_COLOR": "red;}body{display:none"}, nil, "TRACKD_BRAND_COLOR"},
		{"bad log level", map[string]string{"TRACKD_LOG_LEVEL": "loud"}, nil, "TRACKD_LOG_LEVEL"},
		{"Salesforce half configured", map[string]string{"TRACKD_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"}, nil, "TRACKD_SALESFORCE_"},
		{"API rate without a unit", map[string]string{"TRACKD_API_RATE_LIMIT": "100"}, nil, "TRACKD_API_RATE_LIMIT"},
		{"poll rate without a unit", map[string]string{"TRACKD_POLL_RATES": "dhl=250"}, nil, "TRACKD_POLL_RATES"},
		{"negative poll rate", map[string]string{"TRACKD_POLL_RATES": "ups=-1/s"}, nil, "TRACKD_POLL_RATES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code := run(ctx, tt.args, func(k string) string { return tt.env[k] }, &stderr, nil)
			if code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s", code, stderr.String(), tt.want)
			}
		})
	}
}

func TestLoadConfig_FlagsOverrideTheEnvironment(t *testing.T) {
	env := map[string]string{"TRACKD_ADDR": ":9000", "TRACKD_SHARDS": "8", "TRACKD_RETAIN_IDLE": "30d"}
	cfg, err := LoadConfig([]string{"--trackd-addr", "127.0.0.1:9100"}, func(k string) string { return env[k] }, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9100" || cfg.Shards != 8 || cfg.RetainIdle != 30*24*time.Hour || cfg.PublicURL != "http://127.0.0.1:9100" {
		t.Errorf("config = addr %s, shards %d, idle %s, public %s", cfg.Addr, cfg.Shards, cfg.RetainIdle, cfg.PublicURL)
	}
	if !cfg.Roles["web"] || !cfg.Roles["ingest"] {
		t.Errorf("default roles = %v, want all", cfg.Roles)
	}
}

func TestLoadConfig_PollRates(t *testing.T) {
	env := map[string]string{"TRACKD_POLL_RATES": "dhl=250/d, UPS=10/s,usps=120/m"}
	cfg, err := LoadConfig(nil, func(k string) string { return env[k] }, &syncBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		carrier   string
		perSecond float64
		burst     int
	}{
		{"dhl", 250.0 / 86400, 1},
		{"ups", 10, 60},
		{"usps", 2, 12},
	}
	for _, tt := range tests {
		r, ok := cfg.PollRates[tt.carrier]
		if !ok || r.PerSecond != tt.perSecond || r.Burst != tt.burst {
			t.Errorf("%s: rate %+v (set %v), want %v/s burst %d", tt.carrier, r, ok, tt.perSecond, tt.burst)
		}
	}
}
