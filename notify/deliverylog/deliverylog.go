// Package deliverylog keeps every notification attempt for a while, so the
// console can answer "did this shopper get told, and what happened?".
//
// # Redis layout
//
// Keys start with Config.Prefix (P). Each key has its own hash tag, so a
// Redis Cluster spreads the log over its nodes; nothing needs two keys in
// one slot, since an attempt is written with a plain pipeline and read back
// by id.
//
//	P{nl:a:<id>}          hash    one attempt (its fields: attemptFields)
//	P{nl:all}             zset    every attempt id: the global time index
//	P{nl:o:<h(number)>}   zset    the attempt ids of one order number
//	P{nl:r:<recipient>}   zset    the attempt ids of one recipient hash
//	P{nl:p:<h(provider)>} string  provider message id → attempt id
//
// h(x) is the first 128 bits of SHA-256(x) in hex: order numbers and
// provider ids are other people's strings, and a '{' or '}' in them would
// break the hash tag. <recipient> is the keyed recipient hash (HMAC).
//
// An attempt id is its time in unix milliseconds, 13 digits, then '-' and
// 64 random bits in hex. The indexes hold ids with score 0, so they are
// ordered by id, which is by time: time ranges, newest-first pages and the
// retention trim are all lexicographic ranges (ZRANGE BYLEX), and two
// attempts in one millisecond still have a stable order for cursors.
//
// Retention: every key expires Retention after its newest attempt (EXPIRE
// NX, then GT, so an older attempt written late never shortens it), and
// every write trims the indexes it touches of ids older than Retention, so
// a busy index (the global one) does not grow without bound. Reads ignore
// ids past retention and ids whose attempt has expired.
//
// The global time index is one key, so one slot takes every write. Its
// members are 30 bytes; at a million attempts a day kept 90 days it holds
// 90 million of them (some GB): size Redis for it, or shorten Retention.
package deliverylog

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
)

// Results of an attempt. Sent, Delivered, Failed and Undelivered come from
// the provider (Twilio's callbacks move an SMS from sent to one of the
// others); the rest are decided before anything is sent.
const (
	Sent          = "sent"
	Delivered     = "delivered"
	Failed        = "failed"
	Undelivered   = "undelivered"
	Held          = "held"      // waiting for the end of quiet hours
	Collapsed     = "collapsed" // folded into a later notification of a burst
	SkippedOptOut = "skipped_optout"
	SkippedRule   = "skipped_rule"
	Unknown       = "unknown"
	Retrying      = "retrying" // a transient failure; the notifier tries again later
)

// Results lists every result.
var Results = []string{Sent, Delivered, Failed, Undelivered, Held, Collapsed, SkippedOptOut, SkippedRule, Unknown, Retrying}

// ValidResult reports whether r is one of Results.
func ValidResult(r string) bool {
	for _, k := range Results {
		if k == r {
			return true
		}
	}
	return false
}

// Attempt is one notification attempt.
type Attempt struct {
	// ID is set by Record.
	ID string
	// At is when the attempt was made; Record sets the clock's time when
	// it is zero. Kept to the millisecond.
	At          time.Time
	OrderID     string
	OrderNumber string
	ShipmentID  string // empty for order-level triggers
	Trigger     notify.Trigger
	Channel     notify.Channel
	// Recipient is the address or phone number. Record takes it in the
	// clear and stores it masked (Mask); attempts read back hold the mask.
	Recipient string
	// RecipientHash is the keyed hash of the normalized recipient, which
	// Record computes (HashRecipient); the console searches by it without
	// the log ever holding the address in the clear.
	RecipientHash   string
	Locale          string
	TemplateVersion int
	// Result is one of Results.
	Result string
	// ProviderID is the provider's message id (a Twilio SID, an SMTP
	// queue id), by which status callbacks find the attempt.
	ProviderID string
	// Error is the provider's or the renderer's error, for a failed attempt.
	Error string
	// Attempt counts tries of one notification: 1 for the first.
	Attempt int
}

// Filter selects attempts; zero fields select everything.
type Filter struct {
	OrderNumber string
	// Email is a recipient address in the clear; it is hashed with the
	// log's key to match.
	Email string
	// Since (inclusive) and Until (exclusive) bound the attempts' time.
	Since, Until time.Time
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// Cursor is a next cursor Query returned: the page after it.
	Cursor string
}

// Page sizes of Query.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// maxErrorLen caps a stored error: a provider can answer with a page of
// HTML, and the log is read in a table.
const maxErrorLen = 1000

