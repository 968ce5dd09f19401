package ups

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

// edited returns the fixture file with edit applied, re-encoded.
func edited(t *testing.T, file string, edit func(o obj)) []byte {
	t.Helper()
	var o obj
	if err := json.Unmarshal(readTestdata(t, file), &o); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(o)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	ofdWebhook  = "trackalert_webhook_v1_06_out_for_delivery.json"
	postmanPoll = "track_v1_details_postman_example_success.json"
	docPoll     = "track_v1_details_doc_sample_delivered.json"
)

// firstActivity returns the first activity of the first package of a Track
// API answer.
func firstActivity(o obj) obj {
	pkg := o["trackResponse"].(obj)["shipment"].([]any)[0].(obj)["package"].([]any)[0].(obj)
	return pkg["activity"].([]any)[0].(obj)
}

func firstPackage(o obj) obj {
	return o["trackResponse"].(obj)["shipment"].([]any)[0].(obj)["package"].([]any)[0].(obj)
}

func parseWebhookOne(t *testing.T, body []byte) tracking.Update {
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

func parsePollAll(t *testing.T, body []byte) []tracking.Update {
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

// summary is what the fixture tests assert of an update beyond its golden
// file.
type summary struct {
	number, eta   string
	events        int
	carrierStatus string // of the first event
	status        tracking.Status
	at, local     string // of the first event
}

func summarize(u tracking.Update) summary {
	s := summary{number: u.TrackingNumber, eta: u.EstimatedDelivery, events: len(u.Events)}
	if len(u.Events) > 0 {
		e := u.Events[0]
		s.carrierStatus, s.status = e.CarrierStatus, e.Status
		s.at, s.local = e.OccurredAt.Format(time.RFC3339), e.OccurredAtLocal.Format(time.RFC3339)
	}
	return s
}

func TestParseWebhook_Fixtures(t *testing.T) {
	tests := []struct {
		file string
		want summary
	}{
		// The tracking number has a leading space in UPS's example. Its
		// local time is five hours ahead of its GMT time: UPS's example
		// says so, and the offset is their difference.
		{"trackalert_webhook_v1_01_manifest.json", summary{
			number: "1ZABCXYZ0112346789", events: 1, carrierStatus: "M/MP", status: tracking.StatusInfoReceived,
			at: "2024-04-22T04:12:30Z", local: "2024-04-22T09:12:30+05:00"}},
		// Local and GMT fall on different days.
		{"trackalert_webhook_v1_02_ups_has_your_package.json", summary{
			number: "1ZABCXYZ0112346789", eta: "2024-04-23", events: 1, carrierStatus: "I/OR", status: tracking.StatusInTransit,
			at: "2024-04-23T01:29:01Z", local: "2024-04-22T21:29:01-04:00"}},
		{"trackalert_webhook_v1_03_on_the_way.json", summary{
			number: "1ZABCXYZ0112346789", eta: "2024-04-23", events: 1, carrierStatus: "I/DP", status: tracking.StatusInTransit,
			at: "2024-04-23T02:54:00Z", local: "2024-04-22T22:54:00-04:00"}},
		{"trackalert_webhook_v1_04_preparing_for_delivery.json", summary{
			number: "1ZABCXYZ0112346789", eta: "2024-04-23", events: 1, carrierStatus: "I/YP", status: tracking.StatusInTransit,
			at: "2024-04-23T04:30:52Z", local: "2024-04-23T00:30:52-04:00"}},
		{"trackalert_webhook_v1_05_preparing_for_delivery_loaded_on_vehicle.json", summary{
			number: "1ZABCXYZ0112346789", eta: "2024-04-23", events: 1, carrierStatus: "I/YP", status: tracking.StatusInTransit,
			at: "2024-04-23T10:39:36Z", local: "2024-04-23T06:39:36-04:00"}},
		{ofdWebhook, summary{
			number: "1Z204W4R0308071865", eta: "2024-04-23", events: 1, carrierStatus: "I/OT", status: tracking.StatusOutForDelivery,
			at: "2024-04-23T13:15:19Z", local: "2024-04-23T09:15:19-04:00"}},
		// No descriptionCode; the scheduled date is the original one (of
		// UPS's example, 2019).
		{"trackalert_webhook_v1_07_delivery.json", summary{
			number: "1Z204W4R0308071865", eta: "2019-10-14", events: 1, carrierStatus: "D/FS", status: tracking.StatusDelivered,
			at: "2024-04-23T13:50:04Z", local: "2024-04-23T09:50:04-04:00"}},
		{"trackalert_webhook_v2_01_out_for_delivery.json", summary{
			number: "1Z204W4R0308071865", eta: "2024-04-23", events: 1, carrierStatus: "I/OT", status: tracking.StatusOutForDelivery,
			at: "2024-04-23T13:15:19Z", local: "2024-04-23T09:15:19-04:00"}},
		{"trackalert_webhook_v2_02_delivery.json", summary{
			number: "1Z204W4R0308071865", eta: "2019-10-14", events: 1, carrierStatus: "D/FS", status: tracking.StatusDelivered,
			at: "2024-04-23T13:50:04Z", local: "2024-04-23T09:50:04-04:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, tt.file)
			u := parseWebhookOne(t, body)
			if got := summarize(u); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// Raw is the whole body: Track Alert posts one activity.
			want, _ := compact(body)
			if !bytes.Equal(u.Events[0].Raw, want) {
				t.Errorf("Raw = %s\nwant %s", u.Events[0].Raw, want)
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
		// The delivery has no GMT time; New Jersey has one zone. The label
		// creation has only a country, whose zone is not one: it is read
		// as UTC and marked so (see the golden file).
		{postmanPoll, []summary{{
			number: "1Z1442YY7229014688", eta: "2022-01-26", events: 2, carrierStatus: "D/F4", status: tracking.StatusDelivered,
			at: "2022-01-26T21:30:00Z", local: "2022-01-26T16:30:00-05:00"}}},
		// The same shipment with every field; its warning (250003) comes
		// beside a package, which is what counts.
		{docPoll, []summary{{
			number: "1Z1442YY7229014688", eta: "2022-01-26", events: 2, carrierStatus: "D/F4", status: tracking.StatusDelivered,
			at: "2022-01-26T21:30:00Z", local: "2022-01-26T16:30:00-05:00"}}},
		// karrio's OpenAPI-generated sample: placeholders ("string") for
		// the tracking number and the delivery date, which is skipped.
		{"karrio_tracking_response.json", []summary{{
			number: "STRING", events: 1, carrierStatus: "X/SR", status: tracking.StatusException,
			at: "2021-02-10T12:13:56Z", local: "2021-02-10T07:13:56-05:00"}}},
		// Not found: a shipment with a warning and no package.
		{"karrio_tracking_number_not_found_response.json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			us := parsePollAll(t, readTestdata(t, tt.file))
			var got []summary
			for _, u := range us {
				got = append(got, summarize(u))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			checkGolden(t, tt.file, us)
		})
	}
}

func TestParsePoll_ErrorAnswers(t *testing.T) {
	for file, want := range map[string]string{
		"karrio_auth_error.json":                       "250003 Invalid Access License number",
		"karrio_invalid_tracking_number_response.json": "TV1002 Invalid inquiry number",
	} {
		us, err := New(Config{}).ParsePoll(readTestdata(t, file))
		if err == nil || us != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: ParsePoll = %v, %v; want an error saying %q", file, us, err, want)
		}
	}
}

func TestParsePoll_RawIsTheActivity(t *testing.T) {
	body := readTestdata(t, postmanPoll)
	u := parsePollAll(t, body)[0]
	var ans struct {
		TrackResponse struct {
			Shipment []struct {
				Package []struct {
					Activity []json.RawMessage `json:"activity"`
				} `json:"package"`
			} `json:"shipment"`
		} `json:"trackResponse"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	acts := ans.TrackResponse.Shipment[0].Package[0].Activity
	for i, e := range u.Events {
		want, err := compact(acts[i])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Raw, want) {
			t.Errorf("events[%d].Raw = %s\nwant activity[%d] compacted: %s", i, e.Raw, i, want)
		}
	}
}

func TestParse_Times(t *testing.T) {
	tests := []struct {
		name          string
		edit          func(a obj)
		at, local     string
		offsetUnknown bool
		errHas        string
	}{
		{name: "time without its leading zero", edit: func(a obj) {
			a["time"], a["date"] = "74700", "20220126"
		}, at: "2022-01-26T12:47:00Z", local: "2022-01-26T07:47:00-05:00"},
		{name: "GMT time without its leading zero, as in Tracking.yaml", edit: func(a obj) {
			a["date"], a["time"], a["gmtDate"], a["gmtTime"] = "20220126", "024700", "20220126", "74700"
		}, at: "2022-01-26T07:47:00Z", local: "2022-01-26T02:47:00-05:00"},
		{name: "gmtOffset with a colon wins over the difference", edit: func(a obj) {
			a["gmtDate"], a["gmtTime"], a["gmtOffset"] = "20220126", "213000", "-06:00"
		}, at: "2022-01-26T21:30:00Z", local: "2022-01-26T15:30:00-06:00"},
		{name: "gmtOffset with a dot", edit: func(a obj) {
			a["gmtDate"], a["gmtTime"], a["gmtOffset"] = "20220126", "213000", "-05.00"
		}, at: "2022-01-26T21:30:00Z", local: "2022-01-26T16:30:00-05:00"},
		{name: "gmtOffset of half hours", edit: func(a obj) {
			a["date"], a["time"], a["gmtOffset"] = "20220126", "163000", "+05:30"
		}, at: "2022-01-26T11:00:00Z", local: "2022-01-26T16:30:00+05:30"},
		{name: "gmtOffset without GMT time", edit: func(a obj) {
			a["gmtOffset"] = "+0100"
			a["location"] = obj{"address": obj{"countryCode": "US"}}
		}, at: "2022-01-26T15:30:00Z", local: "2022-01-26T16:30:00+01:00"},
		{name: "a broken gmtOffset is ignored", edit: func(a obj) {
			a["gmtOffset"] = "EST"
		}, at: "2022-01-26T21:30:00Z", local: "2022-01-26T16:30:00-05:00"},
		{name: "GMT time and a local difference that is no offset", edit: func(a obj) {
			a["gmtDate"], a["gmtTime"] = "20220126", "213017"
			a["location"] = obj{"address": obj{"countryCode": "US"}}
		}, at: "2022-01-26T21:30:17Z", local: "2022-01-26T21:30:17Z"},
		{name: "GMT time and no local time: the zone of the place", edit: func(a obj) {
			delete(a, "date")
			delete(a, "time")
			a["gmtDate"], a["gmtTime"] = "20220126", "213000"
		}, at: "2022-01-26T21:30:00Z", local: "2022-01-26T16:30:00-05:00"},
		{name: "no GMT time, a place of several zones", edit: func(a obj) {
			a["location"] = obj{"address": obj{"city": "AUSTIN", "stateProvince": "TX", "countryCode": "US"}}
		}, at: "2022-01-26T16:30:00Z", local: "2022-01-26T16:30:00Z", offsetUnknown: true},
		{name: "no GMT time, Germany", edit: func(a obj) {
			a["location"] = obj{"address": obj{"city": "Köln", "country": "de"}}
		}, at: "2022-01-26T15:30:00Z", local: "2022-01-26T16:30:00+01:00"},
		{name: "no time: midnight", edit: func(a obj) {
			a["time"] = ""
		}, at: "2022-01-26T05:00:00Z", local: "2022-01-26T00:00:00-05:00"},
		{name: "no date", edit: func(a obj) { delete(a, "date") }, errHas: "no date"},
		{name: "a date that is not one", edit: func(a obj) { a["date"] = "20220231" }, errHas: "not a valid time"},
		{name: "a short date", edit: func(a obj) { a["date"] = "2022126" }, errHas: "not a YYYYMMDD date"},
		{name: "a time that is not one", edit: func(a obj) { a["time"] = "246000" }, errHas: "not a valid time"},
		{name: "a time too long", edit: func(a obj) { a["time"] = "1630000" }, errHas: "not an HHMMSS time"},
		{name: "a time with a colon", edit: func(a obj) { a["time"] = "16:30" }, errHas: "not an HHMMSS time"},
		{name: "before 2000", edit: func(a obj) { a["date"] = "19991231" }, errHas: "before 2000"},
		{name: "a broken GMT date", edit: func(a obj) {
			a["gmtDate"], a["gmtTime"] = "2022012", "213000"
		}, errHas: "gmtDate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edited(t, postmanPoll, func(o obj) { tt.edit(firstActivity(o)) })
			us, err := New(Config{}).ParsePoll(body)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.Contains(err.Error(), "activity[0]") {
					t.Fatalf("ParsePoll = %v; want an error naming activity[0] and saying %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkUpdate(t, us[0])
			e := us[0].Events[0]
			if got := e.OccurredAt.Format(time.RFC3339); got != tt.at {
				t.Errorf("OccurredAt = %s, want %s", got, tt.at)
			}
			if got := e.OccurredAtLocal.Format(time.RFC3339); got != tt.local {
				t.Errorf("OccurredAtLocal = %s, want %s", got, tt.local)
			}
			if e.OffsetUnknown != tt.offsetUnknown {
				t.Errorf("OffsetUnknown = %v, want %v", e.OffsetUnknown, tt.offsetUnknown)
			}
		})
	}
}

func TestParseWebhook_Times(t *testing.T) {
	tests := []struct {
		name          string
		edit          func(o obj)
		at, local     string
		offsetUnknown bool
	}{
		{name: "gmtOffset as Track Alert writes it", edit: func(o obj) { o["gmtOffset"] = "-04.00" },
			at: "2024-04-23T13:15:19Z", local: "2024-04-23T09:15:19-04:00"},
		{name: "gmtOffset wins over the difference", edit: func(o obj) { o["gmtOffset"] = "-05.00" },
			at: "2024-04-23T13:15:19Z", local: "2024-04-23T08:15:19-05:00"},
		{name: "no GMT time: the zone of North Carolina", edit: func(o obj) {
			delete(o, "gmtActivityDate")
			delete(o, "gmtActivityTime")
		}, at: "2024-04-23T13:15:19Z", local: "2024-04-23T09:15:19-04:00"},
		{name: "no GMT time, no place", edit: func(o obj) {
			o["gmtActivityDate"], o["gmtActivityTime"] = "", ""
			delete(o, "activityLocation")
		}, at: "2024-04-23T09:15:19Z", local: "2024-04-23T09:15:19Z", offsetUnknown: true},
		{name: "times without leading zeros", edit: func(o obj) {
			o["localActivityTime"], o["gmtActivityTime"] = "91519", "131519"
		}, at: "2024-04-23T13:15:19Z", local: "2024-04-23T09:15:19-04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseWebhookOne(t, edited(t, ofdWebhook, tt.edit)).Events[0]
			if got := e.OccurredAt.Format(time.RFC3339); got != tt.at {
				t.Errorf("OccurredAt = %s, want %s", got, tt.at)
			}
			if got := e.OccurredAtLocal.Format(time.RFC3339); got != tt.local {
				t.Errorf("OccurredAtLocal = %s, want %s", got, tt.local)
			}
			if e.OffsetUnknown != tt.offsetUnknown {
				t.Errorf("OffsetUnknown = %v, want %v", e.OffsetUnknown, tt.offsetUnknown)
			}
		})
	}
}

func TestParseWebhook_Shapes(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		updates int // -1: none
		events  int
		eta     string
		status  tracking.Status
		errHas  string
	}{
		{name: "an update of the delivery date: no event, the estimate", body: edited(t, ofdWebhook, func(o obj) {
			o["activityStatus"] = obj{"type": "U", "code": "UD", "description": "Updated Delivery Date", "descriptionCode": "154"}
			o["scheduledDeliveryDate"] = "20240425"
		}), eta: "2024-04-25"},
		{name: "status not available: no event", body: edited(t, ofdWebhook, func(o obj) {
			o["activityStatus"] = obj{"type": "NA"}
		}), eta: "2024-04-23"},
		{name: "no activityStatus", body: edited(t, ofdWebhook, func(o obj) { delete(o, "activityStatus") }), eta: "2024-04-23"},
		{name: "an empty activityStatus", body: edited(t, ofdWebhook, func(o obj) { o["activityStatus"] = obj{} }), eta: "2024-04-23"},
		{name: "descriptionCode as a number", body: edited(t, ofdWebhook, func(o obj) {
			o["activityStatus"] = obj{"type": "D", "code": "XX", "descriptionCode": 21}
		}), events: 1, eta: "2024-04-23", status: tracking.StatusOutForDelivery},
		{name: "no description: the code's text", body: edited(t, ofdWebhook, func(o obj) {
			delete(o["activityStatus"].(obj), "description")
		}), events: 1, eta: "2024-04-23", status: tracking.StatusOutForDelivery},
		{name: "a broken scheduled date is no estimate", body: edited(t, ofdWebhook, func(o obj) {
			o["scheduledDeliveryDate"] = "2024-04-23"
		}), events: 1, status: tracking.StatusOutForDelivery},
		{name: "the actual date when there is no scheduled one", body: edited(t, "trackalert_webhook_v1_07_delivery.json", func(o obj) {
			o["scheduledDeliveryDate"] = ""
		}), events: 1, eta: "2024-04-23", status: tracking.StatusDelivered},
		{name: "nothing to say: no update", body: edited(t, ofdWebhook, func(o obj) {
			o["activityStatus"] = obj{"type": "U"}
			o["scheduledDeliveryDate"] = ""
		}), updates: -1},
		{name: "null fields", body: edited(t, ofdWebhook, func(o obj) {
			o["activityLocation"], o["gmtOffset"], o["scheduledDeliveryDate"] = nil, nil, nil
		}), events: 1, status: tracking.StatusOutForDelivery},
		{name: "no tracking number", body: edited(t, ofdWebhook, func(o obj) { delete(o, "trackingNumber") }),
			errHas: `no "trackingNumber"`},
		{name: "a blank tracking number", body: edited(t, ofdWebhook, func(o obj) { o["trackingNumber"] = "  " }),
			errHas: `no "trackingNumber"`},
		{name: "a tracking number too long", body: edited(t, ofdWebhook, func(o obj) { o["trackingNumber"] = strings.Repeat("1Z", 40) }),
			errHas: "more than 64"},
		{name: "activityStatus is a string", body: edited(t, ofdWebhook, func(o obj) { o["activityStatus"] = "I" }),
			errHas: "activityStatus: want an object, not a string"},
		{name: "a type as an object", body: edited(t, ofdWebhook, func(o obj) { o["activityStatus"] = obj{"type": obj{}} }),
			errHas: "activityStatus.type: want a string, not an object"},
		{name: "no time", body: edited(t, ofdWebhook, func(o obj) {
			for _, k := range []string{"localActivityDate", "localActivityTime", "gmtActivityDate", "gmtActivityTime"} {
				delete(o, k)
			}
		}), errHas: "no localActivityDate"},
		{name: "an array", body: []byte(`[{"trackingNumber":"1Z"}]`), errHas: "want an object, not an array"},
		{name: "not JSON", body: []byte(`trackingNumber=1Z`), errHas: "malformed JSON"},
		{name: "truncated", body: readTestdata(t, ofdWebhook)[:100], errHas: "malformed JSON"},
		{name: "empty", body: []byte(" \n"), errHas: "empty"},
		{name: "null", body: []byte("null"), errHas: `no "trackingNumber"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParseWebhook(tt.body)
			if tt.errHas != "" {
				if err == nil || us != nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParseWebhook = %v, %v; want an error saying %q", us, err, tt.errHas)
				}
				return
			}
			if tt.updates < 0 {
				if err != nil || us != nil {
					t.Fatalf("ParseWebhook = %v, %v; want no update", us, err)
				}
				return
			}
			if err != nil || len(us) != 1 {
				t.Fatalf("ParseWebhook = %v, %v", us, err)
			}
			u := us[0]
			checkUpdate(t, u)
			if len(u.Events) != tt.events || u.EstimatedDelivery != tt.eta {
				t.Fatalf("%d events, estimate %q; want %d, %q", len(u.Events), u.EstimatedDelivery, tt.events, tt.eta)
			}
			if tt.events > 0 && u.Events[0].Status != tt.status {
				t.Errorf("status %q, want %q", u.Events[0].Status, tt.status)
			}
			if tt.events > 0 && u.Events[0].Message == "" {
				t.Error("no message")
			}
		})
	}
}

func TestParseWebhook_DeliveryPhotoIsNotKept(t *testing.T) {
	photo := strings.Repeat("iVBORw0KGgo", 1000)
	body := edited(t, "trackalert_webhook_v2_02_delivery.json", func(o obj) { o["deliveryPhoto"] = photo })
	e := parseWebhookOne(t, body).Events[0]
	if bytes.Contains(e.Raw, []byte("iVBORw0KGgo")) || bytes.Contains(e.Raw, []byte("deliveryPhoto")) {
		t.Errorf("Raw keeps the delivery photo: %.200s", e.Raw)
	}
	if !bytes.Contains(e.Raw, []byte(`"trackingNumber":"1Z204W4R0308071865"`)) {
		t.Errorf("Raw lost the rest of the body: %s", e.Raw)
	}
}

func TestParsePoll_Shapes(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		updates int
		events  int
		eta     string
		errHas  string
	}{
		{name: "the rescheduled date over the scheduled one over the delivery", body: edited(t, postmanPoll, func(o obj) {
			firstPackage(o)["deliveryDate"] = []any{
				obj{"type": "DEL", "date": "20220126"}, obj{"type": "SDD", "date": "20220124"}, obj{"type": "RDD", "date": "20220125"}}
		}), updates: 1, events: 2, eta: "2022-01-25"},
		{name: "the scheduled date over the delivery", body: edited(t, postmanPoll, func(o obj) {
			firstPackage(o)["deliveryDate"] = []any{obj{"type": "DEL", "date": "20220126"}, obj{"type": "sdd", "date": "20220124"}}
		}), updates: 1, events: 2, eta: "2022-01-24"},
		{name: "unknown types and broken dates are skipped", body: edited(t, postmanPoll, func(o obj) {
			firstPackage(o)["deliveryDate"] = []any{obj{"type": "XYZ", "date": "20220120"}, obj{"type": "SDD", "date": "string"}}
		}), updates: 1, events: 2},
		{name: "no trackingNumber: the inquiry number", body: edited(t, postmanPoll, func(o obj) {
			delete(firstPackage(o), "trackingNumber")
		}), updates: 1, events: 2, eta: "2022-01-26"},
		{name: "an activity of type U gives no event", body: edited(t, postmanPoll, func(o obj) {
			firstActivity(o)["status"] = obj{"type": "U", "code": "UD"}
		}), updates: 1, events: 1, eta: "2022-01-26"},
		{name: "a package with nothing to say gives no update", body: edited(t, postmanPoll, func(o obj) {
			delete(firstPackage(o), "deliveryDate")
			firstPackage(o)["activity"] = []any{obj{"date": "20220126", "status": obj{"type": "NA"}}}
		})},
		{name: "an activity without status gives no event", body: edited(t, postmanPoll, func(o obj) {
			delete(firstActivity(o), "status")
		}), updates: 1, events: 1, eta: "2022-01-26"},
		{name: "two shipments", body: edited(t, postmanPoll, func(o obj) {
			shs := o["trackResponse"].(obj)["shipment"].([]any)
			var second obj
			b, _ := json.Marshal(shs[0])
			json.Unmarshal(b, &second)
			second["package"].([]any)[0].(obj)["trackingNumber"] = "1Z999AA10123456784"
			o["trackResponse"].(obj)["shipment"] = append(shs, second, obj{"warnings": []any{obj{"code": "TW0001"}}})
		}), updates: 2, events: 2, eta: "2022-01-26"},
		{name: "no shipment", body: []byte(`{"trackResponse":{"shipment":[]}}`)},
		{name: "an activity that is null", body: edited(t, postmanPoll, func(o obj) {
			firstPackage(o)["activity"] = []any{nil}
		}), errHas: "shipment[0].package[0].activity[0]: is null"},
		{name: "an activity that is a string", body: edited(t, postmanPoll, func(o obj) {
			firstPackage(o)["activity"] = []any{"x"}
		}), errHas: "shipment[0].package[0].activity[0]: value: want an object, not a string"},
		{name: "no number at all", body: edited(t, postmanPoll, func(o obj) {
			delete(firstPackage(o), "trackingNumber")
			delete(o["trackResponse"].(obj)["shipment"].([]any)[0].(obj), "inquiryNumber")
		}), errHas: "shipment[0].package[0] has no trackingNumber"},
		{name: "too many activities", body: edited(t, postmanPoll, func(o obj) {
			acts := make([]any, MaxActivities+1)
			for i := range acts {
				acts[i] = firstActivity(o)
			}
			firstPackage(o)["activity"] = acts
		}), errHas: "more than 1000"},
		{name: "no trackResponse", body: []byte(`{"shipment":[]}`), errHas: `no "trackResponse"`},
		{name: "package is an object", body: []byte(`{"trackResponse":{"shipment":[{"package":{}}]}}`), errHas: "want an array"},
		{name: "HTML", body: []byte("<html>maintenance</html>"), errHas: "malformed JSON"},
		{name: "empty", body: nil, errHas: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := New(Config{}).ParsePoll(tt.body)
			if tt.errHas != "" {
				if err == nil || us != nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("ParsePoll = %v, %v; want an error saying %q", us, err, tt.errHas)
				}
				return
			}
			if err != nil || len(us) != tt.updates {
				t.Fatalf("ParsePoll = %d updates, %v; want %d", len(us), err, tt.updates)
			}
			for _, u := range us {
				checkUpdate(t, u)
				if len(u.Events) != tt.events || u.EstimatedDelivery != tt.eta {
					t.Errorf("%s: %d events, estimate %q; want %d, %q", u.TrackingNumber, len(u.Events), u.EstimatedDelivery, tt.events, tt.eta)
				}
			}
		})
	}
}

