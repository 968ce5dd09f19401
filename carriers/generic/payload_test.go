package generic

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// designExample is the body DESIGN.md ("/webhooks/generic") documents,
// verbatim.
const designExample = `{"carrier": "ups", "tracking_number": "1Z999AA10123456784",
 "estimated_delivery": "2026-11-27",
 "events": [{"id": "optional carrier event id", "status": "in_transit", "carrier_status": "I",
             "message": "Departed from facility", "occurred_at": "2026-11-25T10:00:00-05:00",
             "location": {"city": "Louisville", "region": "KY", "postal_code": "40209", "country": "US"}}]}`

// obj is a decoded JSON object, for building bodies by editing the example.
type obj = map[string]any

// body returns the design example with edit applied, re-encoded.
func body(t *testing.T, edit func(p obj)) []byte {
	t.Helper()
	var p obj
	if err := json.Unmarshal([]byte(designExample), &p); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ev returns the i-th event of p.
func ev(p obj, i int) obj { return p["events"].([]any)[i].(obj) }

// events returns n copies of the example's event.
func events(p obj, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = ev(p, 0)
	}
	return out
}

func TestParse_DesignExample(t *testing.T) {
	u, err := Parse([]byte(designExample), testNow)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	wantLocal := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("", -5*3600))
	want := tracking.Update{
		Carrier:           "ups",
		TrackingNumber:    "1Z999AA10123456784",
		EstimatedDelivery: "2026-11-27",
		Events: []tracking.Event{{
			ID:            "optional carrier event id",
			Status:        tracking.StatusInTransit,
			CarrierStatus: "I",
			Message:       "Departed from facility",
			OccurredAt:    time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC),
			Location:      tracking.Location{City: "Louisville", Region: "KY", PostalCode: "40209", Country: "US"},
		}},
	}
	if len(u.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(u.Events))
	}
	got := u.Events[0]
	// OccurredAtLocal's *time.Location depends on the machine's zone (Parse
	// reuses Local when the offset matches it), so it is compared apart.
	if !got.OccurredAtLocal.Equal(wantLocal) {
		t.Errorf("OccurredAtLocal = %v, want %v", got.OccurredAtLocal, wantLocal)
	}
	if _, off := got.OccurredAtLocal.Zone(); off != -5*3600 {
		t.Errorf("OccurredAtLocal offset = %ds, want -18000 (-05:00)", off)
	}
	if h := got.OccurredAtLocal.Hour(); h != 10 {
		t.Errorf("OccurredAtLocal hour = %d, want 10", h)
	}
	if got.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt location = %v, want UTC", got.OccurredAt.Location())
	}
	u.Events[0].OccurredAtLocal = time.Time{}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", u, want)
	}
}

