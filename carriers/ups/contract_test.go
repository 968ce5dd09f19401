package ups

import (
	"path/filepath"
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestContract(t *testing.T) {
	webhooks, err := filepath.Glob("testdata/trackalert_webhook_*.json")
	if err != nil || len(webhooks) != 9 {
		t.Fatalf("%d Track Alert fixtures, want 9: %v", len(webhooks), err)
	}
	for i := range webhooks {
		webhooks[i] = filepath.Base(webhooks[i])
	}
	carriertest.Contract{
		Adapter:  New(Config{ClientID: "id", ClientSecret: "secret", WebhookSecret: testSecret}),
		Webhooks: webhooks,
		Polls:    []string{postmanPoll, docPoll, "karrio_tracking_response.json"},
	}.Check(t)
}
