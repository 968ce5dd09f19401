package shippo

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the adapter's output")

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wrap is a track_updated webhook body around a Track, as Shippo sends it.
func wrap(track []byte) []byte {
	return append(append([]byte(`{"event": "track_updated", "test": false, "data": `), track...), '}')
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// wantEvent is what a test checks of one event.
type wantEvent struct {
	id, carrierStatus string
	status            tracking.Status
	at                string // RFC 3339, UTC
	offsetUnknown     bool
}

func TestParsePoll_Fixtures(t *testing.T) {
	usps := []wantEvent{
		{"1b4212c588c84db2ba5ad86cb7470243", "UNKNOWN", tracking.StatusPending, "2016-12-07T00:00:00Z", false},
		{"f802567ba87f4378a93f563c3d043a6d", "UNKNOWN", tracking.StatusPending, "2016-12-07T02:00:00Z", false},
		{"5b19325d7ca24d77a07ef30e09afc320", "TRANSIT", tracking.StatusInTransit, "2016-12-07T19:04:00Z", false},
		{"247e3c3d090546d7ae9c011ab94a166b", "TRANSIT", tracking.StatusInTransit, "2016-12-07T20:19:00Z", false},
		{"e57e65a9b6f24dc085881ba1bb815966", "TRANSIT", tracking.StatusInTransit, "2016-12-07T21:45:00Z", false},
		{"4faad76819c343b99095b3095632fb9a", "TRANSIT", tracking.StatusInTransit, "2016-12-07T22:05:00Z", false},
		{"1deddf27215d49bab79dde4d718d9ff3", "TRANSIT", tracking.StatusInTransit, "2016-12-08T03:25:00Z", false},
		{"cb0aa0ce9e6d4a6e992b9d325d385b34", "TRANSIT", tracking.StatusInTransit, "2016-12-08T06:40:00Z", false},
		{"21546bb16910446d9383b0fb8024f2fd", "TRANSIT", tracking.StatusInTransit, "2016-12-08T10:19:00Z", false},
		{"401b354b8c174bd09c0331ae562c9d43", "TRANSIT", tracking.StatusInTransit, "2016-12-08T10:29:00Z", false},
		{"aa67f68af28140d7a30b68f0f4d57f2d", "DELIVERED", tracking.StatusDelivered, "2016-12-08T15:19:00Z", false},
	}
	tests := []struct {
		file, carrier, number, eta string
		events                     []wantEvent // nil: no update at all
	}{
		{"track_get_delivered_usps.json", "usps", "9205590164917337534322", "2016-12-08", usps},
		{"track_create_webhook_registration_delivered_usps.json", "usps", "9205590164917337534322", "2016-12-08", []wantEvent{
			{"d654555de8544b5cb3a0de5386329a78", "UNKNOWN", tracking.StatusPending, "2016-12-07T00:00:00Z", false},
			{"a17cc46b36294f06b2ae27a3cc124d56", "UNKNOWN", tracking.StatusPending, "2016-12-07T02:00:00Z", false},
			{"d1fb7363b469495790095fe8f1dc7a83", "TRANSIT", tracking.StatusInTransit, "2016-12-07T19:04:00Z", false},
			{"0a319ae0820f405a8caa45b7d29b21c3", "TRANSIT", tracking.StatusInTransit, "2016-12-07T20:19:00Z", false},
			{"0490dd096b1b4d9886df25e63a8d6185", "TRANSIT", tracking.StatusInTransit, "2016-12-07T21:45:00Z", false},
			{"7f297564394e45678bbba5d9150c6b0f", "TRANSIT", tracking.StatusInTransit, "2016-12-07T22:05:00Z", false},
			{"300733687b9f408193796a1f59101a12", "TRANSIT", tracking.StatusInTransit, "2016-12-08T03:25:00Z", false},
			{"9964b9a2243743ce98202a392c4e3745", "TRANSIT", tracking.StatusInTransit, "2016-12-08T06:40:00Z", false},
			{"cd25f611a5a04be782aee568aae372e1", "TRANSIT", tracking.StatusInTransit, "2016-12-08T10:19:00Z", false},
			{"f1434992429e48a1a2aa8265a978b7df", "TRANSIT", tracking.StatusInTransit, "2016-12-08T10:29:00Z", false},
			{"5040924378c645b8a4f542f9fbd0f7f5", "DELIVERED", tracking.StatusDelivered, "2016-12-08T15:19:00Z", false},
		}},
		{"track_create_unknown_number_null_status.json", "", "", "", nil},
		{"handmade_track_modern_ups.json", "ups", "1Z999AA10123456784", "2026-11-27", []wantEvent{
			{"ev-0001", "PRE_TRANSIT/information_received", tracking.StatusInfoReceived, "2026-11-23T18:00:00Z", false},
			{"ev-0002", "TRANSIT/package_accepted", tracking.StatusInTransit, "2026-11-24T02:10:00Z", false},
			{"ev-0003", "UNKNOWN/other", tracking.StatusInTransit, "2026-11-24T09:00:00Z", false},
			{"ev-0004", "TRANSIT/package_departed", tracking.StatusInTransit, "2026-11-25T15:00:00Z", false},
			{"", "TRANSIT/out_for_delivery", tracking.StatusOutForDelivery, "2026-11-26T08:05:00Z", true},
			{"ev-0006", "TRANSIT/delivery_attempted", tracking.StatusFailedAttempt, "2026-11-26T17:45:00Z", false},
		}},
		{"handmade_track_return_fedex.json", "fedex", "123456789012", "", []wantEvent{
			{"ev-r1", "PRE_TRANSIT", tracking.StatusInfoReceived, "2026-11-19T08:00:00Z", false},
			{"ev-r2", "TRANSIT/package_arrived", tracking.StatusInTransit, "2026-11-20T12:00:00.25Z", false},
			{"ev-r3", "TRANSIT/address_issue", tracking.StatusException, "2026-11-21T08:30:00Z", false},
			{"ev-r4", "UNKNOWN", tracking.StatusException, "2026-11-21T10:00:00Z", false},
			{"ev-r5", "RETURNED/return_to_sender", tracking.StatusReturning, "2026-11-22T07:00:00Z", false},
		}},
	}
	a := New(Config{})
	for _, tc := range tests {
		body := readTestdata(t, tc.file)
		for _, via := range []struct {
			name  string
			parse func([]byte) ([]tracking.Update, error)
			body  []byte
		}{{"poll", a.ParsePoll, body}, {"webhook", a.ParseWebhook, wrap(body)}} {
			t.Run(tc.file+"/"+via.name, func(t *testing.T) {
				us, err := via.parse(via.body)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if tc.events == nil {
					if len(us) != 0 {
						t.Fatalf("got %d updates, want none", len(us))
					}
					return
				}
				if len(us) != 1 {
					t.Fatalf("got %d updates, want 1", len(us))
				}
				u := us[0]
				if err := u.Validate(); err != nil {
					t.Errorf("Validate: %v", err)
				}
				if u.Carrier != tc.carrier || u.TrackingNumber != tc.number || u.EstimatedDelivery != tc.eta {
					t.Errorf("update = %q %q eta %q, want %q %q eta %q",
						u.Carrier, u.TrackingNumber, u.EstimatedDelivery, tc.carrier, tc.number, tc.eta)
				}
				if len(u.Events) != len(tc.events) {
					t.Fatalf("got %d events, want %d", len(u.Events), len(tc.events))
				}
				for i, w := range tc.events {
					e := u.Events[i]
					if e.ID != w.id || e.CarrierStatus != w.carrierStatus || e.Status != w.status ||
						!e.OccurredAt.Equal(mustTime(w.at)) || e.OffsetUnknown != w.offsetUnknown {
						t.Errorf("events[%d] = %q %q %q %s offsetUnknown=%v, want %q %q %q %s offsetUnknown=%v", i,
							e.ID, e.CarrierStatus, e.Status, e.OccurredAt.Format(time.RFC3339Nano), e.OffsetUnknown,
							w.id, w.carrierStatus, w.status, w.at, w.offsetUnknown)
					}
					if e.OccurredAt.Location() != time.UTC || !e.OccurredAt.Equal(e.OccurredAtLocal) {
						t.Errorf("events[%d]: OccurredAt %v, OccurredAtLocal %v", i, e.OccurredAt, e.OccurredAtLocal)
					}
					if !json.Valid(e.Raw) {
						t.Errorf("events[%d].Raw is not JSON: %s", i, e.Raw)
					}
				}
			})
		}
	}
}

func TestParsePoll_EventDetails(t *testing.T) {
	us, err := New(Config{}).ParsePoll(readTestdata(t, "handmade_track_modern_ups.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev := us[0].Events
	if got := ev[3].OccurredAtLocal.Format(time.RFC3339); got != "2026-11-25T10:00:00-05:00" {
		t.Errorf("OccurredAtLocal keeps the carrier's offset: got %s", got)
	}
	if got, want := ev[1].Location, (tracking.Location{City: "Louisville", Region: "KY", PostalCode: "40209", Country: "US"}); got != want {
		t.Errorf("Location = %+v, want %+v", got, want)
	}
	if got := ev[4].Location.PostalCode; got != "10001" {
		t.Errorf("numeric zip: PostalCode = %q, want 10001", got)
	}
	if ev[0].Location != (tracking.Location{}) {
		t.Errorf("location null: Location = %+v, want none", ev[0].Location)
	}
	if got := ev[5].Message; got != "Delivery attempted; no one available to sign." {
		t.Errorf("Message = %q, want status_details", got)
	}
	var raw struct {
		ObjectID string `json:"object_id"`
	}
	if err := json.Unmarshal(ev[5].Raw, &raw); err != nil || raw.ObjectID != "ev-0006" {
		t.Errorf("Raw is not the history entry: %s", ev[5].Raw)
	}

	// status_details empty: the substatus text stands in.
	us, err = New(Config{}).ParsePoll(readTestdata(t, "handmade_track_return_fedex.json"))
	if err != nil {
		t.Fatal(err)
	}
	last := us[0].Events[len(us[0].Events)-1]
	if last.Message != "Package is to be returned to sender." {
		t.Errorf("Message = %q, want the substatus text", last.Message)
	}
	var ts struct {
		ObjectID string `json:"object_id"`
	}
	if err := json.Unmarshal(last.Raw, &ts); err != nil || ts.ObjectID != "ev-r5" {
		t.Errorf("Raw of an event from tracking_status is not tracking_status: %s", last.Raw)
	}
}

// TestParse_Golden compares the whole normalized output with
// testdata/golden, so that any change in it shows up in review.
func TestParse_Golden(t *testing.T) {
	a := New(Config{})
	for _, name := range []string{
		"track_get_delivered_usps.json",
		"track_create_webhook_registration_delivered_usps.json",
		"track_create_unknown_number_null_status.json",
		"handmade_track_modern_ups.json",
		"handmade_track_return_fedex.json",
	} {
		t.Run(name, func(t *testing.T) {
			us, err := a.ParsePoll(readTestdata(t, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(us, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

func TestWebhookFixtures_WrapTracks(t *testing.T) {
	for webhook, track := range map[string]string{
		"webhook_track_updated_delivered_usps.json": "track_get_delivered_usps.json",
		"webhook_track_updated_unknown_number.json": "track_create_unknown_number_null_status.json",
	} {
		if !bytes.Equal(readTestdata(t, webhook), wrap(readTestdata(t, track))) {
			t.Errorf("%s is not %s in the track_updated envelope", webhook, track)
		}
	}
}

func TestParseWebhook_Fixtures(t *testing.T) {
	a := New(Config{})
	us, err := a.ParseWebhook(readTestdata(t, "webhook_track_updated_delivered_usps.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].Carrier != "usps" || len(us[0].Events) != 11 || us[0].Events[10].Status != tracking.StatusDelivered {
		t.Errorf("delivered webhook: %+v", us)
	}
	us, err = a.ParseWebhook(readTestdata(t, "webhook_track_updated_unknown_number.json"))
	if err != nil || len(us) != 0 {
		t.Errorf("unknown-number webhook = %d updates, %v; want none, no error", len(us), err)
	}
}

func TestParseWebhook_OtherEvents(t *testing.T) {
	a := New(Config{})
	for _, ev := range []string{"transaction_created", "transaction_updated", "batch_created", "batch_purchased", "all", "something_new"} {
		body := `{"event": "` + ev + `", "test": true, "data": {"object_id": "x", "status": "SUCCESS"}}`
		us, err := a.ParseWebhook([]byte(body))
		if err != nil || len(us) != 0 {
			t.Errorf("%s: %d updates, %v; want none, no error", ev, len(us), err)
		}
	}
}

func TestParseWebhook_TestWebhooksAreParsed(t *testing.T) {
	body := `{"event":"track_updated","test":true,"data":{"carrier":"shippo","tracking_number":"SHIPPO_TRANSIT",
		"tracking_status":{"status":"TRANSIT","status_details":"Your shipment is in transit.","status_date":"2026-11-25T10:00:00Z","location":null},
		"tracking_history":[]}}`
	us, err := New(Config{}).ParseWebhook([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].Carrier != "shippo" || us[0].TrackingNumber != "SHIPPO_TRANSIT" || len(us[0].Events) != 1 {
		t.Errorf("test webhook: %+v", us)
	}
}

func TestParse_Carriers(t *testing.T) {
	for token, want := range map[string]string{"dhl_express": "dhl", "dhl_ecommerce": "dhl", "UPS": "ups", "canada_post": "canada_post"} {
		body := `{"carrier":"` + token + `","tracking_number":"123","eta":"2026-11-27T00:00:00Z","tracking_status":null}`
		us, err := New(Config{}).ParsePoll([]byte(body))
		if err != nil || len(us) != 1 || us[0].Carrier != want {
			t.Errorf("carrier %q: %+v, %v; want %q", token, us, err, want)
		}
	}
}

func TestParse_Times(t *testing.T) {
	tests := []struct {
		date          string
		want          string
		offsetUnknown bool
	}{
		{"2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z", false},
		{"2026-11-25T10:00:00.123Z", "2026-11-25T10:00:00.123Z", false},
		{"2026-11-25T10:00:00+09:00", "2026-11-25T01:00:00Z", false},
		{"2026-11-25 10:00:00+00:00", "2026-11-25T10:00:00Z", false},
		{"2026-11-25T10:00:00", "2026-11-25T10:00:00Z", true},
		{"2026-11-25T10:00:00.5", "2026-11-25T10:00:00.5Z", true},
		{"2026-11-25 10:00:00", "2026-11-25T10:00:00Z", true},
		{"2026-11-25", "2026-11-25T00:00:00Z", true},
	}
	for _, tc := range tests {
		t.Run(tc.date, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll(trackWith(`{"status":"TRANSIT","status_date":"` + tc.date + `"}`))
			if err != nil {
				t.Fatal(err)
			}
			e := us[0].Events[0]
			if !e.OccurredAt.Equal(mustTime(tc.want)) || e.OffsetUnknown != tc.offsetUnknown {
				t.Errorf("OccurredAt %s offsetUnknown=%v, want %s %v", e.OccurredAt.Format(time.RFC3339Nano), e.OffsetUnknown, tc.want, tc.offsetUnknown)
			}
		})
	}
}

func TestParse_ETA(t *testing.T) {
	tests := map[string]string{
		`"2016-12-08T00:00:00Z"`:      "2016-12-08",
		`"2026-11-27T00:00:00-05:00"`: "2026-11-27",
		`"2026-11-27"`:                "2026-11-27",
		`"2026-11-27T18:00:00Z"`:      "2026-11-27T18:00:00Z",
		`"2026-11-27T18:00:00+01:00"`: "2026-11-27T18:00:00+01:00",
		`"2026-11-27T18:00:00"`:       "2026-11-27T18:00:00Z",
		`null`:                        "",
		`""`:                          "",
	}
	for in, want := range tests {
		body := `{"carrier":"usps","tracking_number":"1","eta":` + in + `,"tracking_history":[{"status":"TRANSIT","status_date":"2026-11-25T10:00:00Z"}]}`
		us, err := New(Config{}).ParsePoll([]byte(body))
		if err != nil {
			t.Errorf("eta %s: %v", in, err)
			continue
		}
		if got := us[0].EstimatedDelivery; got != want {
			t.Errorf("eta %s: EstimatedDelivery = %q, want %q", in, got, want)
		}
		if err := us[0].Validate(); err != nil {
			t.Errorf("eta %s: %v", in, err)
		}
	}
}

// trackWith is a Track whose history is the given entries.
func trackWith(entries ...string) []byte {
	return []byte(`{"carrier":"usps","tracking_number":"9205590164917337534322","tracking_status":null,"tracking_history":[` +
		strings.Join(entries, ",") + `]}`)
}

func TestParse_NothingToSay(t *testing.T) {
	for name, body := range map[string]string{
		"null status, empty history": `{"carrier":"usps","tracking_number":"1","tracking_status":null,"tracking_history":[]}`,
		"no history field":           `{"carrier":"usps","tracking_number":"1","tracking_status":null}`,
		"UNKNOWN status without date": `{"carrier":"usps","tracking_number":"1","tracking_history":[],
			"tracking_status":{"status":"UNKNOWN","status_details":"","status_date":null,"location":null}}`,
	} {
		us, err := New(Config{}).ParsePoll([]byte(body))
		if err != nil || len(us) != 0 {
			t.Errorf("%s: %d updates, %v; want none, no error", name, len(us), err)
		}
	}
}

func TestParse_Errors(t *testing.T) {
	tests := map[string]string{
		"empty":                 ``,
		"not JSON":              `<h1>Not Found</h1>`,
		"truncated":             `{"carrier":"usps","tracking_number":"1","tracking_hist`,
		"not an object":         `[]`,
		"no carrier":            `{"tracking_number":"1","tracking_history":[{"status":"TRANSIT","status_date":"2026-11-25T10:00:00Z"}]}`,
		"no tracking number":    `{"carrier":"usps","tracking_history":[{"status":"TRANSIT","status_date":"2026-11-25T10:00:00Z"}]}`,
		"unknown status":        string(trackWith(`{"status":"LOST","status_date":"2026-11-25T10:00:00Z"}`)),
		"empty status":          string(trackWith(`{"status":"","status_date":"2026-11-25T10:00:00Z"}`)),
		"known status, no date": string(trackWith(`{"status":"DELIVERED","status_date":null}`)),
		"bad date":              string(trackWith(`{"status":"TRANSIT","status_date":"yesterday"}`)),
		"date before 2000":      string(trackWith(`{"status":"TRANSIT","status_date":"0001-01-01T00:00:00Z"}`)),
		"offset out of range":   string(trackWith(`{"status":"TRANSIT","status_date":"2026-11-25 10:00:00+24:00"}`)),
		"before 2000 in UTC":    string(trackWith(`{"status":"TRANSIT","status_date":"2000-01-01T00:30:00+01:00"}`)),
		"null history entry":    string(trackWith(`null`)),
		"status is an object":   string(trackWith(`{"status":{"x":1},"status_date":"2026-11-25T10:00:00Z"}`)),
		"history not an array":  `{"carrier":"usps","tracking_number":"1","tracking_history":{}}`,
		"bad eta":               `{"carrier":"usps","tracking_number":"1","eta":"soon","tracking_status":null}`,
		"long number":           `{"carrier":"usps","tracking_number":"` + strings.Repeat("9", 65) + `","eta":"2026-11-27"}`,
		"tracking_status unknown status": `{"carrier":"usps","tracking_number":"1",
			"tracking_status":{"status":"NEW","status_date":"2026-11-25T10:00:00Z"}}`,
	}
	a := New(Config{})
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if us, err := a.ParsePoll([]byte(body)); err == nil {
				t.Errorf("ParsePoll = %+v, want an error", us)
			}
			if us, err := a.ParseWebhook(wrap([]byte(body))); err == nil {
				t.Errorf("ParseWebhook = %+v, want an error", us)
			}
		})
	}
}

func TestParseWebhook_Errors(t *testing.T) {
	for name, body := range map[string]string{
		"empty":              ``,
		"not JSON":           `event=track_updated`,
		"no event":           `{"data":{"carrier":"usps","tracking_number":"1"}}`,
		"track without data": `{"event":"track_updated","test":false}`,
		"track, data null":   `{"event":"track_updated","data":null}`,
		"event not a string": `{"event":["track_updated"],"data":{}}`,
	} {
		if us, err := New(Config{}).ParseWebhook([]byte(body)); err == nil {
			t.Errorf("%s: ParseWebhook = %+v, want an error", name, us)
		}
	}
}

func TestParse_TooManyEvents(t *testing.T) {
	entries := make([]string, MaxEvents+1)
	for i := range entries {
		entries[i] = `{"status":"TRANSIT","status_date":"2026-11-25T10:00:00Z"}`
	}
	if _, err := New(Config{}).ParsePoll(trackWith(entries...)); err == nil {
		t.Error("ParsePoll accepted more than MaxEvents events")
	}
	if us, err := New(Config{}).ParsePoll(trackWith(entries[:MaxEvents]...)); err != nil || len(us[0].Events) != MaxEvents {
		t.Errorf("MaxEvents events: %v", err)
	}
}

func TestParse_LongTextIsCut(t *testing.T) {
	long := strings.Repeat("é", maxTextLength) // two bytes each
	us, err := New(Config{}).ParsePoll(trackWith(`{"status":"TRANSIT","status_details":"` + long + `","status_date":"2026-11-25T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := us[0].Events[0].Message
	if len(m) > maxTextLength || !strings.HasPrefix(long, m) || len(m) < maxTextLength-1 {
		t.Errorf("Message cut to %d bytes, want %d on a rune boundary", len(m), maxTextLength)
	}
}

func TestParse_TrackingStatusNotInHistoryIsAdded(t *testing.T) {
	body := `{"carrier":"usps","tracking_number":"1",
		"tracking_status":{"object_id":"b","status":"DELIVERED","status_details":"Delivered","status_date":"2026-11-26T10:00:00Z"},
		"tracking_history":[{"object_id":"a","status":"TRANSIT","status_details":"Out","status_date":"2026-11-26T08:00:00Z"}]}`
	us, err := New(Config{}).ParsePoll([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev := us[0].Events; len(ev) != 2 || ev[1].ID != "b" || ev[1].Status != tracking.StatusDelivered {
		t.Errorf("events = %+v", ev)
	}

	// The same scan under another object_id is not added twice.
	body = strings.Replace(body, `"object_id":"a","status":"TRANSIT","status_details":"Out","status_date":"2026-11-26T08:00:00Z"`,
		`"object_id":"c","status":"DELIVERED","status_details":"Delivered","status_date":"2026-11-26T10:00:00Z"`, 1)
	us, err = New(Config{}).ParsePoll([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ev := us[0].Events; len(ev) != 1 || ev[0].ID != "c" {
		t.Errorf("events = %+v, want only the history entry", ev)
	}
}

func TestParse_UnknownInheritsThePreviousStatus(t *testing.T) {
	us, err := New(Config{}).ParsePoll(trackWith(
		`{"status":"UNKNOWN","status_date":"2026-11-26T12:00:00Z"}`,
		`{"status":"TRANSIT","substatus":{"code":"out_for_delivery"},"status_date":"2026-11-26T08:00:00Z"}`,
		`{"status":"UNKNOWN","status_date":"2026-11-20T08:00:00Z"}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	var got []tracking.Status
	for _, e := range us[0].Events {
		got = append(got, e.Status)
	}
	want := []tracking.Status{tracking.StatusPending, tracking.StatusOutForDelivery, tracking.StatusOutForDelivery}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("statuses in time order = %v, want %v", got, want)
	}
}

func TestParse_DoesNotKeepTheBody(t *testing.T) {
	body := readTestdata(t, "webhook_track_updated_delivered_usps.json")
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	before := string(us[0].Events[0].Raw)
	for i := range body {
		body[i] = 'x'
	}
	if string(us[0].Events[0].Raw) != before {
		t.Error("Event.Raw aliases the body buffer, which the caller may reuse")
	}
}