func TestParse_Valid(t *testing.T) {
	tests := []struct {
		name  string
		body  []byte
		now   time.Time
		check func(t *testing.T, u tracking.Update)
	}{
		{
			name: "carrier and tracking number normalized",
			body: body(t, func(p obj) { p["carrier"] = "  UPS "; p["tracking_number"] = " 1z 999-aa1\t0123-456784 " }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if u.Carrier != "ups" || u.TrackingNumber != "1Z999AA10123456784" {
					t.Errorf("carrier, number = %q, %q; want ups, 1Z999AA10123456784", u.Carrier, u.TrackingNumber)
				}
			},
		},
		{
			name: "estimated_delivery only",
			body: body(t, func(p obj) { delete(p, "events") }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if u.EstimatedDelivery != "2026-11-27" || len(u.Events) != 0 {
					t.Errorf("Parse = %+v, want the ETA and no events", u)
				}
			},
		},
		{
			name: "estimated_delivery as an RFC 3339 instant, trimmed",
			body: body(t, func(p obj) { p["estimated_delivery"] = " 2026-11-27T18:00:00-05:00 " }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if u.EstimatedDelivery != "2026-11-27T18:00:00-05:00" {
					t.Errorf("EstimatedDelivery = %q", u.EstimatedDelivery)
				}
			},
		},
		{
			name: "events without estimated_delivery",
			body: body(t, func(p obj) { delete(p, "estimated_delivery") }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if u.EstimatedDelivery != "" || len(u.Events) != 1 {
					t.Errorf("Parse = %+v, want no ETA and one event", u)
				}
			},
		},
		{
			name: "only the required event fields",
			body: []byte(`{"carrier":"ups","tracking_number":"1Z1","events":[{"status":"delivered","occurred_at":"2026-11-25T14:00:00Z"}]}`),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				e := u.Events[0]
				if e.Status != tracking.StatusDelivered || !e.OccurredAt.Equal(testNow.Add(-time.Hour)) || e.Location != (tracking.Location{}) {
					t.Errorf("event = %+v", e)
				}
			},
		},
		{
			name: "every status",
			body: body(t, func(p obj) {
				var evs []any
				for _, s := range tracking.Statuses() {
					e := obj{"status": string(s), "occurred_at": "2026-11-25T10:00:00-05:00"}
					evs = append(evs, e)
				}
				p["events"] = evs
			}),
			now: testNow,
			check: func(t *testing.T, u tracking.Update) {
				if len(u.Events) != len(tracking.Statuses()) {
					t.Fatalf("got %d events", len(u.Events))
				}
				for i, s := range tracking.Statuses() {
					if u.Events[i].Status != s {
						t.Errorf("events[%d].Status = %q, want %q", i, u.Events[i].Status, s)
					}
				}
			},
		},
		{
			name: "exactly MaxEvents events",
			body: body(t, func(p obj) { p["events"] = events(p, MaxEvents) }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if len(u.Events) != MaxEvents {
					t.Errorf("got %d events, want %d", len(u.Events), MaxEvents)
				}
			},
		},
		{
			name: "occurred_at exactly a day ahead",
			body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-26T15:00:00Z" }),
			now:  testNow,
		},
		{
			name: "occurred_at in 2000",
			body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2000-01-01T00:00:00Z" }),
			now:  testNow,
		},
		{
			name: "occurred_at with fractional seconds",
			body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-25T10:00:00.123456-05:00" }),
			now:  testNow,
			check: func(t *testing.T, u tracking.Update) {
				if ns := u.Events[0].OccurredAt.Nanosecond(); ns != 123456000 {
					t.Errorf("nanoseconds = %d", ns)
				}
			},
		},
		{
			name: "zero now accepts a future occurred_at (the processors' side)",
			body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2030-01-01T00:00:00Z" }),
			now:  time.Time{},
			check: func(t *testing.T, u tracking.Update) {
				if y := u.Events[0].OccurredAt.Year(); y != 2030 {
					t.Errorf("year = %d", y)
				}
			},
		},
		{
			name: "text fields of exactly 2048 bytes",
			body: body(t, func(p obj) {
				s := strings.Repeat("x", maxTextLength)
				e := ev(p, 0)
				e["id"], e["message"], e["carrier_status"] = s, s, s
				e["location"] = obj{"city": s, "region": s, "postal_code": s, "country": s}
			}),
			now: testNow,
		},
		{
			name: "unknown fields ignored",
			body: body(t, func(p obj) { p["shipment"] = obj{"weight": 3}; ev(p, 0)["extra"] = true }),
			now:  testNow,
		},
		{
			name: "trailing whitespace",
			body: append(body(t, nil), " \r\n\t"...),
			now:  testNow,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Parse(tt.body, tt.now)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", tt.body, err)
			}
			if tt.check != nil {
				tt.check(t, u)
			}
		})
	}
}

