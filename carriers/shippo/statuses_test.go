package shippo

import (
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documented is Shippo's Event definitions table, status by status, with
// what trackd makes of each. It is written out here, apart from the tables
// in statuses.go, so that dropping or moving a code there fails a test.
var documented = []struct {
	status, code string
	want         tracking.Status
}{
	{"PRE_TRANSIT", "", tracking.StatusInfoReceived},
	{"PRE_TRANSIT", "information_received", tracking.StatusInfoReceived},

	{"TRANSIT", "", tracking.StatusInTransit},
	{"TRANSIT", "address_issue", tracking.StatusException},
	{"TRANSIT", "contact_carrier", tracking.StatusException},
	{"TRANSIT", "delayed", tracking.StatusInTransit},
	{"TRANSIT", "delivery_attempted", tracking.StatusFailedAttempt},
	{"TRANSIT", "delivery_rescheduled", tracking.StatusInTransit},
	{"TRANSIT", "delivery_scheduled", tracking.StatusInTransit},
	{"TRANSIT", "location_inaccessible", tracking.StatusFailedAttempt},
	{"TRANSIT", "notice_left", tracking.StatusFailedAttempt},
	{"TRANSIT", "out_for_delivery", tracking.StatusOutForDelivery},
	{"TRANSIT", "package_accepted", tracking.StatusInTransit},
	{"TRANSIT", "package_arrived", tracking.StatusInTransit},
	{"TRANSIT", "package_damaged", tracking.StatusException},
	{"TRANSIT", "package_departed", tracking.StatusInTransit},
	{"TRANSIT", "package_forwarded", tracking.StatusInTransit},
	{"TRANSIT", "package_held", tracking.StatusException},
	{"TRANSIT", "package_processed", tracking.StatusInTransit},
	{"TRANSIT", "package_processing", tracking.StatusInTransit},
	{"TRANSIT", "pickup_available", tracking.StatusAvailableForPickup},
	{"TRANSIT", "reschedule_delivery", tracking.StatusFailedAttempt},

	{"DELIVERED", "", tracking.StatusDelivered},
	{"DELIVERED", "delivered", tracking.StatusDelivered},

	{"RETURNED", "", tracking.StatusReturning},
	{"RETURNED", "return_to_sender", tracking.StatusReturning},
	{"RETURNED", "package_unclaimed", tracking.StatusReturning},

	{"FAILURE", "", tracking.StatusException},
	{"FAILURE", "package_undeliverable", tracking.StatusException},
	{"FAILURE", "package_disposed", tracking.StatusException},
	{"FAILURE", "package_lost", tracking.StatusException},

	{"UNKNOWN", "", tracking.StatusPending},
	{"UNKNOWN", "other", tracking.StatusPending},
}

func TestMapStatus_EveryDocumentedCode(t *testing.T) {
	for _, tc := range documented {
		t.Run(carrierStatus(tc.status, tc.code), func(t *testing.T) {
			got, inherit, err := mapStatus(tc.status, tc.code)
			if err != nil {
				t.Fatalf("mapStatus: %v", err)
			}
			if !got.Valid() {
				t.Fatalf("status %q is not a trackd status", got)
			}
			if got != tc.want {
				t.Errorf("status = %q, want %q", got, tc.want)
			}
			if inherit != (tc.status == "UNKNOWN") {
				t.Errorf("inherit = %v, want it only for UNKNOWN", inherit)
			}
		})
	}
}

func TestMapStatus_TablesHoldOnlyDocumentedCodes(t *testing.T) {
	codes := map[string]string{}
	statuses := map[string]bool{}
	for _, tc := range documented {
		statuses[tc.status] = true
		if tc.code != "" {
			codes[tc.code] = tc.status
		}
	}
	for s, st := range statusMap {
		if !statuses[s] {
			t.Errorf("statusMap has %q, which the documented table lacks", s)
		}
		if !st.Valid() {
			t.Errorf("statusMap[%q] = %q is not a trackd status", s, st)
		}
	}
	if len(statusMap) != len(statuses) {
		t.Errorf("statusMap has %d statuses, documented %d", len(statusMap), len(statuses))
	}
	for code, sub := range substatusMap {
		parent, ok := codes[code]
		if !ok {
			t.Errorf("substatusMap has %q, which the documented table lacks", code)
			continue
		}
		if sub.parent != parent {
			t.Errorf("substatusMap[%q] is under %s, documented under %s", code, sub.parent, parent)
		}
		if sub.status != "" && !sub.status.Valid() {
			t.Errorf("substatusMap[%q] = %q is not a trackd status", code, sub.status)
		}
	}
	if len(substatusMap) != len(codes) {
		t.Errorf("substatusMap has %d codes, documented %d", len(substatusMap), len(codes))
	}
}

func TestMapStatus_SubstatusUnderAnotherStatus(t *testing.T) {
	tests := []struct {
		status, code string
		want         tracking.Status
	}{
		// Shippo's own SDK example pairs these; the status wins.
		{"DELIVERED", "information_received", tracking.StatusDelivered},
		{"FAILURE", "delivery_attempted", tracking.StatusException},
		{"TRANSIT", "not_a_code_yet", tracking.StatusInTransit},
		{"PRE_TRANSIT", "other", tracking.StatusInfoReceived},
	}
	for _, tc := range tests {
		t.Run(carrierStatus(tc.status, tc.code), func(t *testing.T) {
			got, _, err := mapStatus(tc.status, tc.code)
			if err != nil || got != tc.want {
				t.Errorf("mapStatus = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMapStatus_UnknownStatusIsAnError(t *testing.T) {
	for _, s := range []string{"", "LOST", "transit", "IN_TRANSIT"} {
		if got, _, err := mapStatus(s, ""); err == nil {
			t.Errorf("mapStatus(%q) = %q, want an error", s, got)
		}
	}
}

func TestCarrierSlug(t *testing.T) {
	tests := map[string]string{
		"usps": "usps", "ups": "ups", "fedex": "fedex", "FedEx": "fedex", " UPS ": "ups",
		"dhl_express": "dhl", "dhl_ecommerce": "dhl", "dhl_germany": "dhl", "dhl_germany_c2c": "dhl", "dhl_benelux": "dhl", "dhl_": "dhl", "DHL_Parcel_UK": "dhl", "dhl": "dhl",
		"canada_post": "canada_post", "ontrac": "ontrac", "shippo": "shippo", "": "",
	}
	for in, want := range tests {
		if got := CarrierSlug(in); got != want {
			t.Errorf("CarrierSlug(%q) = %q, want %q", in, got, want)
		}
	}
}
