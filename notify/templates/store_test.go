package templates

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking/redistest"
)

var storeNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	prefix := redistest.Prefix(t)
	s := NewStore(realRedis.Client(t), NewEngine(DefaultLimits()), loadDefaults(t), StoreConfig{Prefix: prefix})
	s.now = func() time.Time { return storeNow }
	return s, prefix
}

var (
	smsV1 = Parts{Body: "{{ store.name }}: order {{ order.number }} shipped. {{ shipment.tracking_url }}"}
	smsV2 = Parts{Body: "{{ store.name }}: on its way! {{ shipment.tracking_url }}"}
)

func put(t *testing.T, s *Store, trigger notify.Trigger, channel notify.Channel, locale string, p Parts) int {
	t.Helper()
	n, errs, _, err := s.Put(context.Background(), trigger, channel, locale, p, "marketing")
	if err != nil || len(errs) > 0 {
		t.Fatalf("put: %v %v", err, errs)
	}
	return n
}

func TestStore_GetReturnsTheDefaultUntilSaved(t *testing.T) {
	s, _ := newTestStore(t)
	got, err := s.Get(context.Background(), notify.Shipped, notify.Email, "de")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.defaults.Get(notify.Shipped, notify.Email, "de")
	if got.Version != 0 || got.Custom || got.Parts != want || got.Locale != "de" || !got.SavedAt.IsZero() {
		t.Errorf("got %+v, want the default, version 0", got)
	}
}

func TestStore_EverySaveIsANewVersion(t *testing.T) {
	s, prefix := newTestStore(t)
	ctx := context.Background()
	if n := put(t, s, notify.Shipped, notify.SMS, "en", smsV1); n != 1 {
		t.Fatalf("first version %d, want 1", n)
	}
	if n := put(t, s, notify.Shipped, notify.SMS, "en", smsV2); n != 2 {
		t.Fatalf("second version %d, want 2", n)
	}
	cur, err := s.Get(ctx, notify.Shipped, notify.SMS, "en")
	if err != nil {
		t.Fatal(err)
	}
	want := Template{Trigger: notify.Shipped, Channel: notify.SMS, Locale: "en", Version: 2, Parts: smsV2,
		SavedAt: storeNow, SavedBy: "marketing", Custom: true}
	if cur != want {
		t.Errorf("current %+v\nwant %+v", cur, want)
	}
	vs, err := s.Versions(ctx, notify.Shipped, notify.SMS, "en")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[1].Parts != smsV1 {
		t.Errorf("versions %+v, want 2 then 1", vs)
	}
	if v1, err := s.Version(ctx, notify.Shipped, notify.SMS, "en", 1); err != nil || v1.Parts != smsV1 {
		t.Errorf("version 1: %+v, %v", v1, err)
	}
	// Other templates are untouched.
	if other, err := s.Get(ctx, notify.Shipped, notify.SMS, "es"); err != nil || other.Custom {
		t.Errorf("es template %+v, %v; want the default", other, err)
	}
	if n, err := s.rdb.LLen(ctx, prefix+"tpl:shipped:sms:en").Result(); err != nil || n != 2 {
		t.Errorf("key %stpl:shipped:sms:en has %d versions (%v), want 2", prefix, n, err)
	}
}

func TestStore_RefusesInvalidTemplates(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	n, errs, _, err := s.Put(ctx, notify.Delivered, notify.Email, "fr", Parts{Subject: "x", HTML: "{% if %}", Text: "x"}, "m")
	var ve *ValidationError
	if n != 0 || len(errs) != 1 || !errors.Is(err, ErrInvalidTemplate) || !errors.As(err, &ve) || len(ve.Errors) != 1 {
		t.Fatalf("put = %d, %v, %v; want refused with one error", n, errs, err)
	}
	if vs, _ := s.Versions(ctx, notify.Delivered, notify.Email, "fr"); len(vs) != 0 {
		t.Errorf("versions %+v after a refused save, want none", vs)
	}
}

