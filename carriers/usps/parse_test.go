package usps

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

func TestParsePoll_DeliveredParcelLocker(t *testing.T) {
	u := parsePollOne(t, readTestdata(t, pollFixture))
	if u.TrackingNumber != "9400109104250532908587" || u.EstimatedDelivery != "" || len(u.Events) != 12 {
		t.Fatalf("update %s, eta %q, %d events; want 9400109104250532908587, none, 12", u.TrackingNumber, u.EstimatedDelivery, len(u.Events))
	}
	minus5 := time.FixedZone("", -5*3600)
	first := u.Events[0]
	wantFirst := tracking.Event{
		Status: tracking.StatusDelivered, CarrierStatus: "01", Message: "Delivered, Parcel Locker",
		OccurredAt:      time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC),
		OccurredAtLocal: time.Date(2024, 11, 22, 13, 58, 40, 0, minus5),
		Location:        tracking.Location{City: "HERNANDO", Region: "FL", PostalCode: "34442", Country: "US"},
	}
	if first.Status != wantFirst.Status || first.CarrierStatus != wantFirst.CarrierStatus || first.Message != wantFirst.Message ||
		!first.OccurredAt.Equal(wantFirst.OccurredAt) || first.OccurredAtLocal.Format(time.RFC3339) != "2024-11-22T13:58:40-05:00" ||
		first.OffsetUnknown || first.Location != wantFirst.Location {
		t.Errorf("first event\n got %+v\nwant %+v", first, wantFirst)
	}
	// The scans in transit between facilities name no place.
	if tl := u.Events[4]; tl.CarrierStatus != "TL" || tl.Location != (tracking.Location{}) || tl.Status != tracking.StatusInTransit {
		t.Errorf("events[4] = %+v, want a TL scan with no location", tl)
	}
	// A facility is a city without a state: still in the United States.
	if a1 := u.Events[3]; a1.Location != (tracking.Location{City: "JACKSONVILLE FL DISTRIBUTION CENTER", Country: "US"}) {
		t.Errorf("events[3].Location = %+v", a1.Location)
	}
	if last := u.Events[11]; last.Status != tracking.StatusInfoReceived || last.CarrierStatus != "GX" ||
		last.Message != "Shipping Label Created, USPS Awaiting Item" {
		t.Errorf("last event = %+v, want the GX label", last)
	}
	wantStatuses := []tracking.Status{
		tracking.StatusDelivered, tracking.StatusOutForDelivery, tracking.StatusInTransit, tracking.StatusInTransit,
		tracking.StatusInTransit, tracking.StatusInTransit, tracking.StatusInTransit, tracking.StatusInTransit,
		tracking.StatusInTransit, tracking.StatusInTransit, tracking.StatusInTransit, tracking.StatusInfoReceived,
	}
	for i, e := range u.Events {
		if e.Status != wantStatuses[i] {
			t.Errorf("events[%d] %s %q: status %q, want %q", i, e.CarrierStatus, e.Message, e.Status, wantStatuses[i])
		}
		if _, off := e.OccurredAtLocal.Zone(); off != -5*3600 {
			t.Errorf("events[%d] local offset %ds, want -05:00", i, off)
		}
	}
	checkGolden(t, pollFixture, []tracking.Update{u})
}

