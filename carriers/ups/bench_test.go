package ups

import (
	"testing"
	"time"
)

// BenchmarkParseWebhook measures the processors' work per Track Alert
// post: one activity, the delivery (the largest of UPS's examples).
func BenchmarkParseWebhook(b *testing.B) {
	body := readTestdata(b, "trackalert_webhook_v2_02_delivery.json")
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePoll measures a Track API answer with every field UPS
// documents (the documentation sample).
func BenchmarkParsePoll(b *testing.B) {
	body := readTestdata(b, docPoll)
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParsePoll(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWebhook measures the authentication done in the request:
// a v2 Bearer token and a v1 credential.
func BenchmarkVerifyWebhook(b *testing.B) {
	a := webhookAdapter(testSecret)
	for name, h := range map[string]map[string]string{
		"bearer":     {"Authorization": "Bearer " + mintToken(a.tokenKey, testNow.Add(time.Minute))},
		"credential": {"credential": testSecret},
	} {
		r := request(nil, h)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := a.VerifyWebhook(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
