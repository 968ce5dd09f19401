// Package templates renders marketing's notification templates: Liquid
// (github.com/osteele/liquid) with a whitelist of tags and filters and a
// budget, one template per trigger, channel and locale, versioned in Redis,
// with defaults for every trigger in English, Spanish, French and German.
//
// # Variables
//
// Every template reads the same variables. A variable without a value is
// nil, so {% if shipment.estimated_delivery %} asks "is there one?".
//
//	store.name                         the store's name
//	store.url                          the store's website
//	store.support_email                where shoppers write with questions
//	order.number                       the order number the shopper knows
//	order.items                        the order's lines, each with:
//	  item.name, item.sku, item.quantity
//	order.tracking_url                 the order's tracking page
//	order.shipment_count               how many packages the order ships in
//	customer.first_name                the shopper's first name
//	shipment.carrier                   the carrier's slug: ups
//	shipment.carrier_name              the carrier's name: UPS
//	shipment.tracking_number           the tracking number
//	shipment.status                    the status: in_transit, out_for_delivery, ...
//	shipment.status_text               the status in the message's language: In transit
//	shipment.estimated_delivery        the estimated delivery date: 2026-11-27
//	shipment.estimated_delivery_text   the same in the message's language: Friday, 27 November
//	shipment.delayed                   true when the shipment is late
//	shipment.latest_event.message      the carrier's latest scan: Departed from facility
//	shipment.latest_event.location     where it happened: Louisville, KY, US
//	shipment.latest_event.time         when, in the message's language
//	shipment.tracking_url              the shipment's tracking page
//	unsubscribe_url                    the one-click link to stop these messages
//
// For order-level triggers (arriving_soon, all_delivered) shipment is the
// package that moved last.
//
// # Language
//
// Tags: if, elsif, else, unless, case, when, for (with else, limit, offset,
// reversed, and forloop.index and friends), break, continue, assign,
// capture, comment, raw. Filters: FilterNames. {% include %} and others
// that read files or dump values are not available.
//
// # Safety
//
// In an email's HTML part every {{ output }} is HTML-escaped, whatever
// filters it went through: a carrier's "<script>" arrives as text. Markup
// belongs in the template, or in a {% capture %}, whose outputs were
// escaped as they were written. escape and escape_once do not escape twice.
// The subject and the text part are not escaped (they are not HTML); the
// subject is one line, control characters and line breaks removed.
//
// Rendering is bounded (Limits): the template's size, each output's size,
// every value a filter builds, loop iterations and time. A template over
// a limit fails with a *RenderError; it never runs on unbounded.
package templates
