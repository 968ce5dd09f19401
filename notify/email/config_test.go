package email

import (
	"strings"
	"testing"
	"time"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // error text, "" for valid
	}{
		{"smtp", Config{URL: "smtp://mail.example.com", From: "shop@example.com"}, ""},
		{"smtps with user and options", Config{URL: "smtps://u%40x:p%3Aw@mail.example.com:2465?insecure_skip_verify=true&allow_insecure_auth=0", From: "Store <shop@example.com>"}, ""},
		{"starttls required", Config{URL: "smtp://mail.example.com?starttls=required", From: "shop@example.com"}, ""},
		{"IPv6 host", Config{URL: "smtp://[::1]:2525", From: "shop@example.com"}, ""},
		{"not set", Config{From: "shop@example.com"}, "SMTP_URL: not set"},
		{"http scheme", Config{URL: "http://mail.example.com", From: "shop@example.com"}, "SMTP_URL: scheme must be smtp or smtps"},
		{"no scheme", Config{URL: "mail.example.com:587", From: "shop@example.com"}, "SMTP_URL: scheme must be smtp or smtps"},
		{"opaque", Config{URL: "smtp:mail.example.com", From: "shop@example.com"}, "SMTP_URL: must be smtp://host"},
		{"no host", Config{URL: "smtp://:587", From: "shop@example.com"}, "SMTP_URL: no host"},
		{"port out of range", Config{URL: "smtp://mail.example.com:70000", From: "shop@example.com"}, "SMTP_URL: port \"70000\""},
		{"path", Config{URL: "smtp://mail.example.com/x", From: "shop@example.com"}, "SMTP_URL: must have no path"},
		{"empty user", Config{URL: "smtp://:pw@mail.example.com", From: "shop@example.com"}, "SMTP_URL: user info without a user name"},
		{"unknown option", Config{URL: "smtp://mail.example.com?tls=yes", From: "shop@example.com"}, `SMTP_URL: unknown option "tls"`},
		{"bad boolean", Config{URL: "smtp://mail.example.com?insecure_skip_verify=yep", From: "shop@example.com"}, "SMTP_URL: insecure_skip_verify=\"yep\": not a boolean"},
		{"starttls on smtps", Config{URL: "smtps://mail.example.com?starttls=required", From: "shop@example.com"}, "SMTP_URL: starttls applies to smtp://"},
		{"bad starttls", Config{URL: "smtp://mail.example.com?starttls=maybe", From: "shop@example.com"}, "SMTP_URL: starttls=\"maybe\""},
		{"no from", Config{URL: "smtp://mail.example.com"}, "SMTP_FROM: not set"},
		{"bad from", Config{URL: "smtp://mail.example.com", From: "Store"}, "SMTP_FROM: \"Store\" is not an address"},
		{"negative timeout", Config{URL: "smtp://mail.example.com", From: "shop@example.com", Timeout: -time.Second}, "email timeout"},
		{"negative pool", Config{URL: "smtp://mail.example.com", From: "shop@example.com", PoolSize: -1}, "email pool size"},
		{"hello with space", Config{URL: "smtp://mail.example.com", From: "shop@example.com", HelloName: "a b"}, "email hello name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q...", err, tt.want)
			}
		})
	}
}

func TestConfig_ErrorsHidePassword(t *testing.T) {
	for _, raw := range []string{
		"smtp://user:hunter2@mail.example.com:notaport",
		"ftp://user:hunter2@mail.example.com",
		"smtp://user:hunter2@mail.example.com/path",
		"smtp://user:hunter2@mail.example.com?x=1",
		"smtp://user:hunter2@mail.exa mple.com",
	} {
		err := Config{URL: raw, From: "shop@example.com"}.Validate()
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Validate(%s) = %v, want an error without the password", raw, err)
		}
	}
}

func TestConfig_Defaults(t *testing.T) {
	tests := []struct {
		url      string
		port     int
		implicit bool
		loopback bool
		auth     bool
	}{
		{"smtp://mail.example.com", 587, false, false, false},
		{"smtps://mail.example.com", 465, true, false, false},
		{"smtp://u:p@localhost:25", 25, false, true, true},
		{"smtp://127.0.0.2:2525", 2525, false, true, false},
		{"smtp://[::1]", 587, false, true, false},
		{"smtp://10.0.0.1", 587, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ep, err := Config{URL: tt.url, From: "Store <shop@example.com>"}.parse()
			if err != nil {
				t.Fatal(err)
			}
			if ep.port != tt.port || ep.implicitTLS != tt.implicit || ep.loopback() != tt.loopback || ep.auth != tt.auth {
				t.Errorf("port %d, implicit TLS %v, loopback %v, auth %v; want %d, %v, %v, %v",
					ep.port, ep.implicitTLS, ep.loopback(), ep.auth, tt.port, tt.implicit, tt.loopback, tt.auth)
			}
			if ep.timeout != DefaultTimeout || ep.poolSize != DefaultPoolSize || ep.idleTimeout != DefaultIdleTimeout {
				t.Errorf("timeout %v, pool %d, idle %v: want the defaults", ep.timeout, ep.poolSize, ep.idleTimeout)
			}
			if ep.fromDomain != "example.com" || ep.tlsConfig.ServerName != ep.host {
				t.Errorf("from domain %q, TLS server name %q", ep.fromDomain, ep.tlsConfig.ServerName)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"SMTP_URL": " smtps://mail.example.com ", "SMTP_FROM": "Store <shop@example.com>"}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.URL != "smtps://mail.example.com" || cfg.From != "Store <shop@example.com>" || !cfg.Configured() {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	if (Config{}).Configured() {
		t.Error("the zero Config is configured")
	}
}
