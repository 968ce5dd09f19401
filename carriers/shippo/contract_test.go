package shippo

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter:  New(Config{WebhookToken: "secret", APIKey: "key"}),
		Webhooks: []string{"webhook_track_updated_delivered_usps.json"},
		Polls:    []string{"track_get_delivered_usps.json", "handmade_track_modern_ups.json", "handmade_track_return_fedex.json"},
		Carriers: []string{"fedex", "ups", "usps"},
	}.Check(t)
}