func TestParse_Invalid(t *testing.T) {
	example := body(t, nil)
	long := strings.Repeat("x", maxTextLength+1)
	tests := []struct {
		name  string
		body  []byte
		field string
		// prefix: the error's Field need only start with field (type errors
		// name the JSON path as encoding/json spells it).
		prefix bool
	}{
		{name: "malformed JSON", body: []byte(`{"carrier": ups}`), field: "body"},
		{name: "truncated JSON", body: example[:len(example)/2], field: "body"},
		{name: "empty body", body: []byte(""), field: "body"},
		{name: "whitespace body", body: []byte(" \n\t"), field: "body"},
		{name: "not an object", body: []byte(`["ups"]`), field: "body"},
		{name: "a string", body: []byte(`"ups"`), field: "body"},
		{name: "trailing garbage", body: append(body(t, nil), " x"...), field: "body"},
		{name: "second document", body: append(body(t, nil), "{}"...), field: "body"},
		{name: "trailing comma", body: append(body(t, nil), ","...), field: "body"},
		{name: "trailing close brace", body: append(body(t, nil), "}"...), field: "body"},
		{name: "trailing close bracket", body: append(body(t, nil), " ]"...), field: "body"},
		{name: "missing carrier", body: body(t, func(p obj) { delete(p, "carrier") }), field: "carrier"},
		{name: "blank carrier", body: body(t, func(p obj) { p["carrier"] = "  " }), field: "carrier"},
		{name: "carrier too long", body: body(t, func(p obj) { p["carrier"] = strings.Repeat("c", 33) }), field: "carrier"},
		{name: "carrier not a string", body: body(t, func(p obj) { p["carrier"] = 1 }), field: "carrier"},
		{name: "missing tracking_number", body: body(t, func(p obj) { delete(p, "tracking_number") }), field: "tracking_number"},
		{name: "tracking_number only dashes and spaces", body: body(t, func(p obj) { p["tracking_number"] = " - -\t" }), field: "tracking_number"},
		{name: "tracking_number too long", body: body(t, func(p obj) { p["tracking_number"] = strings.Repeat("1", 65) }), field: "tracking_number"},
		{name: "no events and no estimated_delivery", body: body(t, func(p obj) { delete(p, "events"); delete(p, "estimated_delivery") }), field: "events"},
		{name: "empty events and blank estimated_delivery", body: body(t, func(p obj) { p["events"] = []any{}; p["estimated_delivery"] = " " }), field: "events"},
		{name: "too many events", body: body(t, func(p obj) { p["events"] = events(p, MaxEvents+1) }), field: "events"},
		{name: "events not an array", body: body(t, func(p obj) { p["events"] = "x" }), field: "events", prefix: true},
		{name: "event not an object", body: body(t, func(p obj) { p["events"] = []any{"x"} }), field: "events", prefix: true},
		{name: "status not a string", body: body(t, func(p obj) { ev(p, 0)["status"] = 5 }), field: "events", prefix: true},
		{name: "location not an object", body: body(t, func(p obj) { ev(p, 0)["location"] = "Louisville" }), field: "events", prefix: true},
		{name: "unknown status", body: body(t, func(p obj) { ev(p, 0)["status"] = "lost" }), field: "events[0].status"},
		{name: "status in the wrong case", body: body(t, func(p obj) { ev(p, 0)["status"] = "In_Transit" }), field: "events[0].status"},
		{name: "missing status", body: body(t, func(p obj) { delete(ev(p, 0), "status") }), field: "events[0].status"},
		{name: "null event", body: body(t, func(p obj) { p["events"] = []any{nil} }), field: "events[0].status"},
		{name: "missing occurred_at", body: body(t, func(p obj) { delete(ev(p, 0), "occurred_at") }), field: "events[0].occurred_at"},
		{name: "occurred_at without offset", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-25T10:00:00" }), field: "events[0].occurred_at"},
		{name: "occurred_at date only", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-25" }), field: "events[0].occurred_at"},
		{name: "occurred_at unix seconds", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "1795618800" }), field: "events[0].occurred_at"},
		{name: "occurred_at in 1999", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "1999-12-31T23:59:59Z" }), field: "events[0].occurred_at"},
		{name: "occurred_at more than a day ahead", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-26T15:00:01Z" }), field: "events[0].occurred_at"},
		{name: "occurred_at a day ahead in a local offset", body: body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2026-11-26T10:00:01-05:00" }), field: "events[0].occurred_at"},
		{name: "bad estimated_delivery", body: body(t, func(p obj) { p["estimated_delivery"] = "27/11/2026" }), field: "estimated_delivery"},
		{name: "estimated_delivery without offset", body: body(t, func(p obj) { p["estimated_delivery"] = "2026-11-27T18:00:00" }), field: "estimated_delivery"},
		{name: "message too long", body: body(t, func(p obj) { ev(p, 0)["message"] = long }), field: "events[0].message"},
		{name: "id too long", body: body(t, func(p obj) { ev(p, 0)["id"] = long }), field: "events[0].id"},
		{name: "carrier_status too long", body: body(t, func(p obj) { ev(p, 0)["carrier_status"] = long }), field: "events[0].carrier_status"},
		{name: "city too long", body: body(t, func(p obj) { ev(p, 0)["location"].(obj)["city"] = long }), field: "events[0].location.city"},
		{name: "country too long", body: body(t, func(p obj) { ev(p, 0)["location"].(obj)["country"] = long }), field: "events[0].location.country"},
		{
			name: "second event invalid",
			body: body(t, func(p obj) {
				p["events"] = append(events(p, 1), obj{"status": "teleported", "occurred_at": "2026-11-25T10:00:00Z"})
			}),
			field: "events[1].status",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.body, testNow)
			var fe *tracking.FieldError
			ok := errors.As(err, &fe) && (fe.Field == tt.field || tt.prefix && strings.HasPrefix(fe.Field, tt.field))
			switch {
			case err == nil:
				t.Fatalf("Parse(%.200s) = nil, want a FieldError on %q", tt.body, tt.field)
			case fe == nil:
				t.Fatalf("Parse error %v (%T) is not a *tracking.FieldError", err, err)
			case !ok:
				t.Fatalf("Parse error field = %q (%v), want %q", fe.Field, err, tt.field)
			case fe.Message == "":
				t.Errorf("Parse error on %q has no message", fe.Field)
			}
		})
	}
}

