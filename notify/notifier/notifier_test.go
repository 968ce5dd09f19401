package notifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// sender records what it sends; fail, when set, decides an error per call.
type sender struct {
	mu   sync.Mutex
	sent []Outgoing
	fail func(n int) error
	perm bool
}

func (s *sender) Send(_ context.Context, m Outgoing) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(len(s.sent)); err != nil {
			s.sent = append(s.sent, Outgoing{}) // counts the try
			return "", err
		}
	}
	s.sent = append(s.sent, m)
	return fmt.Sprintf("pid-%d", len(s.sent)), nil
}

func (s *sender) Permanent(error) bool { return s.perm }

func (s *sender) messages() []Outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Outgoing
	for _, m := range s.sent {
		if m.To != "" {
			out = append(out, m)
		}
	}
	return out
}

// composer renders "<trigger> for <to>".
type composer struct{}

func (composer) Compose(_ context.Context, job Job, o tracking.Order, sh *tracking.Shipment, to string) (Outgoing, error) {
	return Outgoing{Channel: job.Channel, To: to, Subject: string(job.Trigger), Body: string(job.Trigger) + " " + o.Number,
		Locale: "en", TemplateVersion: 1}, nil
}

type optouts map[string]bool

func (o optouts) OptedOut(_ context.Context, ch notify.Channel, to string) (bool, error) {
	return o[string(ch)+":"+to], nil
}

type dlog struct {
	mu       sync.Mutex
	attempts []Attempt
}

func (d *dlog) Record(_ context.Context, a Attempt) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.attempts = append(d.attempts, a)
	return nil
}

func (d *dlog) results() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, a := range d.attempts {
		out = append(out, fmt.Sprintf("%s/%s/%s", a.Trigger, a.Channel, a.Result))
	}
	return out
}

