package console

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking/redistest"
)

const testPassword = "correct horse battery"

var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestUsers_CreateAuthenticateUpdateDelete(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	users := NewUsers(rdb, redistest.Prefix(t))
	ctx := context.Background()

	u, err := users.Create(ctx, " Ada@Example.COM ", " Ada ", Admin, testPassword, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "ada@example.com" || u.Name != "Ada" || u.Role != Admin || !u.CreatedAt.Equal(testNow) {
		t.Errorf("created %+v", u)
	}
	if _, err := users.Create(ctx, "ADA@example.com", "Ada 2", Ops, testPassword, testNow); !errors.Is(err, ErrExists) {
		t.Errorf("create again: %v, want ErrExists", err)
	}
	for _, tt := range []struct {
		name, email, role, password, field string
	}{
		{"not an email", "ada", "ops", testPassword, "email"},
		{"display name", "Ada <ada2@example.com>", "ops", testPassword, "email"},
		{"unknown role", "sam@example.com", "root", testPassword, "role"},
		{"short password", "sam@example.com", "ops", strings.Repeat("x", MinPasswordLength-1), "password"},
	} {
		t.Run("create "+tt.name, func(t *testing.T) {
			_, err := users.Create(ctx, tt.email, "Sam", Role(tt.role), tt.password, testNow)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Errorf("err %v, want a FieldError on %s", err, tt.field)
			}
		})
	}

	got, err := users.Authenticate(ctx, "ADA@example.com", testPassword)
	if err != nil || got.Email != "ada@example.com" || got.Role != Admin {
		t.Errorf("Authenticate: %+v %v", got, err)
	}
	for _, tt := range []struct{ name, email, password string }{
		{"wrong password", "ada@example.com", "wrong password!!"},
		{"unknown email", "nobody@example.com", testPassword},
		{"empty password", "ada@example.com", ""},
	} {
		t.Run("authenticate "+tt.name, func(t *testing.T) {
			if _, err := users.Authenticate(ctx, tt.email, tt.password); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("err %v, want ErrBadCredentials", err)
			}
		})
	}

	if _, err := users.Create(ctx, "mia@example.com", "Mia", Marketing, testPassword, testNow); err != nil {
		t.Fatal(err)
	}
	list, err := users.List(ctx)
	if err != nil || len(list) != 2 || list[0].Email != "ada@example.com" || list[1].Email != "mia@example.com" {
		t.Errorf("List: %+v %v; want ada then mia", list, err)
	}

	// Update: the role alone keeps the password; a new password replaces it.
	if u, err := users.Update(ctx, "mia@example.com", Ops, ""); err != nil || u.Role != Ops {
		t.Fatalf("Update role: %+v %v", u, err)
	}
	if _, err := users.Authenticate(ctx, "mia@example.com", testPassword); err != nil {
		t.Errorf("password after a role change: %v", err)
	}
	const newPassword = "another long passphrase"
	if _, err := users.Update(ctx, "mia@example.com", Ops, newPassword); err != nil {
		t.Fatal(err)
	}
	if u, err := users.Authenticate(ctx, "mia@example.com", newPassword); err != nil || u.Role != Ops || u.Name != "Mia" {
		t.Errorf("new password: %+v %v", u, err)
	}
	if _, err := users.Authenticate(ctx, "mia@example.com", testPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("old password: %v, want ErrBadCredentials", err)
	}
	var fe *FieldError
	if _, err := users.Update(ctx, "mia@example.com", "root", ""); !errors.As(err, &fe) || fe.Field != "role" {
		t.Errorf("Update to an unknown role: %v", err)
	}
	if _, err := users.Update(ctx, "mia@example.com", Ops, "short"); !errors.As(err, &fe) || fe.Field != "password" {
		t.Errorf("Update to a short password: %v", err)
	}
	if _, err := users.Update(ctx, "nobody@example.com", Ops, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of an unknown user: %v, want ErrNotFound", err)
	}

	if err := users.Delete(ctx, "MIA@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := users.Get(ctx, "mia@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := users.Authenticate(ctx, "mia@example.com", newPassword); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("Authenticate after Delete: %v, want ErrBadCredentials", err)
	}
	if list, _ := users.List(ctx); len(list) != 1 {
		t.Errorf("List after Delete: %+v", list)
	}
}

