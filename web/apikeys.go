package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// APIKey is what trackd keeps of a key: never the key itself.
type APIKey struct {
	Name      string    `json:"name"`
	Scope     string    `json:"scope"`
	CreatedAt time.Time `json:"created_at"`
}

// Key scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// allows reports whether a key with scope may do what needs asks.
func allows(scope, needs string) bool {
	rank := map[string]int{ScopeRead: 1, ScopeWrite: 2, ScopeAdmin: 3}
	return rank[scope] >= rank[needs] && rank[needs] > 0
}

// KeyStore keeps API keys in Redis under the SHA-256 of the secret. Keys
// are 256 random bits, so a fast hash is enough: there is nothing to guess
// that a slow password hash would protect.
type KeyStore struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewKeyStore returns a key store using keys under prefix.
func NewKeyStore(rdb redis.UniversalClient, prefix string) *KeyStore {
	return &KeyStore{rdb: rdb, prefix: prefix}
}

func (k *KeyStore) key(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return k.prefix + "{k:" + hex.EncodeToString(sum[:]) + "}"
}

// ErrUnknownKey is returned for a secret no key has.
var ErrUnknownKey = errors.New("unknown API key")

// Lookup returns the key with secret.
func (k *KeyStore) Lookup(ctx context.Context, secret string) (APIKey, error) {
	raw, err := k.rdb.Get(ctx, k.key(secret)).Bytes()
	if errors.Is(err, redis.Nil) {
		return APIKey{}, ErrUnknownKey
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	var key APIKey
	if err := json.Unmarshal(raw, &key); err != nil {
		return APIKey{}, fmt.Errorf("decode API key: %w", err)
	}
	return key, nil
}

// Put stores a key under secret (the bootstrap key, or one just created).
func (k *KeyStore) Put(ctx context.Context, secret string, key APIKey) error {
	if len(secret) < 16 {
		return errors.New("an API key must be at least 16 characters")
	}
	raw, err := json.Marshal(key)
	if err != nil {
		return err
	}
	if err := k.rdb.Set(ctx, k.key(secret), raw, 0).Err(); err != nil {
		return fmt.Errorf("store API key %q: %w", key.Name, err)
	}
	return nil
}

// NewSecret returns a new random API key secret.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "tk_" + base64.RawURLEncoding.EncodeToString(b), nil
}
