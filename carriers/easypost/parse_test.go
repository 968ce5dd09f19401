package easypost

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from the parser's output")

// The fixtures, in testdata/ (see testdata/SOURCES.md).
const (
	fedexWebhook         = "webhook_event_tracker_updated_in_transit_fedex.signed_body.json"
	upsWebhook           = "webhook_event_tracker_updated_delivered_ups.json"
	createdNoResult      = "event_retrieve_tracker_created.json"
	retrieveTracker      = "tracker_retrieve_pre_transit.json"
	createTrackerFixture = "tracker_create_pre_transit.json"
	cassetteTracker      = "tracker_create_pre_transit_cassette.json"
	abridgedTracker      = "tracker_create_delivered_abridged.json"
	listTrackers         = "trackers_list_pre_transit.json"
	hmacVector           = "webhook_hmac_test_vector.json"
	karrioErrorReply     = "karrio_error_response.json"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// want is what a fixture must parse to, beyond its golden file.
type want struct {
	carrier, number, eta string
	statuses             []tracking.Status
	first, last          time.Time
}

func checkUpdate(t *testing.T, u tracking.Update, w want) {
	t.Helper()
	if u.Carrier != w.carrier || u.TrackingNumber != w.number || u.EstimatedDelivery != w.eta {
		t.Errorf("update = %s %s eta %q; want %s %s eta %q", u.Carrier, u.TrackingNumber, u.EstimatedDelivery, w.carrier, w.number, w.eta)
	}
	if err := u.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	got := make([]tracking.Status, len(u.Events))
	for i, e := range u.Events {
		got[i] = e.Status
	}
	if strings.Join(statusStrings(got), ",") != strings.Join(statusStrings(w.statuses), ",") {
		t.Errorf("%d events with statuses %v; want %d: %v", len(got), got, len(w.statuses), w.statuses)
	}
	if len(u.Events) == 0 {
		return
	}
	if f := u.Events[0].OccurredAt; !f.Equal(w.first) {
		t.Errorf("first event at %v, want %v", f, w.first)
	}
	if l := u.Events[len(u.Events)-1].OccurredAt; !l.Equal(w.last) {
		t.Errorf("last event at %v, want %v", l, w.last)
	}
	for i, e := range u.Events {
		if e.OccurredAt.Location() != time.UTC || !e.OccurredAt.Equal(e.OccurredAtLocal) {
			t.Errorf("events[%d]: OccurredAt %v (want UTC), OccurredAtLocal %v", i, e.OccurredAt, e.OccurredAtLocal)
		}
		if e.OffsetUnknown {
			t.Errorf("events[%d]: OffsetUnknown for %v, which EasyPost gave in UTC", i, e.OccurredAt)
		}
		if !json.Valid(e.Raw) || !bytes.Contains(e.Raw, []byte(`"object":"TrackingDetail"`)) {
			t.Errorf("events[%d].Raw = %s, want the TrackingDetail", i, e.Raw)
		}
	}
}

func statusStrings(ss []tracking.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// checkGolden compares the updates with testdata/golden/<fixture>, or
// rewrites it with -update.
func checkGolden(t *testing.T, fixtureName string, us []tracking.Update) {
	t.Helper()
	got, err := json.MarshalIndent(us, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", fixtureName)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	wantB, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, wantB) {
		t.Errorf("updates differ from %s (go test -update rewrites it after a deliberate change):\n%s", path, got)
	}
}

var (
	in  = tracking.StatusInTransit
	pre = tracking.StatusInfoReceived
)

func TestParseWebhook_Fixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    want
	}{
		{fedexWebhook, want{
			carrier: "fedex", number: "1",
			// carrier_detail.est_delivery_date_local, not the midnight-UTC instant.
			eta:      "2024-08-05",
			statuses: []tracking.Status{pre, in, in, in, in, in, in},
			first:    utc("2024-07-31T15:00:00Z"), last: utc("2024-08-02T18:50:00Z"),
		}},
		{upsWebhook, want{
			carrier: "ups", number: "EZ4000000004",
			// No carrier_detail (a 2014 payload): est_delivery_date at midnight UTC is that day.
			eta:      "2014-08-27",
			statuses: []tracking.Status{pre, in, in, in, tracking.StatusOutForDelivery, tracking.StatusDelivered},
			first:    utc("2014-08-21T14:24:00Z"), last: utc("2014-08-24T15:33:00Z"),
		}},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			us, err := a.ParseWebhook(fixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("ParseWebhook = %v", err)
			}
			if len(us) != 1 {
				t.Fatalf("got %d updates, want 1", len(us))
			}
			checkUpdate(t, us[0], tt.want)
			checkGolden(t, tt.fixture, us)
		})
	}
}

