package salesforce

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
)

// The results an Entry records.
const (
	ResultWritten  = "written"  // Salesforce saved the record
	ResultRetrying = "retrying" // it failed; it is queued for another try
	ResultFailed   = "failed"   // it failed for good (permanent error, or out of tries)
	ResultSkipped  = "skipped"  // no Shipment in Salesforce has the tracking number
)

// Entry is one attempt at one Shipment record.
type Entry struct {
	// ID is the log's own id (a Redis stream id), the paging cursor.
	ID             string    `json:"id"`
	At             time.Time `json:"at"`
	TrackingNumber string    `json:"tracking_number"`
	ShipmentID     string    `json:"shipment_id"`
	ChangeID       string    `json:"change_id,omitempty"`
	// SalesforceID is the Shipment record's id; empty when none was found.
	SalesforceID string `json:"salesforce_id,omitempty"`
	// Status is the trackd status the record was to carry.
	Status  tracking.Status `json:"status,omitempty"`
	Result  string          `json:"result"`
	Error   string          `json:"error,omitempty"`
	Attempt int             `json:"attempt"`
}

// Log is the connector's delivery log: a Redis stream of attempts, capped
// at maxLen entries and trimmed of entries older than retention.
//
//	<prefix>sf:log   stream: one entry per attempt at a record
type Log struct {
	rdb       redis.UniversalClient
	key       string
	maxLen    int64
	retention time.Duration
}

// NewLog returns the delivery log under prefix.
func NewLog(rdb redis.UniversalClient, prefix string, maxLen int64, retention time.Duration) *Log {
	return &Log{rdb: rdb, key: prefix + "sf:log", maxLen: maxLen, retention: retention}
}

// Record appends entries. Entry ids are the stream's, so times in the log
// are the Redis server's order; At is the connector's clock.
func (l *Log) Record(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	pipe := l.rdb.Pipeline()
	for _, e := range entries {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: l.key, MaxLen: l.maxLen,
			Values: []any{
				"at", e.At.UTC().Format(time.RFC3339Nano), "tracking_number", e.TrackingNumber,
				"shipment_id", e.ShipmentID, "change_id", e.ChangeID, "salesforce_id", e.SalesforceID,
				"status", string(e.Status), "result", e.Result, "error", e.Error, "attempt", e.Attempt,
			},
		})
	}
	if l.retention > 0 {
		// Stream ids start with the server's milliseconds: MINID drops
		// what is older than the retention (whole nodes at a time, "~").
		minID := time.Now().Add(-l.retention).UnixMilli()
		pipe.XTrimMinIDApprox(ctx, l.key, strconv.FormatInt(minID, 10), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record %d salesforce attempts: %w", len(entries), err)
	}
	return nil
}

// ErrBadCursor is List's answer to a cursor it did not give.
var ErrBadCursor = errors.New("not a cursor of the salesforce delivery log")

var cursorRE = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ListOptions select entries, newest first.
type ListOptions struct {
	// TrackingNumber, when set, keeps only its entries.
	TrackingNumber string
	// Since (inclusive) and Until (exclusive) bound the entries' log
	// times, the Redis server's (zero: unbounded).
	Since, Until time.Time
	// Cursor continues a listing: the NextCursor of the previous page.
	Cursor string
	// Limit is the page size (default 50, at most 500).
	Limit int
}

// scanLimit bounds how many entries one List call reads when filtering by
// tracking number, so a rare number cannot make one call read the whole log.
const scanLimit = 20_000

// List returns a page of entries, newest first, and the cursor of the next
// page ("" at the end).
func (l *Log) List(ctx context.Context, o ListOptions) ([]Entry, string, error) {
	limit := o.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	hi := "+"
	if o.Cursor != "" {
		if !cursorRE.MatchString(o.Cursor) {
			return nil, "", ErrBadCursor
		}
		hi = "(" + o.Cursor
	} else if !o.Until.IsZero() {
		hi = strconv.FormatInt(o.Until.UnixMilli()-1, 10)
	}
	lo := "-"
	if !o.Since.IsZero() {
		lo = strconv.FormatInt(o.Since.UnixMilli(), 10)
	}
	want := tracking.NormalizeTrackingNumber(o.TrackingNumber)
	var out []Entry
	scanned := 0
	for {
		page := int64(limit + 1)
		if want != "" {
			page = 500
		}
		msgs, err := l.rdb.XRevRangeN(ctx, l.key, hi, lo, page).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, "", fmt.Errorf("list salesforce attempts: %w", err)
		}
		for _, m := range msgs {
			scanned++
			e := entryFrom(m)
			if want == "" || e.TrackingNumber == want {
				if len(out) == limit {
					return out, out[len(out)-1].ID, nil
				}
				out = append(out, e)
			}
			hi = "(" + m.ID
		}
		if int64(len(msgs)) < page {
			return out, "", nil
		}
		if scanned >= scanLimit {
			// The caller pages on from here.
			return out, strings.TrimPrefix(hi, "("), nil
		}
	}
}

func entryFrom(m redis.XMessage) Entry {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := time.Parse(time.RFC3339Nano, s("at"))
	attempt, _ := strconv.Atoi(s("attempt"))
	return Entry{
		ID: m.ID, At: at, TrackingNumber: s("tracking_number"), ShipmentID: s("shipment_id"),
		ChangeID: s("change_id"), SalesforceID: s("salesforce_id"), Status: tracking.Status(s("status")),
		Result: s("result"), Error: s("error"), Attempt: attempt,
	}
}
