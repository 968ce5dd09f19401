package dhl

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	carriertest.Contract{
		Adapter: New(Config{APIKey: "key"}),
		Polls: []string{"tracking_response.json", "handmade_express_delivered.json", "handmade_parcel_de_pickup.json",
			"handmade_two_services_failure_unknown.json"},
	}.Check(t)
}
