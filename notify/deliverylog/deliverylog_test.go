package deliverylog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking/redistest"
)

var (
	t0      = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	hashKey = []byte("0123456789abcdef0123456789abcdef")
)

// clock is a test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	log    *Log
	rdb    redis.UniversalClient
	clock  *clock
	prefix string
}

func newEnv(t *testing.T, b redistest.Backend) *env {
	t.Helper()
	e := &env{rdb: b.Client(t), clock: &clock{now: t0}, prefix: redistest.Prefix(t)}
	cfg := DefaultConfig()
	cfg.Prefix, cfg.HashKey, cfg.Now = e.prefix, hashKey, e.clock.Now
	l, err := New(e.rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.log = l
	return e
}

func (e *env) record(t *testing.T, a Attempt) string {
	t.Helper()
	id, err := e.log.Record(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) query(t *testing.T, f Filter) ([]Attempt, string) {
	t.Helper()
	got, next, err := e.log.Query(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return got, next
}

func ids(as []Attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func sent(order, recipient string, at time.Time) Attempt {
	return Attempt{At: at, OrderID: "o_" + order, OrderNumber: order, ShipmentID: "s_1", Trigger: notify.Shipped,
		Channel: notify.Email, Recipient: recipient, Locale: "en", TemplateVersion: 3, Result: Sent, Attempt: 1}
}

func TestLog_RecordRoundTrips(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			in := Attempt{At: t0.Add(1500 * time.Microsecond), OrderID: "o_1", OrderNumber: "A-1001", ShipmentID: "s_9",
				Trigger: notify.OutForDelivery, Channel: notify.SMS, Recipient: "+1 555 123 4567", Locale: "fr",
				TemplateVersion: 7, Result: Failed, ProviderID: "SM123", Error: "30003: unreachable", Attempt: 2}
			id := e.record(t, in)
			got, next := e.query(t, Filter{OrderNumber: "A-1001"})
			if next != "" || len(got) != 1 {
				t.Fatalf("got %+v next %q, want one attempt", got, next)
			}
			want := in
			want.ID, want.At = id, t0.Add(time.Millisecond)
			want.Recipient = "+1******4567"
			want.RecipientHash = e.log.HashRecipient(notify.SMS, "+15551234567")
			if got[0] != want {
				t.Errorf("read back\n%+v\nwant\n%+v", got[0], want)
			}
			if !strings.HasPrefix(id, fmt.Sprintf("%013d-", want.At.UnixMilli())) || !validID(id) {
				t.Errorf("id %q does not start with its time", id)
			}
		})
	}
}

func TestLog_RecordDefaultsTimeToNow(t *testing.T) {
	e := newEnv(t, backends[0])
	a := sent("A-1", "a@example.com", time.Time{})
	e.record(t, a)
	got, _ := e.query(t, Filter{})
	if len(got) != 1 || !got[0].At.Equal(t0) {
		t.Fatalf("got %+v, want one attempt at %s", got, t0)
	}
}

func TestLog_RecordRefusesUnknownValues(t *testing.T) {
	e := newEnv(t, backends[0])
	for name, a := range map[string]Attempt{
		"channel": {Channel: "fax", Result: Sent},
		"trigger": {Channel: notify.Email, Trigger: "lost", Result: Sent},
		"result":  {Channel: notify.Email, Result: "maybe"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.log.Record(context.Background(), a); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("Record = %v, want an error about the %s", err, name)
			}
		})
	}
}

