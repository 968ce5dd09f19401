package dhl

import "testing"

// BenchmarkParsePoll measures the processors' work per DHL poll answer:
// an eight-event Express shipment with local times whose zones are looked
// up (the biggest realistic answer here), and two shipments of two DHL
// businesses.
func BenchmarkParsePoll(b *testing.B) {
	for _, file := range []string{
		"handmade_express_delivered.json",
		"handmade_two_services_failure_unknown.json",
		"tracking_response.json",
	} {
		body := readTestdata(b, file)
		a := New(Config{})
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := a.ParsePoll(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseWebhook measures the refusal of a webhook body, all DHL
// webhooks get.
func BenchmarkParseWebhook(b *testing.B) {
	body := readTestdata(b, "handmade_express_delivered.json")
	a := New(Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := a.ParseWebhook(body); err == nil {
			b.Fatal("ParseWebhook accepted a body")
		}
	}
}

// BenchmarkNew measures building an adapter, country names included.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(Config{})
	}
}
