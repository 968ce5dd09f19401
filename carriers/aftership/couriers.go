package aftership

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// AfterShip is a route for data, not a carrier: an update names the carrier
// that moves the parcel, by trackd's slug, so that it lands on the shipment
// the OMS registered as ("ups", number). AfterShip's courier slugs
// (https://www.aftership.com/docs/tracking/others/supported-couriers) are
// trackd's own for most couriers; the families below are folded into the
// one carrier trackd knows them as.

// courierCarriers maps AfterShip courier slugs to trackd carrier slugs
// where they differ from a plain lower-casing.
var courierCarriers = map[string]string{
	"ups":        "ups",
	"ups-mi":     "ups", // UPS Mail Innovations: UPS numbers, tracked by UPS
	"fedex":      "fedex",
	"fedex-uk":   "fedex",
	"fedex-fims": "fedex", // FedEx International MailService
	"usps":       "usps",
}

// carrierOf returns trackd's carrier slug for an AfterShip courier slug:
// "dhl" and every DHL service AfterShip lists apart ("dhl-global-mail",
// "dhl-germany", "dhlparcel-nl", ...) is "dhl", whose Unified Tracking API
// covers them all; the table above folds the UPS and FedEx services; any
// other courier passes through lower-cased.
func carrierOf(courier string) string {
	c := tracking.NormalizeCarrier(courier)
	if t, ok := courierCarriers[c]; ok {
		return t
	}
	if c == "dhl" || strings.HasPrefix(c, "dhl-") || strings.HasPrefix(c, "dhlparcel-") {
		return "dhl"
	}
	return c
}
