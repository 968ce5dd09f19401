package settings

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking/redistest"
)

var envDefaults = Settings{
	Brand:      Brand{Name: "trackd", Color: "#1f4e79", AccentColor: "#2e7d32", SupportEmail: "help@example.com"},
	QuietHours: QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour},
	Collapse:   5 * time.Minute,
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return New(redistest.Start(t).Client(t), Config{Prefix: redistest.Prefix(t), Defaults: envDefaults})
}

func TestStore_GetIsTheDefaultsUntilSet(t *testing.T) {
	s := newStore(t)
	got, err := s.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != envDefaults {
		t.Errorf("Get = %+v, want the defaults %+v", got, envDefaults)
	}
}

func TestStore_SetOverridesTheDefaults(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b, err := s.SetBrand(ctx, Brand{Name: " Northwind ", LogoURL: "https://cdn.example.com/logo.svg", Color: "#AABBCC", AccentColor: "#112233"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "Northwind" || b.Color != "#aabbcc" {
		t.Errorf("SetBrand tidied to %+v, want the name trimmed and the colour lower-case", b)
	}
	if err := s.SetNotifications(ctx, QuietHours{Off: true}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Settings{Brand: b, QuietHours: QuietHours{Off: true}, Collapse: 0}
	if got != want {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if start, end := s.QuietHours(ctx); start != end {
		t.Errorf("QuietHours = %s, %s; want equal (none)", start, end)
	}
	if info := s.StoreInfo(ctx, "https://track.example.com"); info.Name != "Northwind" || info.SupportEmail != "" || info.URL != "https://track.example.com" {
		t.Errorf("StoreInfo = %+v", info)
	}
}

func TestStore_SetRefusesWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	cases := []struct {
		name  string
		brand Brand
		field string
	}{
		{"no name", Brand{Name: " ", Color: "#000000", AccentColor: "#000000"}, "name"},
		{"two-line name", Brand{Name: "a\nb", Color: "#000000", AccentColor: "#000000"}, "name"},
		{"short colour", Brand{Name: "n", Color: "#fff", AccentColor: "#000000"}, "color"},
		{"named colour", Brand{Name: "n", Color: "#000000", AccentColor: "red"}, "accent_color"},
		{"javascript logo", Brand{Name: "n", LogoURL: "javascript:alert(1)", Color: "#000000", AccentColor: "#000000"}, "logo_url"},
		{"http logo", Brand{Name: "n", LogoURL: "http://example.com/l.png", Color: "#000000", AccentColor: "#000000"}, "logo_url"},
		{"protocol-relative logo", Brand{Name: "n", LogoURL: "//evil.example/l.png", Color: "#000000", AccentColor: "#000000"}, "logo_url"},
		{"support with a name", Brand{Name: "n", Color: "#000000", AccentColor: "#000000", SupportEmail: "Help <help@example.com>"}, "support_email"},
		{"support not an address", Brand{Name: "n", Color: "#000000", AccentColor: "#000000", SupportEmail: "help"}, "support_email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SetBrand(ctx, tc.brand)
			var errs Errors
			if !errors.As(err, &errs) || errs.Message(tc.field) == "" {
				t.Fatalf("SetBrand(%+v) = %v, want an error on %s", tc.brand, err, tc.field)
			}
		})
	}
	for _, ok := range []string{"", "/static/logo.svg", "https://cdn.example.com/l.png?v=2"} {
		if _, err := s.SetBrand(ctx, Brand{Name: "n", LogoURL: ok, Color: "#000000", AccentColor: "#ffffff"}); err != nil {
			t.Errorf("logo %q refused: %v", ok, err)
		}
	}
	err := s.SetNotifications(ctx, QuietHours{Start: time.Hour, End: time.Hour}, 25*time.Hour)
	var errs Errors
	if !errors.As(err, &errs) || errs.Message("quiet_hours") == "" || errs.Message("collapse") == "" {
		t.Errorf("SetNotifications with equal hours and 25h = %v, want both refused", err)
	}
	got, _ := s.Get(ctx)
	if got.QuietHours != envDefaults.QuietHours || got.Collapse != envDefaults.Collapse {
		t.Errorf("a refused change was stored: %+v", got)
	}
}

func TestParseQuietHours(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want QuietHours
		ok   bool
	}{
		{"21:00-08:00", QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}, true},
		{" 22:30 – 07:15 ", QuietHours{Start: 22*time.Hour + 30*time.Minute, End: 7*time.Hour + 15*time.Minute}, true},
		{"OFF", QuietHours{Off: true}, true},
		{"21-8", QuietHours{}, false},
		{"25:00-08:00", QuietHours{}, false},
		{"08:00-08:00", QuietHours{}, false},
		{"", QuietHours{}, false},
	} {
		got, err := ParseQuietHours(tc.in)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("ParseQuietHours(%q) = %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && !got.Off {
			if back, _ := ParseQuietHours(got.String()); back != got {
				t.Errorf("%q does not read back: %+v", got.String(), back)
			}
		}
	}
}