// TestLog_RecipientNeverStoredInClear reads every key and value the log
// wrote: neither the address nor the phone number appears.
func TestLog_RecipientNeverStoredInClear(t *testing.T) {
	e := newEnv(t, backends[0])
	ctx := context.Background()
	e.record(t, sent("A-1", "Jane.Doe@Example.com", t0))
	sms := sent("A-1", "+15551234567", t0)
	sms.Channel, sms.ProviderID = notify.SMS, "SM1"
	e.record(t, sms)
	keys, err := e.rdb.Keys(ctx, e.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 5 {
		t.Fatalf("keys %v: expected attempts and indexes", keys)
	}
	for _, k := range keys {
		dump := k
		switch e.rdb.Type(ctx, k).Val() {
		case "hash":
			dump += fmt.Sprint(e.rdb.HGetAll(ctx, k).Val())
		case "zset":
			dump += fmt.Sprint(e.rdb.ZRange(ctx, k, 0, -1).Val())
		case "string":
			dump += e.rdb.Get(ctx, k).Val()
		}
		for _, clear := range []string{"jane.doe", "Jane.Doe", "5551234567", "555123"} {
			if strings.Contains(dump, clear) {
				t.Errorf("%s holds %q: %s", k, clear, dump)
			}
		}
	}
}

func TestLog_QueryFilters(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			a1 := e.record(t, sent("A-1", "ada@example.com", t0.Add(-3*time.Hour)))
			a2 := e.record(t, sent("A-1", "bob@example.com", t0.Add(-2*time.Hour)))
			b1 := e.record(t, sent("B-2", "ada@example.com", t0.Add(-1*time.Hour)))
			sms := sent("B-2", "+15550000000", t0.Add(-30*time.Minute))
			sms.Channel = notify.SMS
			b2 := e.record(t, sms)
			for _, tc := range []struct {
				name string
				f    Filter
				want []string
			}{
				{"everything", Filter{}, []string{b2, b1, a2, a1}},
				{"order", Filter{OrderNumber: "A-1"}, []string{a2, a1}},
				{"unknown order", Filter{OrderNumber: "Z-9"}, nil},
				{"order numbers are exact", Filter{OrderNumber: "a-1"}, nil},
				{"email, case and spaces ignored", Filter{Email: "  ADA@Example.COM "}, []string{b1, a1}},
				{"order and email", Filter{OrderNumber: "A-1", Email: "ada@example.com"}, []string{a1}},
				{"since is inclusive", Filter{Since: t0.Add(-2 * time.Hour)}, []string{b2, b1, a2}},
				{"until is exclusive", Filter{Until: t0.Add(-2 * time.Hour)}, []string{a1}},
				{"since and until", Filter{Since: t0.Add(-150 * time.Minute), Until: t0.Add(-45 * time.Minute)}, []string{b1, a2}},
				{"until before since", Filter{Since: t0, Until: t0.Add(-time.Hour)}, nil},
				{"email and since", Filter{Email: "ada@example.com", Since: t0.Add(-90 * time.Minute)}, []string{b1}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, next := e.query(t, tc.f)
					if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) || next != "" {
						t.Errorf("got %v next %q, want %v", ids(got), next, tc.want)
					}
				})
			}
		})
	}
}

// TestLog_QueryPagesNewestFirst pages through attempts, several in one
// millisecond, and gets each exactly once in order.
func TestLog_QueryPagesNewestFirst(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			var want []string
			for i := range 11 {
				at := t0.Add(-time.Duration(i/3) * time.Minute) // three per millisecond
				want = append(want, e.record(t, sent("A-1", "ada@example.com", at)))
			}
			for _, f := range []Filter{{}, {OrderNumber: "A-1"}, {Email: "ada@example.com"}, {OrderNumber: "A-1", Email: "ada@example.com"}} {
				t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
					var got []string
					f.Limit = 4
					for pages := 0; ; pages++ {
						if pages > 5 {
							t.Fatalf("too many pages: %v", got)
						}
						page, next := e.query(t, f)
						if len(page) > 4 {
							t.Fatalf("page of %d, limit 4", len(page))
						}
						for i := 1; i < len(page); i++ {
							if page[i].ID >= page[i-1].ID {
								t.Errorf("not newest first: %v", ids(page))
							}
						}
						got = append(got, ids(page)...)
						if next == "" {
							break
						}
						f.Cursor = next
					}
					if len(got) != len(want) {
						t.Fatalf("paged %d attempts, recorded %d", len(got), len(want))
					}
					seen := map[string]bool{}
					for _, id := range got {
						if seen[id] {
							t.Errorf("%s twice", id)
						}
						seen[id] = true
					}
					for _, id := range want {
						if !seen[id] {
							t.Errorf("%s missing", id)
						}
					}
				})
			}
		})
	}
}