type env struct {
	t      *testing.T
	ctx    context.Context
	store  *tracking.Store
	n      *Notifier
	email  *sender
	sms    *sender
	log    *dlog
	clock  atomic.Int64
	rules  *notify.RuleStore
	optout optouts
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), store: store, email: &sender{}, sms: &sender{}, log: &dlog{}, optout: optouts{}}
	e.clock.Store(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli())
	e.rules = notify.NewRuleStore(rdb, prefix)
	cfg.Prefix, cfg.Shards = prefix, scfg.Shards
	e.n = New(rdb, store, e.rules, composer{}, map[notify.Channel]Sender{notify.Email: e.email, notify.SMS: e.sms},
		e.optout, e.log, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.n.now = e.now
	for shard := range cfg.Shards {
		if err := rdb.XGroupCreateMkStream(e.ctx, store.ChangesKey(shard), cfg.Group, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) now() time.Time          { return time.UnixMilli(e.clock.Load()).UTC() }
func (e *env) advance(d time.Duration) { e.clock.Add(d.Milliseconds()) }

func (e *env) order(number string, shipments ...string) tracking.Order {
	e.t.Helper()
	in := tracking.OrderInput{Number: number, Customer: tracking.Customer{Email: "ana@example.com", Phone: "+14155550100", TimeZone: "America/New_York"}}
	yes := true
	in.Notify = &tracking.NotifyInput{SMS: &yes}
	for _, n := range shipments {
		in.Shipments = append(in.Shipments, tracking.ShipmentInput{Carrier: "ups", TrackingNumber: n})
	}
	o, _, err := e.store.PutOrder(e.ctx, in, e.now())
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// scan applies a carrier event and forwards its change.
func (e *env) scan(number string, st tracking.Status, eta string) {
	e.t.Helper()
	at := e.now()
	r, err := e.store.Apply(e.ctx, tracking.Update{Carrier: "ups", TrackingNumber: number, EstimatedDelivery: eta, ReceivedAt: at,
		Events: []tracking.Event{{Status: st, Message: string(st), OccurredAt: at, OccurredAtLocal: at}}})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ForwardChanges(e.ctx, r.Outbox); err != nil {
		e.t.Fatal(err)
	}
}

// run reads every change and sends what is due now.
func (e *env) run() {
	e.t.Helper()
	for shard := range e.n.cfg.Shards {
		for {
			n, err := e.n.ReadOnce(e.ctx, shard, ">", -1)
			if err != nil {
				e.t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	// Jobs land on their subject's shard, not the change's: send after
	// every shard is read.
	for shard := range e.n.cfg.Shards {
		if _, err := e.n.SendOnce(e.ctx, shard); err != nil {
			e.t.Fatal(err)
		}
	}
}

func noCollapse() Config {
	cfg := DefaultConfig("test")
	cfg.Collapse = 0
	cfg.QuietStart, cfg.QuietEnd = 0, 0
	return cfg
}

func subjects(ms []Outgoing) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject+" to "+m.To)
	}
	return out
}

func TestTriggers(t *testing.T) {
	tests := []struct {
		from, to tracking.Status
		delay    bool
		want     string
	}{
		{"", tracking.StatusInfoReceived, false, "[shipped]"},
		{tracking.StatusPending, tracking.StatusInTransit, false, "[shipped]"},
		{tracking.StatusInfoReceived, tracking.StatusInTransit, false, "[in_transit]"},
		{tracking.StatusInTransit, tracking.StatusOutForDelivery, false, "[out_for_delivery]"},
		{tracking.StatusOutForDelivery, tracking.StatusDelivered, false, "[delivered]"},
		{tracking.StatusOutForDelivery, tracking.StatusFailedAttempt, false, "[failed_attempt]"},
		{tracking.StatusInTransit, tracking.StatusAvailableForPickup, false, "[available_for_pickup]"},
		{tracking.StatusInTransit, tracking.StatusException, false, "[exception]"},
		{tracking.StatusException, tracking.StatusReturning, false, "[returning]"},
		{tracking.StatusInTransit, tracking.StatusInTransit, true, "[delayed]"},
		{tracking.StatusInTransit, tracking.StatusInTransit, false, "[]"},
		{tracking.StatusInTransit, tracking.StatusReturned, false, "[]"},
	}
	for _, tt := range tests {
		got := fmt.Sprint(Triggers(tracking.Change{From: tt.from, To: tt.to, Delayed: tt.delay, DelayChanged: tt.delay}))
		if got != tt.want {
			t.Errorf("%s -> %s (delay %v): %s, want %s", tt.from, tt.to, tt.delay, got, tt.want)
		}
	}
}

func TestTheSameChangeThreeTimesSendsOnce(t *testing.T) {
	e := newEnv(t, noCollapse())
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusOutForDelivery, "")
	// The change stream delivers the change twice more (a processor that
	// forwarded and crashed before deleting its outbox does exactly this).
	msgs, err := e.n.rdb.XRange(e.ctx, e.store.ChangesKey(e.store.ShardOf(tracking.ShipmentID("ups", "1ZA"))), "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d changes (%v), want 1", len(msgs), err)
	}
	e.run()
	for range 2 {
		e.n.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: e.store.ChangesKey(e.store.ShardOf(tracking.ShipmentID("ups", "1ZA"))), Values: msgs[0].Values})
		e.run()
	}
	if got := subjects(e.email.messages()); fmt.Sprint(got) != "[out_for_delivery to ana@example.com]" {
		t.Errorf("emails %v, want one out_for_delivery", got)
	}
	if got := subjects(e.sms.messages()); fmt.Sprint(got) != "[out_for_delivery to +14155550100]" {
		t.Errorf("SMS %v, want one out_for_delivery", got)
	}
}