var (
	// ErrNotFound is returned by UpdateByProviderID for a provider id no
	// kept attempt has.
	ErrNotFound = errors.New("deliverylog: no such attempt")
	// ErrInvalidCursor is returned by Query for a cursor it did not make.
	ErrInvalidCursor = errors.New("deliverylog: invalid cursor")
)

// Config configures the log.
type Config struct {
	// Prefix starts every key. It must not contain '{' or '}': hash tags
	// follow it.
	Prefix string
	// Retention is how long an attempt is kept. 90 days covers a return
	// window and the dispute that follows it.
	Retention time.Duration
	// HashKey keys the recipient hash (HMAC-SHA256). At least 32 bytes,
	// secret, and never changed: a new key makes older attempts
	// unsearchable by email. A plain hash would not do: addresses can be
	// guessed and hashed by anyone who reads Redis.
	HashKey []byte
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults; HashKey must still be set.
func DefaultConfig() Config {
	return Config{Prefix: "trackd:", Retention: 90 * 24 * time.Hour}
}

// Log is the delivery log over Redis.
type Log struct {
	rdb    redis.UniversalClient
	cfg    Config
	update *redis.Script
}

// New returns the log over rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Log, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("deliverylog: a Redis client is required")
	case strings.ContainsAny(cfg.Prefix, "{}"):
		return nil, fmt.Errorf("deliverylog: prefix %q must not contain '{' or '}'", cfg.Prefix)
	case len(cfg.HashKey) < 32:
		return nil, errors.New("deliverylog: the recipient hash key must be at least 32 bytes")
	case cfg.Retention < time.Second:
		return nil, fmt.Errorf("deliverylog: retention %s is too short", cfg.Retention)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.HashKey = append([]byte(nil), cfg.HashKey...)
	return &Log{rdb: rdb, cfg: cfg, update: redis.NewScript(updateLua)}, nil
}

// HashRecipient returns the keyed hash of recipient on ch, as attempts
// store it: hex HMAC-SHA256 of the normalized recipient (email trimmed and
// lower-cased; a phone number trimmed, without spaces, dashes, dots or
// brackets).
func (l *Log) HashRecipient(ch notify.Channel, recipient string) string {
	m := hmac.New(sha256.New, l.cfg.HashKey)
	m.Write([]byte(optout.Normalize(ch, recipient)))
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Log) attemptKey(id string) string { return l.cfg.Prefix + "{nl:a:" + id + "}" }
func (l *Log) globalKey() string           { return l.cfg.Prefix + "{nl:all}" }
func (l *Log) orderKey(number string) string {
	return l.cfg.Prefix + "{nl:o:" + shortHash(number) + "}"
}
func (l *Log) recipientKey(hash string) string { return l.cfg.Prefix + "{nl:r:" + hash + "}" }
func (l *Log) providerKey(pid string) string   { return l.cfg.Prefix + "{nl:p:" + shortHash(pid) + "}" }

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// idAt is the smallest id of attempts at t: ids of attempts before t sort
// below it, ids at or after t above.
func idAt(t time.Time) string { return fmt.Sprintf("%013d", max(t.UnixMilli(), 0)) }

func newID(at time.Time) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("attempt id: %w", err)
	}
	return idAt(at) + "-" + fmt.Sprintf("%016x", binary.BigEndian.Uint64(b[:])), nil
}

// validID reports whether id is one newID makes.
func validID(id string) bool {
	if len(id) != 30 || id[13] != '-' {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case i == 13:
		case i < 13 && c >= '0' && c <= '9':
		case i > 13 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f'):
		default:
			return false
		}
	}
	return true
}

