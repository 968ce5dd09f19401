package templates

import (
	"testing"
	"time"
)

func TestFormatEventTime_Languages(t *testing.T) {
	est := time.FixedZone("", -5*3600)
	tests := []struct {
		name string
		lang Lang
		at   time.Time
		want string
	}{
		{"en morning", English, time.Date(2026, 11, 25, 10, 0, 0, 0, est), "Nov 25, 2026, 10:00 AM (UTC−05:00)"},
		{"en afternoon", English, time.Date(2026, 11, 25, 15, 7, 0, 0, est), "Nov 25, 2026, 3:07 PM (UTC−05:00)"},
		{"en midnight", English, time.Date(2026, 1, 2, 0, 5, 0, 0, time.UTC), "Jan 2, 2026, 12:05 AM (UTC+00:00)"},
		{"en noon", English, time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), "Jan 2, 2026, 12:00 PM (UTC+00:00)"},
		{"de", German, time.Date(2026, 11, 25, 10, 0, 0, 0, est), "25. Nov. 2026, 10:00 (UTC−05:00)"},
		{"de march", German, time.Date(2026, 3, 5, 18, 30, 0, 0, time.FixedZone("", 3600)), "5. März 2026, 18:30 (UTC+01:00)"},
		{"es", Spanish, time.Date(2026, 11, 25, 10, 0, 0, 0, est), "25 nov 2026, 10:00 (UTC−05:00)"},
		{"es september", Spanish, time.Date(2026, 9, 1, 8, 0, 0, 0, est), "1 sept 2026, 08:00 (UTC−05:00)"},
		{"fr", French, time.Date(2026, 11, 25, 10, 0, 0, 0, est), "25 nov. 2026, 10:00 (UTC−05:00)"},
		{"fr february", French, time.Date(2026, 2, 14, 23, 59, 0, 0, est), "14 févr. 2026, 23:59 (UTC−05:00)"},
		{"half-hour offset", English, time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("", 5*3600+1800)), "Nov 25, 2026, 10:00 AM (UTC+05:30)"},
		{"unknown language is English", Lang("ja"), time.Date(2026, 11, 25, 10, 0, 0, 0, est), "Nov 25, 2026, 10:00 AM (UTC−05:00)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatEventTime(tt.lang, tt.at); got != tt.want {
				t.Errorf("FormatEventTime = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFormatDate_EveryMonth(t *testing.T) {
	for _, l := range langs {
		seen := map[string]bool{}
		for m := time.January; m <= time.December; m++ {
			s := FormatDate(l, time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC))
			if seen[s] {
				t.Errorf("%s: %q twice", l, s)
			}
			seen[s] = true
		}
	}
}

func TestFormatRelative_Languages(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 12, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want map[Lang]string
	}{
		{-time.Minute, map[Lang]string{English: "just now", German: "gerade eben", Spanish: "ahora mismo", French: "à l’instant"}},
		{30 * time.Second, map[Lang]string{English: "just now", German: "gerade eben"}},
		{time.Minute, map[Lang]string{English: "1 minute ago", German: "vor 1 Minute", Spanish: "hace 1 minuto", French: "il y a 1 minute"}},
		{12*time.Minute + 59*time.Second, map[Lang]string{English: "12 minutes ago", German: "vor 12 Minuten", Spanish: "hace 12 minutos", French: "il y a 12 minutes"}},
		{time.Hour, map[Lang]string{English: "1 hour ago", German: "vor 1 Stunde", Spanish: "hace 1 hora", French: "il y a 1 heure"}},
		{5 * time.Hour, map[Lang]string{English: "5 hours ago", German: "vor 5 Stunden", Spanish: "hace 5 horas", French: "il y a 5 heures"}},
		{24 * time.Hour, map[Lang]string{English: "1 day ago", German: "vor 1 Tag", Spanish: "hace 1 día", French: "il y a 1 jour"}},
		{3 * 24 * time.Hour, map[Lang]string{English: "3 days ago", German: "vor 3 Tagen", Spanish: "hace 3 días", French: "il y a 3 jours"}},
		{1500 * 24 * time.Hour, map[Lang]string{English: "1,500 days ago", German: "vor 1.500 Tagen"}},
	}
	for _, tt := range tests {
		for l, want := range tt.want {
			t.Run(string(l)+"/"+tt.ago.String(), func(t *testing.T) {
				if got := FormatRelative(l, now.Add(-tt.ago), now); got != want {
					t.Errorf("FormatRelative = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestFormatNumber_Languages(t *testing.T) {
	tests := []struct {
		lang Lang
		n    int
		want string
	}{
		{English, 3, "3"},
		{English, 1200, "1,200"},
		{German, 1200, "1.200"},
		{Spanish, 12000, "12.000"},
		{French, 1200, "1\u00a0200"},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			if got := FormatNumber(tt.lang, tt.n); got != tt.want {
				t.Errorf("FormatNumber(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestParseETA_Forms(t *testing.T) {
	tests := []struct {
		in   string
		want string // date, or "" when not an estimate
	}{
		{"2026-11-27", "2026-11-27"},
		{"2026-11-27T23:30:00-08:00", "2026-11-27"}, // the date where it was promised, not in UTC
		{"2026-11-27T01:00:00+09:00", "2026-11-27"},
		{"", ""},
		{"soon", ""},
		{"2026-13-01", ""},
		{"2026-11-27Tgarbage", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, ok := ParseETA(tt.in)
			got := ""
			if ok {
				got = d.Format(time.DateOnly)
			}
			if got != tt.want {
				t.Errorf("ParseETA(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := FormatETA(German, "2026-11-27T23:30:00-08:00"); got != "27. Nov. 2026" {
		t.Errorf("FormatETA = %q", got)
	}
}