func TestParse_KarrioOracleAgrees(t *testing.T) {
	// karrio's own parse of the same answer: its codes, descriptions and
	// local wall times (it writes them with a "Z" it does not mean), in
	// order, must match ours.
	var oracle [][]struct {
		Events []struct {
			Code        string `json:"code"`
			Description string `json:"description"`
			Timestamp   string `json:"timestamp"`
		} `json:"events"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(readTestdata(t, "v3_tracking_delivered_parcel_locker.karrio_expected.json"), &oracle); err != nil {
		t.Fatal(err)
	}
	u := parsePollOne(t, readTestdata(t, pollFixture))
	want := oracle[0][0]
	if len(want.Events) != len(u.Events) {
		t.Fatalf("karrio has %d events, we %d", len(want.Events), len(u.Events))
	}
	for i, k := range want.Events {
		e := u.Events[i]
		wall := e.OccurredAtLocal.Format("2006-01-02T15:04")
		if e.CarrierStatus != k.Code || e.Message != k.Description || !strings.HasPrefix(k.Timestamp, wall) {
			t.Errorf("events[%d] = %s %q at %s; karrio %s %q at %s", i, e.CarrierStatus, e.Message, wall, k.Code, k.Description, k.Timestamp)
		}
	}
	var l tracking.Log
	l.Apply(u)
	if want.Status != "delivered" || l.Status != tracking.StatusDelivered {
		t.Errorf("status %q, karrio %q", l.Status, want.Status)
	}
}

func TestParseWebhook_Notification(t *testing.T) {
	a := New(Config{})
	us, err := a.ParseWebhook(readTestdata(t, webhookFixture))
	if err != nil || len(us) != 1 {
		t.Fatalf("ParseWebhook = %d updates, %v", len(us), err)
	}
	checkUpdate(t, us[0])
	checkGolden(t, webhookFixture, us)

	// The notification carries the same details as the poll answer: the
	// same events, key for key, or trackd would store each scan twice.
	p := parsePollOne(t, readTestdata(t, pollFixture))
	w := us[0]
	if w.TrackingNumber != p.TrackingNumber || w.EstimatedDelivery != p.EstimatedDelivery || len(w.Events) != len(p.Events) {
		t.Fatalf("webhook %s eta %q %d events; poll %s eta %q %d events",
			w.TrackingNumber, w.EstimatedDelivery, len(w.Events), p.TrackingNumber, p.EstimatedDelivery, len(p.Events))
	}
	for i := range w.Events {
		if w.Events[i].Key() != p.Events[i].Key() || !bytes.Equal(w.Events[i].Raw, p.Events[i].Raw) {
			t.Errorf("event %d differs between webhook and poll", i)
		}
	}
}

func TestParseWebhook_Envelopes(t *testing.T) {
	details := readTestdata(t, pollFixture)
	tests := []struct {
		name    string
		body    []byte
		updates int
		errHas  string
	}{
		{name: "TRACKING", body: envelopeOf(t, details), updates: 1},
		{name: "type in lower case", body: bytes.Replace(envelopeOf(t, details), []byte(`"TRACKING"`), []byte(`"tracking"`), 1), updates: 1},
		{name: "no type: read as tracking", body: encode(t, obj{"timestamp": "x", "payload": string(details)}), updates: 1},
		{name: "another subscription type", body: encode(t, obj{"subscriptionType": "SCAN_EVENT_EXTRACT", "timestamp": "x", "payload": `{"x":1}`})},
		{name: "payload holding no events", body: envelopeOf(t, []byte(`{"trackingNumber":"9400109104250532908587","status":"Pre-Shipment"}`)), updates: 1},
		{name: "payload missing", body: []byte(`{"subscriptionType":"TRACKING","timestamp":"x"}`), errHas: "payload: is required"},
		{name: "payload null", body: []byte(`{"subscriptionType":"TRACKING","payload":null}`), errHas: "payload: is required"},
		{name: "payload an object, not a string", body: encode(t, obj{"subscriptionType": "TRACKING", "payload": decode(t, details)}), errHas: "payload: must be a string"},
		{name: "payload not JSON", body: envelopeOf(t, []byte(`<xml/>`)), errHas: "payload: malformed JSON"},
		{name: "payload empty", body: envelopeOf(t, nil), errHas: "payload: is empty"},
		{name: "payload without a number", body: envelopeOf(t, []byte(`{"trackingEvents":[]}`)), errHas: "payload.trackingNumber: is required"},
		{name: "bad event in the payload", body: envelopeOf(t, []byte(`{"trackingNumber":"1","trackingEvents":[{"eventCode":"01"}]}`)),
			errHas: "payload.trackingEvents[0].eventTimestamp: is required"},
		{name: "subscriptionType an object", body: []byte(`{"subscriptionType":{},"payload":"{}"}`), errHas: "subscriptionType: must be a string"},
		{name: "not JSON", body: []byte(`subscriptionType=TRACKING`), errHas: "body: malformed JSON"},
		{name: "an array", body: []byte(`[]`), errHas: "body: must be an object"},
		{name: "empty", body: []byte(" \n"), errHas: "body: is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParseWebhook(tt.body)
			if tt.errHas != "" {
				var f *tracking.FieldError
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !errors.As(err, &f) || us != nil {
					t.Fatalf("ParseWebhook = %d updates, %v; want a FieldError saying %q", len(us), err, tt.errHas)
				}
				return
			}
			if err != nil || len(us) != tt.updates {
				t.Fatalf("ParseWebhook = %d updates, %v; want %d", len(us), err, tt.updates)
			}
			for _, u := range us {
				checkUpdate(t, u)
			}
		})
	}
}

func TestParsePoll_Errors(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		errHas string
	}{
		{"empty", nil, "body: is empty"},
		{"not JSON", []byte("<html>maintenance</html>"), "body: malformed JSON"},
		{"truncated", readTestdata(t, pollFixture)[:500], "body: malformed JSON"},
		{"an array", []byte(`[{"trackingNumber":"1"}]`), "body: must be an object"},
		{"USPS's error", readTestdata(t, "v3_error_placeholder.json"), "error: USPS answered an error: string string"},
		{"OAuth's error", readTestdata(t, "oauth_invalid_client.json"), "error: USPS answered an error: invalid_client Client authentication failed."},
		{"no tracking number", []byte(`{"trackingEvents":[]}`), "trackingNumber: is required"},
		{"tracking number too long", []byte(`{"trackingNumber":"` + strings.Repeat("9", 65) + `"}`), "trackingNumber: is longer than 64"},
		{"tracking number an object", []byte(`{"trackingNumber":{"id":1}}`), "trackingNumber: must be a string, not object"},
		{"events not an array", []byte(`{"trackingNumber":"1","trackingEvents":{}}`), "trackingEvents: must be an array"},
		{"a null event", []byte(`{"trackingNumber":"1","trackingEvents":[null]}`), "trackingEvents[0]: is null"},
		{"an event not an object", []byte(`{"trackingNumber":"1","trackingEvents":["01"]}`), "trackingEvents[0]: must be an object"},
		{"an event field an array", []byte(`{"trackingNumber":"1","trackingEvents":[{"eventCode":[1],"GMTTimestamp":"2024-11-22T18:58:40Z"}]}`),
			"trackingEvents[0].eventCode: must be a string, not array"},
		{"too many events", []byte(`{"trackingNumber":"1","trackingEvents":[` + strings.TrimSuffix(strings.Repeat(`{},`, maxEvents+1), ",") + `]}`),
			"trackingEvents: has 501 events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll(tt.body)
			var f *tracking.FieldError
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || !errors.As(err, &f) || us != nil {
				t.Fatalf("ParsePoll = %d updates, %v; want a FieldError saying %q", len(us), err, tt.errHas)
			}
		})
	}
}

func TestParsePoll_NoEvents(t *testing.T) {
	for _, body := range []string{
		`{"trackingNumber":"9400 1091 0425 0532 9085 87"}`,
		`{"trackingNumber":"9400109104250532908587","trackingEvents":[]}`,
		`{"trackingNumber":"9400109104250532908587","trackingEvents":null,"statusCategory":"Pre-Shipment"}`,
	} {
		u := parsePollOne(t, []byte(body))
		if u.TrackingNumber != "9400109104250532908587" || len(u.Events) != 0 {
			t.Errorf("ParsePoll(%s) = %s with %d events", body, u.TrackingNumber, len(u.Events))
		}
	}
}

func TestParse_EventTimes(t *testing.T) {
	minus5, minus7, plus530 := -5*3600, -7*3600, 5*3600+1800
	tests := []struct {
		name    string
		fields  obj // replaces the time fields of the first event
		loc     obj // replaces its location fields, when set
		at      time.Time
		offset  int
		unknown bool
		errHas  string
	}{
		{name: "GMT and offset", fields: obj{"eventTimestamp": "2024-11-22T13:58:00", "GMTTimestamp": "2024-11-22T18:58:40Z", "GMTOffset": "-05:00"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC), offset: minus5},
		{name: "the spec's offset without a leading zero", fields: obj{"GMTTimestamp": "2024-04-04T14:03:12.041Z", "GMTOffset": "-7:00"},
			at: time.Date(2024, 4, 4, 14, 3, 12, 41e6, time.UTC), offset: minus7},
		{name: "offset without a colon", fields: obj{"GMTTimestamp": "2024-11-22T18:58:40Z", "GMTOffset": "-0500"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC), offset: minus5},
		{name: "half-hour offset", fields: obj{"GMTTimestamp": "2024-11-22T18:58:40Z", "GMTOffset": "+05:30"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC), offset: plus530},
		{name: "GMT without offset: from the local time beside it", fields: obj{"eventTimestamp": "2024-11-22T13:58:00", "GMTTimestamp": "2024-11-22T18:58:40Z"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC), offset: minus5},
		{name: "GMT without a zone letter is GMT", fields: obj{"eventTimestamp": "2024-11-22T13:58:00", "GMTTimestamp": "2024-11-22T18:58:40"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC), offset: minus5},
		{name: "GMT alone, in a one-zone state", fields: obj{"GMTTimestamp": "2024-07-01T16:00:00Z"}, loc: obj{"eventState": "NY"},
			at: time.Date(2024, 7, 1, 16, 0, 0, 0, time.UTC), offset: -4 * 3600},
		{name: "GMT alone, in a state of two zones", fields: obj{"GMTTimestamp": "2024-07-01T16:00:00Z"},
			at: time.Date(2024, 7, 1, 16, 0, 0, 0, time.UTC)},
		{name: "GMT and a local time a day off: not one instant", fields: obj{"eventTimestamp": "2024-11-23T13:58:00", "GMTTimestamp": "2024-11-22T18:58:40Z"},
			at: time.Date(2024, 11, 22, 18, 58, 40, 0, time.UTC)},
		{name: "local time and offset, no GMT", fields: obj{"eventTimestamp": "2024-11-22T13:58:00", "GMTOffset": "-05:00"},
			at: time.Date(2024, 11, 22, 18, 58, 0, 0, time.UTC), offset: minus5},
		{name: "local time with its own offset", fields: obj{"eventTimestamp": "2024-11-22T13:58:00-05:00"},
			at: time.Date(2024, 11, 22, 18, 58, 0, 0, time.UTC), offset: minus5},
		{name: "local time alone, in a one-zone state", fields: obj{"eventTimestamp": "2024-11-22T13:58:00"}, loc: obj{"eventState": "NY"},
			at: time.Date(2024, 11, 22, 18, 58, 0, 0, time.UTC), offset: minus5},
		{name: "local time alone, in California", fields: obj{"eventTimestamp": "2024-07-01 09:00:00.000000"}, loc: obj{"eventState": "CA"},
			at: time.Date(2024, 7, 1, 16, 0, 0, 0, time.UTC), offset: minus7},
		{name: "local time alone, in a state of two zones: unknown", fields: obj{"eventTimestamp": "2024-11-22T13:58:00"},
			at: time.Date(2024, 11, 22, 13, 58, 0, 0, time.UTC), unknown: true},
		{name: "local time alone, nowhere: unknown", fields: obj{"eventTimestamp": "2024-11-22T13:58:00"},
			loc: obj{"eventState": nil, "eventCity": nil, "eventZIP": nil},
			at:  time.Date(2024, 11, 22, 13, 58, 0, 0, time.UTC), unknown: true},
		{name: "local time abroad", fields: obj{"eventTimestamp": "2024-11-22T13:58:00"}, loc: obj{"eventCountry": "GERMANY", "eventState": nil},
			at: time.Date(2024, 11, 22, 12, 58, 0, 0, time.UTC), offset: 3600},
		{name: "no time at all", fields: obj{}, errHas: "trackingEvents[0].eventTimestamp: is required"},
		{name: "local time unreadable", fields: obj{"eventTimestamp": "November 22, 2024 1:58 pm"}, errHas: "trackingEvents[0].eventTimestamp: \"November 22"},
		{name: "GMT unreadable", fields: obj{"GMTTimestamp": "yesterday"}, errHas: "trackingEvents[0].GMTTimestamp"},
		{name: "offset unreadable", fields: obj{"GMTTimestamp": "2024-11-22T18:58:40Z", "GMTOffset": "EST"}, errHas: "trackingEvents[0].GMTOffset"},
		{name: "offset out of range", fields: obj{"GMTTimestamp": "2024-11-22T18:58:40Z", "GMTOffset": "-15:00"}, errHas: "trackingEvents[0].GMTOffset"},
		{name: "before 2000", fields: obj{"GMTTimestamp": "1970-01-01T00:00:00Z"}, errHas: "before 2000"},
		{name: "a time as a number", fields: obj{"GMTTimestamp": 1732301920}, errHas: "trackingEvents[0].GMTTimestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := pollWith(t, oneEvent(func(ev obj) {
				delete(ev, "eventTimestamp")
				delete(ev, "GMTTimestamp")
				delete(ev, "GMTOffset")
				for k, v := range tt.fields {
					ev[k] = v
				}
				for k, v := range tt.loc {
					ev[k] = v
				}
			}))
			if tt.errHas != "" {
				_, err := New(Config{}).ParsePoll(body)
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParsePoll = %v, want an error saying %q", err, tt.errHas)
				}
				return
			}
			e := parsePollOne(t, body).Events[0]
			if !e.OccurredAt.Equal(tt.at) || e.OffsetUnknown != tt.unknown {
				t.Errorf("OccurredAt %v, OffsetUnknown %v; want %v, %v", e.OccurredAt, e.OffsetUnknown, tt.at, tt.unknown)
			}
			if _, off := e.OccurredAtLocal.Zone(); off != tt.offset {
				t.Errorf("OccurredAtLocal %v has offset %ds, want %ds", e.OccurredAtLocal, off, tt.offset)
			}
		})
	}
}

func TestParse_EventFields(t *testing.T) {
	tests := []struct {
		name string
		edit func(ev obj)
		want func(e tracking.Event) string
	}{
		{"eventCode is the carrier status", func(ev obj) {},
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "01" && e.Status == tracking.StatusDelivered, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"an unknown code is kept, its text decides", func(ev obj) { ev["eventCode"] = "Z9"; ev["eventType"] = "Available for Pickup" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "Z9" && e.Status == tracking.StatusAvailableForPickup, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"an unknown code and text: in transit", func(ev obj) { ev["eventCode"] = "Z9"; ev["eventType"] = "Something new" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "Z9" && e.Status == tracking.StatusInTransit, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"no code: the text decides", func(ev obj) { delete(ev, "eventCode"); ev["eventType"] = "Out for Delivery" },
			func(e tracking.Event) string {
				return check(e.CarrierStatus == "" && e.Status == tracking.StatusOutForDelivery, "CarrierStatus %q Status %q", e.CarrierStatus, e.Status)
			}},
		{"HTML in the text is removed", func(ev obj) { ev["eventType"] = "Delivered, <b>Parcel</b>   Locker&#174;" },
			func(e tracking.Event) string {
				return check(e.Message == "Delivered, Parcel Locker®", "Message %q", e.Message)
			}},
		{"ZIP Code as a number, booleans as strings or not", func(ev obj) { ev["eventZIP"] = 34442; ev["authorizedAgent"] = true },
			func(e tracking.Event) string {
				return check(e.Location.PostalCode == "34442", "PostalCode %q", e.Location.PostalCode)
			}},
		{"a country is kept, upper-cased", func(ev obj) { ev["eventCountry"] = "ca"; ev["eventState"] = "on" },
			func(e tracking.Event) string {
				return check(e.Location == tracking.Location{City: "HERNANDO", Region: "ON", PostalCode: "34442", Country: "CA"}, "Location %+v", e.Location)
			}},
		{"extra fields of the spec are ignored", func(ev obj) {
			ev["actionCode"] = "DL"
			ev["reasonCode"] = "X"
			ev["veriPoint"] = "true"
			ev["firm"] = obj{"a": 1}
		},
			func(e tracking.Event) string {
				return check(e.Status == tracking.StatusDelivered, "Status %q", e.Status)
			}},
		{"text is clipped", func(ev obj) { ev["eventType"] = strings.Repeat("é", maxTextLength) },
			func(e tracking.Event) string {
				return check(len(e.Message) <= maxTextLength && strings.HasPrefix(e.Message, "éé"), "Message of %d bytes", len(e.Message))
			}},
		{"no id: trackd fingerprints the content", func(ev obj) {},
			func(e tracking.Event) string {
				return check(e.ID == "" && strings.HasPrefix(e.Key(), "fp:"), "ID %q", e.ID)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parsePollOne(t, pollWith(t, oneEvent(tt.edit)))
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

func TestParse_EstimatedDelivery(t *testing.T) {
	tests := []struct {
		name   string
		fields obj
		want   string
	}{
		{"none", obj{}, ""},
		{"all null", obj{"expectedDeliveryDate": nil, "expectedDeliveryTimeStamp": nil, "predictedDeliveryDate": nil}, ""},
		{"expected date", obj{"expectedDeliveryDate": "2024-11-23"}, "2024-11-23"},
		{"expected time without offset: its day", obj{"expectedDeliveryTimeStamp": "2024-11-23T21:00:00"}, "2024-11-23"},
		{"expected time with offset", obj{"expectedDeliveryTimeStamp": "2024-11-23T21:00:00-05:00"}, "2024-11-23T21:00:00-05:00"},
		{"expected midnight UTC: the date", obj{"expectedDeliveryTimeStamp": "2024-11-23T00:00:00Z"}, "2024-11-23"},
		{"spelled expectedDeliveryTimestamp", obj{"expectedDeliveryTimestamp": "2024-11-23T21:00:00Z"}, "2024-11-23T21:00:00Z"},
		{"predicted date", obj{"predictedDeliveryDate": "2024-11-24"}, "2024-11-24"},
		{"deprecated predicted time", obj{"predictedDeliveryTimeStamp": "2024-11-24T12:00:00"}, "2024-11-24"},
		{"expected before predicted", obj{"predictedDeliveryDate": "2024-11-24", "expectedDeliveryDate": "2024-11-23"}, "2024-11-23"},
		{"guaranteed before expected", obj{"guaranteedDeliveryTimeStamp": "2024-11-22T18:00:00-05:00", "expectedDeliveryDate": "2024-11-23"}, "2024-11-22T18:00:00-05:00"},
		{"guaranteed date (the summary's field)", obj{"guaranteedDeliveryDate": "2024-11-22", "predictedDeliveryDate": "2024-11-24"}, "2024-11-22"},
		{"time before date within expected", obj{"expectedDeliveryDate": "2024-11-23", "expectedDeliveryTimeStamp": "2024-11-23T15:00:00-05:00"}, "2024-11-23T15:00:00-05:00"},
		{"an unreadable estimate is passed over", obj{"expectedDeliveryDate": "soon", "predictedDeliveryDate": "2024-11-24"}, "2024-11-24"},
		{"only unreadable estimates", obj{"expectedDeliveryDate": "3 Business Days"}, ""},
		{"an estimate of the wrong type is passed over", obj{"expectedDeliveryDate": 20241123}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := parsePollOne(t, pollWith(t, func(d obj) {
				for k, v := range tt.fields {
					d[k] = v
				}
			}))
			if u.EstimatedDelivery != tt.want {
				t.Errorf("EstimatedDelivery = %q, want %q", u.EstimatedDelivery, tt.want)
			}
		})
	}
}

func TestParse_RawIsTheEvent(t *testing.T) {
	body := readTestdata(t, pollFixture)
	var ans struct {
		TrackingEvents []json.RawMessage `json:"trackingEvents"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	u := parsePollOne(t, body)
	if len(u.Events) != len(ans.TrackingEvents) {
		t.Fatalf("%d events for %d trackingEvents", len(u.Events), len(ans.TrackingEvents))
	}
	for i, e := range u.Events {
		var want bytes.Buffer
		if err := json.Compact(&want, ans.TrackingEvents[i]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Raw, want.Bytes()) {
			t.Errorf("events[%d].Raw = %s\nwant %s", i, e.Raw, want.Bytes())
		}
	}
	// Raw must not alias the parsed body.
	for i := range body {
		body[i] = ' '
	}
	if !json.Valid(u.Events[0].Raw) {
		t.Error("Raw aliases the parsed body")
	}
}

func TestParse_Deterministic(t *testing.T) {
	a := New(Config{})
	body := readTestdata(t, pollFixture)
	u1, err1 := a.ParsePoll(body)
	u2, err2 := a.ParsePoll(bytes.Clone(body))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range u1[0].Events {
		if u1[0].Events[i].Key() != u2[0].Events[i].Key() {
			t.Errorf("event %d has another key when parsed again", i)
		}
	}
}
