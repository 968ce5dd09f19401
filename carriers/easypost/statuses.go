package easypost

import (
	"fmt"
	"strings"

	"github.com/trackd/trackd/tracking"
)

// EasyPost classifies a tracker, and each of its tracking details, twice: a
// status (one of ten) and a status_detail (one of 28) that says more. Both
// lists are EasyPost's documented values (docs.easypost.com/docs/trackers;
// ITrackerStatus and ITrackerStatusDetail in EasyPost/easypost-node).
//
// In short, with the status deciding unless the detail says more (refines):
//
//	status                 trackd                 refined by a status_detail
//	unknown                pending (inherits)     yes
//	pre_transit            info_received          yes
//	in_transit             in_transit             yes
//	out_for_delivery       out_for_delivery       yes
//	delivered              delivered              no
//	available_for_pickup   available_for_pickup   no
//	return_to_sender       returning              no
//	failure                exception              no
//	cancelled              exception              no
//	error                  exception              no

// statusMap maps EasyPost's statuses.
var statusMap = map[string]tracking.Status{
	// No information EasyPost could classify: the tracker before the carrier
	// knows the number, or a scan EasyPost cannot read. See mapStatus.
	"unknown": tracking.StatusPending,
	// The carrier has the shipment's data (a label), not yet the parcel.
	"pre_transit":          tracking.StatusInfoReceived,
	"in_transit":           tracking.StatusInTransit,
	"out_for_delivery":     tracking.StatusOutForDelivery,
	"delivered":            tracking.StatusDelivered,
	"available_for_pickup": tracking.StatusAvailableForPickup,
	// On its way back to the sender. EasyPost has no status for "back with
	// the sender", so trackd says returning, a state that keeps the shipment
	// watched, rather than the terminal returned.
	"return_to_sender": tracking.StatusReturning,
	// Undeliverable, lost, damaged, ...: someone has to act.
	"failure": tracking.StatusException,
	// The label was cancelled (voided). Not terminal: a cancelled label is
	// sometimes shipped anyway, and then its scans must still move it, and
	// an order whose parcel will not come needs someone's attention.
	"cancelled": tracking.StatusException,
	// EasyPost could not track the number (an invalid number, a carrier it
	// could not reach). Nothing is known about the parcel, but a shipment
	// nobody can track needs someone's attention.
	"error": tracking.StatusException,
}

// detailMap maps every documented status_detail to the status it implies on
// its own, or "" when it says nothing about where the parcel is (then the
// status decides alone).
var detailMap = map[string]tracking.Status{
	"address_correction":         "", // the carrier fixed the address; the parcel goes on
	"arrived_at_destination":     tracking.StatusInTransit,
	"arrived_at_facility":        tracking.StatusInTransit,
	"arrived_at_pickup_location": tracking.StatusAvailableForPickup,
	// Before transit, the carrier waits for the parcel; in transit, for
	// paperwork (customs). The status says which.
	"awaiting_information": "",
	"cancelled":            tracking.StatusException,
	"damaged":              tracking.StatusException,
	"delayed":              "", // still moving; trackd derives "delayed" itself
	// A delivery that did not happen (no one home, no access, notice left);
	// the carrier tries again or holds the parcel.
	"delivery_exception":       tracking.StatusFailedAttempt,
	"departed_facility":        tracking.StatusInTransit,
	"departed_origin_facility": tracking.StatusInTransit,
	// EasyPost stopped tracking: no scan came for too long.
	"expired": tracking.StatusExpired,
	"failure": tracking.StatusException,
	// Held by the carrier or customs, not for the recipient (that is
	// available_for_pickup, which a detail does not override).
	"held":                               tracking.StatusException,
	"in_transit":                         tracking.StatusInTransit,
	"label_created":                      tracking.StatusInfoReceived,
	"lost":                               tracking.StatusException,
	"missorted":                          "", // sent the wrong way: late, not lost
	"out_for_delivery":                   tracking.StatusOutForDelivery,
	"received_at_destination_facility":   tracking.StatusInTransit,
	"received_at_origin_facility":        tracking.StatusInTransit,
	"refused":                            tracking.StatusException,
	"return":                             tracking.StatusReturning,
	"status_update":                      "",
	"transferred_to_destination_carrier": tracking.StatusInTransit,
	"transit_exception":                  tracking.StatusException,
	"unknown":                            "",
	"weather_delay":                      "", // late, not lost
}

// refinable marks the statuses of a parcel on its normal way, which a
// status_detail may refine: EasyPost's own pairs include in_transit with
// delivery_exception, and unknown with a detail that knows more.
var refinable = map[tracking.Status]bool{
	tracking.StatusPending:        true,
	tracking.StatusInfoReceived:   true,
	tracking.StatusInTransit:      true,
	tracking.StatusOutForDelivery: true,
}

// mapStatus returns trackd's status for an EasyPost status and
// status_detail, and whether the event inherits the status of the event
// before it instead.
//
//   - An undocumented status is an error: guessing could tell a shopper
//     their parcel is delivered when it is lost. An undocumented detail
//     under a documented status is not: the status still says where the
//     parcel is (the raw detail is kept in the event's CarrierStatus).
//   - A detail refines a status on the normal way (unknown, pre_transit,
//     in_transit, out_for_delivery) when it says more: further along, or off
//     the normal way (a failed attempt, a pickup point, an exception, a
//     return, expiry). It never moves a status back, and never overrides an
//     explicit delivered, available_for_pickup, return_to_sender, failure,
//     cancelled or error.
//   - "unknown" with no detail that says more inherits: an unreadable scan
//     in the middle of a journey must not tell a shopper whose parcel is out
//     for delivery that it is pending again.
func mapStatus(status, detail string) (tracking.Status, bool, error) {
	st, ok := statusMap[status]
	if !ok {
		return "", false, fmt.Errorf("unknown EasyPost status %q", status)
	}
	d := detailMap[detail]
	if refinable[st] && d != "" && d.Rank() > st.Rank() {
		return d, false, nil
	}
	return st, status == "unknown", nil
}

// carrierStatus is the carrier code kept on the event:
// "in_transit/arrived_at_facility", or "delivered" without a detail.
func carrierStatus(status, detail string) string {
	if detail == "" {
		return status
	}
	return status + "/" + detail
}

// carrierSlugs maps EasyPost carrier names (lower-cased) to trackd's slugs
// where they differ from the name lower-cased.
var carrierSlugs = map[string]string{
	"ups":   "ups",
	"fedex": "fedex",
	"usps":  "usps",
}

// CarrierSlug returns trackd's slug for an EasyPost carrier name: "UPS" is
// ups, "FedEx" fedex, "USPS" usps, and every DHL product EasyPost names
// ("DHLExpress", "DHLEcommerce", ...) is the one carrier trackd calls dhl
// (its adapter, DHL's unified tracking API, covers them all). Other names
// are their own slugs, lower-cased ("CanadaPost" is canadapost).
func CarrierSlug(name string) string {
	n := tracking.NormalizeCarrier(name)
	if s, ok := carrierSlugs[n]; ok {
		return s
	}
	if strings.HasPrefix(n, "dhl") {
		return "dhl"
	}
	return n
}
