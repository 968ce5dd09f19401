package usps

import "testing"

// BenchmarkParsePoll measures the processors' work per poll answer: the
// published delivered answer, twelve events.
func BenchmarkParsePoll(b *testing.B) {
	body := readTestdata(b, pollFixture)
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParsePoll(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseWebhook measures a notification carrying the same answer
// as its payload string.
func BenchmarkParseWebhook(b *testing.B) {
	body := readTestdata(b, webhookFixture)
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWebhook measures the signature check done in the request.
func BenchmarkVerifyWebhook(b *testing.B) {
	body := readTestdata(b, webhookFixture)
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
