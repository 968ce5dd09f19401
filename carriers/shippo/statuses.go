package shippo

import (
	"fmt"
	"strings"

	"github.com/trackd/trackd/tracking"
)

// Shippo classifies every tracking event twice: a status (one of six) and,
// since 2023, a substatus code under it. Both tables below follow Shippo's
// "Event definitions" (docs.goshippo.com/docs/tracking/tracking/#event-definitions;
// the substatus object is TrackingStatusSubstatus in Shippo's SDKs).

// statusMap maps Shippo's statuses. It decides alone when an event has no
// substatus (every event before 2023), when the substatus is "other", and
// when the substatus is one Shippo does not document under that status.
var statusMap = map[string]tracking.Status{
	// Label created, the carrier has the shipment's data but not the parcel.
	"PRE_TRANSIT": tracking.StatusInfoReceived,
	"TRANSIT":     tracking.StatusInTransit,
	"DELIVERED":   tracking.StatusDelivered,
	// "Returned or being returned to the sender": Shippo does not say which,
	// and no substatus says the parcel is back, so trackd says returning, a
	// state that keeps the shipment watched, rather than the terminal one.
	"RETURNED": tracking.StatusReturning,
	// Undeliverable, lost or disposed of.
	"FAILURE": tracking.StatusException,
	// No information on progress (and, in data from before 2017, the events
	// before the carrier had the parcel). See inherits.
	"UNKNOWN": tracking.StatusPending,
}

// inherits marks statuses that say nothing about progress: such an event
// takes the status of the event before it in the same history, and is
// pending only when nothing comes before it. An "unrecognized carrier
// status" in the middle of a journey must not tell a shopper whose parcel
// is out for delivery that it is pending again.
var inherits = map[string]bool{"UNKNOWN": true}

// substatus is one documented substatus: the status Shippo files it under
// and what trackd makes of it.
type substatus struct {
	parent string
	status tracking.Status
}

// substatusMap maps every documented substatus code. A code is used only
// under its documented parent status; under another one, the status decides
// (Shippo's status is the primary field, and its own examples pair
// DELIVERED with information_received).
var substatusMap = map[string]substatus{
	"information_received": {"PRE_TRANSIT", tracking.StatusInfoReceived},

	// Issues Shippo files under TRANSIT. Those that ask the recipient to act
	// on a delivery that did not happen are failed attempts; those that ask
	// someone to contact the carrier about the parcel itself are exceptions.
	"address_issue":         {"TRANSIT", tracking.StatusException},
	"contact_carrier":       {"TRANSIT", tracking.StatusException},
	"delayed":               {"TRANSIT", tracking.StatusInTransit}, // still moving; trackd derives "delayed" itself
	"delivery_attempted":    {"TRANSIT", tracking.StatusFailedAttempt},
	"delivery_rescheduled":  {"TRANSIT", tracking.StatusInTransit},
	"delivery_scheduled":    {"TRANSIT", tracking.StatusInTransit},
	"location_inaccessible": {"TRANSIT", tracking.StatusFailedAttempt},
	"notice_left":           {"TRANSIT", tracking.StatusFailedAttempt},
	"out_for_delivery":      {"TRANSIT", tracking.StatusOutForDelivery},
	"package_accepted":      {"TRANSIT", tracking.StatusInTransit},
	"package_arrived":       {"TRANSIT", tracking.StatusInTransit},
	"package_damaged":       {"TRANSIT", tracking.StatusException},
	"package_departed":      {"TRANSIT", tracking.StatusInTransit},
	"package_forwarded":     {"TRANSIT", tracking.StatusInTransit},
	"package_held":          {"TRANSIT", tracking.StatusException},
	"package_processed":     {"TRANSIT", tracking.StatusInTransit},
	"package_processing":    {"TRANSIT", tracking.StatusInTransit},
	"pickup_available":      {"TRANSIT", tracking.StatusAvailableForPickup},
	"reschedule_delivery":   {"TRANSIT", tracking.StatusFailedAttempt},

	"delivered": {"DELIVERED", tracking.StatusDelivered},

	"return_to_sender":  {"RETURNED", tracking.StatusReturning},
	"package_unclaimed": {"RETURNED", tracking.StatusReturning},

	"package_undeliverable": {"FAILURE", tracking.StatusException},
	"package_disposed":      {"FAILURE", tracking.StatusException},
	"package_lost":          {"FAILURE", tracking.StatusException},

	// "Unrecognized carrier status": the status decides, as without one.
	"other": {"UNKNOWN", ""},
}

// mapStatus returns trackd's status for a Shippo status and substatus code,
// and whether the event inherits the status of the one before it instead.
// An undocumented status is an error: guessing could tell a shopper their
// parcel is delivered when it is lost. An undocumented substatus under a
// documented status is not: the status still says where the parcel is.
func mapStatus(status, code string) (tracking.Status, bool, error) {
	st, ok := statusMap[status]
	if !ok {
		return "", false, fmt.Errorf("unknown Shippo status %q", status)
	}
	if sub, ok := substatusMap[code]; ok && sub.parent == status && sub.status != "" {
		return sub.status, false, nil
	}
	return st, inherits[status], nil
}

// carrierStatus is the carrier code kept on the event: "TRANSIT/package_accepted",
// or "TRANSIT" without a substatus.
func carrierStatus(status, code string) string {
	if code == "" {
		return status
	}
	return status + "/" + code
}

// CarrierSlug returns trackd's slug for a Shippo carrier token. Shippo
// names each DHL product dhl_<product> (dhl_express, dhl_ecommerce,
// dhl_germany, dhl_germany_c2c, dhl_benelux); all are the one carrier trackd
// calls "dhl", whose adapter (DHL's unified tracking API) covers them all.
// Other tokens are trackd slugs as they are, lower-cased: "usps", "ups",
// "fedex", "canada_post".
func CarrierSlug(token string) string {
	t := tracking.NormalizeCarrier(token)
	if strings.HasPrefix(t, "dhl_") {
		return "dhl"
	}
	return t
}

// shippoTokens maps trackd slugs to the Shippo token a poll sends, where
// they differ.
var shippoTokens = map[string]string{"dhl": "dhl_express"}

// shippoToken returns the Shippo carrier token to poll for carrier, which
// may be a Shippo token or a trackd slug.
func shippoToken(carrier string) string {
	c := strings.ToLower(strings.TrimSpace(carrier))
	if t, ok := shippoTokens[c]; ok {
		return t
	}
	return c
}