func TestLog_QueryLimits(t *testing.T) {
	e := newEnv(t, backends[0])
	for i := range MaxLimit + 2 {
		e.record(t, sent("A-1", "a@example.com", t0.Add(-time.Duration(i)*time.Second)))
	}
	for _, tc := range []struct {
		limit, want int
	}{{0, DefaultLimit}, {-1, DefaultLimit}, {7, 7}, {MaxLimit + 100, MaxLimit}} {
		got, next := e.query(t, Filter{Limit: tc.limit})
		if len(got) != tc.want || next == "" {
			t.Errorf("limit %d: %d attempts, next %q; want %d and a next cursor", tc.limit, len(got), next, tc.want)
		}
	}
}

func TestLog_QueryRefusesForeignCursor(t *testing.T) {
	e := newEnv(t, backends[0])
	for _, c := range []string{"x", "1795608000000-zzzzzzzzzzzzzzzz", "1795608000000_0123456789abcdef", strings.Repeat("9", 30)} {
		if _, _, err := e.log.Query(context.Background(), Filter{Cursor: c}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", c, err)
		}
	}
}

// TestLog_QuerySkipsExpiredAttempts: an index entry whose attempt is gone
// (expired, or a write that failed halfway) is not shown, and does not
// shorten the page.
func TestLog_QuerySkipsExpiredAttempts(t *testing.T) {
	e := newEnv(t, backends[0])
	var kept []string
	for i := range 6 {
		id := e.record(t, sent("A-1", "a@example.com", t0.Add(-time.Duration(i)*time.Minute)))
		if i%2 == 0 {
			if err := e.rdb.Del(context.Background(), e.log.attemptKey(id)).Err(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		kept = append(kept, id)
	}
	got, next := e.query(t, Filter{OrderNumber: "A-1", Limit: 2})
	if fmt.Sprint(ids(got)) != fmt.Sprint(kept[:2]) || next == "" {
		t.Fatalf("got %v next %q, want %v and more", ids(got), next, kept[:2])
	}
	got, next = e.query(t, Filter{OrderNumber: "A-1", Limit: 2, Cursor: next})
	if fmt.Sprint(ids(got)) != fmt.Sprint(kept[2:]) || next != "" {
		t.Fatalf("page 2 %v next %q, want %v and no more", ids(got), next, kept[2:])
	}
}

func TestLog_UpdateByProviderID(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			a := sent("A-1", "+15551234567", t0)
			a.Channel, a.ProviderID = notify.SMS, "SMabc"
			id := e.record(t, a)
			steps := []struct {
				result, detail   string
				want, wantDetail string
			}{
				{Sent, "", Sent, ""},
				{Undelivered, "30005: unknown destination", Undelivered, "30005: unknown destination"},
				{Sent, "", Undelivered, "30005: unknown destination"}, // late "sent" after the final word
				{Delivered, "", Delivered, ""},                        // a final result may follow another
			}
			for _, s := range steps {
				if err := e.log.UpdateByProviderID(ctx, "SMabc", s.result, s.detail); err != nil {
					t.Fatal(err)
				}
				got, _ := e.query(t, Filter{OrderNumber: "A-1"})
				if len(got) != 1 || got[0].ID != id || got[0].Result != s.want || got[0].Error != s.wantDetail {
					t.Fatalf("after %s: %+v, want result %s error %q", s.result, got, s.want, s.wantDetail)
				}
			}
			if err := e.log.UpdateByProviderID(ctx, "SMnope", Delivered, ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown provider id: %v, want ErrNotFound", err)
			}
			if err := e.log.UpdateByProviderID(ctx, "SMabc", "teleported", ""); err == nil {
				t.Error("unknown result accepted")
			}
		})
	}
}

