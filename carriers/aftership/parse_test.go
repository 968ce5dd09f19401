package aftership

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// obj is a decoded JSON object, for building bodies by editing a fixture.
type obj = map[string]any

// webhookWith returns the PostNL webhook body (six checkpoints, offsets
// +01:00) with edit applied to its msg, re-encoded.
func webhookWith(t *testing.T, edit func(msg obj)) []byte {
	t.Helper()
	var env obj
	if err := json.Unmarshal(readTestdata(t, "webhook_tracking_update_in_transit_postnl.json"), &env); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(env["msg"].(obj))
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkpoint returns the i-th checkpoint of msg.
func checkpoint(msg obj, i int) obj { return msg["checkpoints"].([]any)[i].(obj) }

// lastOnly keeps msg's last checkpoint alone.
func lastOnly(msg obj) {
	cps := msg["checkpoints"].([]any)
	msg["checkpoints"] = cps[len(cps)-1:]
}

func parseOne(t *testing.T, body []byte) tracking.Update {
	t.Helper()
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatalf("ParseWebhook = %v", err)
	}
	if len(us) != 1 {
		t.Fatalf("ParseWebhook returned %d updates, want 1", len(us))
	}
	checkUpdate(t, us[0])
	return us[0]
}

// summary is what the fixture tests assert of an update, beyond its golden file.
type summary struct {
	carrier, number, eta string
	events               int
	offsetUnknown        int
	first, last          tracking.Status
	// status is the shipment's status after applying the update.
	status tracking.Status
}

func summarize(u tracking.Update) summary {
	s := summary{carrier: u.Carrier, number: u.TrackingNumber, eta: u.EstimatedDelivery, events: len(u.Events)}
	for _, e := range u.Events {
		if e.OffsetUnknown {
			s.offsetUnknown++
		}
	}
	if len(u.Events) > 0 {
		s.first, s.last = u.Events[0].Status, u.Events[len(u.Events)-1].Status
	}
	var l tracking.Log
	l.Apply(u)
	s.status = l.Status
	return s
}

func TestParseWebhook_Fixtures(t *testing.T) {
	tests := []struct {
		file string
		want summary
	}{
		{"webhook_tracking_update_delivered_fedex.json", summary{
			carrier: "fedex", number: "111111111111", eta: "2022-01-05T12:11:11+01:00", events: 14,
			first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered}},
		{"webhook_tracking_update_in_transit_postnl.json", summary{
			carrier: "postnl-3s", number: "3SKAAG5995399", events: 6,
			first: tracking.StatusInfoReceived, last: tracking.StatusInTransit, status: tracking.StatusInTransit}},
		{"webhook_tracking_update_delivered_no_offset.json", summary{
			carrier: "fedex", number: "1111111111111", events: 11, offsetUnknown: 11,
			first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered}},
		// Marked completed as lost after the carrier's "delivered": the
		// tracking's own Exception_013 comes last, dated when it was set.
		{"webhook_tracking_update_exception_completed.json", summary{
			carrier: "fedex", number: "111111111111", events: 15,
			first: tracking.StatusInfoReceived, last: tracking.StatusException, status: tracking.StatusException}},
		{"webhook_tracking_update_pending_4px.json", summary{
			carrier: "4px", number: "HH19260817", status: tracking.StatusPending}},
		{"webhook_edd_revise_delivered_fedex.json", summary{
			carrier: "fedex", number: "1111111111111", eta: "2018-08-01", events: 11,
			first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered}},
		// Expired without a checkpoint: the tracking's own tag is the event.
		{"webhook_tracking_update_expired_ups.json", summary{
			carrier: "ups", number: "2222222222222", events: 1,
			first: tracking.StatusExpired, last: tracking.StatusExpired, status: tracking.StatusExpired}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			u := parseOne(t, readTestdata(t, tt.file))
			if got := summarize(u); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			checkGolden(t, tt.file, []tracking.Update{u})
		})
	}
}