func TestStore_SavesWithWarnings(t *testing.T) {
	s, _ := newTestStore(t)
	n, errs, warnings, err := s.Put(context.Background(), notify.Delivered, notify.SMS, "en", Parts{Body: "{{ shipment.colour }}"}, "m")
	if n != 1 || err != nil || len(errs) != 0 || len(warnings) != 1 || warnings[0].Message != "unknown variable shipment.colour" {
		t.Errorf("put = %d, %v, %v, %v; want saved with a warning", n, errs, warnings, err)
	}
}

func TestStore_RestoreSavesAnOldVersionAgain(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	put(t, s, notify.Exception, notify.SMS, "es", smsV1)
	put(t, s, notify.Exception, notify.SMS, "es", smsV2)
	n, err := s.Restore(ctx, notify.Exception, notify.SMS, "es", 1, "ops")
	if err != nil || n != 3 {
		t.Fatalf("restore = %d, %v; want version 3", n, err)
	}
	cur, _ := s.Get(ctx, notify.Exception, notify.SMS, "es")
	if cur.Version != 3 || cur.Parts != smsV1 || cur.SavedBy != "ops" || cur.RestoredFrom != 1 {
		t.Errorf("current %+v, want version 3 with version 1's parts", cur)
	}
	for _, v := range []int{0, 4, -1} {
		if _, err := s.Restore(ctx, notify.Exception, notify.SMS, "es", v, "ops"); !errors.Is(err, ErrUnknownVersion) {
			t.Errorf("restore %d: %v, want ErrUnknownVersion", v, err)
		}
	}
}

func TestStore_RefusesUnknownTemplates(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	tests := []struct {
		trigger notify.Trigger
		channel notify.Channel
		locale  string
		want    error
	}{
		{"shiped", notify.Email, "en", ErrUnknownTrigger},
		{notify.Shipped, "fax", "en", ErrUnknownChannel},
		{notify.Shipped, notify.Email, "pt", ErrUnknownLocale},
		{notify.Shipped, notify.Email, "es-MX", ErrUnknownLocale},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%s", tt.trigger, tt.channel, tt.locale)
		calls := map[string]error{}
		_, calls["get"] = s.Get(ctx, tt.trigger, tt.channel, tt.locale)
		_, _, _, calls["put"] = s.Put(ctx, tt.trigger, tt.channel, tt.locale, smsV1, "m")
		_, calls["versions"] = s.Versions(ctx, tt.trigger, tt.channel, tt.locale)
		_, calls["version"] = s.Version(ctx, tt.trigger, tt.channel, tt.locale, 1)
		_, calls["restore"] = s.Restore(ctx, tt.trigger, tt.channel, tt.locale, 1, "m")
		for call, err := range calls {
			if !errors.Is(err, tt.want) {
				t.Errorf("%s %s: %v, want %v", call, name, err, tt.want)
			}
		}
	}
}

func TestStore_ResolveFallsBack(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	put(t, s, notify.Delivered, notify.SMS, "es", smsV1)
	tests := []struct {
		locale, wantLocale string
		wantCustom         bool
	}{
		{"es", "es", true},
		{"es-MX", "es", true},
		{"fr-CA", "fr", false},
		{"pt-BR", "en", false},
		{"", "en", false},
	}
	check := func() {
		t.Helper()
		for _, tt := range tests {
			got, err := s.Resolve(ctx, notify.Delivered, notify.SMS, tt.locale)
			if err != nil || got.Locale != tt.wantLocale || got.Custom != tt.wantCustom {
				t.Errorf("resolve %q: %s custom=%v (%v), want %s custom=%v", tt.locale, got.Locale, got.Custom, err, tt.wantLocale, tt.wantCustom)
			}
		}
	}
	check()
	put(t, s, notify.Delivered, notify.SMS, "en", smsV2)
	tests[3].wantCustom, tests[4].wantCustom = true, true
	check()
}
