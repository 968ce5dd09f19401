package aftership

import "testing"

func TestCarrierOf_AfterShipCourierSlugs(t *testing.T) {
	tests := map[string]string{
		"ups":                  "ups",
		"UPS":                  "ups",
		"ups-mi":               "ups",
		"fedex":                "fedex",
		" FedEx ":              "fedex",
		"fedex-uk":             "fedex",
		"fedex-fims":           "fedex",
		"usps":                 "usps",
		"dhl":                  "dhl",
		"dhl-global-mail":      "dhl",
		"dhl-global-mail-asia": "dhl",
		"dhl-germany":          "dhl",
		"DHL-Poland":           "dhl",
		"postnl-3s":            "postnl-3s",
		"4px":                  "4px",
		"China-Post":           "china-post",
		"dhlparcel-nl":         "dhl",
		"dhlparcel-uk":         "dhl",
		"dhlx":                 "dhlx",
		"":                     "",
	}
	for in, want := range tests {
		if got := carrierOf(in); got != want {
			t.Errorf("carrierOf(%q) = %q, want %q", in, got, want)
		}
	}
}
