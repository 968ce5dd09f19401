package dhl

import (
	"sort"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documentedCodes is the statusCode enum of the Unified API specification
// (supermodelIoLogisticsTrackingShipmentEvent.statusCode), each with the
// status trackd gives it when the texts say nothing finer. It is written
// out here, apart from the table, so that a change to either is a
// reviewed decision.
var documentedCodes = map[string]tracking.Status{
	"pre-transit": tracking.StatusInfoReceived,
	"transit":     tracking.StatusInTransit,
	"delivered":   tracking.StatusDelivered,
	"failure":     tracking.StatusException,
	"unknown":     tracking.StatusInTransit,
}

func TestStatusOf_EveryCode(t *testing.T) {
	codes := make([]string, 0, len(documentedCodes))
	for c := range documentedCodes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, code := range codes {
		want := documentedCodes[code]
		for _, in := range []string{code, strings.ToUpper(code), " " + code + "\t"} {
			// No text, a text that says nothing finer, and the free-text
			// status DHL's example pairs with every code.
			for _, texts := range [][]string{nil, {"", ""}, {"JESSICA"}} {
				if got := StatusOf(in, texts...); got != want {
					t.Errorf("StatusOf(%q, %q) = %q, want %q", in, texts, got, want)
				}
			}
		}
	}
	if len(codeStatuses) != len(documentedCodes) {
		t.Errorf("codeStatuses has %d codes, the specification %d", len(codeStatuses), len(documentedCodes))
	}
	for code, st := range codeStatuses {
		if _, ok := documentedCodes[code]; !ok {
			t.Errorf("codeStatuses has %q, which the specification does not list", code)
		}
		if !st.Valid() {
			t.Errorf("codeStatuses[%q] = %q is not a trackd status", code, st)
		}
	}
}

// TestStatusOf_StatusCodeDecidesTheFamily: a text that names another
// family does not overrule the statusCode. DHL's own example pairs
// pre-transit with the text "DELIVERED".
func TestStatusOf_StatusCodeDecidesTheFamily(t *testing.T) {
	tests := []struct {
		code  string
		texts []string
		want  tracking.Status
	}{
		{"pre-transit", []string{"DELIVERED", "JESSICA"}, tracking.StatusInfoReceived},
		{"pre-transit", []string{"", "Shipment picked up"}, tracking.StatusInfoReceived},
		{"transit", []string{"DELIVERED", "Delivered"}, tracking.StatusInTransit},
		{"transit", []string{"", "Shipment information received"}, tracking.StatusInTransit},
		{"failure", []string{"", "Delivered"}, tracking.StatusException},
		{"failure", []string{"FAILURE", "Incident reported"}, tracking.StatusException},
		{"delivered", []string{"", "Shipment picked up"}, tracking.StatusDelivered},
		// A "delivered" is not undone by a finer text of another kind.
		{"delivered", []string{"", "Delivered; an earlier delivery attempt failed"}, tracking.StatusDelivered},
		{"delivered", []string{"", "Delivered by the delivery courier, out for delivery since 8:00"}, tracking.StatusDelivered},
		{"delivered", []string{"", "Delivered despite damage to the packaging"}, tracking.StatusDelivered},
		{"delivered", []string{"", "The shipment has been picked up from the PACKSTATION"}, tracking.StatusDelivered},
		{"delivered", []string{"", "The recipient has picked up the shipment from the retail outlet"}, tracking.StatusDelivered},
		// But refined where it is a delivery to a pickup point, or back.
		{"delivered", []string{"", "The shipment has been delivered to the PACKSTATION 123 in Bonn"}, tracking.StatusAvailableForPickup},
		{"delivered", []string{"", "The shipment is ready for pick-up at the parcel shop"}, tracking.StatusAvailableForPickup},
		{"delivered", []string{"", "Returned to shipper"}, tracking.StatusReturned},
		{"delivered", []string{"", "The shipment has been delivered back to the sender"}, tracking.StatusReturned},
		// A status whose code is not in the enum: the texts decide, and
		// the fallback is in transit.
		{"returned", []string{"", "Returned to shipper"}, tracking.StatusReturning},
		{"customs", []string{"", "Clearance event"}, tracking.StatusInTransit},
		{"", nil, tracking.StatusInTransit},
		{"", []string{"", "Delivered"}, tracking.StatusDelivered},
		{"unknown", []string{"Booking confirmed", "Booking confirmed"}, tracking.StatusInTransit},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.code, tt.texts...); got != tt.want {
			t.Errorf("StatusOf(%q, %q) = %q, want %q", tt.code, tt.texts, got, tt.want)
		}
	}
}

