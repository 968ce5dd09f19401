package dhl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// obj is a decoded JSON object, for building answers.
type obj = map[string]any

// answer returns a poll answer of one shipment, numbered 3318810025,
// holding events.
func answer(t *testing.T, events ...obj) []byte {
	t.Helper()
	return answerOf(t, obj{"id": "3318810025", "service": "express", "events": events})
}

func answerOf(t *testing.T, shipments ...obj) []byte {
	t.Helper()
	b, err := json.Marshal(obj{"shipments": shipments})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// place is a location object with an address of the given fields.
func place(kv ...string) obj {
	addr := obj{}
	for i := 0; i+1 < len(kv); i += 2 {
		addr[kv[i]] = kv[i+1]
	}
	return obj{"address": addr}
}

func parse(t *testing.T, body []byte) []tracking.Update {
	t.Helper()
	us, err := New(Config{}).ParsePoll(body)
	if err != nil {
		t.Fatalf("ParsePoll = %v", err)
	}
	for _, u := range us {
		checkUpdate(t, u)
	}
	return us
}

func parseEvent1(t *testing.T, ev obj) tracking.Event {
	t.Helper()
	us := parse(t, answer(t, ev))
	if len(us) != 1 || len(us[0].Events) != 1 {
		t.Fatalf("ParsePoll = %+v, want one update of one event", us)
	}
	return us[0].Events[0]
}

// summary is what the fixture tests assert of an update, beyond its golden file.
type summary struct {
	number, eta   string
	events        int
	offsetUnknown int
	first, last   tracking.Status
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
	if len(u.Events) > 0 {
		s.first, s.last = u.Events[0].Status, u.Events[len(u.Events)-1].Status
	}
	var l tracking.Log
	l.Apply(u)
	s.status = l.Status
	return s
}

func TestParsePoll_Fixtures(t *testing.T) {
	tests := []struct {
		file string
		want []summary
	}{
		// DHL's composite example: one event, repeated as the status with
		// a "Z" the event lacks; statusCode pre-transit decides over the
		// status text "DELIVERED".
		{"tracking_response.json", []summary{{number: "7777777770", eta: "2018-08-03T22:00:00Z", events: 1,
			first: tracking.StatusInfoReceived, last: tracking.StatusInfoReceived, status: tracking.StatusInfoReceived}}},
		// Events newest first, as DHL lists them.
		{"handmade_express_delivered.json", []summary{{number: "3318810025", eta: "2026-11-24", events: 8,
			first: tracking.StatusDelivered, last: tracking.StatusInfoReceived, status: tracking.StatusDelivered}}},
		{"handmade_parcel_de_pickup.json", []summary{{number: "00340434161094015902", eta: "2026-11-25T13:00:00+01:00", events: 6,
			first: tracking.StatusAvailableForPickup, last: tracking.StatusInfoReceived, status: tracking.StatusAvailableForPickup}}},
		// One number, two DHL businesses: two updates. The pickup scan at
		// a place with no country has no known offset.
		{"handmade_two_services_failure_unknown.json", []summary{
			{number: "6340893671", events: 6, offsetUnknown: 1,
				first: tracking.StatusReturning, last: tracking.StatusInTransit, status: tracking.StatusReturning},
			{number: "6340893671", eta: "2026-11-28", events: 3,
				first: tracking.StatusDelivered, last: tracking.StatusInTransit, status: tracking.StatusDelivered},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			us := parse(t, readTestdata(t, tt.file))
			if len(us) != len(tt.want) {
				t.Fatalf("ParsePoll returned %d updates, want %d", len(us), len(tt.want))
			}
			for i, u := range us {
				if got := summarize(u); got != tt.want[i] {
					t.Errorf("update %d:\ngot  %+v\nwant %+v", i, got, tt.want[i])
				}
			}
			checkGolden(t, tt.file, us)
		})
	}
}

// TestParsePoll_EveryStatusFamily: between them the fixtures hold every
// statusCode of the enum, and every trackd status DHL's texts refine to.
func TestParsePoll_EveryStatusFamily(t *testing.T) {
	codes := map[string]bool{}
	statuses := map[tracking.Status]bool{}
	for _, file := range []string{"tracking_response.json", "handmade_express_delivered.json",
		"handmade_parcel_de_pickup.json", "handmade_two_services_failure_unknown.json"} {
		for _, u := range parse(t, readTestdata(t, file)) {
			for _, e := range u.Events {
				code, _, _ := strings.Cut(e.CarrierStatus, "/")
				codes[code] = true
				statuses[e.Status] = true
			}
		}
	}
	for code := range codeStatuses {
		if !codes[code] {
			t.Errorf("no fixture has an event with statusCode %q", code)
		}
	}
	for _, s := range []tracking.Status{tracking.StatusInfoReceived, tracking.StatusInTransit, tracking.StatusOutForDelivery,
		tracking.StatusFailedAttempt, tracking.StatusAvailableForPickup, tracking.StatusDelivered, tracking.StatusException,
		tracking.StatusReturning} {
		if !statuses[s] {
			t.Errorf("no fixture has an event of status %q", s)
		}
	}
}

func TestParsePoll_DocExample(t *testing.T) {
	us := parse(t, readTestdata(t, "tracking_response.json"))
	e := us[0].Events[0]
	want := tracking.Event{
		Status:        tracking.StatusInfoReceived,
		CarrierStatus: "pre-transit/DELIVERED",
		Message:       "JESSICA",
		// The event's "2018-03-02T07:53:47" has no offset: Amsterdam's.
		OccurredAt: time.Date(2018, 3, 2, 6, 53, 47, 0, time.UTC),
		// "Oderweg 2, AMSTERDAM": the street is not kept.
		Location: tracking.Location{City: "AMSTERDAM", PostalCode: "1043 AG", Country: "NL"},
	}
	if e.Status != want.Status || e.CarrierStatus != want.CarrierStatus || e.Message != want.Message ||
		!e.OccurredAt.Equal(want.OccurredAt) || e.Location != want.Location || e.OffsetUnknown {
		t.Errorf("event = %+v\nwant    %+v", e, want)
	}
	if _, off := e.OccurredAtLocal.Zone(); off != 3600 {
		t.Errorf("OccurredAtLocal = %v, want Amsterdam's +01:00", e.OccurredAtLocal)
	}
	if !bytes.Contains(e.Raw, []byte(`"remark":"The shipment is pending completion of customs inspection."`)) {
		t.Errorf("Raw = %s, want the whole event", e.Raw)
	}
}

func TestParsePoll_ExpressLocalTimes(t *testing.T) {
	us := parse(t, readTestdata(t, "handmade_express_delivered.json"))
	ev := us[0].Events
	tests := []struct {
		i      int
		at     time.Time
		offset int
		loc    tracking.Location
		status tracking.Status
		cs     string
	}{
		{0, time.Date(2026, 11, 24, 9, 42, 0, 0, time.UTC), 3600,
			tracking.Location{City: "AMSTERDAM", Country: "NL"}, tracking.StatusDelivered, "delivered/DELIVERED"},
		{1, time.Date(2026, 11, 24, 7, 5, 0, 0, time.UTC), 3600,
			tracking.Location{City: "AMSTERDAM", Country: "NL"}, tracking.StatusOutForDelivery, "transit/WITH DELIVERY COURIER"},
		// No statusCode, no status: the description decides, and there
		// is no carrier code to keep.
		{3, time.Date(2026, 11, 24, 1, 30, 0, 0, time.UTC), 3600,
			tracking.Location{City: "AMSTERDAM", Country: "NL"}, tracking.StatusInTransit, ""},
		// "CINCINNATI HUB, OH - USA": Ohio's zone, EST in November.
		{4, time.Date(2026, 11, 23, 8, 10, 0, 0, time.UTC), -5 * 3600,
			tracking.Location{City: "CINCINNATI HUB", Region: "OH", Country: "US"}, tracking.StatusInTransit, "transit/DEPARTED FACILITY"},
		{6, time.Date(2026, 11, 22, 23, 20, 0, 0, time.UTC), -5 * 3600,
			tracking.Location{City: "NEW YORK", Region: "NY", Country: "US"}, tracking.StatusInTransit, "transit/SHIPMENT PICKED UP"},
		{7, time.Date(2026, 11, 22, 19, 2, 0, 0, time.UTC), -5 * 3600,
			tracking.Location{City: "NEW YORK", Region: "NY", Country: "US"}, tracking.StatusInfoReceived, "pre-transit/SHIPMENT INFORMATION RECEIVED"},
	}
	for _, tt := range tests {
		e := ev[tt.i]
		_, off := e.OccurredAtLocal.Zone()
		if !e.OccurredAt.Equal(tt.at) || off != tt.offset || e.OffsetUnknown || e.Location != tt.loc || e.Status != tt.status || e.CarrierStatus != tt.cs {
			t.Errorf("events[%d] = %v (%+d s, unknown %v) %+v %s %q\nwant        %v (%+d s) %+v %s %q",
				tt.i, e.OccurredAt, off, e.OffsetUnknown, e.Location, e.Status, e.CarrierStatus, tt.at, tt.offset, tt.loc, tt.status, tt.cs)
		}
	}
}

func TestParsePoll_RawIsTheEvent(t *testing.T) {
	body := readTestdata(t, "handmade_parcel_de_pickup.json")
	var ans struct {
		Shipments []struct {
			Events []json.RawMessage `json:"events"`
		} `json:"shipments"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	us := parse(t, body)
	raws := ans.Shipments[0].Events
	if len(us[0].Events) != len(raws) {
		t.Fatalf("%d events for %d in the answer", len(us[0].Events), len(raws))
	}
	for i, e := range us[0].Events {
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
	if !json.Valid(us[0].Events[0].Raw) {
		t.Error("Raw aliases the parsed body")
	}
}

func TestParsePoll_Timestamps(t *testing.T) {
	de := place("countryCode", "DE", "addressLocality", "Bonn")
	nowhere := place("addressLocality", "CENTRAL HUB")
	tests := []struct {
		in      any
		loc     obj
		at      time.Time
		offset  int
		unknown bool
		errHas  string
	}{
		{in: "2026-11-25T09:14:00+01:00", loc: de, at: time.Date(2026, 11, 25, 8, 14, 0, 0, time.UTC), offset: 3600},
		{in: "2026-11-25T09:14:00Z", loc: de, at: time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC)},
		{in: "2026-11-25T09:14:00.5-05:00", loc: de, at: time.Date(2026, 11, 25, 14, 14, 0, 5e8, time.UTC), offset: -5 * 3600},
		{in: "2026-11-25T09:14:00+0800", loc: de, at: time.Date(2026, 11, 25, 1, 14, 0, 0, time.UTC), offset: 8 * 3600},
		{in: "2026-11-25T09:14+01:00", loc: de, at: time.Date(2026, 11, 25, 8, 14, 0, 0, time.UTC), offset: 3600},
		{in: " 2026-11-25T09:14:00Z\t", loc: de, at: time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC)},
		// No offset: the place's zone, summer time included.
		{in: "2026-11-25T09:14:00", loc: de, at: time.Date(2026, 11, 25, 8, 14, 0, 0, time.UTC), offset: 3600},
		{in: "2026-07-25T09:14:00", loc: de, at: time.Date(2026, 7, 25, 7, 14, 0, 0, time.UTC), offset: 7200},
		{in: "2026-07-25T09:14", loc: de, at: time.Date(2026, 7, 25, 7, 14, 0, 0, time.UTC), offset: 7200},
		{in: "2026-07-25T09:14:00.250", loc: de, at: time.Date(2026, 7, 25, 7, 14, 0, 25e7, time.UTC), offset: 7200},
		{in: "2026-07-25 09:14:00", loc: de, at: time.Date(2026, 7, 25, 7, 14, 0, 0, time.UTC), offset: 7200},
		{in: "2026-07-25", loc: de, at: time.Date(2026, 7, 24, 22, 0, 0, 0, time.UTC), offset: 7200},
		// No offset and no known place: read as UTC, and said so.
		{in: "2026-11-25T09:14:00", loc: nowhere, at: time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC), unknown: true},
		{in: "2026-11-25T09:14:00", at: time.Date(2026, 11, 25, 9, 14, 0, 0, time.UTC), unknown: true},
		{in: nil, errHas: "timestamp: is missing"},
		{in: "", errHas: "timestamp: is missing"},
		{in: "yesterday", errHas: "is not a date and time"},
		{in: "2017-20-10T09:00:00", errHas: "is not a date and time"},
		{in: "1999-12-31T23:59:59Z", errHas: "before 2000"},
		{in: "1999-12-31T23:59:59", errHas: "before 2000"},
		{in: 1764061200, errHas: "is not a date and time"},
		{in: obj{}, errHas: "want a string, not an object"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			ev := obj{"timestamp": tt.in, "statusCode": "transit", "description": "Processed"}
			if tt.loc != nil {
				ev["location"] = tt.loc
			}
			if tt.errHas != "" {
				_, err := New(Config{}).ParsePoll(answer(t, ev))
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), "shipments[0].events[0]") {
					t.Errorf("ParsePoll = %v, want an error naming shipments[0].events[0] and saying %q", err, tt.errHas)
				}
				return
			}
			e := parseEvent1(t, ev)
			_, off := e.OccurredAtLocal.Zone()
			if !e.OccurredAt.Equal(tt.at) || off != tt.offset || e.OffsetUnknown != tt.unknown {
				t.Errorf("OccurredAt %v, local %v (%+d s), unknown %v; want %v, %+d s, unknown %v",
					e.OccurredAt, e.OccurredAtLocal, off, e.OffsetUnknown, tt.at, tt.offset, tt.unknown)
			}
		})
	}
}

func TestParsePoll_Locations(t *testing.T) {
	tests := []struct {
		name string
		loc  any
		want tracking.Location
	}{
		{"parcel-de", place("countryCode", "DE", "postalCode", "53113", "addressLocality", "Bonn"),
			tracking.Location{City: "Bonn", PostalCode: "53113", Country: "DE"}},
		{"express, city - country", place("addressLocality", "LEIPZIG - GERMANY"),
			tracking.Location{City: "LEIPZIG", Country: "DE"}},
		{"express, US hub with state", place("addressLocality", "WILMINGTON, OH - USA"),
			tracking.Location{City: "WILMINGTON", Region: "OH", Country: "US"}},
		{"express, CLDR name with a comma", place("addressLocality", "HONG KONG - HONG KONG SAR, CHINA"),
			tracking.Location{City: "HONG KONG", Country: "HK"}},
		{"express, DHL's own country name", place("addressLocality", "SEOUL - KOREA, REPUBLIC OF (SOUTH K.)"),
			tracking.Location{City: "SEOUL", Country: "KR"}},
		{"express, UK", place("addressLocality", "EAST MIDLANDS - UK"),
			tracking.Location{City: "EAST MIDLANDS", Country: "GB"}},
		{"a dash that names no country", place("addressLocality", "FRANKFURT - FLUGHAFEN"),
			tracking.Location{City: "FRANKFURT - FLUGHAFEN"}},
		{"country code and locality disagree", place("countryCode", "NL", "addressLocality", "VENLO - GERMANY"),
			tracking.Location{City: "VENLO - GERMANY", Country: "NL"}},
		{"street before the city", place("countryCode", "NL", "postalCode", "1043 AG", "addressLocality", "Oderweg 2, AMSTERDAM"),
			tracking.Location{City: "AMSTERDAM", PostalCode: "1043 AG", Country: "NL"}},
		{"a comma but no street", place("countryCode", "DE", "addressLocality", "Frankfurt, Main"),
			tracking.Location{City: "Frankfurt, Main", Country: "DE"}},
		{"state code outside the countries that need one", place("countryCode", "IN", "addressLocality", "Gurgaon, HR"),
			tracking.Location{City: "Gurgaon, HR", Country: "IN"}},
		{"only the country", place("addressLocality", "Germany"), tracking.Location{Country: "DE"}},
		{"alpha-3 and lower case code", place("countryCode", "deu", "addressLocality", "Bonn"),
			tracking.Location{City: "Bonn", Country: "DE"}},
		{"unknown code kept", place("countryCode", "xk", "addressLocality", "Prishtina"),
			tracking.Location{City: "Prishtina", Country: "XK"}},
		{"streetAddress is not kept", place("countryCode", "DE", "streetAddress", "Charles-de-Gaulle-Str. 20", "addressLocality", "Bonn"),
			tracking.Location{City: "Bonn", Country: "DE"}},
		{"numbers for strings", obj{"address": obj{"postalCode": 53113, "countryCode": "DE"}},
			tracking.Location{PostalCode: "53113", Country: "DE"}},
		{"no address", obj{}, tracking.Location{}},
		{"null", nil, tracking.Location{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseEvent1(t, obj{"timestamp": "2026-11-25T09:14:00Z", "statusCode": "transit", "location": tt.loc})
			if e.Location != tt.want {
				t.Errorf("Location = %+v, want %+v", e.Location, tt.want)
			}
		})
	}
}

func TestParsePoll_EstimatedDelivery(t *testing.T) {
	tests := []struct {
		name      string
		eta       any
		frame     any
		want      string
		wantValid bool
	}{
		{name: "instant", eta: "2026-11-27T18:00:00+01:00", want: "2026-11-27T18:00:00+01:00"},
		{name: "instant in UTC", eta: "2026-11-27T17:00:00Z", want: "2026-11-27T17:00:00Z"},
		{name: "midnight is a date", eta: "2026-11-27T00:00:00Z", want: "2026-11-27"},
		{name: "midnight with an offset", eta: "2026-11-27T00:00:00+09:00", want: "2026-11-27"},
		{name: "no offset is a date", eta: "2026-11-27T18:00:00", want: "2026-11-27"},
		{name: "date", eta: "2026-11-27", want: "2026-11-27"},
		{name: "frame end first", eta: "2026-11-27T00:00:00Z",
			frame: obj{"estimatedFrom": "2026-11-27T08:00:00+01:00", "estimatedThrough": "2026-11-27T12:00:00+01:00"},
			want:  "2026-11-27T12:00:00+01:00"},
		{name: "frame without an end", eta: "2026-11-27", frame: obj{"estimatedFrom": "2026-11-26T08:00:00Z"}, want: "2026-11-27"},
		{name: "frame with a bad end", eta: "2026-11-27", frame: obj{"estimatedThrough": "soon"}, want: "2026-11-27"},
		{name: "frame not an object", eta: "2026-11-27", frame: "2026-11-28", want: "2026-11-27"},
		{name: "frame of the wrong types", frame: obj{"estimatedThrough": obj{}}, want: ""},
		{name: "not a time", eta: "By End of Day", want: ""},
		{name: "a number", eta: 20261127, want: ""},
		{name: "an object", eta: obj{"date": "2026-11-27"}, want: ""},
		{name: "before 2000", eta: "1970-01-01T00:00:00Z", want: ""},
		{name: "none", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := obj{"id": "3318810025", "events": []obj{}}
			if tt.eta != nil {
				s["estimatedTimeOfDelivery"] = tt.eta
			}
			if tt.frame != nil {
				s["estimatedDeliveryTimeFrame"] = tt.frame
			}
			us := parse(t, answerOf(t, s))
			if us[0].EstimatedDelivery != tt.want {
				t.Errorf("EstimatedDelivery = %q, want %q", us[0].EstimatedDelivery, tt.want)
			}
		})
	}
}

func TestParsePoll_CurrentStatus(t *testing.T) {
	delivered := obj{"timestamp": "2026-11-25T10:00:00+01:00", "statusCode": "delivered", "status": "DELIVERED",
		"description": "Delivered", "location": place("countryCode", "DE", "addressLocality", "Bonn")}
	transit := obj{"timestamp": "2026-11-25T07:00:00+01:00", "statusCode": "transit", "description": "Processed",
		"location": place("countryCode", "DE", "addressLocality", "Bonn")}
	withZ := obj{"timestamp": "2026-11-25T10:00:00Z", "statusCode": "delivered", "status": "DELIVERED",
		"description": "Delivered", "location": place("countryCode", "DE", "addressLocality", "Bonn")}
	noOffset := obj{"timestamp": "2026-11-25T10:00:00", "statusCode": "delivered", "status": "DELIVERED",
		"description": "Delivered", "location": place("countryCode", "DE", "addressLocality", "Bonn")}
	tests := []struct {
		name   string
		status any
		events []obj
		want   []tracking.Status
	}{
		{"the status alone is the event", delivered, nil, []tracking.Status{tracking.StatusDelivered}},
		{"a status the events repeat adds nothing", delivered, []obj{delivered, transit},
			[]tracking.Status{tracking.StatusDelivered, tracking.StatusInTransit}},
		{"a status newer than the events is news", delivered, []obj{transit},
			[]tracking.Status{tracking.StatusInTransit, tracking.StatusDelivered}},
		{"the same scan with a Z is the same scan", withZ, []obj{noOffset}, []tracking.Status{tracking.StatusDelivered}},
		{"a status without a time is skipped", obj{"statusCode": "delivered"}, []obj{transit},
			[]tracking.Status{tracking.StatusInTransit}},
		{"a status of the wrong shape is skipped", "delivered", []obj{transit}, []tracking.Status{tracking.StatusInTransit}},
		{"a null status is skipped", nil, []obj{transit}, []tracking.Status{tracking.StatusInTransit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us := parse(t, answerOf(t, obj{"id": "1", "status": tt.status, "events": tt.events}))
			var got []tracking.Status
			for _, e := range us[0].Events {
				got = append(got, e.Status)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePoll_TrackingNumber(t *testing.T) {
	for _, tt := range []struct {
		id   any
		want string
	}{
		{"3318810025", "3318810025"},
		{7777777770, "7777777770"},
		{"jjd 0001-2345 6789", "JJD000123456789"},
	} {
		us := parse(t, answerOf(t, obj{"id": tt.id}))
		if len(us) != 1 || us[0].TrackingNumber != tt.want || us[0].Carrier != "dhl" || len(us[0].Events) != 0 {
			t.Errorf("id %v: %+v, want tracking number %s and no events", tt.id, us, tt.want)
		}
	}
}

func TestParsePoll_NoShipments(t *testing.T) {
	us, err := New(Config{}).ParsePoll([]byte(`{"shipments":[],"possibleAdditionalShipmentsUrl":[]}`))
	if err != nil || len(us) != 0 {
		t.Errorf("ParsePoll of no shipments = %v, %v; want nothing and no error", us, err)
	}
}

func TestParsePoll_Refusals(t *testing.T) {
	many := make([]obj, MaxEvents+1)
	for i := range many {
		many[i] = obj{"timestamp": "2026-11-25T09:14:00Z"}
	}
	tests := []struct {
		name, body, errHas string
	}{
		{"empty", "", "empty"},
		{"blank", " \n", "empty"},
		{"not JSON", "<html>503</html>", "malformed JSON"},
		{"truncated", `{"shipments":[{"id":"1"`, "malformed JSON"},
		{"an array", `[{"id":"1"}]`, "want an object, not an array"},
		{"null", `null`, `no "shipments"`},
		{"no shipments", `{"url":"/shipments"}`, `no "shipments"`},
		{"DHL's 404", string(readTestdata(t, "tracking_error_response.json")),
			"DHL error: 404 No result found: No shipment with given tracking number found."},
		{"a 401 problem", `{"status":401,"title":"Unauthorized","detail":"Unauthorized for given resource."}`, "DHL error: 401 Unauthorized"},
		{"shipments an object", `{"shipments":{"id":"1"}}`, "shipments: want an array, not an object"},
		{"shipment null", `{"shipments":[null]}`, "shipments[0] is null"},
		{"shipment a string", `{"shipments":["1"]}`, "want an object, not a string"},
		{"no id", `{"shipments":[{"service":"express","events":[]}]}`, "shipments[0].id: the tracking number is missing"},
		{"blank id", `{"shipments":[{"id":" - "}]}`, "tracking number is missing"},
		{"id an object", `{"shipments":[{"id":{}}]}`, "shipments.id: want a string, not an object"},
		{"events an object", `{"shipments":[{"id":"1","events":{}}]}`, "want an array, not an object"},
		{"event null", `{"shipments":[{"id":"1","events":[null]}]}`, "shipments[0].events[0]: is null"},
		{"event without time", `{"shipments":[{"id":"1","events":[{"statusCode":"transit"}]}]}`, "shipments[0].events[0]: timestamp: is missing"},
		{"statusCode a boolean", `{"shipments":[{"id":"1","events":[{"timestamp":"2026-11-25","statusCode":true}]}]}`, "statusCode: want a string, not a boolean"},
		{"location a string", `{"shipments":[{"id":"1","events":[{"timestamp":"2026-11-25","location":"Bonn"}]}]}`, "location: want an object"},
		{"too many events", string(answer(t, many...)), "more than 1000"},
		{"too many shipments", `{"shipments":[` + strings.Repeat(`{"id":"1"},`, MaxShipments) + `{"id":"1"}]}`, "more than 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll([]byte(tt.body))
			if err == nil || us != nil {
				t.Fatalf("ParsePoll = %v, %v; want an error", us, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

func TestWebhook_Refused(t *testing.T) {
	a := New(Config{APIKey: "key"})
	body := readTestdata(t, "handmade_express_delivered.json")
	for _, r := range []carriers.WebhookRequest{
		{Body: body, Header: func(string) string { return "" }, Query: func(string) string { return "" }, Now: testNow},
		{Body: body, Header: func(name string) string { return "key" }, Query: func(string) string { return "key" }, Now: testNow},
		{},
	} {
		err := a.VerifyWebhook(r)
		if !errors.Is(err, carriers.ErrUnauthenticated) || !errors.Is(err, ErrNoWebhook) {
			t.Errorf("VerifyWebhook = %v, want ErrUnauthenticated and ErrNoWebhook", err)
		}
		if err != nil && (!strings.Contains(err.Error(), "no webhook") || !strings.Contains(err.Error(), "polled")) {
			t.Errorf("VerifyWebhook error %q does not say DHL has no webhook and is polled", err)
		}
	}
	us, err := a.ParseWebhook(body)
	if err == nil || us != nil || !errors.Is(err, ErrNoWebhook) {
		t.Errorf("ParseWebhook = %v, %v; want ErrNoWebhook", us, err)
	}
}

func TestAdapter_Identity(t *testing.T) {
	a := New(Config{})
	if a.Slug() != "dhl" || a.Name() != "DHL" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
	var d carriers.Detector = a
	if got := d.Detect("3318 8100 25"); got != Detect("3318810025") || got < 0.9 {
		t.Errorf("Detect = %v", got)
	}
	r := carriers.NewRegistry(a)
	us, err := r.Decode("dhl"+carriers.PollSuffix, readTestdata(t, "handmade_express_delivered.json"))
	if err != nil || len(us) != 1 {
		t.Errorf("Registry.Decode(dhl/poll) = %d updates, %v", len(us), err)
	}
	if _, err := r.Decode("dhl", []byte(`{}`)); err == nil {
		t.Error("Registry.Decode(dhl) of a webhook = nil error")
	}
}
