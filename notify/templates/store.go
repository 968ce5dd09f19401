package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify"
)

// The store's errors, for errors.Is; each comes wrapped with what was
// asked for.
var (
	ErrUnknownTrigger = errors.New("unknown trigger")
	ErrUnknownChannel = errors.New("unknown channel")
	ErrUnknownLocale  = errors.New("unknown locale")
	ErrUnknownVersion = errors.New("unknown version")
	// ErrInvalidTemplate is a template refused on save; the error is a
	// *ValidationError with the problems.
	ErrInvalidTemplate = errors.New("invalid template")
)

// ValidationError lists why a template was refused.
type ValidationError struct {
	Errors, Warnings []Problem
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, p := range e.Errors {
		msgs[i] = p.String()
	}
	return "invalid template: " + strings.Join(msgs, "; ")
}

// Is makes a *ValidationError match ErrInvalidTemplate.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidTemplate }

// CheckKey says whether trigger, channel and locale name a template, with
// a message naming what does not exist and what does.
func CheckKey(trigger notify.Trigger, channel notify.Channel, locale string) error {
	switch {
	case !trigger.Valid():
		names := make([]string, len(notify.Triggers))
		for i, t := range notify.Triggers {
			names[i] = string(t)
		}
		return fmt.Errorf("%w %q: triggers are %s", ErrUnknownTrigger, trigger, strings.Join(names, ", "))
	case !channel.Valid():
		return fmt.Errorf("%w %q: channels are email, sms", ErrUnknownChannel, channel)
	case !knownLocale(locale):
		return fmt.Errorf("%w %q: locales are %s", ErrUnknownLocale, locale, strings.Join(notify.Locales, ", "))
	}
	return nil
}

// Template is one version of a template, or a shipped default (Version 0,
// Custom false).
type Template struct {
	Trigger notify.Trigger
	Channel notify.Channel
	Locale  string
	Version int
	Parts   Parts
	SavedAt time.Time
	SavedBy string
	Custom  bool
	// RestoredFrom is the version this one restored, or 0.
	RestoredFrom int
}

// StoreConfig configures a Store.
type StoreConfig struct {
	// Prefix starts every key, as TRACKD_KEY_PREFIX ("trackd:").
	Prefix string
}

// Store keeps marketing's templates in Redis, every save a new version:
// one list per trigger, channel and locale, at
// <prefix>tpl:<trigger>:<channel>:<locale>, version n at index n-1. Only
// a single key is touched per call, so it works on Redis Cluster too.
type Store struct {
	rdb      redis.UniversalClient
	engine   *Engine
	defaults *Defaults
	prefix   string
	now      func() time.Time
}

// NewStore returns a store validating saves with engine and falling back
// to defaults.
func NewStore(rdb redis.UniversalClient, engine *Engine, defaults *Defaults, cfg StoreConfig) *Store {
	return &Store{rdb: rdb, engine: engine, defaults: defaults, prefix: cfg.Prefix, now: time.Now}
}

// stored is a version as kept in Redis.
type stored struct {
	Parts        Parts     `json:"parts"`
	SavedAt      time.Time `json:"saved_at"`
	SavedBy      string    `json:"saved_by"`
	RestoredFrom int       `json:"restored_from,omitempty"`
}

func (s *Store) key(trigger notify.Trigger, channel notify.Channel, locale string) string {
	return s.prefix + "tpl:" + string(trigger) + ":" + string(channel) + ":" + locale
}

// Put validates parts and saves them as the template's next version. An
// invalid template is not saved: errs lists why, and err is a
// *ValidationError (errors.Is ErrInvalidTemplate). warnings come either
// way.
func (s *Store) Put(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, parts Parts, author string) (version int, errs, warnings []Problem, err error) {
	return s.put(ctx, trigger, channel, locale, stored{Parts: parts, SavedBy: author})
}

func (s *Store) put(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, v stored) (int, []Problem, []Problem, error) {
	if err := CheckKey(trigger, channel, locale); err != nil {
		return 0, nil, nil, fmt.Errorf("save template: %w", err)
	}
	errs, warnings := s.engine.Validate(channel, v.Parts)
	if len(errs) > 0 {
		return 0, errs, warnings, &ValidationError{Errors: errs, Warnings: warnings}
	}
	v.SavedAt = s.now().UTC()
	b, err := json.Marshal(v)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("save template: %w", err)
	}
	n, err := s.rdb.RPush(ctx, s.key(trigger, channel, locale), b).Result()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("save template %s/%s/%s: %w", trigger, channel, locale, err)
	}
	return int(n), nil, warnings, nil
}

