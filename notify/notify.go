// Package notify tells shoppers about their shipments by email and SMS:
// it turns shipment changes into triggers, checks marketing's rules and the
// shopper's opt-ins, renders marketing's templates in the shopper's
// language and sends each message once.
//
// Sub-packages hold the parts: templates (Liquid templates, their versions
// and defaults), email (SMTP), sms (Twilio), deliverylog (every attempt).
package notify

// Trigger is what a notification is about.
type Trigger string

// Shipment-level triggers follow a shipment's status; the order-level ones
// are about the order as a whole.
const (
	Shipped            Trigger = "shipped" // first carrier scan, or info received
	InTransit          Trigger = "in_transit"
	OutForDelivery     Trigger = "out_for_delivery"
	Delivered          Trigger = "delivered"
	FailedAttempt      Trigger = "failed_attempt"
	AvailableForPickup Trigger = "available_for_pickup"
	Exception          Trigger = "exception"
	Delayed            Trigger = "delayed"
	Returning          Trigger = "returning"
	ArrivingSoon       Trigger = "arriving_soon" // the day before the estimated delivery
	AllDelivered       Trigger = "all_delivered" // the last package of a split order delivered
)

// Triggers lists every trigger, in the order people read them.
var Triggers = []Trigger{Shipped, InTransit, OutForDelivery, Delivered, FailedAttempt, AvailableForPickup,
	Exception, Delayed, Returning, ArrivingSoon, AllDelivered}

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool {
	for _, k := range Triggers {
		if k == t {
			return true
		}
	}
	return false
}

// OrderLevel reports whether t is about the whole order, not one shipment.
func (t Trigger) OrderLevel() bool { return t == ArrivingSoon || t == AllDelivered }

// Channel is how a notification travels.
type Channel string

const (
	Email Channel = "email"
	SMS   Channel = "sms"
)

// Channels lists the channels.
var Channels = []Channel{Email, SMS}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == Email || c == SMS }

// Locales are the languages trackd ships templates in; DefaultLocale is
// the one every other falls back to.
var Locales = []string{"en", "es", "fr", "de"}

// DefaultLocale is the fallback locale.
const DefaultLocale = "en"
