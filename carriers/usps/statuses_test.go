package usps

import (
	"testing"

	"github.com/trackd/trackd/tracking"
)

// wantCodes is every USPS event code trackd maps, with the status chosen
// for it, written out apart from the table so that a changed mapping is a
// decision a test sees.
var wantCodes = map[string]tracking.Status{
	"GX": tracking.StatusInfoReceived, "MA": tracking.StatusInfoReceived,

	"03": tracking.StatusInTransit, "OA": tracking.StatusInTransit, "TM": tracking.StatusInTransit,
	"PA": tracking.StatusInTransit, "10": tracking.StatusInTransit, "A1": tracking.StatusInTransit,
	"U1": tracking.StatusInTransit, "T1": tracking.StatusInTransit, "L1": tracking.StatusInTransit,
	"TL": tracking.StatusInTransit, "NT": tracking.StatusInTransit, "EF": tracking.StatusInTransit,
	"SF": tracking.StatusInTransit, "PC": tracking.StatusInTransit, "07": tracking.StatusInTransit,
	"19": tracking.StatusInTransit, "41": tracking.StatusInTransit, "42": tracking.StatusInTransit,
	"80": tracking.StatusInTransit, "81": tracking.StatusInTransit, "82": tracking.StatusInTransit,
	"06": tracking.StatusInTransit, "08": tracking.StatusInTransit, "15": tracking.StatusInTransit,
	"71": tracking.StatusInTransit,

	"OF": tracking.StatusOutForDelivery,

	"02": tracking.StatusFailedAttempt, "30": tracking.StatusFailedAttempt, "51": tracking.StatusFailedAttempt,
	"53": tracking.StatusFailedAttempt, "54": tracking.StatusFailedAttempt, "55": tracking.StatusFailedAttempt,
	"56": tracking.StatusFailedAttempt,

	"14": tracking.StatusAvailableForPickup, "16": tracking.StatusAvailableForPickup, "52": tracking.StatusAvailableForPickup,

	"01": tracking.StatusDelivered, "17": tracking.StatusDelivered, "43": tracking.StatusDelivered,

	"04": tracking.StatusException, "05": tracking.StatusException, "11": tracking.StatusException,
	"DX": tracking.StatusException,

	"09": tracking.StatusReturning, "21": tracking.StatusReturning, "22": tracking.StatusReturning,
	"23": tracking.StatusReturning, "24": tracking.StatusReturning, "25": tracking.StatusReturning,
	"26": tracking.StatusReturning, "27": tracking.StatusReturning, "28": tracking.StatusReturning,
	"29": tracking.StatusReturning, "31": tracking.StatusReturning, "44": tracking.StatusReturning,
}

func TestMapStatus_EveryEventCode(t *testing.T) {
	for code, want := range wantCodes {
		// The text is one that would map elsewhere: the code must win.
		got, known := mapStatus(code, "Alert")
		if got != want || !known {
			t.Errorf("mapStatus(%q) = %q, %v; want %q", code, got, known, want)
		}
		if got, _ := mapStatus(" "+code+" ", ""); got != want {
			t.Errorf("mapStatus(%q with spaces) = %q, want %q", code, got, want)
		}
	}
	for code := range eventCodes {
		if _, ok := wantCodes[code]; !ok {
			t.Errorf("eventCodes has %q, which this test does not check", code)
		}
	}
	if len(eventCodes) != len(wantCodes) {
		t.Errorf("eventCodes has %d codes, the test %d", len(eventCodes), len(wantCodes))
	}
}

func TestMapStatus_FixtureCodesAreKnown(t *testing.T) {
	// The codes of the published answer must all be in the table, not
	// found by their text.
	for _, code := range []string{"01", "OF", "07", "A1", "TL", "T1", "10", "SF", "03", "GX"} {
		if _, ok := eventCodes[code]; !ok {
			t.Errorf("fixture code %q is not in eventCodes", code)
		}
	}
}

func TestMapStatus_CodeCaseAndPadding(t *testing.T) {
	tests := []struct {
		code string
		want tracking.Status
	}{
		{"of", tracking.StatusOutForDelivery},
		{"gx", tracking.StatusInfoReceived},
		{"1", tracking.StatusDelivered},
		{"7", tracking.StatusInTransit},
		{"2", tracking.StatusFailedAttempt},
	}
	for _, tt := range tests {
		if got, known := mapStatus(tt.code, ""); got != tt.want || !known {
			t.Errorf("mapStatus(%q) = %q, %v; want %q", tt.code, got, known, tt.want)
		}
	}
}