func TestParsePoll_Fixtures(t *testing.T) {
	tests := []struct {
		file string
		want []summary
	}{
		{"v4_get_tracking_delivered_fedex.json", []summary{{
			carrier: "fedex", number: "111111111111", eta: "2022-01-05T12:11:11+01:00", events: 14,
			first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered}}},
		{"v4_get_tracking_in_transit_postnl.json", []summary{{
			carrier: "postnl-3s", number: "3SKAAG5995399", events: 6,
			first: tracking.StatusInfoReceived, last: tracking.StatusInTransit, status: tracking.StatusInTransit}}},
		{"v4_get_tracking_pending_4px.json", []summary{{carrier: "4px", number: "HH19260817", status: tracking.StatusPending}}},
		{"v4_create_tracking_pending.json", []summary{{carrier: "fedex", number: "1111111111111", status: tracking.StatusPending}}},
		{"v4_update_tracking_delivered.json", []summary{{
			carrier: "fedex", number: "1111111111111", events: 11, offsetUnknown: 11,
			first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered}}},
		{"v4_mark_completed_exception.json", []summary{{
			carrier: "fedex", number: "111111111111", events: 15,
			first: tracking.StatusInfoReceived, last: tracking.StatusException, status: tracking.StatusException}}},
		{"v4_list_trackings_mixed_statuses.json", []summary{
			{carrier: "fedex", number: "1111111111111", eta: "2018-08-01", events: 11,
				first: tracking.StatusInfoReceived, last: tracking.StatusDelivered, status: tracking.StatusDelivered},
			{carrier: "ups", number: "2222222222222", events: 1,
				first: tracking.StatusExpired, last: tracking.StatusExpired, status: tracking.StatusExpired},
			{carrier: "usps", number: "1231231231231", events: 1,
				first: tracking.StatusExpired, last: tracking.StatusExpired, status: tracking.StatusExpired},
		}},
		{"v4_list_trackings_pending_4px.json", []summary{{carrier: "4px", number: "HH19260817", status: tracking.StatusPending}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll(readTestdata(t, tt.file))
			if err != nil {
				t.Fatalf("ParsePoll = %v", err)
			}
			if len(us) != len(tt.want) {
				t.Fatalf("ParsePoll returned %d updates, want %d", len(us), len(tt.want))
			}
			for i, u := range us {
				checkUpdate(t, u)
				if got := summarize(u); got != tt.want[i] {
					t.Errorf("update %d:\ngot  %+v\nwant %+v", i, got, tt.want[i])
				}
			}
			checkGolden(t, tt.file, us)
		})
	}
}

func TestParse_WebhookAndPollAgree(t *testing.T) {
	// A webhook and a poll answer about the same tracking state must give
	// the same events, or trackd would store every scan twice.
	pairs := [][2]string{
		{"webhook_tracking_update_delivered_fedex.json", "v4_get_tracking_delivered_fedex.json"},
		{"webhook_tracking_update_in_transit_postnl.json", "v4_get_tracking_in_transit_postnl.json"},
		{"webhook_tracking_update_delivered_no_offset.json", "v4_update_tracking_delivered.json"},
		{"webhook_tracking_update_exception_completed.json", "v4_mark_completed_exception.json"},
	}
	a := New(Config{})
	for _, p := range pairs {
		t.Run(p[0], func(t *testing.T) {
			w := parseOne(t, readTestdata(t, p[0]))
			ps, err := a.ParsePoll(readTestdata(t, p[1]))
			if err != nil || len(ps) != 1 {
				t.Fatalf("ParsePoll = %d updates, %v", len(ps), err)
			}
			if w.Carrier != ps[0].Carrier || w.TrackingNumber != ps[0].TrackingNumber || w.EstimatedDelivery != ps[0].EstimatedDelivery {
				t.Errorf("webhook %s/%s eta %q, poll %s/%s eta %q", w.Carrier, w.TrackingNumber, w.EstimatedDelivery,
					ps[0].Carrier, ps[0].TrackingNumber, ps[0].EstimatedDelivery)
			}
			if len(w.Events) != len(ps[0].Events) {
				t.Fatalf("webhook has %d events, poll %d", len(w.Events), len(ps[0].Events))
			}
			for i := range w.Events {
				if wk, pk := w.Events[i].Key(), ps[0].Events[i].Key(); wk != pk {
					t.Errorf("event %d: webhook key %s, poll key %s", i, wk, pk)
				}
			}
		})
	}
}

