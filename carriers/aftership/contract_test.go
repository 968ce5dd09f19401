package aftership

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter: New(Config{WebhookSecret: "secret", APIKey: "key"}),
		Webhooks: []string{"webhook_tracking_update_delivered_fedex.json", "webhook_tracking_update_in_transit_postnl.json",
			"webhook_tracking_update_delivered_no_offset.json", "webhook_tracking_update_exception_completed.json"},
		Polls:    []string{"v4_get_tracking_delivered_fedex.json", "v4_list_trackings_mixed_statuses.json", "v4_update_tracking_delivered.json"},
		Carriers: []string{"fedex", "ups", "usps", "postnl-3s"},
	}.Check(t)
}
