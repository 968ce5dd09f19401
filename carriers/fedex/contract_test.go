package fedex

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter:  New(Config{WebhookSecret: "secret", ClientID: "id", ClientSecret: "secret"}),
		Webhooks: []string{"webhook_picked_up.json", "webhook_delivered_duplicate.json", "webhook_delivered_mixed_offsets.json"},
		Polls:    []string{"track_picked_up_and_errors.json", "track_delivered_duplicate.json", "track_delivered_mixed_offsets.json"},
	}.Check(t)
}
