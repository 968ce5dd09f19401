package outbound

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
)

// Status is a subscription's state.
type Status string

const (
	// Active subscriptions get their events.
	Active Status = "active"
	// Disabled ones get none (their events are still indexed, so a replay
	// after re-enabling catches up): disabled after repeated failure, or
	// through the API.
	Disabled Status = "disabled"
)

// Subscription is a receiver of events.
type Subscription struct {
	ID     string
	URL    string
	Events []EventType
	// Secret signs the deliveries. It is shown once: only Create returns it.
	Secret string
	Status Status
	// DisabledReason and DisabledAt say why and when it was disabled.
	DisabledReason string
	DisabledAt     time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// ConsecutiveFailures is the current run of failed attempts.
	ConsecutiveFailures int
}

func (sub Subscription) wants(t EventType) bool { return slices.Contains(sub.Events, t) }

// Patch changes a subscription; nil fields stay as they are.
type Patch struct {
	URL    *string
	Events *[]string
	// Status "active" re-enables a disabled subscription (its failure
	// streak starts over); "disabled" pauses it.
	Status *string
}

// ErrDisabled is returned by Replay for a disabled subscription.
var ErrDisabled = errors.New("the subscription is disabled")

// patchLua changes a subscription only if it still exists: a failure
// recorded after a delete must not bring back half a subscription.
// KEYS[1] subscription; ARGV: n, n field/value pairs to set, fields to delete.
const patchLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n)) end
if #ARGV > 1 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 2 + 2 * n)) end
return 1`

// disableLua disables an active subscription. KEYS[1] subscription;
// ARGV: reason, now ms. Returns 1 if it did.
const disableLua = `
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'disabled', 'disabled_reason', ARGV[1], 'disabled_at', ARGV[2], 'updated_at', ARGV[2])
return 1`

// maxURL bounds a target URL; real ones are far shorter.
const maxURL = 2048

func fieldErr(field, format string, a ...any) error {
	return &tracking.FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
}

func validEvents(in []string) ([]EventType, error) {
	if len(in) == 0 {
		return nil, fieldErr("events", "at least one event type is required (%s)", typeList())
	}
	out := make([]EventType, 0, len(in))
	for i, e := range in {
		t := EventType(strings.TrimSpace(e))
		if !t.Valid() {
			return nil, fieldErr(fmt.Sprintf("events[%d]", i), "%q is not an event type; event types are %s", e, typeList())
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func typeList() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b), nil
}

func newSubID() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "wh_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// validSubID keeps ids that are not ours out of key names.
func validSubID(id string) bool {
	rest, ok := strings.CutPrefix(id, "wh_")
	if !ok || rest == "" || len(rest) > 32 {
		return false
	}
	for _, r := range rest {
		if (r < 'a' || r > 'z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

func notFound(id string) error {
	return fmt.Errorf("webhook subscription %q: %w", id, tracking.ErrNotFound)
}

// Create stores a subscription to events at url and returns it with its
// secret, which nothing returns again.
func (s *Service) Create(ctx context.Context, url string, events []string) (Subscription, error) {
	types, err := validEvents(events)
	if err != nil {
		return Subscription{}, err
	}
	url = strings.TrimSpace(url)
	if err := s.CheckURL(ctx, url); err != nil {
		return Subscription{}, err
	}
	id, err := newSubID()
	if err != nil {
		return Subscription{}, fmt.Errorf("subscription id: %w", err)
	}
	secret, err := newSecret()
	if err != nil {
		return Subscription{}, fmt.Errorf("subscription secret: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	sub := Subscription{ID: id, URL: url, Events: types, Secret: secret, Status: Active, CreatedAt: now, UpdatedAt: now}
	ev, _ := json.Marshal(types)
	ms := now.UnixMilli()
	// The subscription first, then the index: a crash between leaves an
	// unlisted hash, never a listed id without one.
	if err := s.rdb.HSet(ctx, s.subKey(id), "id", id, "url", url, "events", ev, "secret", secret,
		"status", string(Active), "created_at", ms, "updated_at", ms, "fails", 0).Err(); err != nil {
		return Subscription{}, fmt.Errorf("store webhook subscription: %w", err)
	}
	if err := s.rdb.SAdd(ctx, s.subsKey(), id).Err(); err != nil {
		return Subscription{}, fmt.Errorf("index webhook subscription %s: %w", id, err)
	}
	s.log.Info("webhook subscription created", "subscription", id, "url", redactURL(url), "events", types)
	return sub, nil
}

// load returns a subscription with its secret.
func (s *Service) load(ctx context.Context, id string) (Subscription, error) {
	if !validSubID(id) {
		return Subscription{}, notFound(id)
	}
	m, err := s.rdb.HGetAll(ctx, s.subKey(id)).Result()
	if err != nil {
		return Subscription{}, fmt.Errorf("read webhook subscription %s: %w", id, err)
	}
	if m["url"] == "" {
		return Subscription{}, notFound(id)
	}
	return subFromHash(m)
}

func subFromHash(m map[string]string) (Subscription, error) {
	sub := Subscription{ID: m["id"], URL: m["url"], Secret: m["secret"], Status: Status(m["status"]),
		DisabledReason: m["disabled_reason"]}
	if err := json.Unmarshal([]byte(m["events"]), &sub.Events); err != nil {
		return Subscription{}, fmt.Errorf("decode events of webhook subscription %s: %w", sub.ID, err)
	}
	sub.CreatedAt, sub.UpdatedAt, sub.DisabledAt = msTime(m["created_at"]), msTime(m["updated_at"]), msTime(m["disabled_at"])
	sub.ConsecutiveFailures, _ = strconv.Atoi(m["fails"])
	return sub, nil
}

func msTime(v string) time.Time {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Get returns a subscription, without its secret.
func (s *Service) Get(ctx context.Context, id string) (Subscription, error) {
	sub, err := s.load(ctx, id)
	sub.Secret = ""
	return sub, err
}

// List returns every subscription, oldest first, without their secrets.
func (s *Service) List(ctx context.Context) ([]Subscription, error) {
	subs, err := s.all(ctx)
	for i := range subs {
		subs[i].Secret = ""
	}
	return subs, err
}

// all returns every subscription with its secret.
func (s *Service) all(ctx context.Context) ([]Subscription, error) {
	ids, err := s.rdb.SMembers(ctx, s.subsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.subKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read webhook subscriptions: %w", err)
	}
	out := make([]Subscription, 0, len(ids))
	for _, c := range cmds {
		if c.Val()["url"] == "" {
			continue // deleted between the two reads
		}
		sub, err := subFromHash(c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b Subscription) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Update changes a subscription's URL, events or status and returns it,
// without its secret.
func (s *Service) Update(ctx context.Context, id string, p Patch) (Subscription, error) {
	sub, err := s.load(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	set := []any{"updated_at", now.UnixMilli()}
	var del []any
	if p.URL != nil {
		u := strings.TrimSpace(*p.URL)
		if err := s.CheckURL(ctx, u); err != nil {
			return Subscription{}, err
		}
		sub.URL = u
		set = append(set, "url", u)
	}
	if p.Events != nil {
		types, err := validEvents(*p.Events)
		if err != nil {
			return Subscription{}, err
		}
		ev, _ := json.Marshal(types)
		sub.Events = types
		set = append(set, "events", ev)
	}
	if p.Status != nil {
		switch Status(*p.Status) {
		case Active:
			// A fresh start: the streak that disabled it is over.
			sub.Status, sub.DisabledReason, sub.DisabledAt, sub.ConsecutiveFailures = Active, "", time.Time{}, 0
			set = append(set, "status", string(Active), "fails", 0)
			del = append(del, "disabled_reason", "disabled_at", "fail_since")
		case Disabled:
			if sub.Status != Disabled {
				sub.Status, sub.DisabledReason, sub.DisabledAt = Disabled, "disabled through the API", now
				set = append(set, "status", string(Disabled), "disabled_reason", sub.DisabledReason, "disabled_at", now.UnixMilli())
			}
		default:
			return Subscription{}, fieldErr("status", "%q is not a status; use active (to re-enable) or disabled", *p.Status)
		}
	}
	args := append(append([]any{len(set) / 2}, set...), del...)
	ok, err := s.patch.Run(ctx, s.rdb, []string{s.subKey(id)}, args...).Int()
	if err != nil {
		return Subscription{}, fmt.Errorf("update webhook subscription %s: %w", id, err)
	}
	if ok == 0 {
		return Subscription{}, notFound(id)
	}
	sub.UpdatedAt, sub.Secret = now, ""
	if p.Status != nil {
		s.log.Info("webhook subscription status set", "subscription", id, "status", sub.Status)
	}
	return sub, nil
}

// Delete removes a subscription and its delivery log. Its queued jobs are
// dropped when they come due.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !validSubID(id) {
		return notFound(id)
	}
	n, err := s.rdb.Del(ctx, s.subKey(id)).Result()
	if err != nil {
		return fmt.Errorf("delete webhook subscription %s: %w", id, err)
	}
	pipe := s.rdb.Pipeline()
	pipe.SRem(ctx, s.subsKey(), id)
	pipe.Del(ctx, s.logKey(id))
	for shard := range s.cfg.Shards {
		pipe.Del(ctx, s.indexKey(shard, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("delete webhook subscription %s: %w", id, err)
	}
	if n == 0 {
		return notFound(id)
	}
	s.log.Info("webhook subscription deleted", "subscription", id)
	return nil
}

// recordFailure counts a failed attempt in the subscription's streak and
// disables it when the streak is past the limit. It returns the reason
// when it disabled it.
func (s *Service) recordFailure(ctx context.Context, id string, now time.Time, lastErr string) (string, error) {
	res, err := s.fail.Run(ctx, s.rdb, []string{s.subKey(id)}, now.UnixMilli(), s.cfg.DisableAfter,
		s.cfg.DisableAfterFor.Milliseconds(), truncate(lastErr, 300)).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("count failure of webhook subscription %s: %w", id, err)
	}
	return res, nil
}

// recordSuccess ends the subscription's failure streak.
func (s *Service) recordSuccess(ctx context.Context, id string) error {
	err := s.patch.Run(ctx, s.rdb, []string{s.subKey(id)}, 1, "fails", 0, "fail_since").Err()
	if err != nil {
		return fmt.Errorf("reset failures of webhook subscription %s: %w", id, err)
	}
	return nil
}

// disableSub disables an active subscription; it reports whether it did.
func (s *Service) disableSub(ctx context.Context, id, reason string, now time.Time) (bool, error) {
	n, err := s.disable.Run(ctx, s.rdb, []string{s.subKey(id)}, reason, now.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("disable webhook subscription %s: %w", id, err)
	}
	return n == 1, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
