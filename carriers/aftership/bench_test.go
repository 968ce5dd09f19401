package aftership

import "testing"

// BenchmarkParseWebhook measures the processors' work per AfterShip
// webhook: a 14-checkpoint FedEx tracking (the common case), and one with
// no checkpoint.
func BenchmarkParseWebhook(b *testing.B) {
	for _, file := range []string{
		"webhook_tracking_update_delivered_fedex.json",
		"webhook_tracking_update_pending_4px.json",
	} {
		body := readTestdata(b, file)
		a := New(Config{})
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := a.ParseWebhook(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParsePoll measures a list answer of three trackings.
func BenchmarkParsePoll(b *testing.B) {
	body := readTestdata(b, "v4_list_trackings_mixed_statuses.json")
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParsePoll(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWebhook measures the signature check done in the request.
func BenchmarkVerifyWebhook(b *testing.B) {
	body := readTestdata(b, "webhook_tracking_update_delivered_fedex.json")
	a := New(Config{WebhookSecret: testSecret})
	r := request(body, map[string]string{SignatureHeader: SignatureOf(testSecret, body)})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := a.VerifyWebhook(r); err != nil {
			b.Fatal(err)
		}
	}
}
