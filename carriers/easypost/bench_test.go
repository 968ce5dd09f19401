package easypost

import "testing"

// BenchmarkParseWebhook measures parse throughput on EasyPost's production
// tracker.updated example (FedEx, 7 tracking details, 3.5 kB).
func BenchmarkParseWebhook(b *testing.B) {
	body := fixture(b, fedexWebhook)
	a := New(Config{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		us, err := a.ParseWebhook(body)
		if err != nil || len(us) != 1 || len(us[0].Events) != 7 {
			b.Fatalf("ParseWebhook = %v, %v", us, err)
		}
	}
}

// BenchmarkParsePoll measures parse throughput on a retrieved Tracker.
func BenchmarkParsePoll(b *testing.B) {
	body := fixture(b, retrieveTracker)
	a := New(Config{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.ParsePoll(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWebhook measures signature checking, which runs in the
// request path before a webhook is accepted.
func BenchmarkVerifyWebhook(b *testing.B) {
	body := fixture(b, fedexWebhook)
	a := New(Config{WebhookSecret: "sécret"})
	req := request(body, Sign("sécret", body))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := a.VerifyWebhook(req); err != nil {
			b.Fatal(err)
		}
	}
}
