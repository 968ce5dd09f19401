package fedex

import "testing"

// BenchmarkParseWebhook measures the processors' work per FedEx push: the
// biggest realistic one, a reused number's two shipments with 18 scans.
func BenchmarkParseWebhook(b *testing.B) {
	body := readTestdata(b, "webhook_delivered_duplicate.json")
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePoll measures the biggest recorded Track API answer, with
// every shipment field FedEx sends beside the scans.
func BenchmarkParsePoll(b *testing.B) {
	body := readTestdata(b, "track_delivered_duplicate.json")
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
	body := readTestdata(b, "webhook_delivered_duplicate.json")
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
