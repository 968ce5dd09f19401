package dhl

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// addFiles adds testdata files matching pattern to f's seed corpus.
func addFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files %s: %v", pattern, err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParsePoll(f *testing.F) {
	addFiles(f, "*.json")
	f.Add([]byte(`{"shipments":[]}`))
	f.Add([]byte(`{"shipments":[{"id":7777777770,"status":{"timestamp":"2026-11-25T10:00:00","statusCode":"delivered","location":{"address":{"addressLocality":"WILMINGTON, OH - USA"}}}}]}`))
	f.Add([]byte(`{"shipments":[{"id":"1","estimatedTimeOfDelivery":"2026-11-27T00:00:00+09:00","events":[{"timestamp":"2026-11-25","description":"Ready for pick-up at the PACKSTATION"}]}]}`))
	f.Add([]byte(`{"shipments":[{"id":"1","events":[{"timestamp":"2026-11-25T10:00:00Z","statusCode":"delivered","status":"Returned to sender","location":{"address":{"countryCode":"usa","addressLocality":"Oderweg 2, AMSTERDAM - GERMANY"}}}]}]}`))
	f.Add([]byte(`{"shipments":[null]}`))
	f.Add([]byte(`{"status":429,"title":"Too many requests","detail":"Too many requests."}`))
	f.Add([]byte(`<html></html>`))
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParsePoll(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			if us != nil {
				t.Fatalf("ParsePoll returned updates with its error %v", err)
			}
			return
		}
		for _, u := range us {
			checkUpdate(t, u)
		}
		checkDeterministic(t, us, func() ([]tracking.Update, error) { return a.ParsePoll(bytes.Clone(body)) })
	})
}

// FuzzParseWebhook: DHL has no webhook, so every body is refused, and
// none makes the adapter panic.
func FuzzParseWebhook(f *testing.F) {
	addFiles(f, "*.json")
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParseWebhook(body)
		if err == nil || us != nil || !errors.Is(err, ErrNoWebhook) {
			t.Fatalf("ParseWebhook = %v, %v; want ErrNoWebhook", us, err)
		}
		if err := a.VerifyWebhook(carriers.WebhookRequest{Body: body}); !errors.Is(err, carriers.ErrUnauthenticated) {
			t.Fatalf("VerifyWebhook = %v, want ErrUnauthenticated", err)
		}
	})
}

// checkDeterministic parses again and wants the same events, key for key:
// a poll answer fetched twice must be recognized as the same events.
func checkDeterministic(t *testing.T, us []tracking.Update, again func() ([]tracking.Update, error)) {
	t.Helper()
	us2, err := again()
	if err != nil || len(us2) != len(us) {
		t.Fatalf("second parse = %d updates, %v; first gave %d", len(us2), err, len(us))
	}
	for i := range us {
		if !reflect.DeepEqual(keys(us[i]), keys(us2[i])) || us[i].EstimatedDelivery != us2[i].EstimatedDelivery ||
			us[i].TrackingNumber != us2[i].TrackingNumber {
			t.Fatalf("update %d differs between two parses of the same body", i)
		}
	}
}

func keys(u tracking.Update) []string {
	out := make([]string, len(u.Events))
	for i, e := range u.Events {
		out[i] = e.Key()
	}
	return out
}