func TestParsePoll_Fixtures(t *testing.T) {
	testMode := want{
		carrier: "usps", number: "EZ1000000001",
		// Test mode sets est_delivery_date to the creation time: not midnight,
		// so it stays an instant.
		eta:      "2025-05-09T20:40:17Z",
		statuses: []tracking.Status{pre, pre},
		first:    utc("2025-04-09T20:40:17Z"), last: utc("2025-04-10T09:17:17Z"),
	}
	tests := []struct {
		fixture string
		want    want
	}{
		{retrieveTracker, testMode},
		{createTrackerFixture, testMode},
		{listTrackers, testMode},
		{cassetteTracker, want{
			carrier: "usps", number: "EZ1000000001", eta: "2024-07-26T19:34:37Z",
			statuses: []tracking.Status{pre, pre},
			first:    utc("2024-06-26T19:34:37Z"), last: utc("2024-06-27T08:11:37Z"),
		}},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			us, err := a.ParsePoll(fixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("ParsePoll = %v", err)
			}
			if len(us) != 1 {
				t.Fatalf("got %d updates, want 1", len(us))
			}
			checkUpdate(t, us[0], tt.want)
			checkGolden(t, tt.fixture, us)
		})
	}
}

func TestParseWebhook_EventFields(t *testing.T) {
	us, err := New(Config{}).ParseWebhook(fixture(t, fedexWebhook))
	if err != nil {
		t.Fatal(err)
	}
	evs := us[0].Events
	tests := []struct {
		i             int
		carrierStatus string
		message       string
		loc           tracking.Location
		raw           string
	}{
		{0, "pre_transit/label_created", "Shipment information sent to FedEx",
			tracking.Location{Country: "US", PostalCode: "32837"},
			`{"object":"TrackingDetail","message":"Shipment information sent to FedEx","description":"Shipment information sent to FedEx","status":"pre_transit","status_detail":"label_created","datetime":"2024-07-31T15:00:00Z","source":"FedEx","carrier_code":"OC","tracking_location":{"object":"TrackingLocation","city":null,"state":null,"country":"US","zip":"32837"}}`},
		{4, "in_transit/unknown", "On the way",
			tracking.Location{City: "KENLY", Region: "NC", PostalCode: "27542", Country: "US"}, ""},
		{6, "in_transit/arrived_at_facility", "Arrived at FedEx location",
			tracking.Location{City: "EDISON", Region: "NJ", PostalCode: "08817", Country: "US"}, ""},
	}
	for _, tt := range tests {
		e := evs[tt.i]
		if e.CarrierStatus != tt.carrierStatus || e.Message != tt.message || e.Location != tt.loc {
			t.Errorf("events[%d] = %q %q %+v; want %q %q %+v", tt.i, e.CarrierStatus, e.Message, e.Location, tt.carrierStatus, tt.message, tt.loc)
		}
		if tt.raw != "" && string(e.Raw) != tt.raw {
			t.Errorf("events[%d].Raw = %s\nwant %s", tt.i, e.Raw, tt.raw)
		}
		if e.ID != "" {
			t.Errorf("events[%d].ID = %q; EasyPost gives details no id", tt.i, e.ID)
		}
	}
	// Two "On the way" scans at different places and times are two events.
	if evs[4].Key() == evs[5].Key() {
		t.Error("events 4 and 5 have the same key")
	}
}

