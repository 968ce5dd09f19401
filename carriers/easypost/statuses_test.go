package easypost

import (
	"slices"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documentedStatuses and documentedDetails are EasyPost's lists, as
// docs.easypost.com/docs/trackers and EasyPost/easypost-node
// (types/Tracker/TrackerStatus.d.ts, TrackerStatusDetail.d.ts) give them,
// written out again here so a typo in the tables cannot hide.
var documentedStatuses = []string{
	"unknown", "pre_transit", "in_transit", "out_for_delivery", "delivered",
	"available_for_pickup", "return_to_sender", "failure", "cancelled", "error",
}

var documentedDetails = []string{
	"address_correction", "arrived_at_destination", "arrived_at_facility",
	"arrived_at_pickup_location", "awaiting_information", "cancelled", "damaged",
	"delayed", "delivery_exception", "departed_facility", "departed_origin_facility",
	"expired", "failure", "held", "in_transit", "label_created", "lost", "missorted",
	"out_for_delivery", "received_at_destination_facility", "received_at_origin_facility",
	"refused", "return", "status_update", "transferred_to_destination_carrier",
	"transit_exception", "unknown", "weather_delay",
}

func TestStatusTables_HoldExactlyTheDocumentedValues(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		wants []string
	}{
		{"statusMap", keys(statusMap), documentedStatuses},
		{"detailMap", keys(detailMap), documentedDetails},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := slices.Clone(tt.wants)
			slices.Sort(want)
			if !slices.Equal(tt.keys, want) {
				t.Errorf("%s has %v,\nEasyPost documents %v", tt.name, tt.keys, want)
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestMapStatus_EveryDocumentedPairIsAValidStatus(t *testing.T) {
	details := append([]string{"", "an_undocumented_detail"}, documentedDetails...)
	for _, s := range documentedStatuses {
		for _, d := range details {
			st, _, err := mapStatus(s, d)
			if err != nil {
				t.Errorf("mapStatus(%q, %q) = %v", s, d, err)
				continue
			}
			if !st.Valid() {
				t.Errorf("mapStatus(%q, %q) = %q, not a trackd status", s, d, st)
			}
		}
	}
}

func TestMapStatus_Table(t *testing.T) {
	tests := []struct {
		status, detail string
		want           tracking.Status
		inherit        bool
	}{
		// Every status alone.
		{"unknown", "", tracking.StatusPending, true},
		{"pre_transit", "", tracking.StatusInfoReceived, false},
		{"in_transit", "", tracking.StatusInTransit, false},
		{"out_for_delivery", "", tracking.StatusOutForDelivery, false},
		{"delivered", "", tracking.StatusDelivered, false},
		{"available_for_pickup", "", tracking.StatusAvailableForPickup, false},
		{"return_to_sender", "", tracking.StatusReturning, false},
		{"failure", "", tracking.StatusException, false},
		{"cancelled", "", tracking.StatusException, false},
		{"error", "", tracking.StatusException, false},

		// The pairs in EasyPost's published payloads.
		{"pre_transit", "label_created", tracking.StatusInfoReceived, false},
		{"pre_transit", "status_update", tracking.StatusInfoReceived, false},
		{"in_transit", "arrived_at_facility", tracking.StatusInTransit, false},
		{"in_transit", "departed_facility", tracking.StatusInTransit, false},
		{"in_transit", "unknown", tracking.StatusInTransit, false},

		// A detail refines a status on the normal way when it says more.
		{"in_transit", "delivery_exception", tracking.StatusFailedAttempt, false},
		{"out_for_delivery", "delivery_exception", tracking.StatusFailedAttempt, false},
		{"in_transit", "arrived_at_pickup_location", tracking.StatusAvailableForPickup, false},
		{"in_transit", "held", tracking.StatusException, false},
		{"in_transit", "lost", tracking.StatusException, false},
		{"in_transit", "damaged", tracking.StatusException, false},
		{"in_transit", "refused", tracking.StatusException, false},
		{"in_transit", "transit_exception", tracking.StatusException, false},
		{"in_transit", "return", tracking.StatusReturning, false},
		{"in_transit", "out_for_delivery", tracking.StatusOutForDelivery, false},
		{"in_transit", "expired", tracking.StatusExpired, false},
		{"pre_transit", "cancelled", tracking.StatusException, false},
		{"pre_transit", "expired", tracking.StatusExpired, false},
		{"pre_transit", "arrived_at_facility", tracking.StatusInTransit, false},
		{"unknown", "arrived_at_facility", tracking.StatusInTransit, false},
		{"unknown", "label_created", tracking.StatusInfoReceived, false},
		{"unknown", "expired", tracking.StatusExpired, false},

		// Details that say nothing about where the parcel is.
		{"in_transit", "delayed", tracking.StatusInTransit, false},
		{"in_transit", "weather_delay", tracking.StatusInTransit, false},
		{"in_transit", "missorted", tracking.StatusInTransit, false},
		{"in_transit", "address_correction", tracking.StatusInTransit, false},
		{"pre_transit", "awaiting_information", tracking.StatusInfoReceived, false},
		{"unknown", "status_update", tracking.StatusPending, true},
		{"unknown", "unknown", tracking.StatusPending, true},
		{"unknown", "an_undocumented_detail", tracking.StatusPending, true},

		// Never backwards.
		{"in_transit", "label_created", tracking.StatusInTransit, false},
		{"out_for_delivery", "arrived_at_facility", tracking.StatusOutForDelivery, false},

		// Explicit statuses stand, whatever the detail.
		{"delivered", "delivery_exception", tracking.StatusDelivered, false},
		{"delivered", "return", tracking.StatusDelivered, false},
		{"available_for_pickup", "held", tracking.StatusAvailableForPickup, false},
		{"return_to_sender", "refused", tracking.StatusReturning, false},
		{"return_to_sender", "expired", tracking.StatusReturning, false},
		{"failure", "delivery_exception", tracking.StatusException, false},
		{"failure", "return", tracking.StatusException, false},
		{"cancelled", "expired", tracking.StatusException, false},
		{"error", "in_transit", tracking.StatusException, false},

		// An undocumented detail leaves the status to decide.
		{"in_transit", "an_undocumented_detail", tracking.StatusInTransit, false},
		{"delivered", "an_undocumented_detail", tracking.StatusDelivered, false},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.detail, func(t *testing.T) {
			got, inherit, err := mapStatus(tt.status, tt.detail)
			if err != nil {
				t.Fatalf("mapStatus = %v", err)
			}
			if got != tt.want || inherit != tt.inherit {
				t.Errorf("mapStatus = %q, inherit %v; want %q, inherit %v", got, inherit, tt.want, tt.inherit)
			}
		})
	}
}

func TestMapStatus_UndocumentedStatusIsAnError(t *testing.T) {
	for _, s := range []string{"", "lost_in_space", "IN_TRANSIT", "In_Transit", " delivered", "delivered\x00"} {
		if st, _, err := mapStatus(s, "in_transit"); err == nil {
			t.Errorf("mapStatus(%q) = %q, want an error", s, st)
		} else if !strings.Contains(err.Error(), "unknown EasyPost status") {
			t.Errorf("mapStatus(%q) error = %v, want it to say the status is unknown", s, err)
		}
	}
}

func TestCarrierStatus_KeepsStatusAndDetail(t *testing.T) {
	tests := []struct{ status, detail, want string }{
		{"in_transit", "arrived_at_facility", "in_transit/arrived_at_facility"},
		{"delivered", "", "delivered"},
	}
	for _, tt := range tests {
		if got := carrierStatus(tt.status, tt.detail); got != tt.want {
			t.Errorf("carrierStatus(%q, %q) = %q, want %q", tt.status, tt.detail, got, tt.want)
		}
	}
}

func TestCarrierSlug_Names(t *testing.T) {
	tests := []struct{ name, want string }{
		{"UPS", "ups"},
		{"FedEx", "fedex"},
		{"USPS", "usps"},
		{"DHLExpress", "dhl"},
		{"DHLEcommerce", "dhl"},
		{"DHLEcommerceAsia", "dhl"},
		{"DHLGlobalMail", "dhl"},
		{"dhl", "dhl"},
		{"  FedEx ", "fedex"},
		{"CanadaPost", "canadapost"},
		{"OnTrac", "ontrac"},
		{"LaserShip", "lasership"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := CarrierSlug(tt.name); got != tt.want {
			t.Errorf("CarrierSlug(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
