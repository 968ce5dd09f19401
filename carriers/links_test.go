package carriers

import "testing"

func TestTrackingURL_Carriers(t *testing.T) {
	tests := []struct {
		name, carrier, number, want string
	}{
		{"ups", "ups", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
		{"fedex", "fedex", "123456789012", "https://www.fedex.com/fedextrack/?trknbr=123456789012"},
		{"usps", "usps", "9400100000000000000000", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"},
		{"dhl", "dhl", "1234567890", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"},
		{"slug case and spaces", " UPS ", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
		{"number escaped", "ups", "1Z 99&x=<y>#", "https://www.ups.com/track?tracknum=1Z+99%26x%3D%3Cy%3E%23"},
		{"unknown carrier", "demo", "DEMO1", ""},
		{"empty carrier", "", "1Z999AA10123456784", ""},
		{"empty number", "ups", " ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TrackingURL(tt.carrier, tt.number); got != tt.want {
				t.Errorf("TrackingURL(%q, %q) = %q, want %q", tt.carrier, tt.number, got, tt.want)
			}
		})
	}
}

func TestDisplayName_Carriers(t *testing.T) {
	tests := map[string]string{"ups": "UPS", "FedEx": "FedEx", "usps": "USPS", "dhl": "DHL", "demo": "demo"}
	for in, want := range tests {
		t.Run(in, func(t *testing.T) {
			if got := DisplayName(in); got != want {
				t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