func TestParseWebhook_PrettyPrintedDetailsKeptCompact(t *testing.T) {
	us, err := New(Config{}).ParseWebhook(fixture(t, upsWebhook))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"TrackingDetail","message":"DELIVERED","status":"delivered","datetime":"2014-08-24T15:33:00Z","tracking_location":{"object":"TrackingLocation","city":"SAN FRANCISCO","state":"CA","country":"US","zip":null}}`
	if got := string(us[0].Events[5].Raw); got != want {
		t.Errorf("Raw = %s\nwant %s", got, want)
	}
	if cs := us[0].Events[5].CarrierStatus; cs != "delivered" {
		t.Errorf("CarrierStatus = %q, want delivered (a 2014 detail has no status_detail)", cs)
	}
}

// obj is a decoded JSON object, for building bodies by editing a fixture.
type obj = map[string]any

// edited returns the fixture with edit applied to its decoded form.
func edited(t testing.TB, name string, edit func(p obj)) []byte {
	t.Helper()
	var p obj
	if err := json.Unmarshal(fixture(t, name), &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func result(p obj) obj { return p["result"].(obj) }

func details(p obj) []any { return result(p)["tracking_details"].([]any) }

func lastDetail(p obj) obj { d := details(p); return d[len(d)-1].(obj) }

func TestParseWebhook_EveryStatusFamily(t *testing.T) {
	// EasyPost published no payload for most statuses; each case takes the
	// FedEx webhook and sets its newest detail (and the tracker) to one.
	tests := []struct {
		status, detail string
		want           tracking.Status
	}{
		{"unknown", "", in}, // inherits the in-transit scan before it
		{"pre_transit", "label_created", pre},
		{"in_transit", "departed_facility", in},
		{"out_for_delivery", "out_for_delivery", tracking.StatusOutForDelivery},
		{"delivered", "", tracking.StatusDelivered},
		{"available_for_pickup", "arrived_at_pickup_location", tracking.StatusAvailableForPickup},
		{"return_to_sender", "return", tracking.StatusReturning},
		{"failure", "lost", tracking.StatusException},
		{"cancelled", "cancelled", tracking.StatusException},
		{"error", "", tracking.StatusException},
		{"in_transit", "delivery_exception", tracking.StatusFailedAttempt},
		{"in_transit", "expired", tracking.StatusExpired},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.detail, func(t *testing.T) {
			body := edited(t, fedexWebhook, func(p obj) {
				r, d := result(p), lastDetail(p)
				r["status"], r["status_detail"] = tt.status, tt.detail
				d["status"], d["status_detail"] = tt.status, tt.detail
			})
			us, err := a.ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook = %v", err)
			}
			e := us[0].Events[6]
			if e.Status != tt.want {
				t.Errorf("status = %q, want %q", e.Status, tt.want)
			}
			if want := carrierStatus(tt.status, tt.detail); e.CarrierStatus != want {
				t.Errorf("CarrierStatus = %q, want %q", e.CarrierStatus, want)
			}
		})
	}
}

func TestParseWebhook_UnknownScansInheritTheStatusBefore(t *testing.T) {
	// Details in no particular order: inheritance follows time, not position.
	body := []byte(`{"object":"Event","description":"tracker.updated","result":{"object":"Tracker",
		"tracking_code":"1Z","carrier":"UPS","status":"out_for_delivery","tracking_details":[
		{"status":"out_for_delivery","datetime":"2026-11-25T08:00:00Z","message":"Out"},
		{"status":"unknown","datetime":"2026-11-25T09:00:00Z","message":"Scan we cannot read"},
		{"status":"unknown","datetime":"2026-11-24T01:00:00Z","message":"Before anything"},
		{"status":"in_transit","datetime":"2026-11-24T12:00:00Z","message":"Arrived"},
		{"status":"unknown","status_detail":"status_update","datetime":"2026-11-24T13:00:00Z","message":"Update"},
		{"status":"unknown","status_detail":"arrived_at_facility","datetime":"2026-11-24T14:00:00Z","message":"Arrived again"}]}}`)
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	want := []tracking.Status{
		tracking.StatusOutForDelivery,
		tracking.StatusOutForDelivery, // after the 08:00 out-for-delivery scan
		tracking.StatusPending,        // nothing before it
		tracking.StatusInTransit,
		tracking.StatusInTransit, // after the 12:00 scan
		tracking.StatusInTransit, // its detail says more than "unknown"
	}
	for i, e := range us[0].Events {
		if e.Status != want[i] {
			t.Errorf("events[%d] (%s) = %q, want %q", i, e.Message, e.Status, want[i])
		}
	}
	if us[0].Events[1].CarrierStatus != "unknown" {
		t.Errorf("an inheriting event keeps EasyPost's own status: CarrierStatus = %q", us[0].Events[1].CarrierStatus)
	}
	// The same tracker always gives the same events.
	again, _ := New(Config{}).ParseWebhook(body)
	for i := range us[0].Events {
		if us[0].Events[i].Key() != again[0].Events[i].Key() {
			t.Errorf("events[%d] key changed between two parses", i)
		}
	}
}

func TestParseWebhook_Times(t *testing.T) {
	tests := []struct {
		name          string
		datetime      string
		at            time.Time
		offset        int
		offsetUnknown bool
	}{
		{"UTC", "2024-08-02T18:50:00Z", utc("2024-08-02T18:50:00Z"), 0, false},
		{"milliseconds", "2024-08-02T18:50:00.000Z", utc("2024-08-02T18:50:00Z"), 0, false},
		{"local with offset", "2024-08-02T14:50:00-04:00", utc("2024-08-02T18:50:00Z"), -4 * 3600, false},
		{"offset with minutes", "2024-08-03T00:20:00+05:30", utc("2024-08-02T18:50:00Z"), 5*3600 + 1800, false},
		{"no offset, read as UTC", "2024-08-02T18:50:00", utc("2024-08-02T18:50:00Z"), 0, true},
		{"no offset, fraction", "2024-08-02T18:50:00.25", utc("2024-08-02T18:50:00.25Z"), 0, true},
		{"spaces around", " 2024-08-02T18:50:00Z ", utc("2024-08-02T18:50:00Z"), 0, false},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edited(t, fedexWebhook, func(p obj) { lastDetail(p)["datetime"] = tt.datetime })
			us, err := a.ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook = %v", err)
			}
			e := us[0].Events[6]
			if !e.OccurredAt.Equal(tt.at) || e.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v in UTC", e.OccurredAt, tt.at)
			}
			if !e.OccurredAtLocal.Equal(tt.at) {
				t.Errorf("OccurredAtLocal = %v, want the same instant", e.OccurredAtLocal)
			}
			if _, off := e.OccurredAtLocal.Zone(); off != tt.offset {
				t.Errorf("OccurredAtLocal offset = %d, want %d", off, tt.offset)
			}
			if e.OffsetUnknown != tt.offsetUnknown {
				t.Errorf("OffsetUnknown = %v, want %v", e.OffsetUnknown, tt.offsetUnknown)
			}
		})
	}
}

func TestParseWebhook_EstimatedDelivery(t *testing.T) {
	tests := []struct {
		name      string
		estimate  any // result.est_delivery_date
		localDate any // result.carrier_detail.est_delivery_date_local
		want      string
	}{
		{"local date preferred", "2024-08-05T00:00:00Z", "2024-08-06", "2024-08-06"},
		{"midnight UTC is that day", "2024-08-05T00:00:00Z", nil, "2024-08-05"},
		{"midnight at an offset is that day", "2024-08-05T00:00:00-04:00", nil, "2024-08-05"},
		{"an instant stays an instant", "2024-08-05T17:30:00Z", nil, "2024-08-05T17:30:00Z"},
		{"an instant at an offset, in UTC", "2024-08-05T17:30:00-04:00", nil, "2024-08-05T21:30:00Z"},
		{"a plain date", "2024-08-05", nil, "2024-08-05"},
		{"none", nil, nil, ""},
		{"empty", "", "", ""},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edited(t, fedexWebhook, func(p obj) {
				r := result(p)
				r["est_delivery_date"] = tt.estimate
				r["carrier_detail"].(obj)["est_delivery_date_local"] = tt.localDate
			})
			us, err := a.ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook = %v", err)
			}
			if got := us[0].EstimatedDelivery; got != tt.want {
				t.Errorf("EstimatedDelivery = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseWebhook_OtherEventTypesGiveNothing(t *testing.T) {
	a := New(Config{})
	for _, desc := range []string{
		"batch.created", "batch.updated", "shipment.invoice.created", "shipment.invoice.updated",
		"insurance.purchased", "insurance.cancelled", "payment.created", "refund.successful",
		"report.available", "scan_form.updated", "tracker.deleted",
	} {
		t.Run(desc, func(t *testing.T) {
			// The result is whatever the event is about, here a Batch
			// whose status is an object, which a Tracker's is not.
			body := []byte(`{"object":"Event","description":"` + desc + `","mode":"test",
				"result":{"object":"Batch","status":{"created":1},"tracking_details":"not ours"}}`)
			us, err := a.ParseWebhook(body)
			if err != nil || us != nil {
				t.Errorf("ParseWebhook = %v, %v; want nothing and no error", us, err)
			}
		})
	}
}

func TestParseWebhook_TrackerWithoutDetails(t *testing.T) {
	body := []byte(`{"object":"Event","description":"tracker.created","result":{"object":"Tracker",
		"id":"trk_1","tracking_code":"9400 1000 0000 0000 0000 00","carrier":"USPS","status":"unknown",
		"est_delivery_date":null,"tracking_details":[]}}`)
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].Carrier != "usps" || us[0].TrackingNumber != "9400100000000000000000" || len(us[0].Events) != 0 {
		t.Errorf("ParseWebhook = %+v; want one usps update, the number normalized, no events", us)
	}
	if err := us[0].Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestParseWebhook_Invalid(t *testing.T) {
	withDetail := func(edit func(d obj)) []byte {
		return edited(t, fedexWebhook, func(p obj) { edit(lastDetail(p)) })
	}
	withResult := func(edit func(r obj)) []byte {
		return edited(t, fedexWebhook, func(p obj) { edit(result(p)) })
	}
	tests := []struct {
		name  string
		body  []byte
		field string
		has   string
	}{
		{"empty", nil, "body", "empty"},
		{"blank", []byte(" \n\t"), "body", "empty"},
		{"not JSON", []byte(`{"description": tracker.updated}`), "body", "malformed"},
		{"truncated", fixture(t, fedexWebhook)[:1000], "body", "malformed"},
		{"trailing garbage", append(fixture(t, fedexWebhook), []byte(" {}")...), "body", "malformed"},
		{"an array", []byte(`[]`), "body", "an object"},
		{"null", []byte(`null`), "description", "required"},
		{"a Tracker, not an Event", fixture(t, retrieveTracker), "object", `"Tracker"`},
		{"no description", []byte(`{"object":"Event","result":{}}`), "description", "required"},
		{"tracker.created without its result (events API form)", fixture(t, createdNoResult), "result", "required"},
		{"result null", []byte(`{"object":"Event","description":"tracker.updated","result":null}`), "result", "required"},
		{"result not a Tracker", withResult(func(r obj) { r["object"] = "Shipment" }), "result.object", `"Shipment"`},
		{"result an array", []byte(`{"object":"Event","description":"tracker.updated","result":[]}`), "result", "an object"},
		{"no carrier (aggregator must name it)", withResult(func(r obj) { delete(r, "carrier") }), "result.carrier", "required"},
		{"carrier too long", withResult(func(r obj) { r["carrier"] = strings.Repeat("x", 33) }), "result.carrier", "longer"},
		{"no tracking code", withResult(func(r obj) { r["tracking_code"] = " " }), "result.tracking_code", "required"},
		{"tracking code too long", withResult(func(r obj) { r["tracking_code"] = strings.Repeat("1", 65) }), "result.tracking_code", "longer"},
		{"undocumented tracker status", withResult(func(r obj) { r["status"] = "teleported" }), "result.status", `unknown EasyPost status "teleported"`},
		{"undocumented detail status", withDetail(func(d obj) { d["status"] = "teleported" }), "result.tracking_details[6].status", `"teleported"`},
		{"detail without status", withDetail(func(d obj) { delete(d, "status") }), "result.tracking_details[6].status", "required"},
		{"detail status a number", withDetail(func(d obj) { d["status"] = 3 }), "result.tracking_details[6].status", "a string"},
		{"detail without datetime", withDetail(func(d obj) { d["datetime"] = nil }), "result.tracking_details[6].datetime", "required"},
		{"detail datetime not a time", withDetail(func(d obj) { d["datetime"] = "yesterday" }), "result.tracking_details[6].datetime", "RFC 3339"},
		{"detail datetime a date", withDetail(func(d obj) { d["datetime"] = "2024-08-02" }), "result.tracking_details[6].datetime", "RFC 3339"},
		{"detail datetime year 1", withDetail(func(d obj) { d["datetime"] = "0001-01-01T00:00:00Z" }), "result.tracking_details[6].datetime", "before 2000"},
		{"detail null", withResult(func(r obj) { r["tracking_details"].([]any)[2] = nil }), "result.tracking_details[2]", "null"},
		{"detail a string", withResult(func(r obj) { r["tracking_details"].([]any)[2] = "x" }), "result.tracking_details[2]", "an object"},
		{"details not an array", withResult(func(r obj) { r["tracking_details"] = obj{} }), "result.tracking_details", "an array"},
		{"location not an object", withDetail(func(d obj) { d["tracking_location"] = "Orlando" }), "result.tracking_details[6].tracking_location", "an object"},
		{"ETA not a time", withResult(func(r obj) {
			r["est_delivery_date"] = "soon"
			r["carrier_detail"] = nil
		}), "result.est_delivery_date", "neither"},
		{"local ETA not a date", withResult(func(r obj) { r["carrier_detail"].(obj)["est_delivery_date_local"] = "Monday" }),
			"result.carrier_detail.est_delivery_date_local", "not a date"},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := a.ParseWebhook(tt.body)
			if err == nil {
				t.Fatalf("ParseWebhook = %+v, want an error", us)
			}
			var f *tracking.FieldError
			if !errors.As(err, &f) {
				t.Fatalf("error %v (%T) is not a *tracking.FieldError", err, err)
			}
			if f.Field != tt.field || !strings.Contains(f.Message, tt.has) {
				t.Errorf("error = %q; want field %q, message containing %q", err, tt.field, tt.has)
			}
		})
	}
}

func TestParsePoll_Invalid(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		field string
		has   string
	}{
		{"abridged sample without carrier", fixture(t, abridgedTracker), "carrier", "required"},
		{"error object in a 2xx", fixture(t, karrioErrorReply), "error", "TRACKER.CREATE.ERROR In test mode"},
		{"an Event, not a Tracker", fixture(t, fedexWebhook), "object", `"Event"`},
		{"empty", []byte{}, "body", "empty"},
		{"not JSON", []byte(`<html>502</html>`), "body", "malformed"},
		{"list with a bad tracker", []byte(`{"trackers":[{"tracking_code":"1","carrier":"UPS","status":"delivered"},{"tracking_code":"2","status":"delivered"}]}`),
			"trackers[1].carrier", "required"},
		{"list with a bad detail", []byte(`{"trackers":[{"tracking_code":"1","carrier":"UPS","status":"delivered","tracking_details":[{"status":"gone","datetime":"2026-01-01T00:00:00Z"}]}]}`),
			"trackers[0].tracking_details[0].status", `"gone"`},
		{"detail datetime a number", []byte(`{"tracking_code":"1","carrier":"UPS","status":"delivered","tracking_details":[{"status":"delivered","datetime":1700000000}]}`),
			"tracking_details[0].datetime", "a string"},
	}
	a := New(Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := a.ParsePoll(tt.body)
			if err == nil {
				t.Fatalf("ParsePoll = %+v, want an error", us)
			}
			var f *tracking.FieldError
			if !errors.As(err, &f) {
				t.Fatalf("error %v (%T) is not a *tracking.FieldError", err, err)
			}
			if f.Field != tt.field || !strings.Contains(f.Message, tt.has) {
				t.Errorf("error = %q; want field %q, message containing %q", err, tt.field, tt.has)
			}
		})
	}
}

func TestParsePoll_EmptyListGivesNoUpdates(t *testing.T) {
	us, err := New(Config{}).ParsePoll([]byte(`{"trackers":[],"has_more":false}`))
	if err != nil || len(us) != 0 {
		t.Errorf("ParsePoll = %v, %v; want no updates, no error", us, err)
	}
}

func TestParseWebhook_LongTextsAreClipped(t *testing.T) {
	long := strings.Repeat("é", maxTextLength) // 2 bytes each
	body := edited(t, fedexWebhook, func(p obj) {
		d := lastDetail(p)
		d["message"] = long
		d["tracking_location"].(obj)["city"] = long
	})
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	e := us[0].Events[6]
	for name, s := range map[string]string{"Message": e.Message, "City": e.Location.City} {
		if len(s) > maxTextLength || !strings.HasPrefix(long, s) || len(s) < maxTextLength-1 {
			t.Errorf("%s is %d bytes, want the first %d bytes on a rune boundary", name, len(s), maxTextLength)
		}
	}
}

func TestParseWebhook_MessageFallsBackToDescription(t *testing.T) {
	body := edited(t, fedexWebhook, func(p obj) {
		d := lastDetail(p)
		d["message"] = nil
		d["description"] = "Arrived at FedEx hub"
	})
	us, err := New(Config{}).ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if m := us[0].Events[6].Message; m != "Arrived at FedEx hub" {
		t.Errorf("Message = %q, want the description", m)
	}
}
