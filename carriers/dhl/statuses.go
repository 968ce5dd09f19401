package dhl

import (
	"strings"
	"unicode"

	"github.com/trackd/trackd/tracking"
)

// DHL gives every event (and the shipment's current status, an event of
// the same shape) three things: statusCode, a normalized enum of five
// values; status, a short free text ("DELIVERED", "transit", or a whole
// sentence for Parcel Germany); and description, DHL's wording of the scan
// ("Processed at LEIPZIG - GERMANY", "Shipment is out with courier for
// delivery"). The enum is too coarse for trackd: "transit" covers out for
// delivery and waiting at a Packstation, "failure" a failed attempt and a
// return to the sender. So the enum decides the family, and the texts
// refine it where they say one of the finer things plainly (textRules).
//
// Sources: the statusCode enum of the Unified API specification,
// dpdhl_tracking-unified-api 1.3.1 (supermodelIoLogisticsTrackingShipmentEvent,
// https://developer.dhl.com/api-reference/shipment-tracking); the texts are
// DHL's own English event texts as DHL Express, Parcel Germany and
// eCommerce write them in tracking answers and on dhl.com tracking pages.
// DHL publishes no list of them, and adds and rewords them at will, which
// is why they are matched by phrase, not by equality, and why an unmatched
// text costs nothing: the statusCode stands.

// codeStatuses maps the statusCode enum, the whole of it.
var codeStatuses = map[string]tracking.Status{
	"pre-transit": tracking.StatusInfoReceived, // the sender announced the shipment; DHL has not got it
	"transit":     tracking.StatusInTransit,    // DHL has it, from pickup to the last mile
	"delivered":   tracking.StatusDelivered,    // delivered (to the recipient, or back to the sender)
	"failure":     tracking.StatusException,    // something went wrong: damage, refusal, return...
	// DHL could not classify the event itself. The texts decide; when
	// they say nothing either, the shipment is moving as far as anyone
	// knows: a dated "pending" would hide the scans before it.
	"unknown": tracking.StatusInTransit,
}

// textRule recognizes one trackd status in DHL's texts: the status and
// description of an event, normalized by normText.
type textRule struct {
	status tracking.Status
	// any: the text holds one of these phrases (whole words)...
	any []string
	// ...and, when set, one of these too.
	and []string
	// undecided: the rule only speaks when the statusCode does not decide
	// the family (it is "unknown", missing, or not in the enum), as Express
	// events often come with no statusCode and only a description.
	undecided bool
	// overDelivered: the rule also refines a "delivered" statusCode. A
	// delivery to a Packstation is DHL's "delivered" and trackd's
	// available_for_pickup; one to the sender is trackd's returned. The
	// other refinements would contradict DHL's "delivered" rather than
	// refine it ("delivered; the courier had tried once before").
	overDelivered bool
}

// pickupPlaces are where DHL leaves a shipment for the recipient to fetch.
var pickupPlaces = []string{
	"packstation", "parcel station", "parcel locker", "locker", "parcel shop", "parcelshop", "paketshop",
	"retail outlet", "postfiliale", "service point", "servicepoint", "pickup point", "pick up point",
	"collection point", "access point",
}

