package fedex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// obj is a decoded JSON object, for building bodies by editing a fixture.
type obj = map[string]any

// decode returns a fixture decoded, for editing.
func decode(t *testing.T, file string) obj {
	t.Helper()
	var m obj
	if err := json.Unmarshal(readTestdata(t, file), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func encode(t *testing.T, m any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// results returns output.completeTrackResults of a decoded answer.
func results(m obj) []any { return m["output"].(obj)["completeTrackResults"].([]any) }

// resultOf returns the j-th track result of the i-th complete result.
func resultOf(m obj, i, j int) obj {
	return results(m)[i].(obj)["trackResults"].([]any)[j].(obj)
}

// scanWith returns the mixed-offsets answer cut down to its oldest scan
// event (the offset-less pickup in Mankato, MN), with edit applied to
// that event.
func scanWith(t *testing.T, edit func(ev obj)) []byte {
	t.Helper()
	m := decode(t, "track_delivered_mixed_offsets.json")
	tr := resultOf(m, 0, 0)
	evs := tr["scanEvents"].([]any)
	ev := evs[len(evs)-1].(obj)
	tr["scanEvents"] = []any{ev}
	if edit != nil {
		edit(ev)
	}
	return encode(t, m)
}

func parseOne(t *testing.T, body []byte) tracking.Update {
	t.Helper()
	us, err := New(Config{}).ParsePoll(body)
	if err != nil {
		t.Fatalf("ParsePoll = %v", err)
	}
	if len(us) != 1 {
		t.Fatalf("ParsePoll returned %d updates, want 1", len(us))
	}
	checkUpdate(t, us[0])
	return us[0]
}

// summary is what the fixture tests assert of an update, beyond its golden file.
type summary struct {
	number, eta   string
	events        int
	offsetUnknown int
	// status is the shipment's status after applying the update.
	status tracking.Status
}

func summarize(u tracking.Update) summary {
	s := summary{number: u.TrackingNumber, eta: u.EstimatedDelivery, events: len(u.Events)}
	for _, e := range u.Events {
		if e.OffsetUnknown {
			s.offsetUnknown++
		}
	}
	var l tracking.Log
	l.Apply(u)
	s.status = l.Status
	return s
}

var fixtureSummaries = map[string][]summary{
	// FedEx's documentation example: picked up (with an error beside it,
	// as the example fills every field), and a number not found, which
	// gives no update.
	"picked_up": {{number: "123456789012", eta: "2021-10-15", events: 1, status: tracking.StatusInTransit}},
	// One number, two shipments: the older one's ten scans (delay, ready
	// for pickup) and the newer one's eight (two delivery exceptions, then
	// delivered), all one shipment's history in trackd.
	"delivered_duplicate": {{number: "776094337676", events: 18, status: tracking.StatusDelivered}},
	// The pickup scan has no offset; Minnesota has one zone.
	"delivered_mixed_offsets": {{number: "738488882438", events: 17, status: tracking.StatusDelivered}},
}

func TestParsePoll_Fixtures(t *testing.T) {
	for _, name := range []string{"picked_up", "delivered_duplicate", "delivered_mixed_offsets"} {
		file := "track_" + name + ".json"
		if name == "picked_up" {
			file = "track_picked_up_and_errors.json"
		}
		t.Run(file, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll(readTestdata(t, file))
			if err != nil {
				t.Fatalf("ParsePoll = %v", err)
			}
			want := fixtureSummaries[name]
			if len(us) != len(want) {
				t.Fatalf("ParsePoll returned %d updates, want %d", len(us), len(want))
			}
			for i, u := range us {
				checkUpdate(t, u)
				if got := summarize(u); got != want[i] {
					t.Errorf("update %d:\ngot  %+v\nwant %+v", i, got, want[i])
				}
			}
			checkGolden(t, file, us)
		})
	}
}

func TestParseWebhook_Fixtures(t *testing.T) {
	for _, name := range []string{"picked_up", "delivered_duplicate", "delivered_mixed_offsets"} {
		file := "webhook_" + name + ".json"
		t.Run(file, func(t *testing.T) {
			us, err := New(Config{}).ParseWebhook(readTestdata(t, file))
			if err != nil {
				t.Fatalf("ParseWebhook = %v", err)
			}
			want := fixtureSummaries[name]
			if len(us) != len(want) {
				t.Fatalf("ParseWebhook returned %d updates, want %d", len(us), len(want))
			}
			for i, u := range us {
				checkUpdate(t, u)
				if got := summarize(u); got != want[i] {
					t.Errorf("update %d:\ngot  %+v\nwant %+v", i, got, want[i])
				}
			}
			checkGolden(t, file, us)
		})
	}
}

func TestParse_WebhookAndPollAgree(t *testing.T) {
	// A push and a poll answer about the same shipment must give the same
	// events, or trackd would store every scan twice.
	pairs := [][2]string{
		{"webhook_picked_up.json", "track_picked_up_and_errors.json"},
		{"webhook_delivered_duplicate.json", "track_delivered_duplicate.json"},
		{"webhook_delivered_mixed_offsets.json", "track_delivered_mixed_offsets.json"},
	}
	a := New(Config{})
	for _, p := range pairs {
		t.Run(p[0], func(t *testing.T) {
			ws, err := a.ParseWebhook(readTestdata(t, p[0]))
			if err != nil || len(ws) != 1 {
				t.Fatalf("ParseWebhook = %d updates, %v", len(ws), err)
			}
			ps, err := a.ParsePoll(readTestdata(t, p[1]))
			if err != nil || len(ps) != 1 {
				t.Fatalf("ParsePoll = %d updates, %v", len(ps), err)
			}
			w, q := ws[0], ps[0]
			if w.TrackingNumber != q.TrackingNumber || w.EstimatedDelivery != q.EstimatedDelivery || len(w.Events) != len(q.Events) {
				t.Fatalf("webhook %s eta %q %d events, poll %s eta %q %d events",
					w.TrackingNumber, w.EstimatedDelivery, len(w.Events), q.TrackingNumber, q.EstimatedDelivery, len(q.Events))
			}
			for i := range w.Events {
				if wk, pk := w.Events[i].Key(), q.Events[i].Key(); wk != pk {
					t.Errorf("event %d: webhook key %s, poll key %s", i, wk, pk)
				}
			}
		})
	}
}

func TestParse_RawIsTheScanEvent(t *testing.T) {
	body := readTestdata(t, "track_delivered_duplicate.json")
	var ans struct {
		Output struct {
			CompleteTrackResults []struct {
				TrackResults []struct {
					ScanEvents []json.RawMessage `json:"scanEvents"`
				} `json:"trackResults"`
			} `json:"completeTrackResults"`
		} `json:"output"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	var raws []json.RawMessage
	for _, tr := range ans.Output.CompleteTrackResults[0].TrackResults {
		raws = append(raws, tr.ScanEvents...)
	}
	u := parseOne(t, body)
	if len(u.Events) != len(raws) {
		t.Fatalf("%d events for %d scan events", len(u.Events), len(raws))
	}
	for i, e := range u.Events {
		var want bytes.Buffer
		if err := json.Compact(&want, raws[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Raw, want.Bytes()) {
			t.Errorf("events[%d].Raw = %s\nwant %s", i, e.Raw, want.Bytes())
		}
	}
	// Raw must not alias the body.
	for i := range body {
		body[i] = ' '
	}
	if !json.Valid(u.Events[0].Raw) {
		t.Error("Raw aliases the parsed body")
	}
}

func TestParse_DuplicateNumberIsOneShipment(t *testing.T) {
	u := parseOne(t, readTestdata(t, "track_delivered_duplicate.json"))
	// Both shipments' scans are there: the older one's delay and pickup
	// hold, the newer one's delivery exceptions and delivery.
	var got []string
	for _, e := range u.Events {
		got = append(got, e.CarrierStatus+" "+string(e.Status))
	}
	for _, want := range []string{"DY exception", "HP/IT available_for_pickup", "OC/IN info_received",
		"DE failed_attempt", "DL delivered", "OD/IT out_for_delivery"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("events lack %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	var l tracking.Log
	l.Apply(u)
	if l.Status != tracking.StatusDelivered || l.StatusEvent.CarrierStatus != "DL" ||
		!l.StatusEvent.OccurredAt.Equal(time.Date(2024, 4, 26, 16, 26, 0, 0, time.UTC)) {
		t.Errorf("shipment status %s from %+v, want delivered at 2024-04-26T09:26-07:00", l.Status, l.StatusEvent)
	}
}

func TestParse_ScanTimes(t *testing.T) {
	mankato := obj{"city": "MANKATO", "stateOrProvinceCode": "MN", "postalCode": "56001", "countryCode": "US"}
	tests := []struct {
		name      string
		date      any
		location  obj
		at        time.Time
		offset    int
		unknown   bool
		errSubstr string
	}{
		{name: "offset given", date: "2024-08-15T18:35:00-05:00", location: mankato,
			at: time.Date(2024, 8, 15, 23, 35, 0, 0, time.UTC), offset: -5 * 3600},
		{name: "offset given wins over the place", date: "2024-08-15T18:35:00+02:00", location: mankato,
			at: time.Date(2024, 8, 15, 16, 35, 0, 0, time.UTC), offset: 2 * 3600},
		{name: "UTC", date: "2024-08-15T18:35:00Z", location: mankato,
			at: time.Date(2024, 8, 15, 18, 35, 0, 0, time.UTC)},
		{name: "offset without colon", date: "2024-08-15T18:35:00+0530", location: obj{},
			at: time.Date(2024, 8, 15, 13, 5, 0, 0, time.UTC), offset: 5*3600 + 1800},
		{name: "fraction", date: "2024-08-15T18:35:00.250-04:00", location: obj{},
			at: time.Date(2024, 8, 15, 22, 35, 0, 250e6, time.UTC), offset: -4 * 3600},
		{name: "surrounding spaces", date: " 2024-08-15T18:35:00-05:00\t", location: obj{},
			at: time.Date(2024, 8, 15, 23, 35, 0, 0, time.UTC), offset: -5 * 3600},
		// No offset: the place's zone, when one zone covers it.
		{name: "no offset, Minnesota (CDT)", date: "2024-08-15T00:00:00", location: mankato,
			at: time.Date(2024, 8, 15, 5, 0, 0, 0, time.UTC), offset: -5 * 3600},
		{name: "no offset, Minnesota in winter (CST)", date: "2024-01-15T09:00:00", location: mankato,
			at: time.Date(2024, 1, 15, 15, 0, 0, 0, time.UTC), offset: -6 * 3600},
		{name: "no offset, Germany", date: "2024-08-15T09:00:00", location: obj{"city": "KOELN", "countryCode": "de"},
			at: time.Date(2024, 8, 15, 7, 0, 0, 0, time.UTC), offset: 2 * 3600},
		{name: "no offset, fraction", date: "2024-08-15T09:00:00.5", location: mankato,
			at: time.Date(2024, 8, 15, 14, 0, 0, 5e8, time.UTC), offset: -5 * 3600},
		{name: "date only", date: "2024-08-15", location: mankato,
			at: time.Date(2024, 8, 15, 5, 0, 0, 0, time.UTC), offset: -5 * 3600},
		// No offset, and no single zone: read as UTC, and said so.
		{name: "no offset, Texas spans zones", date: "2024-08-15T09:00:00", location: obj{"stateOrProvinceCode": "TX", "countryCode": "US"},
			at: time.Date(2024, 8, 15, 9, 0, 0, 0, time.UTC), unknown: true},
		{name: "no offset, no place", date: "2024-08-15T09:00:00", location: obj{},
			at: time.Date(2024, 8, 15, 9, 0, 0, 0, time.UTC), unknown: true},
		{name: "no offset, scanLocation null", date: "2024-08-15T09:00:00", location: nil,
			at: time.Date(2024, 8, 15, 9, 0, 0, 0, time.UTC), unknown: true},

		{name: "empty", date: "", errSubstr: "date: is missing"},
		{name: "null", date: nil, errSubstr: "date: is missing"},
		{name: "number", date: 1723680000, errSubstr: "date:"},
		{name: "US format", date: "08/15/2024 09:00", errSubstr: "date:"},
		{name: "impossible hour", date: "2024-08-15T25:00:00-05:00", errSubstr: "date:"},
		{name: "impossible day", date: "2024-02-30T10:00:00", errSubstr: "date:"},
		{name: "before 2000", date: "1970-01-01T00:00:00Z", errSubstr: "before 2000"},
		{name: "before 2000, no offset", date: "1999-12-31T23:00:00", errSubstr: "before 2000"},
		{name: "object", date: obj{"value": "2024-08-15"}, errSubstr: "date: want a string, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := scanWith(t, func(ev obj) {
				ev["date"] = tt.date
				if tt.location == nil {
					ev["scanLocation"] = nil
				} else if tt.errSubstr == "" {
					ev["scanLocation"] = tt.location
				}
			})
			if tt.errSubstr != "" {
				_, err := New(Config{}).ParsePoll(body)
				if err == nil || !strings.Contains(err.Error(), tt.errSubstr) ||
					!strings.Contains(err.Error(), "output.completeTrackResults[0].trackResults[0].scanEvents[0]") {
					t.Fatalf("ParsePoll error = %v, want one naming the scan event and %q", err, tt.errSubstr)
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

func TestParse_ScanEventFields(t *testing.T) {
	tests := []struct {
		name string
		edit func(ev obj)
		want func(e tracking.Event) string
	}{
		{"eventType and the differing derived code", func(ev obj) { ev["eventType"], ev["derivedStatusCode"] = "OD", "IT" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "OD/IT" && e.Status == tracking.StatusOutForDelivery, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"the same code once", func(ev obj) {},
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "PU" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"codes kept as sent", func(ev obj) { ev["eventType"], ev["derivedStatusCode"] = " Ow ", "it" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "Ow/it" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"derived code alone", func(ev obj) { ev["eventType"], ev["derivedStatusCode"] = "", "DL" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "DL" && e.Status == tracking.StatusDelivered, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"unknown codes are kept and read as in transit", func(ev obj) { ev["eventType"], ev["derivedStatusCode"] = "Q9", "Q8" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "Q9/Q8" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"no codes at all", func(ev obj) { delete(ev, "eventType"); ev["derivedStatusCode"] = nil },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"a delivery exception by its reason", func(ev obj) {
			ev["eventType"], ev["derivedStatusCode"], ev["eventDescription"] = "DE", "DE", "Delivery exception"
			ev["exceptionCode"], ev["exceptionDescription"] = "08", "Customer not available or business closed"
		}, func(e tracking.Event) string {
			return check(e.Status == tracking.StatusFailedAttempt && e.CarrierStatus == "DE" &&
				e.Message == "Delivery exception: Customer not available or business closed", "Status %q CarrierStatus %q Message %q", e.Status, e.CarrierStatus, e.Message)
		}},
		{"a delivery exception with a reason that is no attempt", func(ev obj) {
			ev["eventType"], ev["derivedStatusCode"], ev["eventDescription"] = "DE", "DE", "Delivery exception"
			ev["exceptionCode"], ev["exceptionDescription"] = "03", "Incorrect address"
		}, func(e tracking.Event) string {
			return check(e.Status == tracking.StatusException && e.Message == "Delivery exception: Incorrect address", "Status %q Message %q", e.Status, e.Message)
		}},
		{"the description is the message", func(ev obj) {},
			func(e tracking.Event) string { return check(e.Message == "Picked up", "Message %q", e.Message) }},
		{"the exception text alone", func(ev obj) { ev["eventDescription"], ev["exceptionDescription"] = "", "Package delayed" },
			func(e tracking.Event) string { return check(e.Message == "Package delayed", "Message %q", e.Message) }},
		{"the same text once", func(ev obj) { ev["exceptionDescription"] = "picked up" },
			func(e tracking.Event) string { return check(e.Message == "Picked up", "Message %q", e.Message) }},
		{"derivedStatus when there is no other text", func(ev obj) { ev["eventDescription"], ev["derivedStatus"] = " ", "Picked Up" },
			func(e tracking.Event) string { return check(e.Message == "Picked Up", "Message %q", e.Message) }},
		{"location, without the street", func(ev obj) {
			ev["scanLocation"] = obj{"streetLines": []any{"1043 North Easy Street", "Suite 999"}, "city": " SEATTLE ",
				"stateOrProvinceCode": "WA", "postalCode": 98101, "countryCode": "us", "countryName": "United States", "residential": false}
		}, func(e tracking.Event) string {
			want := tracking.Location{City: "SEATTLE", Region: "WA", PostalCode: "98101", Country: "US"}
			return check(e.Location == want, "Location %+v, want %+v", e.Location, want)
		}},
		{"an empty location", func(ev obj) { ev["scanLocation"] = obj{}; ev["date"] = "2024-08-15T10:36:00-05:00" },
			func(e tracking.Event) string {
				return check(e.Location == tracking.Location{}, "Location %+v", e.Location)
			}},
		{"other fields of any shape are ignored", func(ev obj) { ev["delayDetail"] = "DELAYED"; ev["locationType"] = 7 },
			func(e tracking.Event) string {
				return check(e.Status == tracking.StatusInTransit, "Status %q", e.Status)
			}},
		{"no id: trackd fingerprints the content", func(ev obj) {},
			func(e tracking.Event) string {
				return check(e.ID == "" && strings.HasPrefix(e.Key(), "fp:"), "ID %q", e.ID)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parseOne(t, scanWith(t, tt.edit))
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
func check(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func TestParse_EstimatedDelivery(t *testing.T) {
	tests := []struct {
		name   string
		dates  any
		window any
		want   string
	}{
		{name: "none", want: ""},
		{name: "ESTIMATED_DELIVERY with a time and offset", want: "2024-08-21T14:00:00-04:00",
			dates: []any{obj{"type": "SHIP", "dateTime": "2024-08-15T00:00:00-06:00"}, obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-08-21T14:00:00-04:00"}}},
		{name: "ESTIMATED_DELIVERY at midnight is a date", want: "2024-08-21",
			dates: []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-08-21T00:00:00-06:00"}}},
		{name: "ESTIMATED_DELIVERY without offset is a date", want: "2024-08-21",
			dates: []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-08-21T14:00:00"}}},
		{name: "ESTIMATED_DELIVERY as a date", want: "2024-08-21",
			dates: []any{obj{"type": "estimated_delivery", "dateTime": "2024-08-21"}}},
		{name: "ESTIMATED_DELIVERY before the window", want: "2024-08-21",
			dates:  []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-08-21"}},
			window: obj{"window": obj{"begins": "2024-08-22T08:00:00-04:00", "ends": "2024-08-22T12:00:00-04:00"}}},
		{name: "the window's end", want: "2024-08-22T12:00:00-04:00",
			window: obj{"type": "ESTIMATED_DELIVERY", "window": obj{"begins": "2024-08-22T08:00:00-04:00", "ends": "2024-08-22T12:00:00-04:00"}}},
		{name: "the window's beginning when it has no end", want: "2024-08-22T08:00:00-04:00",
			window: obj{"window": obj{"begins": "2024-08-22T08:00:00-04:00"}}},
		{name: "an empty window", window: obj{"window": obj{}}, want: ""},
		{name: "other dates are no estimate", want: "",
			dates: []any{obj{"type": "ACTUAL_DELIVERY", "dateTime": "2024-08-20T12:41:57-04:00"}, obj{"type": "COMMITMENT", "dateTime": "2024-08-21"}}},
		{name: "an unreadable estimate is skipped", want: "2024-08-22",
			dates:  []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "soon"}},
			window: obj{"window": obj{"ends": "2024-08-22T00:00:00"}}},
		{name: "dates of the wrong shape are skipped", dates: "2024-08-21", window: []any{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(t, "track_delivered_mixed_offsets.json")
			tr := resultOf(m, 0, 0)
			tr["dateAndTimes"], tr["estimatedDeliveryTimeWindow"] = tt.dates, tt.window
			u := parseOne(t, encode(t, m))
			if u.EstimatedDelivery != tt.want {
				t.Errorf("EstimatedDelivery = %q, want %q", u.EstimatedDelivery, tt.want)
			}
		})
	}
}

func TestParse_EstimateOfAReusedNumberIsTheNewestShipments(t *testing.T) {
	m := decode(t, "track_delivered_duplicate.json")
	older, newer := resultOf(m, 0, 0), resultOf(m, 0, 1)
	older["dateAndTimes"] = []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-04-25"}}
	if u := parseOne(t, encode(t, m)); u.EstimatedDelivery != "" {
		t.Errorf("EstimatedDelivery = %q; the older shipment's estimate is not the newer one's", u.EstimatedDelivery)
	}
	newer["dateAndTimes"] = []any{obj{"type": "ESTIMATED_DELIVERY", "dateTime": "2024-04-26"}}
	if u := parseOne(t, encode(t, m)); u.EstimatedDelivery != "2024-04-26" {
		t.Errorf("EstimatedDelivery = %q, want the newer shipment's 2024-04-26", u.EstimatedDelivery)
	}
	// In the other order, the newest shipment still decides.
	results(m)[0].(obj)["trackResults"] = []any{newer, older}
	if u := parseOne(t, encode(t, m)); u.EstimatedDelivery != "2024-04-26" {
		t.Errorf("EstimatedDelivery = %q, want the newer shipment's 2024-04-26", u.EstimatedDelivery)
	}
}

func TestParse_NumbersAndErrors(t *testing.T) {
	m := decode(t, "track_picked_up_and_errors.json")
	us, err := New(Config{}).ParsePoll(encode(t, m))
	if err != nil || len(us) != 1 || us[0].TrackingNumber != "123456789012" {
		t.Fatalf("ParsePoll = %+v, %v; want only 123456789012 (39936862321 is not found)", us, err)
	}

	// The number asked for names the update, not the result's own.
	if n := resultOf(m, 0, 0)["trackingNumberInfo"].(obj)["trackingNumber"]; n != "128667043726" {
		t.Fatalf("fixture changed: %v", n)
	}
	// Without it, the result's own number does.
	results(m)[0].(obj)["trackingNumber"] = ""
	if u := parseOne(t, encode(t, m)); u.TrackingNumber != "128667043726" {
		t.Errorf("TrackingNumber = %q, want the result's own", u.TrackingNumber)
	}
	// Numbers are normalized.
	results(m)[0].(obj)["trackingNumber"] = " 1234 5678-9012 "
	if u := parseOne(t, encode(t, m)); u.TrackingNumber != "123456789012" {
		t.Errorf("TrackingNumber = %q", u.TrackingNumber)
	}

	// Two numbers with tracking: two updates, in the answer's order.
	two := decode(t, "track_delivered_mixed_offsets.json")
	other := decode(t, "track_delivered_duplicate.json")
	results(two)[0].(obj)["trackResults"] = append(results(two)[0].(obj)["trackResults"].([]any), results(other)[0].(obj)["trackResults"].([]any)...)
	two["output"].(obj)["completeTrackResults"] = append(results(two), results(other)[0])
	us, err = New(Config{}).ParsePoll(encode(t, two))
	if err != nil || len(us) != 2 || us[0].TrackingNumber != "738488882438" || us[1].TrackingNumber != "776094337676" {
		t.Fatalf("ParsePoll = %d updates, %v", len(us), err)
	}
	// The first number's complete result holds the other's two results
	// too: it names them, so they are its shipments.
	if len(us[0].Events) != 17+18 || len(us[1].Events) != 18 {
		t.Errorf("%d and %d events, want 35 and 18", len(us[0].Events), len(us[1].Events))
	}
}

func TestParse_Shapes(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		updates   int
		errSubstr string
	}{
		{name: "empty", body: "", errSubstr: "is empty"},
		{name: "spaces", body: " \n", errSubstr: "is empty"},
		{name: "not JSON", body: "<html>maintenance</html>", errSubstr: "malformed JSON"},
		{name: "truncated", body: `{"output":{"completeTrackResults":[`, errSubstr: "malformed JSON"},
		{name: "null", body: "null", errSubstr: `no "output"`},
		{name: "an array", body: "[]", errSubstr: "want an object, not an array"},
		{name: "no output", body: `{"transactionId":"x"}`, errSubstr: `no "output"`},
		{name: "an error answer", body: `{"transactionId":"x","errors":[{"code":"TRACKING.TRACKINGNUMBER.EMPTY","message":"Please provide tracking number."}]}`,
			errSubstr: "is an error: TRACKING.TRACKINGNUMBER.EMPTY Please provide tracking number."},
		{name: "output without results", body: `{"output":{}}`, errSubstr: `no "output.completeTrackResults"`},
		{name: "results null", body: `{"output":{"completeTrackResults":null}}`, errSubstr: `no "output.completeTrackResults"`},
		{name: "results not an array", body: `{"output":{"completeTrackResults":{}}}`, errSubstr: "want an array, not an object"},
		{name: "no results", body: `{"output":{"completeTrackResults":[]}}`},
		{name: "a result without track results", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1"}]}}`},
		{name: "a not-found result", body: `{"output":{"completeTrackResults":[{"trackingNumber":"39936862321","trackResults":[{"trackingNumberInfo":{"trackingNumber":"39936862321"},"error":{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND","message":"Tracking number cannot be found."}}]}]}}`},
		{name: "an empty-number error", body: `{"output":{"completeTrackResults":[{"trackingNumber":"","trackResults":[{"error":{"code":"TRACKING.TRACKINGNUMBER.EMPTY"}}]}]}}`},
		{name: "a result with nothing yet", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"latestStatusDetail":{"code":"OC","derivedCode":"IN"}}]}]}}`, updates: 1},
		{name: "scans without a number", body: `{"output":{"completeTrackResults":[{"trackResults":[{"scanEvents":[{"date":"2024-08-15T10:36:00-05:00","eventType":"OC"}]}]}]}}`,
			errSubstr: "output.completeTrackResults[0].trackResults[0] has no tracking number"},
		{name: "a null scan event", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[null]}]}]}}`,
			errSubstr: "scanEvents[0]: is null"},
		{name: "a scan event of the wrong type", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":["PU"]}]}]}}`,
			errSubstr: "scanEvents[0]: value: want an object, not a string"},
		{name: "a scanLocation of the wrong type", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[{"date":"2024-08-15T10:36:00-05:00","scanLocation":"MANKATO"}]}]}]}}`,
			errSubstr: "scanEvents[0]: scanLocation: want an object, not a string"},
		{name: "an eventType of the wrong type", body: `{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[{"date":"2024-08-15T10:36:00-05:00","eventType":["PU"]}]}]}]}}`,
			errSubstr: "scanEvents[0]: eventType: want a string, not an array"},
		{name: "a tracking number as a JSON number", body: `{"output":{"completeTrackResults":[{"trackingNumber":738488882438,"trackResults":[{"scanEvents":[{"date":"2024-08-15T10:36:00-05:00","eventType":"OC"}]}]}]}}`, updates: 1},
		{name: "alerts as a string, as FedEx's example has it", body: `{"output":{"alerts":"TRACKING.DATA.NOTFOUND -  Tracking data unavailable","completeTrackResults":[]}}`},
		{name: "webhook metadata of any shape", body: `{"transactionId":"x","outputMetaData":[{"attempt":1}],"output":{"completeTrackResults":[]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, parse := range []func([]byte) ([]tracking.Update, error){New(Config{}).ParsePoll, New(Config{}).ParseWebhook} {
				us, err := parse([]byte(tt.body))
				if tt.errSubstr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
						t.Fatalf("error = %v, want one saying %q", err, tt.errSubstr)
					}
					if us != nil {
						t.Errorf("updates %+v returned with the error", us)
					}
					continue
				}
				if err != nil || len(us) != tt.updates {
					t.Fatalf("= %d updates, %v; want %d, nil", len(us), err, tt.updates)
				}
				for _, u := range us {
					checkUpdate(t, u)
				}
			}
		})
	}
}

