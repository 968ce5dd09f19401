package web

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking/redistest"
)

func TestKeyStore_RegisterListRevoke(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	keys := NewKeyStore(rdb, redistest.Prefix(t))
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

	if _, err := keys.Register(ctx, "bootstrap-secret-0123456789", APIKey{Name: "bootstrap", Scope: ScopeAdmin, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	secret, made, err := keys.Create(ctx, " oms ", ScopeWrite, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if made.Name != "oms" || made.Scope != ScopeWrite || len(made.ID) != 16 || made.ID != made.Hash[:16] {
		t.Errorf("created %+v", made)
	}
	if got, err := keys.Lookup(ctx, secret); err != nil || got.Name != "oms" || got.Scope != ScopeWrite || !got.CreatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("Lookup of the created key: %+v %v", got, err)
	}
	list, err := keys.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "oms" || list[1].Name != "bootstrap" || !list[0].LastUsed.IsZero() {
		t.Fatalf("List: %+v %v; want oms then bootstrap, never used", list, err)
	}

	for _, tt := range []struct {
		name   string
		secret string
		key    APIKey
		want   error
	}{
		{"bad scope", "another-secret-0123456789", APIKey{Name: "x", Scope: "root"}, ErrBadScope},
		{"short secret", "short", APIKey{Name: "x", Scope: ScopeRead}, nil},
	} {
		t.Run("register "+tt.name, func(t *testing.T) {
			_, err := keys.Register(ctx, tt.secret, tt.key)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := keys.Create(ctx, "  ", ScopeRead, t0); err == nil {
		t.Error("Create without a name: no error")
	}
	if list, _ := keys.List(ctx); len(list) != 2 {
		t.Errorf("refused keys were listed: %+v", list)
	}

	got, err := keys.Revoke(ctx, made.ID)
	if err != nil || got.Name != "oms" {
		t.Fatalf("Revoke: %+v %v", got, err)
	}
	if _, err := keys.Lookup(ctx, secret); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Lookup after Revoke: %v, want ErrUnknownKey", err)
	}
	if _, err := keys.Revoke(ctx, made.ID); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Revoke again: %v, want ErrUnknownKey", err)
	}
	if list, _ := keys.List(ctx); len(list) != 1 || list[0].Name != "bootstrap" {
		t.Errorf("List after Revoke: %+v", list)
	}
}

func TestKeyStore_Touch(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	keys := NewKeyStore(rdb, prefix)
	ctx := context.Background()
	secret, made, err := keys.Create(ctx, "oms", ScopeRead, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		list, err := keys.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("List: %+v %v", list, err)
		}
		return list[0].LastUsed
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		at   time.Time
		want time.Time
	}{
		{"first use", t0, t0},
		{"within the interval", t0.Add(TouchInterval - time.Second), t0},
		{"an earlier clock", t0.Add(-time.Hour), t0},
		{"after the interval", t0.Add(TouchInterval), t0.Add(TouchInterval)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := keys.Touch(ctx, secret, tt.at); err != nil {
				t.Fatal(err)
			}
			if got := lastUsed(); !got.Equal(tt.want) {
				t.Errorf("last used %v, want %v", got, tt.want)
			}
		})
	}
	// A revoked key leaves nothing behind, even when a request that looked
	// it up before touches it after.
	if _, err := keys.Revoke(ctx, made.ID); err != nil {
		t.Fatal(err)
	}
	if err := keys.Touch(ctx, secret, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if left, _ := rdb.Keys(ctx, prefix+"*").Result(); len(left) != 0 {
		t.Errorf("keys left after Revoke and Touch: %v", left)
	}
	// An unknown secret is not an error.
	if err := keys.Touch(ctx, "never-a-key-0123456789", t0); err != nil {
		t.Errorf("Touch of an unknown key: %v", err)
	}
}
