package usps

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// eventCodes maps the eventCode of a USPS tracking event to trackd's
// status. The codes are USPS's scan event codes (Publication 199, Appendix
// G-4, "USPS Domestic Tracking Scan Events"; the Tracking API v3 spec points
// there for eventCode), as the Web Tools Track/Confirm guide and the
// published payloads listed in testdata/SOURCES.md name them. The text after
// each code is USPS's own.
var eventCodes = map[string]tracking.Status{
	// Before USPS has the parcel: an electronic record of it only.
	"GX": tracking.StatusInfoReceived, // Shipping Label Created, USPS Awaiting Item
	"MA": tracking.StatusInfoReceived, // Manifest Acknowledgement (Pre-Shipment Info Sent to USPS)

	// Accepted, and moving through the network.
	"03": tracking.StatusInTransit, // Accept or Pickup (USPS in possession of item)
	"OA": tracking.StatusInTransit, // Accepted at USPS Origin Facility
	"TM": tracking.StatusInTransit, // Shipment Received, Package Acceptance Pending (truck manifest)
	"PA": tracking.StatusInTransit, // Passive Acceptance ("Shipment Acceptance")
	"10": tracking.StatusInTransit, // Processed (Arrived at / Departed USPS Regional Origin Facility)
	"A1": tracking.StatusInTransit, // Arrived at USPS Regional Facility
	"U1": tracking.StatusInTransit, // Arrived at USPS Regional Facility
	"T1": tracking.StatusInTransit, // Departed USPS Regional Facility
	"L1": tracking.StatusInTransit, // Departed USPS Regional Facility
	"TL": tracking.StatusInTransit, // In Transit to Next Facility
	"NT": tracking.StatusInTransit, // In Transit to Next Facility
	"EF": tracking.StatusInTransit, // Departed Sort Facility
	"SF": tracking.StatusInTransit, // Departed Post Office
	"PC": tracking.StatusInTransit, // Sorting / Processing Complete
	"07": tracking.StatusInTransit, // Arrival at Unit (Arrived at Post Office)
	"19": tracking.StatusInTransit, // DC eVS Arrive
	"41": tracking.StatusInTransit, // Received at Opening Unit
	"42": tracking.StatusInTransit, // USPS Handoff to Shipping Partner
	"80": tracking.StatusInTransit, // Picked Up by Shipping Partner
	"81": tracking.StatusInTransit, // Arrived Shipping Partner Facility
	"82": tracking.StatusInTransit, // Departed Shipping Partner Facility
	// Sent on to the right place: a detour, not a failure.
	"06": tracking.StatusInTransit, // Forwarded
	"08": tracking.StatusInTransit, // Missent
	"15": tracking.StatusInTransit, // Mis-shipped
	// Not delivered today, and not attempted either: USPS carries it the
	// next delivery day.
	"71": tracking.StatusInTransit, // Rescheduled to Next Delivery Day

	"OF": tracking.StatusOutForDelivery, // Out for Delivery

	// Attempted: a notice was left, and USPS will try again or hold it.
	"02": tracking.StatusFailedAttempt, // Notice Left (Attempted)
	"30": tracking.StatusFailedAttempt, // Delivery Attempted - No Access to Delivery Location
	"51": tracking.StatusFailedAttempt, // Business Closed
	"53": tracking.StatusFailedAttempt, // Notice Left (Receptacle Blocked)
	"54": tracking.StatusFailedAttempt, // Notice Left (Receptacle Full / Item Oversized)
	"55": tracking.StatusFailedAttempt, // Notice Left (No Secure Location Available)
	"56": tracking.StatusFailedAttempt, // Notice Left (No Authorized Recipient Available)

	// Waiting for the recipient at a Post Office or pickup point. 52 is
	// documented among the notice-left codes, but without an attempt's
	// reason: the item is held for the recipient to collect.
	"14": tracking.StatusAvailableForPickup, // Arrival at Pickup Point
	"16": tracking.StatusAvailableForPickup, // Available for Pickup
	"52": tracking.StatusAvailableForPickup, // Notice Left (held for pickup)

	"01": tracking.StatusDelivered, // Delivered
	"17": tracking.StatusDelivered, // Picked Up By Agent
	"43": tracking.StatusDelivered, // Picked Up (at the Post Office, by the recipient)

	// Something is wrong and nobody has decided yet what happens next.
	"04": tracking.StatusException, // Refused
	"05": tracking.StatusException, // Undeliverable as Addressed
	"11": tracking.StatusException, // Dead Letter (sent to the Mail Recovery Center)
	"DX": tracking.StatusException, // Delivery Status Not Updated

	// On the way back: Return to Sender, and the reasons USPS gives for it.
	"09": tracking.StatusReturning, // Return to Sender
	"21": tracking.StatusReturning, // No Such Number
	"22": tracking.StatusReturning, // Insufficient Address
	"23": tracking.StatusReturning, // Moved, Left No Address
	"24": tracking.StatusReturning, // Forward Expired
	"25": tracking.StatusReturning, // Addressee Unknown
	"26": tracking.StatusReturning, // Vacant
	"27": tracking.StatusReturning, // Unclaimed
	"28": tracking.StatusReturning, // Deceased
	"29": tracking.StatusReturning, // Other (returned)
	"31": tracking.StatusReturning, // Not Picked Up
	"44": tracking.StatusReturning, // Customer Recall (the sender asked for it back)
}

