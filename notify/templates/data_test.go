package templates

import (
	"fmt"
	"testing"
	"time"
)

func TestDateText(t *testing.T) {
	tests := []struct{ locale, date, want string }{
		{"en", "2026-11-27", "Friday, 27 November"},
		{"es", "2026-11-25", "miércoles, 25 de noviembre"},
		{"fr", "2026-08-01", "samedi 1 août"},
		{"de", "2026-03-02", "Montag, 2. März"},
		{"es-MX", "2026-11-27", "viernes, 27 de noviembre"},
		{"pt-BR", "2026-11-27", "Friday, 27 November"},
		{"en", "2026-11-27T23:30:00-08:00", "Friday, 27 November"}, // the instant's own date
		{"en", "soon", ""},
	}
	for _, tt := range tests {
		if got := DateText(tt.locale, tt.date); got != tt.want {
			t.Errorf("DateText(%q, %q) = %q, want %q", tt.locale, tt.date, got, tt.want)
		}
	}
}

func TestStatusText(t *testing.T) {
	tests := []struct{ locale, status, want string }{
		{"en", "out_for_delivery", "Out for delivery"},
		{"es", "out_for_delivery", "En reparto"},
		{"de-AT", "delivered", "Zugestellt"},
		{"fr", "made_up_status", "made up status"},
	}
	for _, tt := range tests {
		if got := StatusText(tt.locale, tt.status); got != tt.want {
			t.Errorf("StatusText(%q, %q) = %q, want %q", tt.locale, tt.status, got, tt.want)
		}
	}
}

func TestLocalized_FillsOnlyWhatIsMissing(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 4, 0, 0, time.FixedZone("EST", -5*3600))
	d := Data{Shipment: Shipment{Status: "in_transit", EstimatedDelivery: "2026-11-27", LatestEvent: Event{At: at}}}.Localized("fr")
	got := []string{d.Shipment.StatusText, d.Shipment.EstimatedDeliveryText, d.Shipment.LatestEvent.Time}
	if want := []string{"En transit", "vendredi 27 novembre", "25 nov. 2026, 10:04"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("localized %q, want %q", got, want)
	}
	d = Data{Shipment: Shipment{Status: "in_transit", StatusText: "Unterwegs!"}}.Localized("de")
	if d.Shipment.StatusText != "Unterwegs!" {
		t.Errorf("status text %q was replaced", d.Shipment.StatusText)
	}
}

func TestLocaleChain(t *testing.T) {
	tests := []struct{ locale, want string }{
		{"es", "[es en]"},
		{"es-MX", "[es-MX es en]"},
		{"fr_CA", "[fr_CA fr en]"},
		{"EN", "[EN en]"},
		{"", "[en]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(localeChain(tt.locale)); got != tt.want {
			t.Errorf("localeChain(%q) = %s, want %s", tt.locale, got, tt.want)
		}
	}
}
