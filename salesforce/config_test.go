package salesforce

import (
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{
		"TRACKD_SALESFORCE_INSTANCE_URL":  "https://acme.my.salesforce.com/",
		"TRACKD_SALESFORCE_CLIENT_ID":     "id",
		"TRACKD_SALESFORCE_CLIENT_SECRET": "secret",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		enabled bool
		err     string
		check   func(t *testing.T, c Config)
	}{
		{name: "unset is disabled", env: map[string]string{}},
		{name: "all three enable it", env: full, enabled: true, check: func(t *testing.T, c Config) {
			if c.InstanceURL != "https://acme.my.salesforce.com" || c.apiVersion() != "v62.0" || c.Group != "salesforce" || c.Batch != 200 {
				t.Errorf("%+v", c)
			}
		}},
		{name: "some but not all", env: map[string]string{"TRACKD_SALESFORCE_CLIENT_ID": "id"}, err: "needed together"},
		{name: "version without v", env: with("TRACKD_SALESFORCE_API_VERSION", "61.0"), enabled: true, check: func(t *testing.T, c Config) {
			if c.apiVersion() != "v61.0" {
				t.Errorf("version %q", c.apiVersion())
			}
		}},
		{name: "bad version", env: with("TRACKD_SALESFORCE_API_VERSION", "latest"), enabled: true, err: "API_VERSION"},
		{name: "http elsewhere than loopback", env: with("TRACKD_SALESFORCE_INSTANCE_URL", "http://acme.my.salesforce.com"), enabled: true, err: "https"},
		{name: "http on loopback", env: with("TRACKD_SALESFORCE_INSTANCE_URL", "http://127.0.0.1:8443"), enabled: true},
		{name: "a path", env: with("TRACKD_SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com/services"), enabled: true, err: "My Domain"},
		{name: "status map", env: with("TRACKD_SALESFORCE_STATUS_MAP", "exception=Exception, in_transit = On Its Way ,info_received="),
			enabled: true, check: func(t *testing.T, c Config) {
				m := c.StatusMap
				if m[tracking.StatusException] != "Exception" || m[tracking.StatusInTransit] != "On Its Way" ||
					m[tracking.StatusInfoReceived] != "" || m[tracking.StatusDelivered] != "Delivered" {
					t.Errorf("status map %v", m)
				}
			}},
		{name: "status map with an unknown status", env: with("TRACKD_SALESFORCE_STATUS_MAP", "lost=Lost"), err: "unknown status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Enabled() != tt.enabled {
				t.Errorf("Enabled() = %v", c.Enabled())
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