func TestANotifierKilledAfterSendingNeverSendsAgain(t *testing.T) {
	e := newEnv(t, noCollapse())
	e.order("R-2", "1ZB")
	e.scan("1ZB", tracking.StatusDelivered, "")
	// The node dies right after the provider took the message: before it
	// records it as sent and before it completes the job.
	e.n.afterSend = func(Job) { runtime.Goexit() }
	e.run()
	e.n.afterSend = nil
	if n := len(e.email.messages()); n != 1 {
		t.Fatalf("%d emails before the crash, want 1", n)
	}
	// Another node finds the job when the lease ends.
	e.advance(e.n.cfg.Lease + time.Second)
	e.run()
	if n := len(e.email.messages()); n != 1 {
		t.Errorf("%d emails after the job was found again, want still 1", n)
	}
	if got := fmt.Sprint(e.log.results()); !contains(got, "delivered/email/unknown") {
		t.Errorf("log %s, want the interrupted attempt recorded as unknown", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBurstsCollapseToTheLatest(t *testing.T) {
	cfg := noCollapse()
	cfg.Collapse = 5 * time.Minute
	e := newEnv(t, cfg)
	if err := e.rules.Set(e.ctx, notify.Rules{notify.InTransit: {notify.Email: true}}); err != nil {
		t.Fatal(err)
	}
	e.order("R-3", "1ZC")
	e.scan("1ZC", tracking.StatusInfoReceived, "")
	e.run()
	e.advance(5 * time.Minute)
	e.run() // shipped goes out after the window
	e.scan("1ZC", tracking.StatusInTransit, "")
	e.run()
	e.advance(time.Minute)
	e.scan("1ZC", tracking.StatusOutForDelivery, "")
	e.run()
	if n := len(e.email.messages()); n != 1 {
		t.Fatalf("%d emails inside the window, want only the earlier shipped", n)
	}
	e.advance(4 * time.Minute)
	e.run()
	got := subjects(e.email.messages())
	if fmt.Sprint(got) != "[shipped to ana@example.com out_for_delivery to ana@example.com]" {
		t.Errorf("emails %v, want shipped then only out_for_delivery", got)
	}
	if !contains(fmt.Sprint(e.log.results()), "in_transit/email/collapsed") {
		t.Errorf("log %v, want the in_transit email recorded as collapsed", e.log.results())
	}

	// With a window of 0, every change goes at once.
	e2 := newEnv(t, noCollapse())
	e2.rules.Set(e2.ctx, notify.Rules{notify.InTransit: {notify.Email: true}})
	e2.order("R-4", "1ZD")
	e2.scan("1ZD", tracking.StatusInfoReceived, "")
	e2.scan("1ZD", tracking.StatusInTransit, "")
	e2.run()
	e2.scan("1ZD", tracking.StatusOutForDelivery, "")
	e2.run()
	if n := len(e2.email.messages()); n != 3 {
		t.Errorf("%d emails without a window, want 3: %v", n, subjects(e2.email.messages()))
	}
}

func TestSMSWaitsOutQuietHours(t *testing.T) {
	cfg := noCollapse()
	cfg.QuietStart, cfg.QuietEnd = 21*time.Hour, 8*time.Hour
	e := newEnv(t, cfg)
	// 03:30 UTC is 22:30 in New York (the order's zone) the day before.
	e.clock.Store(time.Date(2026, 11, 25, 3, 30, 0, 0, time.UTC).UnixMilli())
	e.order("R-5", "1ZE")
	e.scan("1ZE", tracking.StatusOutForDelivery, "")
	e.run()
	if n, m := len(e.sms.messages()), len(e.email.messages()); n != 0 || m != 1 {
		t.Fatalf("at 22:30 local: %d SMS and %d emails, want the email only", n, m)
	}
	e.advance(9 * time.Hour) // 07:30 local
	e.run()
	if n := len(e.sms.messages()); n != 0 {
		t.Fatalf("at 07:30 local: %d SMS, want none", n)
	}
	e.advance(31 * time.Minute) // 08:01 local
	e.run()
	if n := len(e.sms.messages()); n != 1 {
		t.Fatalf("at 08:01 local: %d SMS, want 1", n)
	}
	if got := e.log.results(); !contains(fmt.Sprint(got), "out_for_delivery/sms/held") {
		t.Errorf("log %v, want the SMS recorded as held", got)
	}
}

func TestOptOutsAndOptInsAreRespected(t *testing.T) {
	e := newEnv(t, noCollapse())
	e.optout["email:ana@example.com"] = true
	e.order("R-6", "1ZF")
	e.scan("1ZF", tracking.StatusDelivered, "")
	e.run()
	if n := len(e.email.messages()); n != 0 {
		t.Errorf("%d emails to an opted-out address", n)
	}
	if n := len(e.sms.messages()); n != 1 {
		t.Errorf("%d SMS, want 1", n)
	}
	if !contains(fmt.Sprint(e.log.results()), "delivered/email/skipped_optout") {
		t.Errorf("log %v, want the email recorded as skipped", e.log.results())
	}
	// An order without SMS consent gets no SMS.
	in := tracking.OrderInput{Number: "R-7", Customer: tracking.Customer{Email: "bo@example.com", Phone: "+14155550101"},
		Shipments: []tracking.ShipmentInput{{Carrier: "ups", TrackingNumber: "1ZG"}}}
	if _, _, err := e.store.PutOrder(e.ctx, in, e.now()); err != nil {
		t.Fatal(err)
	}
	e.scan("1ZG", tracking.StatusDelivered, "")
	e.run()
	if n := len(e.sms.messages()); n != 1 {
		t.Errorf("%d SMS in all, want none to the order without consent", n)
	}
}

func TestACancelledOrderIsNotNotified(t *testing.T) {
	e := newEnv(t, DefaultConfig("test")) // collapse on: the first job waits
	o := e.order("R-C", "1ZC")
	e.scan("1ZC", tracking.StatusInfoReceived, "")
	e.run() // queued, waiting out the collapse window
	if _, _, err := e.store.CancelOrder(e.ctx, o.ID, "", e.now()); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Hour)
	e.run()
	e.scan("1ZC", tracking.StatusInTransit, "") // shipped by mistake after all
	e.advance(time.Hour)
	e.run()
	if n := len(e.email.messages()) + len(e.sms.messages()); n != 0 {
		t.Errorf("%d messages about a cancelled order, want none", n)
	}
}

func TestTransientFailuresRetryAndPermanentOnesAreRecorded(t *testing.T) {
	e := newEnv(t, noCollapse())
	e.email.fail = func(n int) error {
		if n < 2 {
			return errors.New("421 try later")
		}
		return nil
	}
	e.order("R-8", "1ZH")
	e.scan("1ZH", tracking.StatusDelivered, "")
	e.run()
	for range 3 {
		e.advance(e.n.cfg.BackoffMax)
		e.run()
	}
	if n := len(e.email.messages()); n != 1 {
		t.Fatalf("%d emails after two transient failures, want 1", n)
	}
	e.sms.fail = func(int) error { return errors.New("21211 invalid To") }
	e.sms.perm = true
	e.order("R-9", "1ZI")
	e.scan("1ZI", tracking.StatusDelivered, "")
	e.run()
	e.advance(e.n.cfg.BackoffMax)
	e.run()
	if !contains(fmt.Sprint(e.log.results()), "delivered/sms/failed") {
		t.Errorf("log %v, want the permanent SMS failure recorded", e.log.results())
	}
}

func TestSplitOrderAllDeliveredAndArrivingSoon(t *testing.T) {
	e := newEnv(t, noCollapse())
	e.rules.Set(e.ctx, notify.Rules{notify.AllDelivered: {notify.Email: true}, notify.ArrivingSoon: {notify.Email: true}})
	e.order("R-10", "1ZJ", "1ZK")
	// Estimated for the 27th: arriving_soon on the 26th at 10:00 New York.
	e.scan("1ZJ", tracking.StatusInTransit, "2026-11-27")
	e.scan("1ZK", tracking.StatusInTransit, "")
	e.run()
	e.clock.Store(time.Date(2026, 11, 26, 14, 59, 0, 0, time.UTC).UnixMilli())
	e.run()
	if got := subjects(e.email.messages()); contains(fmt.Sprint(got), "arriving_soon") {
		t.Fatalf("arriving_soon before its time: %v", got)
	}
	e.advance(2 * time.Minute) // 10:01 in New York
	e.run()
	if got := subjects(e.email.messages()); !contains(fmt.Sprint(got), "arriving_soon") {
		t.Fatalf("emails %v, want arriving_soon the day before", got)
	}
	e.scan("1ZJ", tracking.StatusDelivered, "")
	e.run()
	if got := fmt.Sprint(subjects(e.email.messages())); contains(got, "all_delivered") {
		t.Fatalf("all_delivered with one package still out: %v", got)
	}
	e.scan("1ZK", tracking.StatusDelivered, "")
	e.run()
	n := 0
	for _, m := range e.email.messages() {
		if m.Subject == "all_delivered" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d all_delivered emails, want 1: %v", n, subjects(e.email.messages()))
	}
}
