package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

type liveMsg struct {
	Type       string            `json:"type"`
	ShipmentID string            `json:"shipment_id"`
	Cursor     string            `json:"cursor"`
	Status     tracking.Status   `json:"status"`
	Event      tracking.Event    `json:"event"`
	Shipments  []json.RawMessage `json:"shipments"`
}

// orderWithOneShipment registers an order and returns its token and shipment id.
func (in *instance) orderWithOneShipment(number, tracking string) (token, shipmentID string) {
	token, shipmentID, _ = in.registerOrder(number, tracking)
	return token, shipmentID
}

// registerOrder registers an order with one shipment of one item.
func (in *instance) registerOrder(number, tracking string) (token, shipmentID, orderID string) {
	var o struct {
		ID          string `json:"id"`
		TrackingURL string `json:"tracking_url"`
		Shipments   []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{
		"order_number": number, "items": []map[string]any{{"sku": "MUG", "quantity": 1}},
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": tracking, "items": []map[string]any{{"sku": "MUG", "quantity": 1}}}},
	}, &o)
	if code != http.StatusCreated {
		in.t.Fatalf("register order: %d", code)
	}
	return o.TrackingURL[strings.LastIndex(o.TrackingURL, "/")+1:], o.Shipments[0].ID, o.ID
}

func (in *instance) dial(path string) *websocket.Conn {
	in.t.Helper()
	url := "ws" + strings.TrimPrefix(in.base, "http") + path
	conn, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {in.base}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		in.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	in.t.Cleanup(func() { conn.Close() })
	return conn
}

func read(t *testing.T, conn *websocket.Conn) liveMsg {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, b, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("read live message: %v", err)
	}
	var m liveMsg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("live message %s: %v", b, err)
	}
	return m
}

func scan(number, id string, st tracking.Status, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"carrier":"ups","tracking_number":%q,"events":[{"id":%q,"status":%q,"message":"scan %s","occurred_at":%q}]}`,
		number, id, st, id, at.Format(time.RFC3339)))
}

func TestLive_AnEventPostedToOneNodeReachesASocketOnAnother(t *testing.T) {
	env := map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)}
	a := start(t, env)
	envB := map[string]string{"TRACKD_ROLES": "web"}
	for k, v := range env {
		envB[k] = v
	}
	b := start(t, envB)
	token, sid := a.orderWithOneShipment("R-LIVE-1", "1ZLIVE1")

	conn := b.dial("/t/" + token + "/ws")
	if m := read(t, conn); m.Type != "snapshot" || len(m.Shipments) != 1 {
		t.Fatalf("first message = %+v, want a snapshot of one shipment", m)
	}
	if code, text := a.post(scan("1ZLIVE1", "e1", tracking.StatusInTransit, time.Now())); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, text)
	}
	m := read(t, conn)
	if m.Type != "event" || m.ShipmentID != sid || m.Status != tracking.StatusInTransit || m.Event.ID != "e1" || m.Cursor == "" {
		t.Errorf("live message on node B = %+v, want the in_transit event e1", m)
	}
}

func TestLive_ResumeReplaysExactlyWhatCameAfterTheCursor(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, sid := in.orderWithOneShipment("R-LIVE-2", "1ZLIVE2")
	base := time.Now().Add(-time.Hour)

	conn := in.dial("/t/" + token + "/ws")
	read(t, conn) // snapshot
	in.post(scan("1ZLIVE2", "e1", tracking.StatusInfoReceived, base))
	first := read(t, conn)
	conn.Close()

	for i, st := range []tracking.Status{tracking.StatusInTransit, tracking.StatusInTransit, tracking.StatusOutForDelivery} {
		if code, _ := in.post(scan("1ZLIVE2", fmt.Sprintf("e%d", i+2), st, base.Add(time.Duration(i+1)*time.Minute))); code != http.StatusAccepted {
			t.Fatalf("webhook %d: %d", i, code)
		}
	}
	waitFor(t, "the three events to be applied", func() bool {
		var sh tracking.Shipment
		return in.api(http.MethodGet, "/api/v1/shipments/"+sid, nil, &sh) == http.StatusOK && sh.EventCount == 4
	})

	conn = in.dial("/t/" + token + "/ws?cursor=" + sid + ":" + first.Cursor)
	var got []string
	last := first.Cursor
	for range 3 {
		m := read(t, conn)
		if m.Type != "event" {
			t.Fatalf("resumed connection sent %q, want only events", m.Type)
		}
		if tracking.CompareCursors(m.Cursor, last) <= 0 {
			t.Errorf("cursor %s after %s: out of order or repeated", m.Cursor, last)
		}
		last = m.Cursor
		got = append(got, m.Event.ID)
	}
	if strings.Join(got, ",") != "e2,e3,e4" {
		t.Errorf("replayed %v, want e2,e3,e4", got)
	}
	in.post(scan("1ZLIVE2", "e5", tracking.StatusDelivered, base.Add(10*time.Minute)))
	if m := read(t, conn); m.Event.ID != "e5" || m.Status != tracking.StatusDelivered {
		t.Errorf("after the replay: %+v, want the live event e5", m)
	}
}

func TestLive_ServerSentEvents(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, sid := in.orderWithOneShipment("R-LIVE-3", "1ZLIVE3")
	resp, err := http.Get(in.base + "/t/" + token + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	next := func() (id, data string) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read SSE: %v", err)
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && data != "":
				return id, data
			}
		}
	}
	if _, data := next(); !strings.Contains(data, `"type":"snapshot"`) {
		t.Fatalf("first SSE message %s, want the snapshot", data)
	}
	in.post(scan("1ZLIVE3", "e1", tracking.StatusInTransit, time.Now()))
	id, data := next()
	var m liveMsg
	json.Unmarshal([]byte(data), &m)
	if m.Type != "event" || id != sid+":"+m.Cursor {
		t.Errorf("SSE event id %q data %s, want id <shipment>:<cursor>", id, data)
	}
}

func TestLive_ShutdownSaysGoingAway(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, _ := in.orderWithOneShipment("R-LIVE-4", "1ZLIVE4")
	conn := in.dial("/t/" + token + "/ws")
	read(t, conn)
	in.cancel() // SIGTERM; the cleanup waits for the exit
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	_, _, err := conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("on shutdown the socket ended with %v, want close 1001 (going away)", err)
	}
}

func TestLive_BadRequestsAreRefusedBeforeUpgrading(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, _ := in.orderWithOneShipment("R-LIVE-5", "1ZLIVE5")
	for path, want := range map[string]int{
		"/t/unknown-token/events":          http.StatusNotFound,
		"/t/" + token + "/events?cursor=x": http.StatusBadRequest,
		"/t/" + token + "/ws":              http.StatusUpgradeRequired, // a plain GET
	} {
		resp, err := http.Get(in.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestLive_OtherSitesCannotOpenTheSocket(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, _ := in.orderWithOneShipment("R-LIVE-6", "1ZLIVE6")
	url := "ws" + strings.TrimPrefix(in.base, "http") + "/t/" + token + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a socket from another origin: err %v, response %v; want 403", err, resp)
	}
}
