package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/timeline"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

const opsPassword = "a long ops password"

// opsAdapter is a carrier adapter with a bug: it cannot parse anything
// until it is fixed; then it reads bodies as JSON-encoded updates.
type opsAdapter struct{ fixed atomic.Bool }

func (*opsAdapter) Slug() string                                { return "acme" }
func (*opsAdapter) Name() string                                { return "Acme" }
func (*opsAdapter) VerifyWebhook(carriers.WebhookRequest) error { return nil }
func (a *opsAdapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	if !a.fixed.Load() {
		return nil, errors.New("acme: unknown event code ZZ")
	}
	var u tracking.Update
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, err
	}
	return []tracking.Update{u}, nil
}

// opsEnv is a trackd app with the console's ops pages on a real Redis.
type opsEnv struct {
	app      *fiber.App
	rdb      *redis.Client
	store    *tracking.Store
	stats    *timeline.Recorder
	log      *deliverylog.Log
	sessions *console.Sessions
	audit    *console.Audit
	adapter  *opsAdapter
	adapters *carriers.Registry
	now      time.Time
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	e := &opsEnv{rdb: rdb, now: time.Now().UTC(), adapter: &opsAdapter{}}
	e.adapters = carriers.NewRegistry(e.adapter)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	var err error
	if e.store, err = tracking.NewStore(rdb, scfg); err != nil {
		t.Fatal(err)
	}
	tcfg := timeline.DefaultConfig()
	tcfg.Prefix = prefix
	if e.stats, err = timeline.New(rdb, tcfg, nil); err != nil {
		t.Fatal(err)
	}
	lcfg := deliverylog.DefaultConfig()
	lcfg.Prefix = prefix
	lcfg.HashKey = []byte("0123456789abcdef0123456789abcdef")
	if e.log, err = deliverylog.New(rdb, lcfg); err != nil {
		t.Fatal(err)
	}
	users := console.NewUsers(rdb, prefix)
	e.sessions = console.NewSessions(rdb, prefix)
	e.audit = console.NewAudit(rdb, prefix)
	for email, role := range map[string]console.Role{"ops@example.com": console.Ops, "mkt@example.com": console.Marketing} {
		if _, err := users.Create(context.Background(), email, "Someone", role, opsPassword, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	e.app, err = New(cfg, Deps{Store: e.store, Keys: noKeys{}, Redis: rdb, Adapters: e.adapters,
		Console: &ConsoleDeps{Users: users, Sessions: e.sessions, Audit: e.audit,
			Ops: &ConsoleOps{Stats: e.stats, DeadLetters: e.store, Log: e.log}},
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry(),
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// opsClient is a browser signed in to the console.
type opsClient struct {
	e       *opsEnv
	mu      sync.Mutex
	cookies map[string]string
	csrf    string
}

type opsResp struct {
	code     int
	header   http.Header
	body     string
	location string
}

func (cl *opsClient) do(t *testing.T, method, path string, form url.Values) opsResp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cl.mu.Lock()
	for k, v := range cl.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	cl.mu.Unlock()
	resp, err := cl.e.app.Test(req, -1)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return opsResp{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	cl.mu.Lock()
	for _, c := range resp.Cookies() {
		cl.cookies[c.Name] = c.Value
	}
	cl.mu.Unlock()
	return opsResp{code: resp.StatusCode, header: resp.Header, body: string(b), location: resp.Header.Get("Location")}
}

var opsCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// opsSignIn signs in through the sign-in page as a browser does.
func (e *opsEnv) opsSignIn(t *testing.T, email string) *opsClient {
	t.Helper()
	cl := &opsClient{e: e, cookies: map[string]string{}}
	page := cl.do(t, http.MethodGet, "/console/signin", nil)
	m := opsCSRF.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("sign-in page %d without a csrf input", page.code)
	}
	r := cl.do(t, http.MethodPost, "/console/signin", url.Values{"email": {email}, "password": {opsPassword},
		"csrf": {html.UnescapeString(m[1])}, "next": {"/console"}})
	if r.code != http.StatusSeeOther || cl.cookies[sessionCookie] == "" {
		t.Fatalf("sign in as %s: %d %s", email, r.code, r.body)
	}
	sess, err := e.sessions.Get(context.Background(), cl.cookies[sessionCookie], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cl.csrf = sess.CSRF
	return cl
}

func (cl *opsClient) post(t *testing.T, path string, form url.Values) opsResp {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", cl.csrf)
	return cl.do(t, http.MethodPost, path, form)
}

func (e *opsEnv) ingestLen(t *testing.T) int64 {
	t.Helper()
	var n int64
	for shard := range tracking.DefaultStoreConfig().Shards {
		l, err := e.rdb.XLen(context.Background(), e.store.IngestKey(shard)).Result()
		if err != nil {
			t.Fatal(err)
		}
		n += l
	}
	return n
}

// process runs a real processor with the registry's adapters until the
// ingest streams are drained.
func (e *opsEnv) process(t *testing.T) {
	t.Helper()
	cfg := tracking.DefaultProcessorConfig("p")
	cfg.Block = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := tracking.NewProcessor(e.store, e.adapters, cfg, slog.New(slog.DiscardHandler), nil)
	go func() { done <- p.Run(ctx) }()
	opsAwait(t, "the ingest streams to drain", func() bool {
		b, err := e.store.Backlog(context.Background(), time.Now())
		return err == nil && b.Entries == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func opsAwait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *opsEnv) audits(t *testing.T, action string) []console.Entry {
	t.Helper()
	all, err := e.audit.List(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []console.Entry
	for _, a := range all {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

func TestConsoleOps_DashboardShowsRecordedNumbers(t *testing.T) {
	e := newOpsEnv(t)
	now := e.now
	for range 7 {
		e.stats.Webhook("ups", timeline.Accepted, now)
	}
	e.stats.Webhook("ups", "bad_signature", now)
	e.stats.Webhook("ups", "malformed", now)
	e.stats.Webhook("fedex", timeline.Accepted, now.Add(-3*time.Hour))
	for range 99 {
		e.stats.Lag(20*time.Millisecond, now)
	}
	e.stats.Lag(1500*time.Millisecond, now)
	for range 5 {
		e.stats.Notification("email", deliverylog.Sent, now)
	}
	e.stats.Notification("email", deliverylog.Failed, now)
	e.stats.Notification("sms", deliverylog.SkippedOptOut, now)
	e.stats.DeadLettered("ups", now)
	if err := e.stats.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.opsSignIn(t, "ops@example.com").do(t, http.MethodGet, "/console/ops", nil)
	if r.code != http.StatusOK {
		t.Fatalf("dashboard %d: %s", r.code, r.body)
	}
	minute := now.Format("15:04")
	quarter := now.Truncate(15 * time.Minute).Format("15:04")
	for _, want := range []string{
		`role="img"`, `aria-labelledby="wh-hour-ups-t wh-hour-ups-d"`,
		`<title id="wh-hour-ups-t">ups webhooks</title>`,
		`<desc id="wh-hour-ups-d">7 accepted, 2 rejected; at most 9 in a minute.</desc>`,
		`<title>` + minute + `: accepted 7, rejected 2</title>`,
		`<title>` + quarter + `: accepted 7, rejected 2</title>`,
		"ups: bad_signature 1, malformed 1",
		"Dead-lettered: ups 1",
		// fedex only in the day.
		`<desc id="wh-day-fedex-d">1 accepted, 0 rejected; at most 1 in a quarter-hour.</desc>`,
		"100 entries applied; p50 25 ms, p99 25 ms, max 1.5 s.",
		`<title>` + minute + `: p50 25 ms, p99 25 ms, max 1.5 s</title>`,
		`<desc id="nt-hour-email-d">5 sent, 1 failed; at most 6 in a minute.</desc>`,
		`<title>` + minute + `: sent 5, failed 1</title>`,
		`<desc id="nt-hour-sms-d">0 sent, 0 failed; at most 0 in a minute.</desc>`,
		"sms: skipped_optout 1",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	if strings.Contains(r.body, `id="wh-hour-fedex-t"`) {
		t.Error("fedex, silent in the last hour, has an hour chart")
	}
	if n := strings.Count(r.body, "<svg viewBox"); n != 2*(1+1+2)+1 {
		// hour: ups, lag, email, sms; day: ups, fedex, lag, email, sms.
		t.Errorf("%d charts, want 9", n)
	}
}

// opsPayload is a carrier message whose text is HTML that must stay text.
const opsPayload = `{"Carrier":"acme","TrackingNumber":"AC123","Events":[{"id":"e1","status":"in_transit",` +
	`"occurred_at":"2026-11-25T08:00:00Z","occurred_at_local":"2026-11-25T09:00:00+01:00",` +
	`"message":"</pre><script>alert(1)</script>"}]}`

func TestConsoleOps_DeadLettersListedAndReplayedOnce(t *testing.T) {
	e := newOpsEnv(t)
	ctx := context.Background()
	if _, err := e.store.Append(ctx, "acme", []byte(opsPayload), "AC123", e.now); err != nil {
		t.Fatal(err)
	}
	e.process(t) // the adapter's bug dead-letters it
	cl := e.opsSignIn(t, "ops@example.com")

	list := cl.do(t, http.MethodGet, "/console/dead-letters", nil)
	if list.code != http.StatusOK {
		t.Fatalf("list %d: %s", list.code, list.body)
	}
	if strings.Contains(list.body, "<script>alert") || strings.Contains(list.body, "</pre><script>") {
		t.Error("the payload's markup reached the page as markup")
	}
	for _, want := range []string{"&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "acme: unknown event code ZZ",
		`&#34;Carrier&#34;: &#34;acme&#34;,`, `<pre class="payload">`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %s", want)
		}
	}
	refs := regexp.MustCompile(`action="/console/dead-letters/([0-9-]+)/replay"`).FindAllStringSubmatch(list.body, -1)
	if len(refs) != 1 {
		t.Fatalf("%d replay buttons, want 1", len(refs))
	}
	ref := refs[0][1]
	if r := cl.do(t, http.MethodGet, "/console/dead-letters?carrier=acme", nil); !strings.Contains(r.body, ref) {
		t.Error("the carrier filter hides acme's dead letter")
	}
	if r := cl.do(t, http.MethodGet, "/console/dead-letters?carrier=ups", nil); strings.Contains(r.body, ref) || !strings.Contains(r.body, "No dead letters.") {
		t.Error("the carrier filter shows acme's dead letter under ups")
	}
	if r := cl.do(t, http.MethodGet, "/console/dead-letters?carrier=%3Cx%3E", nil); r.code != http.StatusBadRequest {
		t.Errorf("a carrier that is no slug: %d", r.code)
	}
	one := cl.do(t, http.MethodGet, "/console/dead-letters/"+ref, nil)
	if one.code != http.StatusOK || !strings.Contains(one.body, "&lt;/pre&gt;&lt;script&gt;") || strings.Contains(one.body, "<script>alert") {
		t.Errorf("entry page %d", one.code)
	}

	// Without the CSRF token: refused, nothing appended.
	if r := cl.do(t, http.MethodPost, "/console/dead-letters/"+ref+"/replay", url.Values{}); r.code != http.StatusForbidden {
		t.Errorf("replay without CSRF: %d", r.code)
	}
	// Clicked twice at once (and a few more times).
	e.adapter.fixed.Store(true)
	var wg sync.WaitGroup
	answers := make([]opsResp, 6)
	for i := range answers {
		wg.Go(func() { answers[i] = cl.post(t, "/console/dead-letters/"+ref+"/replay", nil) })
	}
	wg.Wait()
	replayed := 0
	for _, a := range answers {
		if a.code != http.StatusSeeOther {
			t.Fatalf("replay answered %d: %s", a.code, a.body)
		}
		if strings.HasSuffix(a.location, "?done=replayed") {
			replayed++
		}
	}
	if replayed != 1 {
		t.Errorf("%d answers say they replayed, want 1", replayed)
	}
	if n := e.ingestLen(t); n != 1 {
		t.Fatalf("%d ingest entries after concurrent replays, want 1", n)
	}
	if a := e.audits(t, "dead letter replayed"); len(a) != 1 || a[0].Target != ref || !strings.HasPrefix(a[0].Detail, "1 replayed") || a[0].Actor != "ops@example.com" {
		t.Errorf("audit %+v: want one entry for the replay", a)
	}
	e.process(t)
	// Clicked again later: already replayed.
	again := cl.post(t, "/console/dead-letters/"+ref+"/replay", nil)
	if again.code != http.StatusSeeOther || !strings.HasSuffix(again.location, "?done=already") || e.ingestLen(t) != 0 {
		t.Errorf("again: %d to %s, %d ingest entries", again.code, again.location, e.ingestLen(t))
	}
	page := cl.do(t, http.MethodGet, again.location, nil)
	if !strings.Contains(page.body, "had been replayed already") || !strings.Contains(page.body, "Replayed "+opsTime(e.now)+" by ops@example.com") {
		t.Errorf("entry page after the replay lacks its state: %s", page.body)
	}
	sh, err := e.store.Shipment(ctx, tracking.ShipmentID("acme", "AC123"), true)
	if err != nil || sh.EventCount != 1 || sh.Status != tracking.StatusInTransit {
		t.Fatalf("shipment after the replay %+v, %v: want its one event applied", sh, err)
	}
	list = cl.do(t, http.MethodGet, "/console/dead-letters", nil)
	if strings.Count(list.body, "/replay\"") != 0 || !strings.Contains(list.body, `class="replayed"`) {
		t.Error("the list does not show the entry replayed")
	}
	if n, _, _ := e.store.DeadLetters(ctx, tracking.DeadLetterFilter{}); len(n) != 1 {
		t.Errorf("%d dead letters, want only the first: the replay applied", len(n))
	}
}

func TestConsoleOps_ReplayAllOfACarrierSince(t *testing.T) {
	e := newOpsEnv(t)
	ctx := context.Background()
	base := e.now.Add(-time.Hour).Truncate(time.Second)
	add := func(shard int, at time.Time, src, body, ingest string) {
		t.Helper()
		err := e.rdb.XAdd(ctx, &redis.XAddArgs{Stream: e.store.DeadLetterKey(shard), ID: fmt.Sprintf("%d-0", at.UnixMilli()),
			Values: []any{"ingest_id", ingest, "src", src, "body", body, "reason", "bug", "at", at.UnixMilli()}}).Err()
		if err != nil {
			t.Fatal(err)
		}
	}
	add(0, base, "acme", "before", "1-0")
	add(1, base.Add(10*time.Minute), "acme", "one", "2-0")
	add(2, base.Add(20*time.Minute), "acme/poll", "two", "3-0")
	add(3, base.Add(30*time.Minute), "ups", "other carrier", "4-0")
	cl := e.opsSignIn(t, "ops@example.com")
	since := base.Add(5 * time.Minute).Format("2006-01-02T15:04:05")

	page := cl.do(t, http.MethodGet, "/console/dead-letters?carrier=acme&since="+since, nil)
	if !strings.Contains(page.body, `action="/console/dead-letters/replay"`) || strings.Count(page.body, "/replay\"") != 3 {
		t.Errorf("filtered page: want the replay-all form and two entries")
	}
	r := cl.post(t, "/console/dead-letters/replay", url.Values{"carrier": {"acme"}, "since": {since}})
	if r.code != http.StatusSeeOther || !strings.Contains(r.location, "replayed=2") || !strings.Contains(r.location, "already=0") {
		t.Fatalf("replay all: %d to %s", r.code, r.location)
	}
	if n := e.ingestLen(t); n != 2 {
		t.Errorf("%d ingest entries, want 2", n)
	}
	if a := e.audits(t, "dead letter replayed"); len(a) != 1 || !strings.HasPrefix(a[0].Detail, "2 replayed") || a[0].Target != "acme" {
		t.Errorf("audit %+v", a)
	}
	done := cl.do(t, http.MethodGet, r.location, nil)
	if !strings.Contains(done.body, "Replayed 2 dead letters; 0 had been replayed before.") {
		t.Error("the list does not say what was replayed")
	}
	r = cl.post(t, "/console/dead-letters/replay", url.Values{"carrier": {"acme"}, "since": {since}})
	if !strings.Contains(r.location, "replayed=0") || !strings.Contains(r.location, "already=2") || e.ingestLen(t) != 2 {
		t.Errorf("second replay all: %s, %d ingest entries", r.location, e.ingestLen(t))
	}
	if len(e.audits(t, "dead letter replayed")) != 1 {
		t.Error("a replay of nothing was audited")
	}
	if r := cl.post(t, "/console/dead-letters/replay", url.Values{"carrier": {"acme"}}); r.code != http.StatusBadRequest {
		t.Errorf("replay all without a time: %d", r.code)
	}
}

func TestConsoleOps_DeliveriesSearchedByOrderAndEmail(t *testing.T) {
	e := newOpsEnv(t)
	ctx := context.Background()
	for i, a := range []deliverylog.Attempt{
		{OrderNumber: "A-1001", Recipient: "jane@example.com", Result: deliverylog.Sent},
		{OrderNumber: "A-1001", Recipient: "jane@example.com", Result: deliverylog.Failed, Error: "<b>mailbox full</b>"},
		{OrderNumber: "B-2002", Recipient: "bob@example.com", Result: deliverylog.Sent},
	} {
		a.At = e.now.Add(time.Duration(i-10) * time.Minute)
		a.Channel, a.Trigger, a.Attempt, a.TemplateVersion = notify.Email, notify.Shipped, 1, 2
		if _, err := e.log.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	cl := e.opsSignIn(t, "ops@example.com")
	r := cl.do(t, http.MethodGet, "/console/deliveries?order=A-1001", nil)
	if r.code != http.StatusOK || strings.Count(r.body, "<td>A-1001</td>") != 2 || strings.Contains(r.body, "B-2002") {
		t.Errorf("by order: %d, %d rows of A-1001", r.code, strings.Count(r.body, "<td>A-1001</td>"))
	}
	if strings.Contains(r.body, "<b>mailbox") || !strings.Contains(r.body, "&lt;b&gt;mailbox full") || strings.Contains(r.body, "jane@example.com") {
		t.Error("the error is not escaped, or the address is not masked")
	}
	if !strings.Contains(r.body, `href="/console/deliveries.csv?order=A-1001"`) {
		t.Error("no CSV link for the search")
	}
	r = cl.do(t, http.MethodGet, "/console/deliveries?email=Bob@Example.com", nil)
	if strings.Count(r.body, "<td>B-2002</td>") != 1 || strings.Contains(r.body, "A-1001") {
		t.Error("by email: want only bob's attempt")
	}
	// Paged.
	r = cl.do(t, http.MethodGet, "/console/deliveries?order=A-1001&limit=1", nil)
	next := regexp.MustCompile(`href="(/console/deliveries\?[^"]+)" rel="next"`).FindStringSubmatch(r.body)
	if next == nil || strings.Count(r.body, "<td>A-1001</td>") != 1 || !strings.Contains(r.body, ">failed<") {
		t.Fatalf("first page of one: %s", r.body)
	}
	r = cl.do(t, http.MethodGet, html.UnescapeString(next[1])+"&limit=1", nil)
	if strings.Count(r.body, "<td>A-1001</td>") != 1 || !strings.Contains(r.body, ">sent<") {
		t.Error("second page: want the older attempt")
	}
	if r := cl.do(t, http.MethodGet, "/console/deliveries?email=nobody", nil); r.code != http.StatusBadRequest || !strings.Contains(r.body, "email: is not an email address") {
		t.Errorf("a bad email: %d", r.code)
	}
	csv := cl.do(t, http.MethodGet, "/console/deliveries.csv?order=A-1001", nil)
	if csv.code != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		strings.Count(csv.body, "A-1001") != 2 || strings.Contains(csv.body, "B-2002") {
		t.Errorf("CSV %d %s: %s", csv.code, csv.header.Get("Content-Type"), csv.body)
	}
}

func TestConsoleOps_OnlyOpsAndAdmin(t *testing.T) {
	e := newOpsEnv(t)
	mkt := e.opsSignIn(t, "mkt@example.com")
	for _, path := range []string{"/console/ops", "/console/dead-letters", "/console/dead-letters/0-1-0", "/console/deliveries", "/console/deliveries.csv"} {
		if r := mkt.do(t, http.MethodGet, path, nil); r.code != http.StatusForbidden {
			t.Errorf("marketing GET %s: %d, want 403", path, r.code)
		}
	}
	if r := mkt.post(t, "/console/dead-letters/replay", url.Values{"carrier": {"acme"}, "since": {"2026-01-01T00:00"}}); r.code != http.StatusForbidden {
		t.Errorf("marketing replay: %d, want 403", r.code)
	}
	out := &opsClient{e: e, cookies: map[string]string{}}
	if r := out.do(t, http.MethodGet, "/console/ops", nil); r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/console/signin") {
		t.Errorf("signed out: %d to %s", r.code, r.location)
	}
	ops := e.opsSignIn(t, "ops@example.com")
	for _, path := range []string{"/console/ops", "/console/dead-letters", "/console/deliveries"} {
		if r := ops.do(t, http.MethodGet, path, nil); r.code != http.StatusOK {
			t.Errorf("ops GET %s: %d", path, r.code)
		}
	}
}