// A scan reported by Track Alert and again by the Track API, in other
// words, is one event: the two share its code and its local time.
func TestParse_SameScanFromWebhookAndPoll(t *testing.T) {
	hook := parseWebhookOne(t, readTestdata(t, ofdWebhook))
	poll := parsePollAll(t, edited(t, postmanPoll, func(o obj) {
		firstPackage(o)["trackingNumber"] = "1Z204W4R0308071865"
		a := firstActivity(o)
		a["status"] = obj{"type": "I", "code": "OT", "description": "Out For Delivery Today", "statusCode": "021"}
		a["date"], a["time"] = "20240423", "091519"
		a["location"] = obj{"address": obj{"city": "Charlotte", "stateProvince": "NC", "countryCode": "US"}}
	}))[0]
	var l tracking.Log
	l.Apply(hook)
	res := l.Apply(poll)
	if res.Duplicates != 1 || res.New != 1 {
		t.Errorf("applying the poll after the webhook: %d new, %d duplicates; want 1 new (the label), 1 duplicate", res.New, res.Duplicates)
	}
	if hook.Events[0].ID != "I/OT@20240423T091519" || hook.Events[0].Key() != poll.Events[0].Key() {
		t.Errorf("webhook event %q, poll event %q", hook.Events[0].Key(), poll.Events[0].Key())
	}
}
