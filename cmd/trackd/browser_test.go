package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
	"github.com/trackd/trackd/web/browsertest"
)

// browser starts headless Chromium for t, with a phone's window: the
// page is mobile-first.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browsertest.Start(t, 90*time.Second, chromedp.WindowSize(412, 915))
}

// waitJS waits until the JavaScript expression is true in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("waiting for %s: %v\npage: %.3000s", what, err, body)
	}
}

// timelineCount is how many timeline entries mention text.
func timelineJS(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('[data-timeline] li')].filter(li => li.textContent.includes(%q)).length`, text)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func TestBrowser_PageUpdatesLiveFromAnotherNodeAndResumesAfterADrop(t *testing.T) {
	prefix := redistest.Prefix(t)
	shared := map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": prefix}
	a := start(t, shared) // takes webhooks and processes them
	bAddr := freeAddr(t)
	bEnv := map[string]string{"TRACKD_ROLES": "web", "TRACKD_ADDR": bAddr}
	for k, v := range shared {
		bEnv[k] = v
	}
	b := start(t, bEnv) // serves the shopper
	token, _, oid := a.registerOrder("R-BROWSER-1", "1ZBROWSER1")
	base := time.Now().Add(-2 * time.Hour)
	a.post(scan("1ZBROWSER1", "e0", tracking.StatusInfoReceived, base))
	waitFor(t, "the first scan to be applied", func() bool {
		var o struct{ Shipments []tracking.Shipment }
		return a.api(http.MethodGet, "/api/v1/orders/"+oid, nil, &o) == http.StatusOK &&
			len(o.Shipments) == 1 && o.Shipments[0].EventCount == 1
	})

	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(b.base+"/t/"+token)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the page with the first scan", timelineJS("scan e0")+` === 1`)

	// A webhook to node A changes the page served by node B, without a reload.
	a.post(scan("1ZBROWSER1", "e1", tracking.StatusOutForDelivery, base.Add(time.Hour)))
	waitJS(t, ctx, "the new scan in the timeline", timelineJS("scan e1")+` === 1`)
	waitJS(t, ctx, "the status to change", `document.querySelector('[data-status]').getAttribute('data-status') === 'out_for_delivery'`)
	waitJS(t, ctx, "the live region to announce it", `document.querySelector('[aria-live]').textContent.includes('scan e1')`)

	// Node B goes away: three scans arrive meanwhile; a node on the same
	// address comes back and the page shows all three, once each.
	b.stop()
	for i := 2; i <= 4; i++ {
		a.post(scan("1ZBROWSER1", fmt.Sprintf("e%d", i), tracking.StatusOutForDelivery, base.Add(time.Hour+time.Duration(i)*time.Minute)))
	}
	start(t, bEnv)
	for i := 2; i <= 4; i++ {
		waitJS(t, ctx, fmt.Sprintf("scan e%d after the reconnect", i), timelineJS(fmt.Sprintf("scan e%d", i))+` === 1`)
	}
	total, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-timeline] li').length`))
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 {
		t.Errorf("the timeline has %d entries, want the 5 scans once each", total)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "tracking-page.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowser_PageIsCompleteWithoutJavaScript(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	token, _ := in.orderWithOneShipment("R-BROWSER-2", "1ZBROWSER2")
	in.post(scan("1ZBROWSER2", "e0", tracking.StatusInTransit, time.Now().Add(-time.Hour)))
	waitFor(t, "the scan to be applied", func() bool {
		_, text := do(t, mustRequest(http.MethodGet, in.base+"/t/"+token+".json"))
		return strings.Contains(text, "scan e0")
	})
	ctx := browser(t)
	noScript := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx, noScript, chromedp.Navigate(in.base+"/t/"+token)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text("main"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"R-BROWSER-2", "1ZBROWSER2", "scan e0"} {
		if !strings.Contains(text, want) {
			t.Errorf("without JavaScript the page lacks %q:\n%s", want, text)
		}
	}
}