// textRules are tried in order; the first that matches decides. The order
// settles the texts that say two things: a shipment "ready for pickup;
// it will be returned to the sender if not collected" is waiting for its
// recipient, one that "could not be delivered and is being returned to the
// sender" is on its way back, one that "could not be delivered: the
// recipient refused it" is an exception, not an attempt to repeat.
var textRules = []textRule{
	{status: tracking.StatusAvailableForPickup, overDelivered: true, any: []string{
		"ready for pickup", "ready for pick up", "ready for collection", "available for pickup",
		"available for pick up", "available for collection", "awaiting collection", "waiting for collection",
		"can be picked up", "can be collected", "held for pickup", "held for pick up", "held for collection",
	}},
	{status: tracking.StatusAvailableForPickup, overDelivered: true,
		any: []string{"delivered to", "deposited in", "deposited at", "placed in"},
		and: pickupPlaces},
	{status: tracking.StatusReturned, overDelivered: true, any: []string{
		"delivered back to", "delivered to the sender", "delivered to sender", "delivered to the shipper",
		"delivered to shipper",
	}},
	// returning becomes returned under a "delivered" statusCode: DHL has
	// delivered the return (StatusOf).
	{status: tracking.StatusReturning, overDelivered: true, any: []string{
		"returned to sender", "returned to the sender", "return to sender", "returning to sender",
		"returning to the sender", "back to sender", "back to the sender", "returned to shipper",
		"returned to the shipper", "return to shipper", "returned to origin", "being returned", "on its way back",
		"sent back",
	}},
	{status: tracking.StatusException, any: []string{
		"refused", "rejected", "damaged", "damage", "lost", "missing", "undeliverable", "cannot be delivered",
		"can not be delivered", "incorrect address", "address incorrect", "address is incorrect", "wrong address",
		"insufficient address", "address insufficient", "incomplete address", "address is incomplete",
		"address unknown", "unknown address", "on hold", "held by customs", "held in customs", "held at customs",
		"held for customs", "customs hold", "clearance delay", "customs delay", "seized", "confiscated",
		"destroyed", "cancelled", "canceled",
	}},
	{status: tracking.StatusFailedAttempt, any: []string{
		"delivery attempted", "attempted delivery", "delivery attempt", "attempt to deliver", "attempted to deliver",
		"could not be delivered", "not delivered", "not at home", "not home", "nobody at home", "nobody home",
		"unsuccessful delivery", "delivery unsuccessful", "delivery was unsuccessful", "delivery failed",
		"failed delivery", "missed delivery", "business closed", "notification card",
	}},
	{status: tracking.StatusOutForDelivery, any: []string{
		"out for delivery", "with delivery courier", "with courier for delivery", "out with courier",
		"delivery vehicle", "will be delivered today", "being delivered today",
	}},
	// The rest speak only when the statusCode does not decide.
	{status: tracking.StatusInTransit, undecided: true, any: []string{
		"will be delivered", "to be delivered", "expected to be delivered",
	}},
	{status: tracking.StatusDelivered, undecided: true, any: []string{
		"delivered", "signed for", "picked up by the recipient", "picked up by recipient",
		"collected by the recipient", "collected by recipient", "recipient has picked up",
	}},
	{status: tracking.StatusInfoReceived, undecided: true, any: []string{
		"information received", "shipment information", "instruction data", "electronically", "label created",
		"label printed", "data received", "announced", "pre transit",
	}},
	{status: tracking.StatusInTransit, undecided: true, any: []string{
		"picked up", "processed", "departed", "arrived", "transit", "sorted",
		"clearance", "customs", "forwarded", "transferred", "hub", "facility", "loaded", "unloaded", "posted",
		"dropped off", "accepted",
	}},
}

// StatusOf returns trackd's status for a DHL event: its statusCode,
// refined by its texts (status and description) as textRules say. Every
// input has a status: an unknown or missing statusCode with texts that
// say nothing plain is in transit.
func StatusOf(statusCode string, texts ...string) tracking.Status {
	code := strings.ToLower(strings.TrimSpace(statusCode))
	st, decided := codeStatuses[code]
	if code == "unknown" {
		decided = false
	}
	if !decided {
		st = tracking.StatusInTransit
	}
	norm := normText(texts...)
	for _, r := range textRules {
		switch {
		case r.undecided && decided,
			code == "delivered" && !r.overDelivered,
			!r.matches(norm):
			continue
		}
		if r.status == tracking.StatusReturning && code == "delivered" {
			return tracking.StatusReturned
		}
		return r.status
	}
	return st
}

func (r textRule) matches(norm string) bool {
	return containsAny(norm, r.any) && (r.and == nil || containsAny(norm, r.and))
}

func containsAny(norm string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(norm, " "+p+" ") {
			return true
		}
	}
	return false
}

// normText joins texts into one lower-case string of words separated by
// single spaces, with a space at each end, so phrases match whole words:
// "Ready for pick-up at the PACKSTATION." holds " ready for pick up ".
func normText(texts ...string) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, t := range texts {
		space := true
		for _, r := range t {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				b.WriteRune(unicode.ToLower(r))
				space = false
			} else if !space {
				b.WriteByte(' ')
				space = true
			}
		}
		if !space {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// carrierStatus is DHL's own classification of an event, kept on it:
// "statusCode/status" ("transit/PROCESSED"), or whichever of the two DHL
// gave. Both are DHL's stable labels; the description is not (it names
// the place), and is the event's message instead.
func carrierStatus(statusCode, status string) string {
	statusCode, status = strings.TrimSpace(statusCode), strings.TrimSpace(status)
	switch {
	case statusCode != "" && status != "":
		return statusCode + "/" + status
	case statusCode != "":
		return statusCode
	}
	return status
}