func TestParse_RawIsTheCheckpoint(t *testing.T) {
	body := readTestdata(t, "v4_get_tracking_delivered_fedex.json")
	var ans struct {
		Data struct {
			Tracking struct {
				Checkpoints []json.RawMessage `json:"checkpoints"`
			} `json:"tracking"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	us, err := New(Config{}).ParsePoll(body)
	if err != nil {
		t.Fatal(err)
	}
	cps := ans.Data.Tracking.Checkpoints
	if len(us[0].Events) != len(cps) {
		t.Fatalf("%d events for %d checkpoints", len(us[0].Events), len(cps))
	}
	for i, e := range us[0].Events {
		var want bytes.Buffer
		if err := json.Compact(&want, cps[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Raw, want.Bytes()) {
			t.Errorf("events[%d].Raw = %s\nwant %s", i, e.Raw, want.Bytes())
		}
	}
	// Raw must not alias the body: the processors reuse nothing, but a
	// caller that does must not see its events change.
	for i := range body {
		body[i] = ' '
	}
	if !json.Valid(us[0].Events[0].Raw) {
		t.Error("Raw aliases the parsed body")
	}
}

func TestParseWebhook_CheckpointTimes(t *testing.T) {
	plus1 := 3600
	tests := []struct {
		in        any
		at        time.Time
		offset    int
		unknown   bool
		errSubstr string
	}{
		{in: "2021-03-20T15:29:27+01:00", at: time.Date(2021, 3, 20, 14, 29, 27, 0, time.UTC), offset: plus1},
		{in: "2021-03-20T15:29:27Z", at: time.Date(2021, 3, 20, 15, 29, 27, 0, time.UTC)},
		{in: "2021-03-20T15:29:27.250-05:00", at: time.Date(2021, 3, 20, 20, 29, 27, 250e6, time.UTC), offset: -5 * 3600},
		{in: "2021-03-20T15:29:27+0800", at: time.Date(2021, 3, 20, 7, 29, 27, 0, time.UTC), offset: 8 * 3600},
		{in: "  2021-03-20T15:29:27+01:00\t", at: time.Date(2021, 3, 20, 14, 29, 27, 0, time.UTC), offset: plus1},
		// No offset: read in UTC, and said so.
		{in: "2021-03-20T15:29:27", at: time.Date(2021, 3, 20, 15, 29, 27, 0, time.UTC), unknown: true},
		{in: "2021-03-20T15:29:27.5", at: time.Date(2021, 3, 20, 15, 29, 27, 5e8, time.UTC), unknown: true},
		{in: "2021-03-20 15:29:27", at: time.Date(2021, 3, 20, 15, 29, 27, 0, time.UTC), unknown: true},
		{in: "2021-03-20", at: time.Date(2021, 3, 20, 0, 0, 0, 0, time.UTC), unknown: true},
		{in: "", errSubstr: "checkpoint_time: is missing"},
		{in: nil, errSubstr: "checkpoint_time: is missing"},
		{in: 1616250567, errSubstr: "checkpoint_time"},
		{in: "20/03/2021", errSubstr: "checkpoint_time"},
		{in: "2021-03-20T25:00:00+01:00", errSubstr: "checkpoint_time"},
		{in: "2021-02-30", errSubstr: "checkpoint_time"},
		{in: "1970-01-01T00:00:00Z", errSubstr: "before 2000"},
		{in: map[string]any{"time": "2021-03-20"}, errSubstr: "checkpoint_time: want a string, not an object"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			body := webhookWith(t, func(msg obj) {
				lastOnly(msg)
				checkpoint(msg, 0)["checkpoint_time"] = tt.in
			})
			if tt.errSubstr != "" {
				_, err := New(Config{}).ParseWebhook(body)
				if err == nil || !strings.Contains(err.Error(), tt.errSubstr) || !strings.Contains(err.Error(), "msg.checkpoints[0]") {
					t.Fatalf("ParseWebhook error = %v, want one naming msg.checkpoints[0] and %q", err, tt.errSubstr)
				}
				return
			}
			e := parseOne(t, body).Events[0]
			if !e.OccurredAt.Equal(tt.at) || e.OffsetUnknown != tt.unknown {
				t.Errorf("OccurredAt %v, OffsetUnknown %v; want %v, %v", e.OccurredAt, e.OffsetUnknown, tt.at, tt.unknown)
			}
			if _, off := e.OccurredAtLocal.Zone(); off != tt.offset {
				t.Errorf("OccurredAtLocal %v has offset %ds, want %ds", e.OccurredAtLocal, off, tt.offset)
			}
		})
	}
}

func TestParseWebhook_CheckpointFields(t *testing.T) {
	tests := []struct {
		name string
		edit func(cp obj)
		want func(e tracking.Event) string
	}{
		{"subtag is the carrier status", func(cp obj) {},
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "InTransit_004" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"tag alone when there is no subtag", func(cp obj) { cp["subtag"] = nil },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "InTransit", "CarrierStatus %q", e.CarrierStatus)
			}},
		{"subtag alone names its tag", func(cp obj) { cp["tag"] = ""; cp["subtag"] = "InTransit_009" },
			func(e tracking.Event) string {
				return check(e.Status == tracking.StatusInTransit && e.CarrierStatus == "InTransit_009", "Status %q CarrierStatus %q", e.Status, e.CarrierStatus)
			}},
		{"the checkpoint message is the message", func(cp obj) {},
			func(e tracking.Event) string {
				return check(e.Message == "Shipment received in country of destination", "Message %q", e.Message)
			}},
		{"subtag_message stands in for a missing message", func(cp obj) { cp["message"] = nil },
			func(e tracking.Event) string {
				return check(e.Message == "Arrived at destination country", "Message %q", e.Message)
			}},
		{"location fields", func(cp obj) {
			cp["city"], cp["state"], cp["zip"], cp["country_iso3"] = " Valencia ", "VC", "46970", "ESP"
		}, func(e tracking.Event) string {
			want := tracking.Location{City: "Valencia", Region: "VC", PostalCode: "46970", Country: "ES"}
			return check(e.Location == want, "Location %+v, want %+v", e.Location, want)
		}},
		{"zip sent as a JSON number", func(cp obj) { cp["zip"] = 46970 },
			func(e tracking.Event) string {
				return check(e.Location.PostalCode == "46970", "PostalCode %q", e.Location.PostalCode)
			}},
		{"country_region of the dated versions", func(cp obj) { cp["country_iso3"] = nil; cp["country_region"] = "USA" },
			func(e tracking.Event) string {
				return check(e.Location.Country == "US", "Country %q", e.Location.Country)
			}},
		{"lower-case alpha-3", func(cp obj) { cp["country_iso3"] = "jpn" },
			func(e tracking.Event) string {
				return check(e.Location.Country == "JP", "Country %q", e.Location.Country)
			}},
		{"an unknown code is kept", func(cp obj) { cp["country_iso3"] = "xkx" },
			func(e tracking.Event) string {
				return check(e.Location.Country == "XKX", "Country %q", e.Location.Country)
			}},
		{"coordinates of any shape are ignored", func(cp obj) { cp["coordinates"] = obj{"latitude": 1.5, "longitude": 2} },
			func(e tracking.Event) string {
				return check(e.Status == tracking.StatusInTransit, "Status %q", e.Status)
			}},
		{"no id: trackd fingerprints the content", func(cp obj) { cp["id"] = "ignored" },
			func(e tracking.Event) string {
				return check(e.ID == "" && strings.HasPrefix(e.Key(), "fp:"), "ID %q", e.ID)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parseOne(t, webhookWith(t, func(msg obj) {
				lastOnly(msg)
				tt.edit(checkpoint(msg, 0))
			}))
			if len(u.Events) != 1 {
				t.Fatalf("%d events, want 1", len(u.Events))
			}
			if msg := tt.want(u.Events[0]); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// check returns "" when ok, else the formatted complaint.
func check(ok bool, format string, a ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, a...)
}

func TestParseWebhook_TrackingFields(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(msg obj)
		carrier, nr string
	}{
		{"courier slug and number as given", func(msg obj) {}, "postnl-3s", "3SKAAG5995399"},
		{"number normalized", func(msg obj) { msg["tracking_number"] = " 3skaag 599-5399 " }, "postnl-3s", "3SKAAG5995399"},
		{"number sent as a JSON number", func(msg obj) { msg["tracking_number"] = 123456789012 }, "postnl-3s", "123456789012"},
		{"aggregated DHL service", func(msg obj) { msg["slug"] = "dhl-global-mail" }, "dhl", "3SKAAG5995399"},
		{"courier slug lower-cased", func(msg obj) { msg["slug"] = "UPS" }, "ups", "3SKAAG5995399"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parseOne(t, webhookWith(t, tt.edit))
			if u.Carrier != tt.carrier || u.TrackingNumber != tt.nr {
				t.Errorf("update for %s/%s, want %s/%s", u.Carrier, u.TrackingNumber, tt.carrier, tt.nr)
			}
		})
	}
}

func TestParseWebhook_EstimatedDelivery(t *testing.T) {
	tests := []struct {
		name   string
		fields obj
		want   string
	}{
		{"none", obj{}, ""},
		{"all null", obj{"expected_delivery": nil, "aftership_estimated_delivery_date": nil, "latest_estimated_delivery": nil}, ""},
		{"carrier's date", obj{"expected_delivery": "2026-11-27"}, "2026-11-27"},
		{"carrier's instant", obj{"expected_delivery": "2026-11-27T10:00:00-05:00"}, "2026-11-27T10:00:00-05:00"},
		{"carrier's local time without offset: its day", obj{"expected_delivery": "2026-11-27T10:00:00"}, "2026-11-27"},
		{"carrier's first", obj{"expected_delivery": "2026-11-27",
			"aftership_estimated_delivery_date": obj{"estimated_delivery_date": "2026-11-28"}}, "2026-11-27"},
		{"dated versions' courier estimate before AfterShip's", obj{
			"courier_estimated_delivery_date":   obj{"estimated_delivery_date": "2026-11-30"},
			"latest_estimated_delivery":         obj{"type": "specific", "datetime": "2026-11-29"},
			"aftership_estimated_delivery_date": obj{"estimated_delivery_date": "2026-11-28"}}, "2026-11-30"},
		{"latest estimate", obj{"latest_estimated_delivery": obj{"type": "specific", "source": "Carrier EDD", "datetime": "2026-11-29T12:00:00+01:00"}}, "2026-11-29T12:00:00+01:00"},
		{"latest estimate, a range: its end", obj{"latest_estimated_delivery": obj{"type": "range", "datetime": nil,
			"datetime_min": "2026-11-26", "datetime_max": "2026-11-29"}}, "2026-11-29"},
		{"AfterShip's prediction", obj{"aftership_estimated_delivery_date": obj{"estimated_delivery_date": "2026-11-28",
			"confidence_score": 0.8, "estimated_delivery_date_min": "2026-11-27", "estimated_delivery_date_max": "2026-12-01"}}, "2026-11-28"},
		{"AfterShip's prediction, range only", obj{"aftership_estimated_delivery_date": obj{"estimated_delivery_date": nil,
			"estimated_delivery_date_max": "2026-12-01"}}, "2026-12-01"},
		{"garbage skipped for the next", obj{"expected_delivery": "soon",
			"aftership_estimated_delivery_date": obj{"estimated_delivery_date": "2026-11-28"}}, "2026-11-28"},
		{"wrong types ignored", obj{"expected_delivery": obj{"date": "2026-11-27"},
			"aftership_estimated_delivery_date": "2026-11-28", "latest_estimated_delivery": []any{"2026-11-29"}}, ""},
		{"a number is no date", obj{"expected_delivery": 20261127}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parseOne(t, webhookWith(t, func(msg obj) {
				for k, v := range tt.fields {
					msg[k] = v
				}
			}))
			if u.EstimatedDelivery != tt.want {
				t.Errorf("EstimatedDelivery = %q, want %q", u.EstimatedDelivery, tt.want)
			}
		})
	}
}

func TestParseWebhook_TrackingLevelStatus(t *testing.T) {
	updated := time.Date(2021, 3, 26, 3, 37, 48, 0, time.UTC) // the PostNL tracking's updated_at
	tests := []struct {
		name string
		edit func(msg obj)
		// want is the extra event's status and carrier status, or "" for none.
		want, carrierStatus string
		at                  time.Time
	}{
		{"agrees with the newest checkpoint", func(msg obj) {}, "", "", time.Time{}},
		{"agrees by status, not subtag", func(msg obj) { msg["subtag"] = "InTransit_001" }, "", "", time.Time{}},
		{"expired without checkpoints", func(msg obj) {
			msg["checkpoints"] = []any{}
			msg["tag"], msg["subtag"], msg["subtag_message"] = "Expired", "Expired_001", "Expired"
		}, "expired", "Expired_001", updated},
		{"marked delivered after the last scan", func(msg obj) {
			msg["tag"], msg["subtag"], msg["subtag_message"] = "Delivered", "Delivered_001", "Delivered"
		}, "delivered", "Delivered_001", updated},
		{"returned, tag only", func(msg obj) {
			msg["tag"], msg["subtag"], msg["subtag_message"] = "Exception", nil, nil
		}, "exception", "Exception", updated},
		{"pending is never an event", func(msg obj) {
			msg["checkpoints"] = []any{}
			msg["tag"], msg["subtag"] = "Pending", "Pending_001"
		}, "", "", time.Time{}},
		{"no tag at all", func(msg obj) {
			msg["checkpoints"] = []any{}
			delete(msg, "tag")
			delete(msg, "subtag")
		}, "", "", time.Time{}},
		{"no time to date it by", func(msg obj) {
			msg["checkpoints"] = []any{}
			msg["tag"], msg["subtag"] = "Expired", "Expired_001"
			msg["updated_at"], msg["last_updated_at"] = nil, "2021-03-26T03:37:48"
		}, "", "", time.Time{}},
		{"last_updated_at when updated_at is missing", func(msg obj) {
			msg["checkpoints"] = []any{}
			msg["tag"], msg["subtag"] = "Expired", "Expired_001"
			msg["updated_at"], msg["last_updated_at"] = nil, "2021-03-27T00:00:00+00:00"
		}, "expired", "Expired_001", time.Date(2021, 3, 27, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			u := parseOne(t, webhookWith(t, func(msg obj) {
				tt.edit(msg)
				n = len(msg["checkpoints"].([]any))
			}))
			switch {
			case tt.want == "" && len(u.Events) != n:
				t.Fatalf("%d events for %d checkpoints; want no extra event, got %+v", len(u.Events), n, u.Events[len(u.Events)-1])
			case tt.want == "":
				return
			case len(u.Events) != n+1:
				t.Fatalf("%d events for %d checkpoints, want one extra", len(u.Events), n)
			}
			e := u.Events[n]
			if string(e.Status) != tt.want || e.CarrierStatus != tt.carrierStatus || !e.OccurredAt.Equal(tt.at) || e.OffsetUnknown {
				t.Errorf("extra event %s %s at %v (offset unknown %v), want %s %s at %v", e.Status, e.CarrierStatus, e.OccurredAt, e.OffsetUnknown, tt.want, tt.carrierStatus, tt.at)
			}
			var raw obj
			if err := json.Unmarshal(e.Raw, &raw); err != nil || raw["tag"] == nil {
				t.Errorf("extra event Raw = %s, want the tracking's tag fields", e.Raw)
			}
		})
	}
}

func TestParseWebhook_Refusals(t *testing.T) {
	valid := func(t *testing.T) []byte { return webhookWith(t, nil) }
	tests := []struct {
		name       string
		body       func(t *testing.T) []byte
		errSubstr  string
		unknownTag bool
	}{
		{"empty", func(*testing.T) []byte { return nil }, "empty", false},
		{"blank", func(*testing.T) []byte { return []byte(" \n") }, "empty", false},
		{"not JSON", func(*testing.T) []byte { return []byte("event=tracking_update") }, "malformed JSON", false},
		{"truncated", func(t *testing.T) []byte { b := valid(t); return b[:len(b)/2] }, "malformed JSON", false},
		{"trailing garbage", func(t *testing.T) []byte { return append(valid(t), " x"...) }, "malformed JSON", false},
		{"an array", func(*testing.T) []byte { return []byte(`[]`) }, "want an object, not an array", false},
		{"null", func(*testing.T) []byte { return []byte(`null`) }, `no "event"`, false},
		{"no event", func(t *testing.T) []byte {
			return bytes.Replace(valid(t), []byte(`"event":"tracking_update",`), nil, 1)
		}, `no "event"`, false},
		{"no msg", func(*testing.T) []byte { return []byte(`{"event":"tracking_update","ts":1}`) }, `no "msg"`, false},
		{"msg null", func(*testing.T) []byte { return []byte(`{"event":"tracking_update","msg":null}`) }, `no "msg"`, false},
		{"msg an array", func(*testing.T) []byte { return []byte(`{"event":"tracking_update","msg":[]}`) }, "msg: want an object, not an array", false},
		{"event an object", func(*testing.T) []byte { return []byte(`{"event":{},"msg":{}}`) }, "event: want a string, not an object", false},
		{"no courier", func(t *testing.T) []byte { return webhookWith(t, func(m obj) { delete(m, "slug") }) }, "msg.slug", false},
		{"no number", func(t *testing.T) []byte { return webhookWith(t, func(m obj) { m["tracking_number"] = " - " }) }, "msg.tracking_number", false},
		{"checkpoints not an array", func(t *testing.T) []byte { return webhookWith(t, func(m obj) { m["checkpoints"] = "none" }) }, "msg.checkpoints: want an array", false},
		{"null checkpoint", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { m["checkpoints"].([]any)[2] = nil })
		}, "msg.checkpoints[2]: is null", false},
		{"checkpoint a string", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { m["checkpoints"].([]any)[2] = "InTransit" })
		}, "msg.checkpoints[2]: value: want an object, not a string", false},
		{"unknown checkpoint tag", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { checkpoint(m, 3)["tag"], checkpoint(m, 3)["subtag"] = "Teleported", "Teleported_001" })
		}, `msg.checkpoints[3]: tag: unknown AfterShip tag "Teleported"`, true},
		{"checkpoint without tag", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { checkpoint(m, 3)["tag"], checkpoint(m, 3)["subtag"] = nil, nil })
		}, "msg.checkpoints[3]: tag: no tag", false},
		{"subtag of another tag", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { checkpoint(m, 3)["subtag"] = "Delivered_001" })
		}, "does not belong", false},
		{"checkpoint city an object", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { checkpoint(m, 1)["city"] = obj{"name": "Utrecht"} })
		}, "msg.checkpoints[1]: city: want a string, not an object", false},
		{"message a boolean", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { checkpoint(m, 1)["message"] = true })
		}, "message: want a string, not a boolean", false},
		{"unknown tracking tag", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) { m["tag"], m["subtag"] = "Vanished", nil })
		}, `msg: tag: unknown AfterShip tag "Vanished"`, true},
		{"too many checkpoints", func(t *testing.T) []byte {
			return webhookWith(t, func(m obj) {
				cps := m["checkpoints"].([]any)
				for len(cps) <= MaxCheckpoints {
					cps = append(cps, cps[0])
				}
				m["checkpoints"] = cps
			})
		}, "more than 1000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParseWebhook(tt.body(t))
			if err == nil {
				t.Fatalf("ParseWebhook = %+v, want an error", us)
			}
			if !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("error %q does not say %q", err, tt.errSubstr)
			}
			if errors.Is(err, ErrUnknownTag) != tt.unknownTag {
				t.Errorf("error %v: errors.Is(ErrUnknownTag) = %v, want %v", err, !tt.unknownTag, tt.unknownTag)
			}
		})
	}
}

func TestParsePoll_Refusals(t *testing.T) {
	tests := []struct {
		name, body, errSubstr string
	}{
		{"empty", "", "empty"},
		{"not JSON", "<html>502 Bad Gateway</html>", "malformed JSON"},
		{"AfterShip's error answer", string(readTestdata(t, "v4_error.json")), "meta.code 401 Invalid API Key."},
		{"error with a type only", `{"meta":{"code":4004,"type":"NotFound"},"data":{}}`, "meta.code 4004 NotFound"},
		{"meta code not a number", `{"meta":{"code":"ok"},"data":{"trackings":[]}}`, `meta.code ok`},
		{"no data", `{"meta":{"code":200}}`, `no "data"`},
		{"data without tracking", `{"meta":{"code":200},"data":{}}`, `neither "data.tracking" nor "data.trackings"`},
		{"a last_checkpoint answer", `{"meta":{"code":200},"data":{"slug":"fedex","tracking_number":"1","checkpoint":{}}}`, `neither`},
		{"trackings not an array", `{"meta":{"code":200},"data":{"trackings":{}}}`, "data.trackings: want an array"},
		{"a bad tracking in a list", `{"meta":{"code":200},"data":{"trackings":[` +
			`{"slug":"ups","tracking_number":"1Z1","tag":"Pending","checkpoints":[]},` +
			`{"slug":"ups","tracking_number":"1Z2","tag":"Pending","checkpoints":[{"tag":"Nope","checkpoint_time":"2026-11-25"}]}]}}`,
			`data.trackings[1].checkpoints[0]: tag: unknown AfterShip tag "Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Fatalf("ParsePoll = %+v, %v; want an error saying %q", us, err, tt.errSubstr)
			}
		})
	}
}

func TestParsePoll_EmptyListIsNoUpdate(t *testing.T) {
	for _, body := range []string{
		`{"meta":{"code":200},"data":{"trackings":[]}}`,
		`{"meta":{"code":200},"data":{"page":1,"limit":100,"count":0,"slug":"","tag":"","trackings":[]}}`,
	} {
		us, err := New(Config{}).ParsePoll([]byte(body))
		if err != nil || len(us) != 0 {
			t.Errorf("ParsePoll(%s) = %+v, %v; want no update and no error", body, us, err)
		}
	}
}
