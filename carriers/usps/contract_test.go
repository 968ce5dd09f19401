package usps

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter:  New(Config{WebhookSecret: "secret", ClientID: "id", ClientSecret: "secret"}),
		Webhooks: []string{"webhook_tracking_delivered_parcel_locker.json"},
		Polls:    []string{"v3_tracking_delivered_parcel_locker.json"},
	}.Check(t)
}