// Record stores a, masking its recipient, and returns its id. An attempt
// already older than Retention is not stored (its id is still returned).
//
// The keys are written in one pipeline but not atomically (they live in
// different slots): after an error some may be written. Readers tolerate
// that: an index entry without its attempt is skipped, an attempt without
// an index entry expires unseen.
func (l *Log) Record(ctx context.Context, a Attempt) (string, error) {
	if !a.Channel.Valid() {
		return "", fmt.Errorf("record attempt: unknown channel %q", a.Channel)
	}
	if a.Trigger != "" && !a.Trigger.Valid() {
		return "", fmt.Errorf("record attempt: unknown trigger %q", a.Trigger)
	}
	if !ValidResult(a.Result) {
		return "", fmt.Errorf("record attempt: unknown result %q", a.Result)
	}
	now := l.cfg.Now()
	if a.At.IsZero() {
		a.At = now
	}
	a.At = a.At.Truncate(time.Millisecond)
	id, err := newID(a.At)
	if err != nil {
		return "", fmt.Errorf("record attempt: %w", err)
	}
	ttl := a.At.Add(l.cfg.Retention).Sub(now)
	if ttl <= 0 {
		return id, nil
	}
	if a.Recipient != "" {
		a.RecipientHash = l.HashRecipient(a.Channel, a.Recipient)
	}
	a.Recipient = Mask(a.Channel, a.Recipient)
	a.Error = truncate(a.Error, maxErrorLen)

	cutoff := "(" + idAt(now.Add(-l.cfg.Retention))
	key := l.attemptKey(id)
	p := l.rdb.Pipeline()
	p.HSet(ctx, key, attemptFields(id, a))
	p.PExpire(ctx, key, ttl)
	if a.ProviderID != "" {
		p.Set(ctx, l.providerKey(a.ProviderID), id, ttl)
	}
	indexes := []string{l.globalKey()}
	if a.OrderNumber != "" {
		indexes = append(indexes, l.orderKey(a.OrderNumber))
	}
	if a.RecipientHash != "" {
		indexes = append(indexes, l.recipientKey(a.RecipientHash))
	}
	for _, ix := range indexes {
		p.ZAdd(ctx, ix, redis.Z{Member: id})
		p.ZRemRangeByLex(ctx, ix, "-", cutoff)
		p.ExpireNX(ctx, ix, ttl)
		p.ExpireGT(ctx, ix, ttl)
	}
	if _, err := p.Exec(ctx); err != nil {
		return "", fmt.Errorf("record attempt %s: %w", id, err)
	}
	if a.ProviderID != "" {
		if err := l.applyPending(ctx, id, a.ProviderID); err != nil {
			return id, err
		}
	}
	return id, nil
}

// pendingTTL is how long a status that came before its attempt waits.
const pendingTTL = 15 * time.Minute

type pendingUpdate struct {
	Result string `json:"result"`
	Detail string `json:"detail"`
}

func (l *Log) pendingKey(pid string) string { return l.cfg.Prefix + "{nl:q:" + shortHash(pid) + "}" }

