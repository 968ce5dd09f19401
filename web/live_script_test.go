package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/web/browsertest"
)

// TestLiveScript_Browser loads the tracking page in headless Chromium and
// feeds static/live.js live messages (DESIGN.md "Live messages"): the
// WebSocket is refused, so the script falls back to SSE after two tries;
// a snapshot and events arrive, with a duplicate, stale cursors, a late
// scan and markup in carrier text; then the stream ends and the script
// reconnects from the cursors it holds now.
func TestLiveScript_Browser(t *testing.T) {
	o, shs := fixtureOrder("")
	ups, fedex, dhl := shs[0].ID, shs[1].ID, shs[2].ID
	store := newPageStore()
	store.add(o, shs...)
	srv := startLiveScriptServer(t, newPageServer(t, store))
	ctx := liveScriptBrowser(t)
	problems := watchScriptProblems(t, ctx)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/t/"+testToken)); err != nil {
		t.Fatal(err)
	}
	assertCursors(t, "the first SSE request", srv.nextStream(t),
		ups+":1764200000000-0", fedex+":1763500000000-0", dhl+":1764050000000-0")

	srv.send(t, `{"type":"snapshot","shipments":[{"id":"`+fedex+`","status":"delivered","delayed":false,`+
		`"estimated_delivery":{"first":"2026-11-20","latest":"2026-11-24"},"cursor":"1763600000000-0","updated_at":"2026-11-25T15:00:00Z","events":[`+
		`{"status":"delivered","message":"Left at front door","occurred_at":"2026-11-25T14:00:00Z","occurred_at_local":"2026-11-25T15:00:00+01:00","location":{"city":"Paris","country":"FR"},"cursor":"1763600000000-0"},`+
		`{"status":"in_transit","message":"In transit","occurred_at":"2026-11-19T07:30:00Z","occurred_at_local":"2026-11-19T08:30:00+01:00","cursor":"1763500000000-0"}]}]}`)
	waitScript(t, ctx, "the snapshot", cursorJS(fedex)+` === '1763600000000-0'`)

	srv.send(t,
		liveScriptEvent(ups, "1764200000000-0", "in_transit", "Duplicate", "2026-11-25T16:00:00Z", "2026-11-25T11:00:00-05:00"),
		liveScriptEvent(ups, "1764300000000-0", "out_for_delivery", "Out for delivery <img src=x onerror=alert(1)>", "2026-11-25T17:30:00Z", "2026-11-25T12:30:00-05:00"),
		liveScriptEvent(ups, "1764300000000-1", "in_transit", "Late scan", "2026-11-24T23:00:00Z", "2026-11-24T18:00:00-05:00"),
		liveScriptEvent(ups, "1764250000000-5", "in_transit", "Stale", "2026-11-25T18:00:00Z", "2026-11-25T13:00:00-05:00"),
		liveScriptEvent(ups, "1764300000000-10", "in_transit", "Tenth", "2026-11-23T10:00:00Z", "2026-11-23T05:00:00-05:00"),
		// Older than -10 as a number, newer as a string.
		liveScriptEvent(ups, "1764300000000-9", "in_transit", "Ninth", "2026-11-25T19:00:00Z", "2026-11-25T14:00:00-05:00"),
	)
	waitScript(t, ctx, "the events", cursorJS(ups)+` === '1764300000000-10'`)

	// The stream ends after Ninth, so the reconnect also shows that every
	// message before it was handled.
	srv.send(t, endStream)
	assertCursors(t, "the SSE request after the stream ended", srv.nextStream(t),
		ups+":1764300000000-10", fedex+":1763600000000-0", dhl+":1764050000000-0")
	if n := srv.wsTries.Load(); n != 2 {
		t.Errorf("%d WebSocket tries, want 2 before SSE and none after", n)
	}

	dom, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems() {
		t.Errorf("page problem: %s", p)
	}
	upsHTML, fedexHTML := section(t, dom, ups), section(t, dom, fedex)
	timeline := upsHTML[strings.Index(upsHTML, "data-timeline"):]
	assertInOrder(t, timeline, "Out for delivery &lt;img src=x onerror=alert(1)&gt;", "Arrived at facility", "Departed from facility",
		"Late scan", "Shipper created a label", "Tenth")
	for _, bad := range []string{"Duplicate", "Stale", "Ninth", "<img src"} {
		if strings.Contains(dom, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	tests := []struct {
		name, html string
		wants      []string
	}{
		{"event", upsHTML, []string{`data-cursor="1764300000000-10"`, `data-status="out_for_delivery">Out for delivery</span>`,
			`<li data-step="out_for_delivery" class="done now" aria-current="step">`, `<li data-step="in_transit" class="done">`,
			`<span class="badge late" data-delayed="">Delayed</span>`, "Nov 28, 2026<small>Later than first promised (Nov 27, 2026)</small>",
			"Nov 25, 2026, 12:30", "(UTC−05:00)</time>", "Latest update: Out for delivery &lt;img", "just now</time>",
			"Your package is out for delivery today. It is running later than expected."}},
		{"snapshot", fedexHTML, []string{`data-tone="ok"`, `data-cursor="1763600000000-0"`, `data-status="delivered">Delivered</span>`,
			`data-delayed="" hidden="">`, `<li data-step="delivered" class="done now" aria-current="step">`, "Left at front door",
			"Nov 25, 2026, 3:00", "(UTC+01:00)", "Latest update: Left at front door", "Your package has been delivered."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertContains(t, tt.html, tt.wants...) })
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}
}

// endStream, sent to liveScriptServer, ends the SSE stream that takes it.
const endStream = ""

// liveScriptServer serves the tracking page from the web package on a real
// listener, and fakes its live endpoints: /t/<token>/ws refuses every
// WebSocket, and each /t/<token>/events stream writes what the test sends.
type liveScriptServer struct {
	url      string
	wsTries  atomic.Int32
	streams  chan url.Values // the query of each SSE request
	messages chan string     // each written as one SSE data line
}

func startLiveScriptServer(t *testing.T, page *fiber.App) *liveScriptServer {
	t.Helper()
	s := &liveScriptServer{streams: make(chan url.Values, 16), messages: make(chan string)}
	done := make(chan struct{})
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/t/:token/ws", func(c *fiber.Ctx) error {
		s.wsTries.Add(1)
		return c.SendStatus(fiber.StatusNotFound)
	})
	app.Get("/t/:token/events", func(c *fiber.Ctx) error {
		q, _ := url.ParseQuery(string(c.Request().URI().QueryString())) // checked by the test
		select {
		case s.streams <- q:
		default: // a reconnect loop: the test fails on the queries it reads
		}
		c.Set(fiber.HeaderContentType, "text/event-stream")
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			for {
				select {
				case m := <-s.messages:
					if m == endStream {
						return
					}
					fmt.Fprintf(w, "data: %s\n\n", m)
					if w.Flush() != nil {
						return
					}
				case <-done:
					return
				}
			}
		})
		return nil
	})
	serve := page.Handler()
	app.Use(func(c *fiber.Ctx) error {
		serve(c.Context())
		return nil
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		close(done)
		app.ShutdownWithTimeout(10 * time.Second)
	})
	s.url = "http://" + ln.Addr().String()
	return s
}