func TestParseCollapse(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "0": 0, " 90s ": 90 * time.Second} {
		if got, err := ParseCollapse(in); err != nil || got != want {
			t.Errorf("ParseCollapse(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"5", "-1m", "48h", "soon"} {
		if _, err := ParseCollapse(bad); err == nil {
			t.Errorf("ParseCollapse(%q) accepted", bad)
		}
	}
}

// TestStore_CurrentIsCachedForMaxAge: the hot path reads Redis once per
// MaxAge; a change made on this node shows at once, one made on another
// node once the cache is older than MaxAge.
func TestStore_CurrentIsCachedForMaxAge(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	prefix := redistest.Prefix(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	here := New(srv.Client(t), Config{Prefix: prefix, Defaults: envDefaults, MaxAge: 5 * time.Second})
	here.now = clock
	there := New(srv.Client(t), Config{Prefix: prefix, Defaults: envDefaults})

	if got := here.Brand(ctx).Name; got != "trackd" {
		t.Fatalf("Brand = %q, want the default", got)
	}
	if _, err := there.SetBrand(ctx, Brand{Name: "Elsewhere", Color: "#000000", AccentColor: "#000000"}); err != nil {
		t.Fatal(err)
	}
	if got := here.Brand(ctx).Name; got != "trackd" {
		t.Errorf("within MaxAge Brand = %q, want the cached default", got)
	}
	advance(5 * time.Second)
	if got := here.Brand(ctx).Name; got != "Elsewhere" {
		t.Errorf("after MaxAge Brand = %q, want the other node's change", got)
	}
	if err := here.SetNotifications(ctx, QuietHours{Start: 22 * time.Hour, End: 7 * time.Hour}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := here.Collapse(ctx); got != time.Minute {
		t.Errorf("Collapse right after this node's change = %s, want 1m", got)
	}
	if start, end := here.QuietHours(ctx); start != 22*time.Hour || end != 7*time.Hour {
		t.Errorf("QuietHours = %s-%s, want 22h-7h", start, end)
	}
}

// TestStore_CurrentKeepsTheLastWhenRedisIsAway: a page must not fail for
// its brand.
func TestStore_CurrentKeepsTheLastWhenRedisIsAway(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := New(srv.Client(t), Config{Prefix: redistest.Prefix(t), Defaults: envDefaults, MaxAge: time.Nanosecond})
	if _, err := s.SetBrand(ctx, Brand{Name: "Kept", Color: "#000000", AccentColor: "#000000"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Brand(ctx).Name; got != "Kept" {
		t.Fatalf("Brand = %q", got)
	}
	srv.Stop()
	if got := s.Brand(ctx).Name; got != "Kept" {
		t.Errorf("with Redis away Brand = %q, want the last read", got)
	}
}
