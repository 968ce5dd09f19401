// Package console holds the console's people and their traces: users with
// roles and argon2id password hashes, their sessions, and the audit log of
// every change they make. It is storage only; the pages are in web.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/argon2"
)

// Role is what a user may do.
type Role string

const (
	// Admin manages users, API keys and settings, and may do all else.
	Admin Role = "admin"
	// Marketing edits templates, rules and the brand.
	Marketing Role = "marketing"
	// Ops watches the pipeline, the delivery log and the dead letters.
	Ops Role = "ops"
)

// Roles lists the roles.
var Roles = []Role{Admin, Marketing, Ops}

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == Admin || r == Marketing || r == Ops }

// User is a console user. The password hash never leaves this package.
type User struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	hash      string
}

// Errors of the stores.
var (
	ErrNotFound       = errors.New("not found")
	ErrExists         = errors.New("already exists")
	ErrBadCredentials = errors.New("wrong email or password")
)

// FieldError names the input that is wrong.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// MinPasswordLength is the shortest password accepted: NIST SP 800-63B's
// floor for user-chosen secrets is 8; console accounts guard templates
// that reach every shopper, so 12.
const MinPasswordLength = 12

// argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes,
// one lane), a quarter second or less on a small server.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

func hashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func checkPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the email is unknown, so that a wrong
// email takes as long as a wrong password and does not reveal who exists.
var dummyHash, _ = hashPassword("not a password of anyone")

// NormalizeEmail lower-cases and trims an address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Users stores console users, one hash per user and a set of all emails.
type Users struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewUsers returns the users under prefix.
func NewUsers(rdb redis.UniversalClient, prefix string) *Users {
	return &Users{rdb: rdb, prefix: prefix}
}

func (u *Users) key(email string) string { return u.prefix + "{cu:" + NormalizeEmail(email) + "}" }
func (u *Users) indexKey() string        { return u.prefix + "console:users" }

type storedUser struct {
	User
	Hash string `json:"hash"`
}

// Create adds a user; an existing email is ErrExists.
func (u *Users) Create(ctx context.Context, email, name string, role Role, password string, now time.Time) (User, error) {
	email = NormalizeEmail(email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return User{}, &FieldError{"email", fmt.Sprintf("%q is not an email address", email)}
	}
	if !role.Valid() {
		return User{}, &FieldError{"role", fmt.Sprintf("%q is not a role (admin, marketing or ops)", role)}
	}
	if len(password) < MinPasswordLength {
		return User{}, &FieldError{"password", fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	user := User{Email: email, Name: strings.TrimSpace(name), Role: role, CreatedAt: now.UTC()}
	b, _ := json.Marshal(storedUser{User: user, Hash: hash})
	ok, err := u.rdb.SetNX(ctx, u.key(email), b, 0).Result()
	if err != nil {
		return User{}, fmt.Errorf("store user %s: %w", email, err)
	}
	if !ok {
		return User{}, fmt.Errorf("user %s: %w", email, ErrExists)
	}
	if err := u.rdb.SAdd(ctx, u.indexKey(), email).Err(); err != nil {
		return User{}, fmt.Errorf("index user %s: %w", email, err)
	}
	return user, nil
}

// Get returns a user.
func (u *Users) Get(ctx context.Context, email string) (User, error) {
	b, err := u.rdb.Get(ctx, u.key(email)).Bytes()
	if errors.Is(err, redis.Nil) {
		return User{}, fmt.Errorf("user %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("read user %s: %w", email, err)
	}
	var s storedUser
	if err := json.Unmarshal(b, &s); err != nil {
		return User{}, fmt.Errorf("decode user %s: %w", email, err)
	}
	s.User.hash = s.Hash
	return s.User, nil
}

// Authenticate checks an email and password; any mismatch is
// ErrBadCredentials, in about the same time.
func (u *Users) Authenticate(ctx context.Context, email, password string) (User, error) {
	user, err := u.Get(ctx, email)
	if errors.Is(err, ErrNotFound) {
		checkPassword(dummyHash, password)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	if !checkPassword(user.hash, password) {
		return User{}, ErrBadCredentials
	}
	return user, nil
}

// List returns every user, by email.
func (u *Users) List(ctx context.Context) ([]User, error) {
	emails, err := u.rdb.SMembers(ctx, u.indexKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]User, 0, len(emails))
	for _, e := range emails {
		user, err := u.Get(ctx, e)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, user)
	}
	sortUsers(out)
	return out, nil
}

func sortUsers(us []User) {
	for i := 1; i < len(us); i++ {
		for j := i; j > 0 && us[j].Email < us[j-1].Email; j-- {
			us[j], us[j-1] = us[j-1], us[j]
		}
	}
}

// Update changes a user's role and, when password is not empty, its
// password.
func (u *Users) Update(ctx context.Context, email string, role Role, password string) (User, error) {
	user, err := u.Get(ctx, email)
	if err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, &FieldError{"role", fmt.Sprintf("%q is not a role (admin, marketing or ops)", role)}
	}
	hash := user.hash
	if password != "" {
		if len(password) < MinPasswordLength {
			return User{}, &FieldError{"password", fmt.Sprintf("must be at least %d characters", MinPasswordLength)}
		}
		if hash, err = hashPassword(password); err != nil {
			return User{}, err
		}
	}
	user.Role = role
	b, _ := json.Marshal(storedUser{User: user, Hash: hash})
	if err := u.rdb.Set(ctx, u.key(email), b, 0).Err(); err != nil {
		return User{}, fmt.Errorf("store user %s: %w", email, err)
	}
	return user, nil
}

// Delete removes a user.
func (u *Users) Delete(ctx context.Context, email string) error {
	pipe := u.rdb.TxPipeline()
	pipe.Del(ctx, u.key(email))
	pipe.SRem(ctx, u.indexKey(), NormalizeEmail(email))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("delete user %s: %w", email, err)
	}
	return nil
}

