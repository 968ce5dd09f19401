package zones

import (
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		country, region string
		want            string // "" for unknown
	}{
		{"US", "GA", "America/New_York"},
		{"us", "ga", "America/New_York"},
		{"United States", "Georgia", "America/New_York"},
		{"", "CA", "America/Los_Angeles"}, // a US state with no country
		{"US", "AZ", "America/Phoenix"},
		{"US", "TX", ""}, // El Paso is on Mountain time
		{"US", "FL", ""}, // the panhandle is on Central time
		{"US", "", ""},
		{"CA", "AB", "America/Edmonton"},
		{"CA", "ON", ""}, // north-western Ontario is on Central time
		{"DE", "", "Europe/Berlin"},
		{"DE", "Bonn", "Europe/Berlin"},
		{"Germany", "", "Europe/Berlin"},
		{"AU", "QLD", "Australia/Brisbane"},
		{"AU", "", ""},
		{"Spain", "", ""}, // the Canaries are an hour behind
		{"RU", "", ""},
		{"", "", ""},
		{"ZZ", "", ""},
	}
	for _, tt := range tests {
		loc, ok := Lookup(tt.country, tt.region)
		got := ""
		if ok {
			got = loc.String()
		}
		if got != tt.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q", tt.country, tt.region, got, tt.want)
		}
	}
}

func TestPlace(t *testing.T) {
	wall := time.Date(2026, 7, 4, 9, 30, 0, 0, time.UTC)
	at, local, unknown := Place(wall, tracking.Location{City: "Atlanta", Region: "GA", Country: "US"})
	if unknown || !at.Equal(time.Date(2026, 7, 4, 13, 30, 0, 0, time.UTC)) || local.Format(time.RFC3339) != "2026-07-04T09:30:00-04:00" {
		t.Errorf("Atlanta in summer: at %v local %v unknown %v", at, local, unknown)
	}
	// Winter: the same place is five hours behind.
	at, _, _ = Place(time.Date(2026, 1, 4, 9, 30, 0, 0, time.UTC), tracking.Location{Region: "GA", Country: "US"})
	if !at.Equal(time.Date(2026, 1, 4, 14, 30, 0, 0, time.UTC)) {
		t.Errorf("Atlanta in winter: at %v", at)
	}
	at, local, unknown = Place(wall, tracking.Location{City: "Dallas", Region: "TX", Country: "US"})
	if !unknown || !at.Equal(wall) || !local.Equal(wall) {
		t.Errorf("Dallas: at %v local %v unknown %v; want the wall time as UTC, unknown", at, local, unknown)
	}
}

func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Lookup("US", "GA"); !ok {
			b.Fatal("no zone")
		}
	}
}