// applyPending applies a status the provider reported before the attempt
// was recorded.
func (l *Log) applyPending(ctx context.Context, id, providerID string) error {
	b, err := l.rdb.GetDel(ctx, l.pendingKey(providerID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read early status of %s: %w", providerID, err)
	}
	var u pendingUpdate
	if json.Unmarshal(b, &u) != nil || !ValidResult(u.Result) {
		return nil
	}
	if err := l.update.Run(ctx, l.rdb, []string{l.attemptKey(id)}, u.Result, u.Detail).Err(); err != nil {
		return fmt.Errorf("apply early status of %s: %w", providerID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary, so the stored text stays valid UTF-8.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func attemptFields(id string, a Attempt) map[string]any {
	return map[string]any{
		"id":          id,
		"at":          a.At.UnixMilli(),
		"order_id":    a.OrderID,
		"order":       a.OrderNumber,
		"shipment_id": a.ShipmentID,
		"trigger":     string(a.Trigger),
		"channel":     string(a.Channel),
		"recipient":   a.Recipient,
		"rh":          a.RecipientHash,
		"locale":      a.Locale,
		"tv":          a.TemplateVersion,
		"result":      a.Result,
		"provider_id": a.ProviderID,
		"error":       a.Error,
		"attempt":     a.Attempt,
	}
}

func attemptFrom(h map[string]string) Attempt {
	ms, _ := strconv.ParseInt(h["at"], 10, 64)
	tv, _ := strconv.Atoi(h["tv"])
	n, _ := strconv.Atoi(h["attempt"])
	return Attempt{
		ID:              h["id"],
		At:              time.UnixMilli(ms).UTC(),
		OrderID:         h["order_id"],
		OrderNumber:     h["order"],
		ShipmentID:      h["shipment_id"],
		Trigger:         notify.Trigger(h["trigger"]),
		Channel:         notify.Channel(h["channel"]),
		Recipient:       h["recipient"],
		RecipientHash:   h["rh"],
		Locale:          h["locale"],
		TemplateVersion: tv,
		Result:          h["result"],
		ProviderID:      h["provider_id"],
		Error:           h["error"],
		Attempt:         n,
	}
}

// updateLua sets an attempt's result and error, if the attempt is still
// kept (HSET on an expired one would bring back a partial hash with no
// expiry). Delivery reports arrive out of order: a final result
// (delivered, undelivered, failed) is not replaced by a passing one (sent).
// Returns 0 when the attempt is gone, 1 when updated, 2 when kept as it was.
const updateLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local final = {delivered = true, undelivered = true, failed = true}
local cur = redis.call('HGET', KEYS[1], 'result')
if cur and final[cur] and not final[ARGV[1]] then return 2 end
redis.call('HSET', KEYS[1], 'result', ARGV[1], 'error', ARGV[2])
return 1
`

// UpdateByProviderID sets the result (one of Results) and error detail of
// the attempt with the provider's message id providerID: how the SMS status
// callback reports delivery. A final result is not replaced by "sent",
// which can arrive after it. ErrNotFound when no kept attempt has the id.
func (l *Log) UpdateByProviderID(ctx context.Context, providerID, result, errorDetail string) error {
	if !ValidResult(result) {
		return fmt.Errorf("update attempt of %s: unknown result %q", providerID, result)
	}
	if providerID == "" {
		return fmt.Errorf("update attempt: no provider id: %w", ErrNotFound)
	}
	id, err := l.rdb.Get(ctx, l.providerKey(providerID)).Result()
	if errors.Is(err, redis.Nil) {
		// The provider can call back before the sender has recorded the
		// attempt (Twilio answers the send, then calls back at once). The
		// status waits a while for Record, which applies it.
		b, _ := json.Marshal(pendingUpdate{Result: result, Detail: truncate(errorDetail, maxErrorLen)})
		if err := l.rdb.Set(ctx, l.pendingKey(providerID), b, pendingTTL).Err(); err != nil {
			return fmt.Errorf("keep early status of %s: %w", providerID, err)
		}
		return fmt.Errorf("update attempt of %s: %w", providerID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("update attempt of %s: %w", providerID, err)
	}
	n, err := l.update.Run(ctx, l.rdb, []string{l.attemptKey(id)}, result, truncate(errorDetail, maxErrorLen)).Int()
	if err != nil {
		return fmt.Errorf("update attempt %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("update attempt %s of %s: %w", id, providerID, ErrNotFound)
	}
	return nil
}

// maxScanBatches bounds the Redis work of one Query: when filtering by
// order and email together, or skipping expired attempts, a page may take
// several reads of the index. Past the bound Query returns a short page
// with a cursor to go on from.
const maxScanBatches = 8

// Query returns the attempts f selects, newest first, at most f.Limit of
// them, and the cursor of the next page ("" after the last). A page can be
// shorter than the limit and still have a next cursor.
func (l *Log) Query(ctx context.Context, f Filter) ([]Attempt, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	now := l.cfg.Now()

	lo := "[" + idAt(now.Add(-l.cfg.Retention))
	if !f.Since.IsZero() && f.Since.After(now.Add(-l.cfg.Retention)) {
		lo = "[" + idAt(f.Since)
	}
	hi := "+"
	if !f.Until.IsZero() {
		hi = "(" + idAt(f.Until)
	}
	if f.Cursor != "" {
		if !validID(f.Cursor) {
			return nil, "", ErrInvalidCursor
		}
		if hi == "+" || "("+f.Cursor < hi {
			hi = "(" + f.Cursor
		}
	}
	if hi != "+" && hi[1:] <= lo[1:] {
		return nil, "", nil
	}

	key, wantHash := l.globalKey(), ""
	switch {
	case f.OrderNumber != "":
		key = l.orderKey(f.OrderNumber)
		if f.Email != "" {
			wantHash = l.HashRecipient(notify.Email, f.Email)
		}
	case f.Email != "":
		key = l.recipientKey(l.HashRecipient(notify.Email, f.Email))
	}

	out := make([]Attempt, 0, limit+1)
	batch := int64(limit + 1)
	for range maxScanBatches {
		ids, err := l.rdb.ZRevRangeByLex(ctx, key, &redis.ZRangeBy{Max: hi, Min: lo, Count: batch}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("query attempts: %w", err)
		}
		if len(ids) == 0 {
			return out, "", nil
		}
		found, err := l.read(ctx, ids)
		if err != nil {
			return nil, "", err
		}
		for _, a := range found {
			if f.OrderNumber != "" && a.OrderNumber != f.OrderNumber {
				continue // another order number with the same 128-bit hash: never, but cheap to check
			}
			if wantHash != "" && !hmac.Equal([]byte(a.RecipientHash), []byte(wantHash)) {
				continue
			}
			out = append(out, a)
			if len(out) > limit {
				return out[:limit], out[limit-1].ID, nil
			}
		}
		if int64(len(ids)) < batch {
			return out, "", nil
		}
		hi = "(" + ids[len(ids)-1]
	}
	return out, hi[1:], nil
}

// read reads the attempts ids in one pipeline, in order, leaving out those
// that have expired.
func (l *Log) read(ctx context.Context, ids []string) ([]Attempt, error) {
	p := l.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = p.HGetAll(ctx, l.attemptKey(id))
	}
	if _, err := p.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read attempts: %w", err)
	}
	out := make([]Attempt, 0, len(ids))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 {
			out = append(out, attemptFrom(h))
		}
	}
	return out, nil
}
