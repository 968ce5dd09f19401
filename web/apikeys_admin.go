package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The key store's index, for the console: which keys exist, so that they
// can be listed and revoked without ever keeping a secret.
//
// A key's id is the first 16 hex digits of the SHA-256 of its secret (64
// bits: unique among any number of keys a retailer will make, and nothing
// to guess a secret from). The index is one hash, <prefix>apikeys, id →
// JSON (APIKeyInfo with the full hash); a key's last use is a string beside
// the key, <prefix>{k:<sha256>}:used, unix milliseconds, in the key's own
// hash slot.

// APIKeyInfo is what the console shows of a key: never the secret.
type APIKeyInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scope     string    `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsed is when the key last authorized a request, to the minute
	// (TouchInterval); zero when never.
	LastUsed time.Time `json:"-"`
	// Hash is the SHA-256 of the secret, hex: where the key is stored.
	Hash string `json:"hash"`
}

// TouchInterval is how often a key's last use is written at most: the
// console shows it to the minute, and a key used a thousand times a second
// costs one write a minute.
const TouchInterval = time.Minute

// ErrBadScope is a scope that is not read, write or admin.
var ErrBadScope = errors.New("scope must be read, write or admin")

func (k *KeyStore) indexKey() string { return k.prefix + "apikeys" }

// keyHash is the hex SHA-256 of secret, as the store's keys name it.
func keyHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (k *KeyStore) keyOf(hash string) string  { return k.prefix + "{k:" + hash + "}" }
func (k *KeyStore) usedOf(hash string) string { return k.keyOf(hash) + ":used" }

// Register stores a key under secret, like Put, and lists it in the index
// so that the console shows it and can revoke it. It returns the key's id.
// The index entry is written first: a failure between the two writes
// leaves a listed key that does not work, never a working one that cannot
// be revoked.
func (k *KeyStore) Register(ctx context.Context, secret string, key APIKey) (string, error) {
	if !validScope(key.Scope) {
		return "", ErrBadScope
	}
	if len(secret) < 16 {
		return "", errors.New("an API key must be at least 16 characters")
	}
	hash := keyHash(secret)
	info := APIKeyInfo{ID: hash[:16], Name: key.Name, Scope: key.Scope, CreatedAt: key.CreatedAt.UTC(), Hash: hash}
	raw, err := json.Marshal(info)
	if err != nil {
		return "", err
	}
	if err := k.rdb.HSet(ctx, k.indexKey(), info.ID, raw).Err(); err != nil {
		return "", fmt.Errorf("index API key %q: %w", key.Name, err)
	}
	if err := k.Put(ctx, secret, key); err != nil {
		return "", err
	}
	return info.ID, nil
}

// Create makes a key with a new secret, and returns the secret: the only
// time anyone sees it.
func (k *KeyStore) Create(ctx context.Context, name, scope string, now time.Time) (string, APIKeyInfo, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", APIKeyInfo{}, errors.New("an API key needs a name")
	}
	secret, err := NewSecret()
	if err != nil {
		return "", APIKeyInfo{}, err
	}
	key := APIKey{Name: name, Scope: scope, CreatedAt: now.UTC()}
	id, err := k.Register(ctx, secret, key)
	if err != nil {
		return "", APIKeyInfo{}, err
	}
	return secret, APIKeyInfo{ID: id, Name: key.Name, Scope: key.Scope, CreatedAt: key.CreatedAt, Hash: keyHash(secret)}, nil
}

func validScope(s string) bool { return s == ScopeRead || s == ScopeWrite || s == ScopeAdmin }

// List returns the indexed keys, newest first, with their last use.
func (k *KeyStore) List(ctx context.Context) ([]APIKeyInfo, error) {
	all, err := k.rdb.HGetAll(ctx, k.indexKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out := make([]APIKeyInfo, 0, len(all))
	for id, raw := range all {
		var info APIKeyInfo
		if err := json.Unmarshal([]byte(raw), &info); err != nil || len(info.Hash) != 64 {
			return nil, fmt.Errorf("decode API key %s: bad index entry", id)
		}
		info.ID = id
		out = append(out, info)
	}
	if len(out) > 0 {
		// One round trip for all: a pipeline, since the keys live in many
		// cluster slots (MGET would be refused there).
		pipe := k.rdb.Pipeline()
		gets := make([]*redis.StringCmd, len(out))
		for i, info := range out {
			gets[i] = pipe.Get(ctx, k.usedOf(info.Hash))
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read API keys' last use: %w", err)
		}
		for i, g := range gets {
			if ms, err := strconv.ParseInt(g.Val(), 10, 64); err == nil {
				out[i].LastUsed = time.UnixMilli(ms).UTC()
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Revoke deletes the key with id, and returns what it was; an id not in
// the index is ErrUnknownKey. The key goes first, then its index entry: a
// failure between leaves a listed key that no longer works, and revoking
// it again finishes.
func (k *KeyStore) Revoke(ctx context.Context, id string) (APIKeyInfo, error) {
	raw, err := k.rdb.HGet(ctx, k.indexKey(), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return APIKeyInfo{}, ErrUnknownKey
	}
	if err != nil {
		return APIKeyInfo{}, fmt.Errorf("read API key %s: %w", id, err)
	}
	var info APIKeyInfo
	if err := json.Unmarshal(raw, &info); err != nil || len(info.Hash) != 64 {
		return APIKeyInfo{}, fmt.Errorf("decode API key %s: bad index entry", id)
	}
	info.ID = id
	// Both keys share the hash tag {k:<hash>}, so one DEL works on a
	// cluster too.
	if err := k.rdb.Del(ctx, k.keyOf(info.Hash), k.usedOf(info.Hash)).Err(); err != nil {
		return APIKeyInfo{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	if err := k.rdb.HDel(ctx, k.indexKey(), id).Err(); err != nil {
		return APIKeyInfo{}, fmt.Errorf("unlist API key %s: %w", id, err)
	}
	return info, nil
}

// touchLua records a key's use at ARGV[1] (unix ms) in KEYS[2] when the
// key KEYS[1] still exists (a request racing a revocation does not bring
// back a trace of the key) and the last record is at least ARGV[2] ms
// older. Both keys share a hash tag. Returns 1 when it wrote.
const touchLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local prev = tonumber(redis.call('GET', KEYS[2]) or '')
if prev and tonumber(ARGV[1]) - prev < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
return 1
`

var touchScript = redis.NewScript(touchLua)

// Touch records that the key with secret was used at at, at most once per
// TouchInterval: one round trip (a script that mostly only reads), meant
// to be called on every authorized API request.
func (k *KeyStore) Touch(ctx context.Context, secret string, at time.Time) error {
	hash := keyHash(secret)
	err := touchScript.Run(ctx, k.rdb, []string{k.keyOf(hash), k.usedOf(hash)},
		at.UnixMilli(), TouchInterval.Milliseconds()).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("record API key use: %w", err)
	}
	return nil
}

// keyToucher records a key's use (KeyStore does): requireKey calls it
// when its Keys have it, so the console shows when each key was last used.
type keyToucher interface {
	Touch(ctx context.Context, secret string, at time.Time) error
}
