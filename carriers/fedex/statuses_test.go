package fedex

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documentedCodes reads the codes of FedEx's "Tracking Status Codes" table
// (testdata/Tracking-Status-Codes.html): the two-letter cells of its code
// columns. Section headings (Movement, Regulatory, Possession) are longer
// and left out.
func documentedCodes(t *testing.T) []string {
	t.Helper()
	page := string(readTestdata(t, "Tracking-Status-Codes.html"))
	rows := regexp.MustCompile(`(?s)<tr>(.*?)</tr>`).FindAllStringSubmatch(page, -1)
	cell := regexp.MustCompile(`(?s)<td>(.*?)</td>`)
	code := regexp.MustCompile(`^[A-Za-z]{2}$`)
	var codes []string
	for _, row := range rows {
		cells := cell.FindAllStringSubmatch(row[1], -1)
		for i := 0; i < len(cells); i += 2 {
			c := strings.TrimSpace(cells[i][1])
			if code.MatchString(c) {
				codes = append(codes, strings.ToUpper(c))
			}
		}
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// TestStatusOf_EveryDocumentedCode maps every code of FedEx's table; a code
// FedEx adds to the page, or one this table forgets, fails it.
func TestStatusOf_EveryDocumentedCode(t *testing.T) {
	want := map[string]tracking.Status{
		// Movement.
		"AA": tracking.StatusInTransit, "AC": tracking.StatusInTransit, "AD": tracking.StatusOutForDelivery,
		"AF": tracking.StatusInTransit, "AO": tracking.StatusInTransit, "AP": tracking.StatusInfoReceived,
		"AR": tracking.StatusInTransit, "AX": tracking.StatusInTransit, "CA": tracking.StatusException,
		"CH": tracking.StatusInTransit, "DD": tracking.StatusException, "DE": tracking.StatusException,
		"DL": tracking.StatusDelivered, "DP": tracking.StatusInTransit, "DR": tracking.StatusInfoReceived,
		"DS": tracking.StatusInfoReceived, "DY": tracking.StatusException, "EA": tracking.StatusInTransit,
		"ED": tracking.StatusInTransit, "EO": tracking.StatusInTransit, "EP": tracking.StatusInfoReceived,
		"FD": tracking.StatusInTransit, "HL": tracking.StatusAvailableForPickup, "HP": tracking.StatusAvailableForPickup,
		"IT": tracking.StatusInTransit, "IX": tracking.StatusInTransit, "LO": tracking.StatusInTransit,
		"OC": tracking.StatusInfoReceived, "OD": tracking.StatusOutForDelivery, "OF": tracking.StatusInTransit,
		"OW": tracking.StatusInTransit, "OX": tracking.StatusInTransit, "PD": tracking.StatusException,
		"PF": tracking.StatusInTransit, "PL": tracking.StatusInTransit, "PM": tracking.StatusInTransit,
		"PU": tracking.StatusInTransit, "PX": tracking.StatusInTransit, "RR": tracking.StatusInTransit,
		"RM": tracking.StatusInTransit, "RC": tracking.StatusInTransit, "RS": tracking.StatusReturning,
		"RP": tracking.StatusInfoReceived, "LP": tracking.StatusException, "RG": tracking.StatusInfoReceived,
		"RD": tracking.StatusExpired, "SE": tracking.StatusException, "SF": tracking.StatusInTransit,
		"SP": tracking.StatusInTransit, "TR": tracking.StatusInTransit,
		// Regulatory.
		"CC": tracking.StatusInTransit, "CD": tracking.StatusException, "CP": tracking.StatusInTransit,
		// Possession.
		"SH": tracking.StatusInfoReceived, "CU": tracking.StatusInTransit, "BR": tracking.StatusInTransit,
		"TP": tracking.StatusInTransit,
	}
	codes := documentedCodes(t)
	if len(codes) < 55 {
		t.Fatalf("read %d codes from the table, want at least 55: %v", len(codes), codes)
	}
	for _, c := range codes {
		w, ok := want[c]
		if !ok {
			t.Errorf("documented code %s has no expected status in this test", c)
			continue
		}
		if got := StatusOf(c, "", "", ""); got != w {
			t.Errorf("StatusOf(%s) = %s, want %s", c, got, w)
		}
		if _, ok := scanStatuses[c]; !ok {
			t.Errorf("documented code %s is not in scanStatuses (it maps by fallback only)", c)
		}
	}
	for c := range want {
		if !slices.Contains(codes, c) {
			t.Errorf("code %s is not in FedEx's table", c)
		}
	}
	for c := range scanStatuses {
		if !slices.Contains(codes, c) {
			t.Errorf("scanStatuses maps %s, which FedEx's table does not document", c)
		}
	}
}

func TestStatusOf_TablesHoldValidStatuses(t *testing.T) {
	for _, m := range []map[string]tracking.Status{scanStatuses, derivedStatuses, deliveryExceptionReasons} {
		for c, s := range m {
			if !s.Valid() || c != normCode(c) {
				t.Errorf("%q maps to %q", c, s)
			}
		}
	}
	for _, p := range deliveryExceptionPhrases {
		if !p.status.Valid() || p.phrase != strings.ToLower(p.phrase) {
			t.Errorf("phrase %q maps to %q", p.phrase, p.status)
		}
	}
	if !fallbackStatus.Valid() {
		t.Errorf("fallbackStatus %q", fallbackStatus)
	}
}

func TestStatusOf_DerivedCodes(t *testing.T) {
	tests := []struct {
		eventType, derived string
		want               tracking.Status
	}{
		// The eventType decides when it is known, whatever the derived
		// code says (as FedEx sends them).
		{"OD", "IT", tracking.StatusOutForDelivery},
		{"HP", "IT", tracking.StatusAvailableForPickup},
		{"AF", "IT", tracking.StatusInTransit},
		{"OC", "IN", tracking.StatusInfoReceived},
		{"DY", "DY", tracking.StatusException},
		{"FD", "RL", tracking.StatusInTransit},
		// An eventType the table does not know: the derived code decides.
		{"AE", "IT", tracking.StatusInTransit}, // "Shipment arriving early", in a recorded answer
		{"ZZ", "IN", tracking.StatusInfoReceived},
		{"ZZ", "RL", tracking.StatusInTransit},
		{"ZZ", "DL", tracking.StatusDelivered},
		{"ZZ", "OD", tracking.StatusOutForDelivery},
		{"ZZ", "HL", tracking.StatusAvailableForPickup},
		{"ZZ", "RS", tracking.StatusReturning},
		{"ZZ", "CA", tracking.StatusException},
		{"", "PU", tracking.StatusInTransit},
		{"", "IN", tracking.StatusInfoReceived},
		// Neither known, or neither given: in transit.
		{"ZZ", "YY", tracking.StatusInTransit},
		{"", "", tracking.StatusInTransit},
		// Case and spaces do not matter ("Ow" is how the table writes it).
		{"Ow", "", tracking.StatusInTransit},
		{" dl ", "", tracking.StatusDelivered},
		{"zz", " in ", tracking.StatusInfoReceived},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.eventType, tt.derived, "", ""); got != tt.want {
			t.Errorf("StatusOf(%q, %q) = %s, want %s", tt.eventType, tt.derived, got, tt.want)
		}
	}
}

func TestStatusOf_DeliveryExceptionReasons(t *testing.T) {
	tests := []struct {
		eventType, derived, code, description string
		want                                  tracking.Status
	}{
		// The reasons of recorded and documented answers.
		{"DE", "DE", "08", "Customer not available or business closed", tracking.StatusFailedAttempt},
		{"DE", "DE", "15", "Customer not available or business closed", tracking.StatusFailedAttempt},
		{"DE", "DE", "A47", "FedEx redirected your package to a nearby FedEx location", tracking.StatusFailedAttempt},
		{"DE", "DE", " a47 ", "", tracking.StatusFailedAttempt},
		// A known code decides over the text.
		{"DE", "DE", "08", "Incorrect address", tracking.StatusFailedAttempt},
		// Unknown codes: the description decides.
		{"DE", "DE", "99", "Recipient not available", tracking.StatusFailedAttempt},
		{"DE", "", "", "Business closed - delivery attempted", tracking.StatusFailedAttempt},
		{"DE", "", "", "No one available to sign", tracking.StatusFailedAttempt},
		{"DE", "", "", "Local delivery restriction, delivery not attempted", tracking.StatusException},
		{"DE", "", "", "Incorrect address", tracking.StatusException},
		{"DE", "", "", "Refused by recipient", tracking.StatusException},
		{"DE", "", "", "Package damaged", tracking.StatusException},
		{"DE", "", "", "", tracking.StatusException},
		// A DE reached through the derived code is read the same way.
		{"ZZ", "DE", "08", "", tracking.StatusFailedAttempt},
		{"ZZ", "de", "", "Incorrect address", tracking.StatusException},
		// Other codes ignore the exception fields.
		{"SE", "SE", "08", "Customer not available or business closed", tracking.StatusException},
		{"HP", "IT", "", "Package available for pickup at: 2420 N BLACKSTONE AVE", tracking.StatusAvailableForPickup},
		{"DY", "DY", "A52", "Package delayed", tracking.StatusException},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.eventType, tt.derived, tt.code, tt.description); got != tt.want {
			t.Errorf("StatusOf(%q, %q, %q, %q) = %s, want %s", tt.eventType, tt.derived, tt.code, tt.description, got, tt.want)
		}
	}
}