func TestParse_TooManyScanEvents(t *testing.T) {
	m := decode(t, "track_delivered_mixed_offsets.json")
	tr := resultOf(m, 0, 0)
	ev := tr["scanEvents"].([]any)[0]
	many := make([]any, MaxScanEvents+1)
	for i := range many {
		many[i] = ev
	}
	tr["scanEvents"] = many
	_, err := New(Config{}).ParsePoll(encode(t, m))
	if err == nil || !strings.Contains(err.Error(), "more than 1000") {
		t.Fatalf("ParsePoll = %v, want the bound refused", err)
	}
	tr["scanEvents"] = many[:MaxScanEvents]
	if u := parseOne(t, encode(t, m)); len(u.Events) != MaxScanEvents {
		t.Errorf("%d events", len(u.Events))
	}
}

func TestParse_ErrorAnswers(t *testing.T) {
	for _, file := range []string{"error_400_empty.json", "spec_error_401.json", "spec_error_403.json",
		"spec_error_404.json", "spec_error_500.json", "spec_error_503.json"} {
		us, err := New(Config{}).ParsePoll(readTestdata(t, file))
		if err == nil || us != nil || !strings.Contains(err.Error(), "is an error: ") {
			t.Errorf("%s: ParsePoll = %v, %v; want an error", file, us, err)
		}
	}
}
