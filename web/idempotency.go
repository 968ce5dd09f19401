package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// idempotencyTTL is how long a request's answer is kept for replay.
const idempotencyTTL = 24 * time.Hour

// storedAnswer is a replayable answer.
type storedAnswer struct {
	Status   int    `json:"status"`
	Body     []byte `json:"body"`
	Location string `json:"location,omitempty"`
	// Request is the hash of the request body: a key reused for another
	// request is an error, not a replay.
	Request string `json:"request"`
}

// idempotent replays the first answer to a request carrying the same
// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) from the same
// API key: a client that lost an answer sends the request again and gets the
// same order, the same status. The key is claimed before the request runs,
// so two concurrent requests with one key run once (the second is 409 until
// the first is done). Answers of 5xx are not kept: the request may be sent
// again.
func (s *Server) idempotent(c *fiber.Ctx) error {
	key := strings.TrimSpace(c.Get("Idempotency-Key"))
	if key == "" {
		return c.Next()
	}
	if len(key) > 255 {
		return &Error{Status: fiber.StatusBadRequest, Field: "Idempotency-Key", Message: "Idempotency-Key: longer than 255 characters"}
	}
	secret, _ := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret) + "\x00" + c.Method() + " " + c.Path() + "\x00" + key))
	rkey := s.cfg.KeyPrefix + "{idem:" + hex.EncodeToString(sum[:16]) + "}"
	reqSum := sha256.Sum256(c.Body())
	reqHash := hex.EncodeToString(reqSum[:])
	ctx := c.UserContext()
	rdb := s.deps.Redis

	claimed, err := rdb.SetNX(ctx, rkey, "pending", idempotencyTTL).Result()
	if err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot check the Idempotency-Key now; retry later", RetryAfter: 5, Err: err}
	}
	if !claimed {
		raw, err := rdb.Get(ctx, rkey).Bytes()
		if errors.Is(err, redis.Nil) {
			return &Error{Status: fiber.StatusConflict, Message: "a request with this Idempotency-Key just finished failing; send it again"}
		}
		if err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot check the Idempotency-Key now; retry later", RetryAfter: 5, Err: err}
		}
		if string(raw) == "pending" {
			return &Error{Status: fiber.StatusConflict, RetryAfter: 1, Message: "a request with this Idempotency-Key is in progress; retry in a moment"}
		}
		var a storedAnswer
		if err := json.Unmarshal(raw, &a); err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot read the stored answer now; retry later", Err: err}
		}
		if a.Request != reqHash {
			return &Error{Status: fiber.StatusUnprocessableEntity, Field: "Idempotency-Key",
				Message: "Idempotency-Key: already used for a different request body; use a new key"}
		}
		c.Set("Idempotent-Replayed", "true")
		if a.Location != "" {
			c.Location(a.Location)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(a.Status).Send(a.Body)
	}

	if err := c.Next(); err != nil {
		// Answer the error now, so that its answer can be kept too.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			rdb.Del(ctx, rkey)
			return herr
		}
	}
	status := c.Response().StatusCode()
	if status >= 500 {
		rdb.Del(ctx, rkey)
		return nil
	}
	b, _ := json.Marshal(storedAnswer{Status: status, Body: append([]byte(nil), c.Response().Body()...),
		Location: string(c.Response().Header.Peek(fiber.HeaderLocation)), Request: reqHash})
	if err := rdb.Set(ctx, rkey, b, idempotencyTTL).Err(); err != nil {
		// The answer stands; a retry of the request would run it again,
		// which for orders is safe (they are idempotent on their number).
		s.deps.Log.Warn("keep Idempotency-Key answer", "err", err)
		rdb.Del(ctx, rkey)
	}
	return nil
}