// Session is a signed-in user's session.
type Session struct {
	Email string    `json:"email"`
	CSRF  string    `json:"csrf"`
	At    time.Time `json:"at"`
	// Token is the cookie's value; only its hash is stored.
	Token string `json:"-"`
}

// Sessions keeps sessions in Redis under the hash of their token, with
// an idle expiry renewed on use and an absolute one.
type Sessions struct {
	rdb      redis.UniversalClient
	prefix   string
	Idle     time.Duration
	Absolute time.Duration
}

// NewSessions returns sessions that end after 8 idle hours, and in any
// case a week after sign-in.
func NewSessions(rdb redis.UniversalClient, prefix string) *Sessions {
	return &Sessions{rdb: rdb, prefix: prefix, Idle: 8 * time.Hour, Absolute: 7 * 24 * time.Hour}
}

func (s *Sessions) key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.prefix + "{cs:" + hex.EncodeToString(sum[:16]) + "}"
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for email.
func (s *Sessions) Create(ctx context.Context, email string, now time.Time) (Session, error) {
	token, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, err
	}
	sess := Session{Email: NormalizeEmail(email), CSRF: csrf, At: now.UTC(), Token: token}
	b, _ := json.Marshal(sess)
	if err := s.rdb.Set(ctx, s.key(token), b, s.Idle).Err(); err != nil {
		return Session{}, fmt.Errorf("store session: %w", err)
	}
	return sess, nil
}

// Get returns the session of token, renewing its idle expiry; an unknown
// or expired one is ErrNotFound.
func (s *Sessions) Get(ctx context.Context, token string, now time.Time) (Session, error) {
	if token == "" || len(token) > 128 {
		return Session{}, ErrNotFound
	}
	b, err := s.rdb.GetEx(ctx, s.key(token), s.Idle).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return Session{}, fmt.Errorf("decode session: %w", err)
	}
	if now.Sub(sess.At) > s.Absolute {
		s.rdb.Del(ctx, s.key(token))
		return Session{}, ErrNotFound
	}
	sess.Token = token
	return sess, nil
}

// Delete ends a session.
func (s *Sessions) Delete(ctx context.Context, token string) error {
	if err := s.rdb.Del(ctx, s.key(token)).Err(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Entry is one audit log line: who did what to what, when.
type Entry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail,omitempty"`
}

// Audit is the audit log: a capped stream, newest last.
type Audit struct {
	rdb    redis.UniversalClient
	key    string
	maxLen int64
}

// NewAudit returns the audit log under prefix, keeping the last 100,000
// entries.
func NewAudit(rdb redis.UniversalClient, prefix string) *Audit {
	return &Audit{rdb: rdb, key: prefix + "console:audit", maxLen: 100_000}
}

// Record appends an entry.
func (a *Audit) Record(ctx context.Context, e Entry) error {
	b, _ := json.Marshal(e)
	err := a.rdb.XAdd(ctx, &redis.XAddArgs{Stream: a.key, MaxLen: a.maxLen, Approx: true, Values: []any{"e", b}}).Err()
	if err != nil {
		return fmt.Errorf("record audit entry %s %s: %w", e.Action, e.Target, err)
	}
	return nil
}

// List returns up to n entries, newest first.
func (a *Audit) List(ctx context.Context, n int64) ([]Entry, error) {
	msgs, err := a.rdb.XRevRangeN(ctx, a.key, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		var e Entry
		s, _ := m.Values["e"].(string)
		if json.Unmarshal([]byte(s), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