// nextStream returns the query of the next SSE request.
func (s *liveScriptServer) nextStream(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-s.streams:
		return q
	case <-time.After(40 * time.Second):
		t.Fatal("no SSE request in 40s")
		return nil
	}
}

// send hands each message to the open SSE stream, in order.
func (s *liveScriptServer) send(t *testing.T, messages ...string) {
	t.Helper()
	for _, m := range messages {
		select {
		case s.messages <- m:
		case <-time.After(40 * time.Second):
			t.Fatalf("no SSE stream took %.60q in 40s", m)
		}
	}
}

func assertCursors(t *testing.T, what string, q url.Values, want ...string) {
	t.Helper()
	if got := q["cursor"]; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s has cursors %q, want %q", what, got, want)
	}
}

func liveScriptEvent(shipment, cursor, status, msg, at, local string) string {
	b, _ := json.Marshal(map[string]any{"type": "event", "shipment_id": shipment, "tracking_number": "1Z999AA10123456784",
		"cursor": cursor, "status": "out_for_delivery", "delayed": true,
		"estimated_delivery": map[string]string{"first": "2026-11-27", "latest": "2026-11-28"},
		"event": map[string]any{"status": status, "message": msg, "occurred_at": at, "occurred_at_local": local, "cursor": cursor,
			"location": map[string]string{"city": "Louisville", "region": "KY", "country": "US"}}})
	return string(b)
}

// liveScriptBrowser starts headless Chromium for t.
func liveScriptBrowser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, 2*time.Minute)
}

// watchScriptProblems collects the page's JavaScript exceptions and the
// console and log entries that report a Content Security Policy violation.
// Listen sees an event before the command that follows it returns, so the
// list is complete up to the last action.
func watchScriptProblems(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	const csp = "Content Security Policy"
	err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Text
			if e := ev.ExceptionDetails.Exception; e != nil {
				p += " " + e.Description
			}
		case *log.EventEntryAdded:
			if strings.Contains(ev.Entry.Text, csp) {
				p = "log: " + ev.Entry.Text
			}
		case *runtime.EventConsoleAPICalled:
			for _, a := range ev.Args {
				if text := string(a.Value) + a.Description; strings.Contains(text, csp) {
					p = "console: " + text
				}
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// waitScript waits until the JavaScript expression is true in the page.
func waitScript(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// cursorJS is the cursor the page holds for a shipment.
func cursorJS(shipment string) string {
	return fmt.Sprintf(`document.querySelector('[data-shipment-id=%q]')?.dataset.cursor`, shipment)
}