func TestAdapterParseWebhook_OneUpdate(t *testing.T) {
	b := body(t, func(p obj) { ev(p, 0)["occurred_at"] = "2030-01-01T00:00:00Z" })
	us, err := Adapter{}.ParseWebhook(b)
	if err != nil {
		t.Fatalf("Decode = %v", err)
	}
	if len(us) != 1 {
		t.Fatalf("Decode returned %d updates, want 1", len(us))
	}
	want, err := Parse(b, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(us[0], want) {
		t.Errorf("Decode = %+v, want %+v", us[0], want)
	}
}

func TestAdapterParseWebhook_Invalid(t *testing.T) {
	us, err := Adapter{}.ParseWebhook([]byte(`{"carrier":"ups"}`))
	var fe *tracking.FieldError
	if !errors.As(err, &fe) || fe.Field != "tracking_number" {
		t.Fatalf("Decode error = %v, want a FieldError on tracking_number", err)
	}
	if us != nil {
		t.Errorf("Decode returned %v with its error, want nil", us)
	}
}

func TestParse_SeveralTooLongFieldsReportedDeterministically(t *testing.T) {
	long := strings.Repeat("x", maxTextLength+1)
	b := body(t, func(p obj) {
		e := ev(p, 0)
		e["id"], e["carrier_status"], e["message"] = long, long, long
	})
	fields := map[string]bool{}
	for range 50 {
		_, err := Parse(b, testNow)
		var fe *tracking.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("Parse error = %v, want a FieldError", err)
		}
		fields[fe.Field] = true
	}
	if len(fields) > 1 {
		t.Errorf("the same body is refused naming different fields: %v", fields)
	}
}