// statusTexts maps, by prefix, the texts USPS writes in statusCategory and
// status (the "External Status Category" of Publication 199: Pre-Shipment,
// Accepted, In Transit, Out for Delivery, Delivered, Available for Pickup,
// Delivery Attempt, Alert) and in an event's eventType. They are the fallback
// for an eventCode missing from eventCodes. Longer prefixes come first where
// one starts another.
var statusTexts = []struct {
	prefix string
	status tracking.Status
}{
	{"pre-shipment", tracking.StatusInfoReceived},
	{"shipping label created", tracking.StatusInfoReceived},
	{"label created", tracking.StatusInfoReceived},
	{"usps awaiting item", tracking.StatusInfoReceived},
	{"accepted", tracking.StatusInTransit},
	{"in transit", tracking.StatusInTransit},
	{"in-transit", tracking.StatusInTransit},
	{"moving through network", tracking.StatusInTransit},
	{"usps in possession", tracking.StatusInTransit},
	{"arrived", tracking.StatusInTransit},
	{"departed", tracking.StatusInTransit},
	{"processed", tracking.StatusInTransit},
	{"out for delivery", tracking.StatusOutForDelivery},
	{"delivered", tracking.StatusDelivered},
	{"available for pickup", tracking.StatusAvailableForPickup},
	{"delivery attempt", tracking.StatusFailedAttempt},
	{"notice left", tracking.StatusFailedAttempt},
	{"return to sender", tracking.StatusReturning},
	{"returned to sender", tracking.StatusReturning},
	{"alert", tracking.StatusException},
	{"refused", tracking.StatusException},
	{"undeliverable", tracking.StatusException},
}

// fallbackStatus is an event's status when neither its code nor its text is
// known: most of USPS's many scans record the parcel moving on.
const fallbackStatus = tracking.StatusInTransit

// mapStatus returns the status of an event with USPS's eventCode and its
// eventType text. known is false when neither was recognized and the
// status is fallbackStatus.
func mapStatus(code, text string) (st tracking.Status, known bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if st, ok := eventCodes[code]; ok {
		return st, true
	}
	// Numeric codes are two digits; a client that stored one as a number
	// writes "1" for "01".
	if len(code) == 1 && code[0] >= '0' && code[0] <= '9' {
		if st, ok := eventCodes["0"+code]; ok {
			return st, true
		}
	}
	if st, ok := textStatus(text); ok {
		return st, true
	}
	return fallbackStatus, false
}

// textStatus maps a status text or eventType by its statusTexts prefix.
func textStatus(text string) (tracking.Status, bool) {
	t := strings.ToLower(strings.TrimSpace(text))
	if t == "" {
		return "", false
	}
	for _, s := range statusTexts {
		if strings.HasPrefix(t, s.prefix) {
			return s.status, true
		}
	}
	return "", false
}