// TestStatusOf_EveryTextRule tries every phrase of every rule, as DHL
// would write it (capitals, punctuation, in a sentence), under every
// statusCode the rule speaks for: each must reach its own rule's status,
// not an earlier rule's.
func TestStatusOf_EveryTextRule(t *testing.T) {
	for i, r := range textRules {
		if !r.status.Valid() {
			t.Errorf("textRules[%d].status = %q is not a trackd status", i, r.status)
		}
		var codes []string
		switch {
		case r.undecided:
			codes = []string{"", "unknown", "UNKNOWN", "no-such-code"}
		case r.overDelivered:
			codes = []string{"pre-transit", "transit", "failure", "unknown", "", "delivered"}
		default:
			codes = []string{"pre-transit", "transit", "failure", "unknown", ""}
		}
		and := []string{""}
		if r.and != nil {
			and = r.and
		}
		for _, p := range r.any {
			if normText(p) != " "+p+" " {
				t.Errorf("textRules[%d] phrase %q is not normalized (%q): it can never match", i, p, normText(p))
			}
			for _, a := range and {
				if normText(a) != " "+a+" " && a != "" {
					t.Errorf("textRules[%d] phrase %q is not normalized: it can never match", i, a)
				}
				text := "The shipment: " + strings.ToUpper(p) + " (" + a + ")."
				for _, code := range codes {
					want := r.status
					if code == "delivered" && want == tracking.StatusReturning {
						want = tracking.StatusReturned
					}
					for _, texts := range [][]string{{text}, {"", text}, {text, ""}} {
						if got := StatusOf(code, texts...); got != want {
							t.Errorf("StatusOf(%q, %q) = %q, want %q (textRules[%d])", code, texts, got, want, i)
						}
					}
				}
			}
		}
	}
}