// Get returns the template's current version, or the shipped default when
// marketing has saved none.
func (s *Store) Get(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string) (Template, error) {
	if err := CheckKey(trigger, channel, locale); err != nil {
		return Template{}, fmt.Errorf("get template: %w", err)
	}
	k := s.key(trigger, channel, locale)
	var n *redis.IntCmd
	var last *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.LLen(ctx, k)
		last = p.LIndex(ctx, k, -1)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return Template{}, fmt.Errorf("get template %s/%s/%s: %w", trigger, channel, locale, err)
	}
	if n.Val() == 0 {
		return s.defaultTemplate(trigger, channel, locale)
	}
	return s.decode(trigger, channel, locale, int(n.Val()), last.Val())
}

// Version returns version n (from 1).
func (s *Store) Version(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, n int) (Template, error) {
	if err := CheckKey(trigger, channel, locale); err != nil {
		return Template{}, fmt.Errorf("get template version: %w", err)
	}
	if n < 1 {
		return Template{}, fmt.Errorf("get template version %d: %w", n, ErrUnknownVersion)
	}
	v, err := s.rdb.LIndex(ctx, s.key(trigger, channel, locale), int64(n-1)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Template{}, fmt.Errorf("get template version %d: %w", n, ErrUnknownVersion)
	case err != nil:
		return Template{}, fmt.Errorf("get template %s/%s/%s version %d: %w", trigger, channel, locale, n, err)
	}
	return s.decode(trigger, channel, locale, n, v)
}

// Versions returns every saved version, newest first; none when marketing
// has saved none.
func (s *Store) Versions(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string) ([]Template, error) {
	if err := CheckKey(trigger, channel, locale); err != nil {
		return nil, fmt.Errorf("list template versions: %w", err)
	}
	all, err := s.rdb.LRange(ctx, s.key(trigger, channel, locale), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("list template versions %s/%s/%s: %w", trigger, channel, locale, err)
	}
	out := make([]Template, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		t, err := s.decode(trigger, channel, locale, i+1, all[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Restore saves version n's parts again, as a new version by author, and
// returns its number. It is validated like any save.
func (s *Store) Restore(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, n int, author string) (int, error) {
	old, err := s.Version(ctx, trigger, channel, locale, n)
	if err != nil {
		return 0, fmt.Errorf("restore: %w", err)
	}
	v, _, _, err := s.put(ctx, trigger, channel, locale, stored{Parts: old.Parts, SavedBy: author, RestoredFrom: n})
	if err != nil {
		return 0, fmt.Errorf("restore version %d: %w", n, err)
	}
	return v, nil
}

// Resolve returns the template to send in locale: for the locale itself,
// then its language ("es-MX" → "es"), then notify.DefaultLocale, the first
// that trackd has, marketing's version before the shipped one.
func (s *Store) Resolve(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string) (Template, error) {
	for _, l := range localeChain(locale) {
		if knownLocale(l) {
			return s.Get(ctx, trigger, channel, l)
		}
	}
	return s.Get(ctx, trigger, channel, notify.DefaultLocale)
}

func (s *Store) defaultTemplate(trigger notify.Trigger, channel notify.Channel, locale string) (Template, error) {
	p, ok := s.defaults.Get(trigger, channel, locale)
	if !ok {
		return Template{}, fmt.Errorf("get template %s/%s/%s: no default", trigger, channel, locale)
	}
	return Template{Trigger: trigger, Channel: channel, Locale: locale, Parts: p}, nil
}

func (s *Store) decode(trigger notify.Trigger, channel notify.Channel, locale string, n int, raw string) (Template, error) {
	var v stored
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return Template{}, fmt.Errorf("decode template %s/%s/%s version %d: %w", trigger, channel, locale, n, err)
	}
	return Template{
		Trigger: trigger, Channel: channel, Locale: locale, Version: n, Parts: v.Parts,
		SavedAt: v.SavedAt, SavedBy: v.SavedBy, Custom: true, RestoredFrom: v.RestoredFrom,
	}, nil
}
