package notify

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Rules say which trigger goes out on which channel.
type Rules map[Trigger]map[Channel]bool

// On reports whether trigger t is sent on channel c.
func (r Rules) On(t Trigger, c Channel) bool { return r[t][c] }

// DefaultRules are what a new installation sends: email for the moments a
// shopper acts on or worries about, SMS only when the parcel is at the door.
func DefaultRules() Rules {
	r := Rules{}
	for _, t := range Triggers {
		r[t] = map[Channel]bool{Email: false, SMS: false}
	}
	for _, t := range []Trigger{Shipped, OutForDelivery, Delivered, Exception, Delayed} {
		r[t][Email] = true
	}
	for _, t := range []Trigger{OutForDelivery, Delivered} {
		r[t][SMS] = true
	}
	return r
}

// RuleStore keeps the rules in one Redis hash, "trigger/channel" -> "1" or
// "0"; a field not set has its default.
type RuleStore struct {
	rdb redis.UniversalClient
	key string
}

// NewRuleStore returns the rules under prefix.
func NewRuleStore(rdb redis.UniversalClient, prefix string) *RuleStore {
	return &RuleStore{rdb: rdb, key: prefix + "notify:rules"}
}

// Get returns the rules in force.
func (s *RuleStore) Get(ctx context.Context) (Rules, error) {
	m, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return nil, fmt.Errorf("read notification rules: %w", err)
	}
	r := DefaultRules()
	for _, t := range Triggers {
		for _, c := range Channels {
			if v, ok := m[string(t)+"/"+string(c)]; ok {
				r[t][c] = v == "1"
			}
		}
	}
	return r, nil
}

// Set switches the given triggers and channels; others keep their value.
// Unknown triggers or channels are refused whole, naming the first.
func (s *RuleStore) Set(ctx context.Context, changes Rules) error {
	fields := []any{}
	for t, chans := range changes {
		if !t.Valid() {
			return &UnknownError{What: "trigger", Name: string(t)}
		}
		for c, on := range chans {
			if !c.Valid() {
				return &UnknownError{What: "channel", Name: string(c)}
			}
			v := "0"
			if on {
				v = "1"
			}
			fields = append(fields, string(t)+"/"+string(c), v)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	if err := s.rdb.HSet(ctx, s.key, fields...).Err(); err != nil {
		return fmt.Errorf("store notification rules: %w", err)
	}
	return nil
}

// UnknownError names a trigger, channel or locale trackd does not know.
type UnknownError struct{ What, Name string }

func (e *UnknownError) Error() string { return fmt.Sprintf("unknown %s %q", e.What, e.Name) }
