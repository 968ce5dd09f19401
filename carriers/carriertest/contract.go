package carriertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// Contract is what every adapter is checked against, whatever its
// source: the parts of the Adapter interface's promises that do not depend
// on the carrier's format.
type Contract struct {
	Adapter carriers.Adapter
	// Webhooks and Polls are fixture files (under testdata/) of verified
	// webhook bodies and poll answers that hold tracking content.
	Webhooks, Polls []string
	// Carriers are the slugs the adapter's updates may name: its own, or
	// for an aggregator the carriers it routes for. Empty means its own.
	Carriers []string
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Check runs the contract.
func (c Contract) Check(t *testing.T) {
	t.Helper()
	a := c.Adapter
	t.Run("names", func(t *testing.T) {
		if !slugPattern.MatchString(a.Slug()) || a.Name() == "" {
			t.Errorf("slug %q, name %q: want a lower-case slug and a name", a.Slug(), a.Name())
		}
	})
	t.Run("unsigned webhooks are refused", func(t *testing.T) {
		body := []byte(`{"tracking_number":"1Z999AA10123456784"}`)
		none := func(string) string { return "" }
		err := a.VerifyWebhook(carriers.WebhookRequest{Body: body, Header: none, Query: none, Now: time.Now()})
		if !errors.Is(err, carriers.ErrUnauthenticated) {
			t.Errorf("a request without credentials: %v, want an error wrapping ErrUnauthenticated", err)
		}
	})
	t.Run("garbage is an error, not a panic", func(t *testing.T) {
		for _, b := range [][]byte{nil, []byte("not json"), []byte("<xml/>"), []byte(`{"a":`)} {
			if _, err := a.ParseWebhook(b); err == nil {
				t.Errorf("ParseWebhook(%q) succeeded", b)
			}
			if p, ok := a.(carriers.Poller); ok {
				if _, err := p.ParsePoll(b); err == nil {
					t.Errorf("ParsePoll(%q) succeeded", b)
				}
			}
		}
	})
	allowed := map[string]bool{a.Slug(): len(c.Carriers) == 0}
	for _, s := range c.Carriers {
		allowed[s] = true
	}
	check := func(t *testing.T, name string, parse func([]byte) ([]tracking.Update, error)) {
		body, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		us, err := parse(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		events := 0
		for _, u := range us {
			if err := u.Validate(); err != nil {
				t.Errorf("%s: update for %q: %v", name, u.TrackingNumber, err)
			}
			if !allowed[u.Carrier] {
				t.Errorf("%s: update names carrier %q", name, u.Carrier)
			}
			for i, e := range u.Events {
				events++
				if e.CarrierStatus == "" && e.Message == "" {
					t.Errorf("%s: %s event %d keeps neither the carrier's code nor its text", name, u.TrackingNumber, i)
				}
				if len(e.Raw) == 0 || !json.Valid(e.Raw) {
					t.Errorf("%s: %s event %d: raw payload %q is not kept as JSON", name, u.TrackingNumber, i, e.Raw)
				}
				if !e.OccurredAt.Equal(e.OccurredAtLocal) || e.OccurredAt.Location() != time.UTC {
					t.Errorf("%s: %s event %d: at %v and local %v are not one instant in UTC and local form",
						name, u.TrackingNumber, i, e.OccurredAt, e.OccurredAtLocal)
				}
			}
		}
		if events == 0 {
			t.Errorf("%s: no events parsed from a fixture with tracking content", name)
		}
		// The same body parses the same way: the processors may parse an
		// entry more than once (redelivery), and must get the same events.
		again, _ := parse(bytes.Clone(body))
		if !reflect.DeepEqual(us, again) {
			t.Errorf("%s: a second parse differs from the first", name)
		}
	}
	for _, name := range c.Webhooks {
		t.Run("webhook "+name, func(t *testing.T) { check(t, name, a.ParseWebhook) })
	}
	if p, ok := a.(carriers.Poller); ok {
		for _, name := range c.Polls {
			t.Run("poll "+name, func(t *testing.T) { check(t, name, p.ParsePoll) })
		}
	} else if len(c.Polls) > 0 {
		t.Errorf("poll fixtures given for an adapter that does not poll")
	}
}
