package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// A shipment's events by API: the history, then only what came after a
// cursor.
func TestAPI_ShipmentEventsWholeAndAfterACursor(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	var o struct {
		Shipments []struct{ ID string } `json:"shipments"`
	}
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-EV-1",
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1ZEVENTS01"}}}, &o); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	id := o.Shipments[0].ID
	post := func(eventID, status string, at time.Time) {
		body, _ := json.Marshal(generic.Message{Carrier: "ups", TrackingNumber: "1ZEVENTS01", Events: []generic.MessageEvent{{
			ID: eventID, Status: status, OccurredAt: at.UTC().Format(time.RFC3339)}}})
		if code, resp := in.post(body); code != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", code, resp)
		}
	}
	type page struct {
		Events []tracking.Event `json:"events"`
		Cursor string           `json:"cursor"`
	}
	now := time.Now()
	post("a", "info_received", now.Add(-2*time.Hour))
	post("b", "in_transit", now.Add(-time.Hour))
	var all page
	waitFor(t, "both events", func() bool {
		return in.api(http.MethodGet, "/api/v1/shipments/"+id+"/events", nil, &all) == http.StatusOK && len(all.Events) == 2
	})
	if all.Events[0].ID != "a" || all.Events[1].ID != "b" || all.Cursor == "" {
		t.Fatalf("history %+v, want a then b and a cursor", all)
	}
	var after page
	if code := in.api(http.MethodGet, "/api/v1/shipments/"+id+"/events?after="+all.Cursor, nil, &after); code != http.StatusOK ||
		len(after.Events) != 0 || after.Cursor != all.Cursor {
		t.Fatalf("after the last cursor: %d %+v, want nothing new and the same cursor", code, after)
	}
	post("c", "out_for_delivery", now)
	waitFor(t, "the new event after the cursor", func() bool {
		return in.api(http.MethodGet, "/api/v1/shipments/"+id+"/events?after="+all.Cursor, nil, &after) == http.StatusOK &&
			len(after.Events) == 1 && after.Events[0].ID == "c" && after.Cursor != all.Cursor
	})
	if code := in.api(http.MethodGet, "/api/v1/shipments/"+id+"/events?after=yesterday", nil, nil); code != http.StatusBadRequest {
		t.Errorf("a malformed cursor: %d, want 400", code)
	}
	if code := in.api(http.MethodGet, "/api/v1/shipments/s_nosuch/events", nil, nil); code != http.StatusNotFound {
		t.Errorf("an unknown shipment: %d, want 404", code)
	}
}