// TestLog_UpdateDoesNotResurrectExpiredAttempt: a callback for an attempt
// that expired must not bring back a partial hash without an expiry.
func TestLog_UpdateDoesNotResurrectExpiredAttempt(t *testing.T) {
	e := newEnv(t, backends[0])
	ctx := context.Background()
	a := sent("A-1", "+15551234567", t0)
	a.Channel, a.ProviderID = notify.SMS, "SMgone"
	id := e.record(t, a)
	if err := e.rdb.Del(ctx, e.log.attemptKey(id)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.log.UpdateByProviderID(ctx, "SMgone", Delivered, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of an expired attempt: %v, want ErrNotFound", err)
	}
	if n := e.rdb.Exists(ctx, e.log.attemptKey(id)).Val(); n != 0 {
		t.Error("the expired attempt came back")
	}
}

// TestLog_RetentionDropsOldAttempts: attempts older than Retention leave
// the indexes on the next write, are not read, and every key carries an
// expiry no later than its newest attempt's end of retention.
func TestLog_RetentionDropsOldAttempts(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			day := 24 * time.Hour
			retention := DefaultConfig().Retention

			old := sent("A-1", "ada@example.com", t0.Add(-89*day))
			old.ProviderID = "old-1"
			oldID := e.record(t, old)
			e.record(t, sent("Z-9", "zed@example.com", t0.Add(-89*day)))
			recent := e.record(t, sent("A-1", "ada@example.com", t0.Add(-10*day)))
			// Past retention already when recorded: not stored.
			stale := e.record(t, sent("A-1", "ada@example.com", t0.Add(-retention-time.Second)))
			if n := e.rdb.Exists(ctx, e.log.attemptKey(stale)).Val(); n != 0 {
				t.Error("an attempt past retention was stored")
			}

			// Each key expires when its newest attempt leaves retention.
			for key, want := range map[string]time.Duration{
				e.log.attemptKey(oldID):    day,
				e.log.providerKey("old-1"): day,
				e.log.orderKey("Z-9"):      day,
				e.log.attemptKey(recent):   80 * day,
				e.log.orderKey("A-1"):      80 * day,
				e.log.recipientKey(e.log.HashRecipient(notify.Email, "ada@example.com")): 80 * day,
				e.log.globalKey(): 80 * day,
			} {
				if ttl := e.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > want || ttl < want-time.Minute {
					t.Errorf("%s expires in %s, want %s", key, ttl, want)
				}
			}

			e.clock.advance(2 * day) // the old attempts are now 91 days old
			got, _ := e.query(t, Filter{})
			if fmt.Sprint(ids(got)) != fmt.Sprint([]string{recent}) {
				t.Errorf("after 91 days: %v, want only %s", ids(got), recent)
			}

			newer := e.record(t, sent("A-1", "ada@example.com", t0.Add(2*day)))
			for key, want := range map[string][]string{
				e.log.globalKey():     {recent, newer},
				e.log.orderKey("A-1"): {recent, newer},
				e.log.recipientKey(e.log.HashRecipient(notify.Email, "ada@example.com")): {recent, newer},
			} {
				if got := e.rdb.ZRange(ctx, key, 0, -1).Val(); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s holds %v after the write, want %v (older ids trimmed)", key, got, want)
				}
			}
		})
	}
}

func TestNew_RefusesBadConfig(t *testing.T) {
	rdb := realRedis.Client(t)
	good := DefaultConfig()
	good.HashKey = hashKey
	for name, mod := range map[string]func(*Config){
		"short key":       func(c *Config) { c.HashKey = []byte("short") },
		"brace in prefix": func(c *Config) { c.Prefix = "x{" },
		"no retention":    func(c *Config) { c.Retention = 0 },
	} {
		c := good
		mod(&c)
		if _, err := New(rdb, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(rdb, good); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// A status callback can come before the sender records the attempt: it
// waits, and the attempt is recorded with it applied.
func TestLog_AnEarlyStatusWaitsForItsAttempt(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			if err := e.log.UpdateByProviderID(ctx, "SMearly", Delivered, ""); !errors.Is(err, ErrNotFound) {
				t.Fatalf("callback before the attempt: %v, want ErrNotFound (acknowledged)", err)
			}
			a := sent("A-9", "+15551234567", t0)
			a.Channel, a.ProviderID = notify.SMS, "SMearly"
			e.record(t, a)
			got, _ := e.query(t, Filter{OrderNumber: "A-9"})
			if len(got) != 1 || got[0].Result != Delivered {
				t.Fatalf("attempt recorded after its callback: %+v, want delivered", got)
			}
		})
	}
}