func TestMapStatus_TextFallback(t *testing.T) {
	// An unknown code falls back to the text: USPS's status categories and
	// the event types it writes.
	tests := map[string]tracking.Status{
		"Pre-Shipment": tracking.StatusInfoReceived,
		"Shipping Label Created, USPS Awaiting Item":  tracking.StatusInfoReceived,
		"Label Created, not yet in system":            tracking.StatusInfoReceived,
		"USPS Awaiting Item":                          tracking.StatusInfoReceived,
		"Accepted":                                    tracking.StatusInTransit,
		"Accepted at USPS Origin Facility":            tracking.StatusInTransit,
		"In Transit":                                  tracking.StatusInTransit,
		"In-Transit":                                  tracking.StatusInTransit,
		"Moving Through Network":                      tracking.StatusInTransit,
		"USPS in possession of item":                  tracking.StatusInTransit,
		"Arrived at USPS Facility":                    tracking.StatusInTransit,
		"Departed USPS Facility":                      tracking.StatusInTransit,
		"Processed through Facility":                  tracking.StatusInTransit,
		"Out for Delivery":                            tracking.StatusOutForDelivery,
		"out for delivery":                            tracking.StatusOutForDelivery,
		"Delivered":                                   tracking.StatusDelivered,
		"Delivered, Parcel Locker":                    tracking.StatusDelivered,
		"Delivered, In/At Mailbox":                    tracking.StatusDelivered,
		"Available for Pickup":                        tracking.StatusAvailableForPickup,
		"Delivery Attempt":                            tracking.StatusFailedAttempt,
		"Delivery Attempt: Action Needed":             tracking.StatusFailedAttempt,
		"Notice Left (No Authorized Recipient)":       tracking.StatusFailedAttempt,
		"Return to Sender":                            tracking.StatusReturning,
		"Returned to Sender":                          tracking.StatusReturning,
		"Alert":                                       tracking.StatusException,
		"Refused":                                     tracking.StatusException,
		"Undeliverable as Addressed":                  tracking.StatusException,
		"  Delivered  ":                               tracking.StatusDelivered,
		"Delivery Attempt, Notice Left (Blocked)":     tracking.StatusFailedAttempt,
		"Arrived at Post Office":                      tracking.StatusInTransit,
		"In Transit to Next Facility":                 tracking.StatusInTransit,
		"Departed Shipping Partner Facility, USPS...": tracking.StatusInTransit,
	}
	for text, want := range tests {
		got, known := mapStatus("ZZ", text)
		if got != want || !known {
			t.Errorf("mapStatus(unknown code, %q) = %q, %v; want %q", text, got, known, want)
		}
	}
	for _, s := range statusTexts {
		if st, ok := textStatus(s.prefix); !ok || st != s.status {
			t.Errorf("textStatus(%q) = %q, %v; want %q (shadowed by an earlier prefix?)", s.prefix, st, ok, s.status)
		}
	}
}

func TestMapStatus_UnknownFallsBack(t *testing.T) {
	for _, tt := range [][2]string{{"ZZ", ""}, {"", ""}, {"Q9", "Something USPS never said"}, {"", "   "}} {
		got, known := mapStatus(tt[0], tt[1])
		if got != fallbackStatus || known {
			t.Errorf("mapStatus(%q, %q) = %q, %v; want the fallback %q, unknown", tt[0], tt[1], got, known, fallbackStatus)
		}
	}
	if !fallbackStatus.Valid() {
		t.Errorf("fallbackStatus %q is not a trackd status", fallbackStatus)
	}
}

func TestEventCodes_StatusesAreValid(t *testing.T) {
	for code, st := range eventCodes {
		if !st.Valid() {
			t.Errorf("eventCodes[%q] = %q is not a trackd status", code, st)
		}
	}
	for _, s := range statusTexts {
		if !s.status.Valid() {
			t.Errorf("statusTexts %q = %q is not a trackd status", s.prefix, s.status)
		}
	}
}
