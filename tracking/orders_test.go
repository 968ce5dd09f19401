package tracking

import (
	"errors"
	"testing"
)

func TestOrderInput_NotifyDefaultsAndTimeZone(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name   string
		notify *NotifyInput
		want   NotifyPrefs
	}{
		{"absent: email on, SMS off", nil, NotifyPrefs{Email: true}},
		{"SMS given", &NotifyInput{SMS: &yes}, NotifyPrefs{Email: true, SMS: true}},
		{"both given", &NotifyInput{Email: &no, SMS: &yes}, NotifyPrefs{SMS: true}},
	}
	for _, tt := range tests {
		if got := tt.notify.Prefs(); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	for _, z := range []string{"Europe/Berlin", "America/New_York", ""} {
		in := OrderInput{Number: "1", Customer: Customer{TimeZone: z}}
		if err := in.Validate(); err != nil {
			t.Errorf("time zone %q: %v", z, err)
		}
	}
	for _, z := range []string{"Mars/Olympus", "Local", "../../etc/passwd"} {
		in := OrderInput{Number: "1", Customer: Customer{TimeZone: z}}
		var fe *FieldError
		if err := in.Validate(); !errors.As(err, &fe) || fe.Field != "customer.time_zone" {
			t.Errorf("time zone %q: %v, want a customer.time_zone error", z, err)
		}
	}
}
