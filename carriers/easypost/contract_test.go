package easypost

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter:  New(Config{WebhookSecret: "secret", APIKey: "key"}),
		Webhooks: []string{"webhook_event_tracker_updated_delivered_ups.json", "webhook_event_tracker_updated_in_transit_fedex.signed_body.json"},
		Polls:    []string{"tracker_retrieve_pre_transit.json", "trackers_list_pre_transit.json"},
		Carriers: []string{"fedex", "ups", "usps"},
	}.Check(t)
}