func TestUsers_PasswordHashNotStoredInClear(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	users := NewUsers(rdb, prefix)
	ctx := context.Background()
	if _, err := users.Create(ctx, "ada@example.com", "Ada", Admin, testPassword, testNow); err != nil {
		t.Fatal(err)
	}
	raw, err := rdb.Get(ctx, prefix+"{cu:ada@example.com}").Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, testPassword) || !strings.Contains(raw, "$argon2id$") {
		t.Errorf("stored user %s: want an argon2id hash, not the password", raw)
	}
}

func TestSessions_Expiry(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	sessions := NewSessions(rdb, redistest.Prefix(t))
	sessions.Idle, sessions.Absolute = time.Hour, 24*time.Hour
	ctx := context.Background()

	s, err := sessions.Create(ctx, "Ada@Example.com", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if s.Email != "ada@example.com" || s.Token == "" || s.CSRF == "" || s.CSRF == s.Token {
		t.Errorf("created %+v", s)
	}
	if ttl := rdb.PTTL(ctx, sessions.key(s.Token)).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL %v, want the idle expiry", ttl)
	}
	// Use renews the idle expiry.
	rdb.PExpire(ctx, sessions.key(s.Token), time.Minute)
	got, err := sessions.Get(ctx, s.Token, testNow.Add(23*time.Hour))
	if err != nil || got.Email != "ada@example.com" || got.CSRF != s.CSRF || got.Token != s.Token {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if ttl := rdb.PTTL(ctx, sessions.key(s.Token)).Val(); ttl <= time.Minute {
		t.Errorf("TTL after use %v, want renewed", ttl)
	}
	// However busy, a session ends Absolute after sign-in, and is removed.
	if _, err := sessions.Get(ctx, s.Token, testNow.Add(24*time.Hour+time.Second)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get past the absolute expiry: %v, want ErrNotFound", err)
	}
	if n := rdb.Exists(ctx, sessions.key(s.Token)).Val(); n != 0 {
		t.Error("the expired session is still stored")
	}

	for _, tt := range []struct{ name, token string }{
		{"empty", ""}, {"unknown", "not-a-token"}, {"too long", strings.Repeat("x", 200)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sessions.Get(ctx, tt.token, testNow); !errors.Is(err, ErrNotFound) {
				t.Errorf("err %v, want ErrNotFound", err)
			}
		})
	}

	s2, err := sessions.Create(ctx, "ada@example.com", testNow)
	if err != nil {
		t.Fatal(err)
	}
	if err := sessions.Delete(ctx, s2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Get(ctx, s2.Token, testNow); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestAudit_NewestFirst(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	audit := NewAudit(rdb, redistest.Prefix(t))
	ctx := context.Background()
	if got, err := audit.List(ctx, 10); err != nil || len(got) != 0 {
		t.Errorf("empty log: %+v %v", got, err)
	}
	for i, action := range []string{"create user", "change role", "delete user"} {
		e := Entry{At: testNow.Add(time.Duration(i) * time.Minute), Actor: "ada@example.com", Action: action, Target: "mia@example.com"}
		if err := audit.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := audit.List(ctx, 2)
	if err != nil || len(got) != 2 || got[0].Action != "delete user" || got[1].Action != "change role" {
		t.Fatalf("List(2): %+v %v; want delete user, change role", got, err)
	}
	if !got[0].At.Equal(testNow.Add(2*time.Minute)) || got[0].Actor != "ada@example.com" || got[0].Target != "mia@example.com" {
		t.Errorf("newest entry %+v", got[0])
	}
	if all, _ := audit.List(ctx, 10); len(all) != 3 || all[2].Action != "create user" {
		t.Errorf("List(10): %+v", all)
	}
}
