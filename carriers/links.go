package carriers

import (
	"net/url"
	"strings"
)

// trackingPages are the carriers' public tracking pages; the escaped
// tracking number is appended to each.
var trackingPages = map[string]string{
	"ups":   "https://www.ups.com/track?tracknum=",
	"fedex": "https://www.fedex.com/fedextrack/?trknbr=",
	"usps":  "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
	"dhl":   "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=",
}

// TrackingURL returns the carrier's public tracking page for number, or ""
// when trackd knows no page for the carrier (or there is no number).
func TrackingURL(carrier, number string) string {
	base, ok := trackingPages[strings.ToLower(strings.TrimSpace(carrier))]
	number = strings.TrimSpace(number)
	if !ok || number == "" {
		return ""
	}
	return base + url.QueryEscape(number)
}

// displayNames are how carriers write their own names.
var displayNames = map[string]string{"ups": "UPS", "fedex": "FedEx", "usps": "USPS", "dhl": "DHL"}

// DisplayName returns the carrier's name as shoppers know it: "FedEx" for
// "fedex"; other slugs are returned as given.
func DisplayName(carrier string) string {
	if n, ok := displayNames[strings.ToLower(strings.TrimSpace(carrier))]; ok {
		return n
	}
	return carrier
}
