package deliverylog

import (
	"testing"

	"github.com/trackd/trackd/notify"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		ch       notify.Channel
		in, want string
	}{
		{notify.Email, "jane@example.com", "j***@example.com"},
		{notify.Email, "  Jane.Doe@Example.COM ", "j***@example.com"},
		{notify.Email, "élodie@exemple.fr", "é***@exemple.fr"},
		{notify.Email, `"a@b"@example.com`, `"***@example.com`},
		{notify.Email, "j@x.io", "j***@x.io"},
		{notify.Email, "no-at-sign", "***"},
		{notify.Email, "@example.com", "***"},
		{notify.Email, "jane@", "***"},
		{notify.Email, "", ""},
		{notify.SMS, "+15551234567", "+1******4567"},
		{notify.SMS, "+1 (555) 123-4567", "+1******4567"},
		{notify.SMS, "+447700900123", "+4*******0123"},
		{notify.SMS, "+49301234", "+4***1234"},
		{notify.SMS, "+4930123", "+*****23"},
		{notify.SMS, "+12345", "+***45"},
		{notify.SMS, "+123", "***"},
		{notify.SMS, "+1555abc4567", "***"},
		{"fax", "+15551234567", "***"},
	} {
		if got := Mask(tc.ch, tc.in); got != tc.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", tc.ch, tc.in, got, tc.want)
		}
	}
}