// TestStatusOf_DHLTexts: the event texts DHL writes, each with the
// statusCode it comes with, and the status trackd must give.
func TestStatusOf_DHLTexts(t *testing.T) {
	tests := []struct {
		code, status, description string
		want                      tracking.Status
	}{
		// Express.
		{"pre-transit", "", "Shipment information received", tracking.StatusInfoReceived},
		{"", "", "Shipment information received", tracking.StatusInfoReceived},
		{"transit", "", "Shipment picked up", tracking.StatusInTransit},
		{"", "", "Shipment picked up", tracking.StatusInTransit},
		{"", "", "Processed at LEIPZIG - GERMANY", tracking.StatusInTransit},
		{"", "", "Departed Facility in LEIPZIG - GERMANY", tracking.StatusInTransit},
		{"", "", "Shipment has departed from a DHL facility LEIPZIG - GERMANY", tracking.StatusInTransit},
		{"", "", "Arrived at DHL Sort Facility LEIPZIG - GERMANY", tracking.StatusInTransit},
		{"", "", "Arrived at DHL Delivery Facility AMSTERDAM - NETHERLANDS", tracking.StatusInTransit},
		{"", "", "Shipment is in transit to destination", tracking.StatusInTransit},
		{"", "", "Processed for clearance at AMSTERDAM - NETHERLANDS", tracking.StatusInTransit},
		{"", "", "Clearance processing complete at AMSTERDAM - NETHERLANDS", tracking.StatusInTransit},
		{"", "", "Customs clearance status updated. Note - The Customs clearance status is updated", tracking.StatusInTransit},
		{"transit", "", "Shipment is out with courier for delivery", tracking.StatusOutForDelivery},
		{"", "", "Shipment is out with courier for delivery", tracking.StatusOutForDelivery},
		{"transit", "WITH DELIVERY COURIER", "With delivery courier", tracking.StatusOutForDelivery},
		{"transit", "", "Out for delivery", tracking.StatusOutForDelivery},
		{"delivered", "DELIVERED", "Delivered", tracking.StatusDelivered},
		{"", "", "Delivered", tracking.StatusDelivered},
		{"", "", "Delivered - Signed for by: DOE", tracking.StatusDelivered},
		{"failure", "", "Delivery attempted; recipient not home", tracking.StatusFailedAttempt},
		{"", "", "Delivery attempted; business closed", tracking.StatusFailedAttempt},
		{"transit", "", "Awaiting collection by recipient as requested", tracking.StatusAvailableForPickup},
		{"transit", "", "Shipment is on hold", tracking.StatusException},
		{"", "", "Shipment is on hold", tracking.StatusException},
		{"transit", "", "Clearance delay", tracking.StatusException},
		{"failure", "", "Shipment held by customs", tracking.StatusException},
		{"transit", "", "Recipient refused delivery", tracking.StatusException},
		{"failure", "", "Returned to shipper", tracking.StatusReturning},
		{"delivered", "", "Delivered to shipper", tracking.StatusReturned},
		// Parcel Germany.
		{"pre-transit", "The instruction data for this shipment have been provided by the sender to DHL electronically.",
			"The instruction data for this shipment have been provided by the sender to DHL electronically.", tracking.StatusInfoReceived},
		{"", "", "The instruction data for this shipment have been provided by the sender to DHL electronically.", tracking.StatusInfoReceived},
		{"transit", "The shipment has been posted by the sender at the retail outlet.", "", tracking.StatusInTransit},
		{"", "The shipment has been posted by the sender at the retail outlet.", "", tracking.StatusInTransit},
		{"transit", "The shipment has been processed in the parcel center of origin.", "", tracking.StatusInTransit},
		{"transit", "The shipment has been loaded onto the delivery vehicle.", "", tracking.StatusOutForDelivery},
		{"transit", "The shipment will be delivered today.", "", tracking.StatusOutForDelivery},
		{"", "The shipment will be delivered tomorrow.", "", tracking.StatusInTransit},
		{"transit", "The recipient was not at home.", "The shipment will be brought to a PACKSTATION.", tracking.StatusFailedAttempt},
		{"transit", "The shipment could not be delivered.", "The recipient has been notified.", tracking.StatusFailedAttempt},
		{"transit", "The shipment is ready for pick-up at the PACKSTATION.", "", tracking.StatusAvailableForPickup},
		{"transit", "The shipment is ready for pick-up at the retail outlet.",
			"If it is not collected within 7 working days it will be returned to the sender.", tracking.StatusAvailableForPickup},
		{"transit", "The shipment has been delivered to the retail outlet and can be picked up there.", "", tracking.StatusAvailableForPickup},
		{"delivered", "The shipment has been delivered to the PACKSTATION.", "", tracking.StatusAvailableForPickup},
		{"delivered", "The shipment has been picked up from the PACKSTATION.", "", tracking.StatusDelivered},
		{"delivered", "The shipment has been delivered to the recipient.", "", tracking.StatusDelivered},
		{"delivered", "The shipment has been delivered to the recipient's neighbour.", "", tracking.StatusDelivered},
		{"", "The shipment has been picked up by the recipient.", "", tracking.StatusDelivered},
		{"transit", "The shipment could not be delivered. The recipient refused to accept the shipment.", "", tracking.StatusException},
		{"failure", "The address is incorrect.", "The shipment could not be delivered.", tracking.StatusException},
		{"failure", "The shipment is being returned to the sender.", "", tracking.StatusReturning},
		{"transit", "The shipment could not be delivered and is on its way back to the sender.", "", tracking.StatusReturning},
		{"delivered", "The shipment has been returned to the sender.", "", tracking.StatusReturned},
		// eCommerce.
		{"pre-transit", "LABEL CREATED", "Label created", tracking.StatusInfoReceived},
		{"transit", "PROCESSED", "Processed at DHL eCommerce facility", tracking.StatusInTransit},
		{"transit", "OUT FOR DELIVERY", "Out for Delivery", tracking.StatusOutForDelivery},
		{"delivered", "DELIVERED", "Delivered", tracking.StatusDelivered},
		{"failure", "", "Undeliverable - Return to Sender", tracking.StatusReturning},
		{"failure", "", "Damaged", tracking.StatusException},
		{"failure", "", "Lost", tracking.StatusException},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.code, tt.status, tt.description); got != tt.want {
			t.Errorf("StatusOf(%q, %q, %q) = %q, want %q", tt.code, tt.status, tt.description, got, tt.want)
		}
	}
}

func TestCarrierStatus(t *testing.T) {
	tests := []struct{ code, status, want string }{
		{"transit", "PROCESSED AT LOCATION", "transit/PROCESSED AT LOCATION"},
		{" delivered ", " DELIVERED\t", "delivered/DELIVERED"},
		{"transit", "", "transit"},
		{"", "Delivered", "Delivered"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := carrierStatus(tt.code, tt.status); got != tt.want {
			t.Errorf("carrierStatus(%q, %q) = %q, want %q", tt.code, tt.status, got, tt.want)
		}
	}
}

func TestNormText(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, " "},
		{[]string{""}, " "},
		{[]string{"Ready for pick-up at the PACKSTATION."}, " ready for pick up at the packstation "},
		{[]string{"A", "", "b  c"}, " a b c "},
		{[]string{"Zustellung – heute!", "Köln"}, " zustellung heute köln "},
	}
	for _, tt := range tests {
		if got := normText(tt.in...); got != tt.want {
			t.Errorf("normText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
