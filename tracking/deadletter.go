package tracking

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Dead letters, read and replayed.
//
// A dead letter sits in the shard DeadLetterKey(ShardOf(its ingest id)),
// so every dead letter of one accepted message lands in one shard, even
// when the processor wrote it twice (it failed to acknowledge after
// dead-lettering). A replay appends its raw body to IngestKey of the same
// shard, as the source it came from, and marks it replayed in
//
//	P dlreplayed:{<shard>}:<ingest id>   string   "<new ingest id>|<unix ms>|<who>"
//
// All three keys share the shard's hash tag, so one script checks the mark,
// appends and marks at once: a message is replayed once however often, or
// however concurrently, it is asked for, and there is no moment at which it
// is appended but not marked (or marked but not appended) for a crash to
// leave behind. An answer lost on the way back is safe to ask again: the
// mark says it was done. The mark is keyed by the ingest id, so the two
// dead letters of one message (above) are replayed once between them.
//
// A replay that fails again is dead-lettered again under its new ingest id:
// a new dead letter, replayable once the adapter is fixed properly.

// replayMarkTTL is how long a replay's mark is kept: longer than any
// shipment is (RetainIdle defaults to 180 days), and than any dead letter
// of a working system is worth replaying. A dead letter replayed again after
// that is applied as a duplicate: its events are already stored.
const replayMarkTTL = 400 * 24 * time.Hour

// Page sizes of DeadLetters, and bounds of one ReplayDeadLetters.
const (
	DeadLettersDefaultLimit = 50
	DeadLettersMaxLimit     = 200
	// deadLetterScan bounds the entries one page or one replay run reads
	// per shard: a filter matching little must not read a whole stream
	// (bodies included) in one request. The caller continues with the
	// cursor it gets.
	deadLetterScan = 2000
	// ReplayMax is how many dead letters one ReplayDeadLetters replays at
	// most; it returns a cursor to continue from.
	ReplayMax   = 1000
	replayChunk = 100
)

// ErrInvalidCursor is returned for a cursor the store did not make.
var ErrInvalidCursor = errors.New("invalid cursor")

// DeadLetterEntry is a dead letter as it is listed.
type DeadLetterEntry struct {
	DeadLetter
	// Ref names the entry: its shard and stream id ("2-1732550000000-0").
	Ref string
	// At is when it was dead-lettered; Accepted when its message was.
	At, Accepted time.Time
	// Replay says when and by whom it was replayed; nil if it was not.
	Replay *Replay
}

// Replay is the record of a dead letter replayed.
type Replay struct {
	// IngestID is the id of the entry the replay appended.
	IngestID string
	At       time.Time
	By       string
}

// DeadLetterFilter selects dead letters; zero fields select all.
type DeadLetterFilter struct {
	// Sources are the ingest sources to list ("ups", "ups/poll").
	Sources []string
	// Since is the earliest time of dead-lettering listed.
	Since time.Time
	// Limit is the page size: DeadLettersDefaultLimit when 0, at most
	// DeadLettersMaxLimit.
	Limit int
	// Cursor is a cursor DeadLetters returned: the page after it.
	Cursor string
}

// pos is a place in the merged order of all shards: newest first by
// stream id, then by shard (higher first).
type pos struct {
	ms, seq uint64
	shard   int
}

func parseStreamID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

func (p pos) id() string { return strconv.FormatUint(p.ms, 10) + "-" + strconv.FormatUint(p.seq, 10) }

// cmpPos orders positions newest first.
func cmpPos(a, b pos) int {
	if c := cmp.Compare(b.ms, a.ms); c != 0 {
		return c
	}
	if c := cmp.Compare(b.seq, a.seq); c != 0 {
		return c
	}
	return cmp.Compare(b.shard, a.shard)
}

func (p pos) ref() string { return strconv.Itoa(p.shard) + "-" + p.id() }

func (s *Store) parseRef(ref string) (pos, bool) {
	sh, id, ok := strings.Cut(ref, "-")
	if !ok {
		return pos{}, false
	}
	shard, err := strconv.Atoi(sh)
	if err != nil || shard < 0 || shard >= s.cfg.Shards || strconv.Itoa(shard) != sh {
		return pos{}, false
	}
	ms, seq, ok := parseStreamID(id)
	return pos{ms, seq, shard}, ok
}

// replayKey names the mark of a replayed dead letter.
func (s *Store) replayKey(shard int, d DeadLetter, streamID string) string {
	id := d.IngestID
	if id == "" {
		id = "dl:" + streamID // written before dead letters had ingest ids
	}
	return s.cfg.Prefix + "dlreplayed:{" + strconv.Itoa(shard) + "}:" + id
}

func deadLetterFrom(m redis.XMessage, shard int) (DeadLetterEntry, pos) {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	ms, seq, _ := parseStreamID(m.ID)
	p := pos{ms, seq, shard}
	e := DeadLetterEntry{
		DeadLetter: DeadLetter{IngestID: str("ingest_id"), Source: str("src"), Body: str("body"),
			Reason: str("reason"), AcceptedAt: str("at")},
		Ref: p.ref(),
		At:  time.UnixMilli(int64(ms)),
	}
	if at, err := strconv.ParseInt(e.AcceptedAt, 10, 64); err == nil {
		e.Accepted = time.UnixMilli(at)
	}
	return e, p
}

func matches(sources []string, src string) bool {
	return len(sources) == 0 || slices.Contains(sources, src)
}

// DeadLetters lists dead letters of every shard, newest first, with their
// replays, and returns the cursor of the next page ("" after the last). A
// page may hold fewer than Limit entries (even none) with a cursor when the
// filter matched little of what one request reads.
func (s *Store) DeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetterEntry, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DeadLettersDefaultLimit
	}
	limit = min(limit, DeadLettersMaxLimit)
	var after *pos
	if f.Cursor != "" {
		p, ok := s.parseRef(f.Cursor)
		if !ok {
			return nil, "", ErrInvalidCursor
		}
		after = &p
	}
	start := "-"
	if !f.Since.IsZero() {
		start = strconv.FormatInt(max(f.Since.UnixMilli(), 0), 10)
	}
	chunk := int64(limit)
	if len(f.Sources) > 0 {
		chunk = max(chunk, 200)
	}

	type found struct {
		e DeadLetterEntry
		p pos
	}
	var candidates []found
	var bound *pos // the newest place a shard stopped reading before its end
	for shard := range s.cfg.Shards {
		key := s.DeadLetterKey(shard)
		end := "+"
		if after != nil {
			// After (ms-seq, shard) come: smaller ids, and the same id in
			// lower shards.
			if shard < after.shard {
				end = after.id()
			} else {
				end = "(" + after.id()
			}
		}
		n, scanned, exhausted := 0, 0, false
		var last pos
	read:
		for {
			msgs, err := s.rdb.XRevRangeN(ctx, key, end, start, chunk).Result()
			if err != nil {
				return nil, "", fmt.Errorf("read dead letters %s: %w", key, err)
			}
			for _, m := range msgs {
				e, p := deadLetterFrom(m, shard)
				scanned++
				last = p
				if matches(f.Sources, e.Source) {
					candidates = append(candidates, found{e, p})
					n++
					if n == limit {
						break read
					}
				}
			}
			if int64(len(msgs)) < chunk {
				exhausted = true
				break
			}
			if scanned >= deadLetterScan {
				break
			}
			end = "(" + msgs[len(msgs)-1].ID
		}
		if !exhausted && (bound == nil || cmpPos(last, *bound) < 0) {
			bound = &last
		}
	}
	slices.SortFunc(candidates, func(a, b found) int { return cmpPos(a.p, b.p) })
	var out []DeadLetterEntry
	next := ""
	for _, c := range candidates {
		if len(out) == limit {
			next = out[len(out)-1].Ref
			break
		}
		if bound != nil && cmpPos(c.p, *bound) > 0 {
			// Older than where a shard stopped reading: that shard may
			// hold entries before it, not read yet.
			next = bound.ref()
			break
		}
		out = append(out, c.e)
	}
	if next == "" && bound != nil {
		if len(out) == limit {
			next = out[len(out)-1].Ref
		} else {
			next = bound.ref()
		}
	}
	if err := s.attachReplays(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// DeadLetter returns the dead letter ref names, or ErrNotFound.
func (s *Store) DeadLetter(ctx context.Context, ref string) (DeadLetterEntry, error) {
	p, ok := s.parseRef(ref)
	if !ok {
		return DeadLetterEntry{}, ErrNotFound
	}
	msgs, err := s.rdb.XRange(ctx, s.DeadLetterKey(p.shard), p.id(), p.id()).Result()
	if err != nil {
		return DeadLetterEntry{}, fmt.Errorf("read dead letter %s: %w", ref, err)
	}
	if len(msgs) == 0 {
		return DeadLetterEntry{}, ErrNotFound
	}
	e, _ := deadLetterFrom(msgs[0], p.shard)
	out := []DeadLetterEntry{e}
	if err := s.attachReplays(ctx, out); err != nil {
		return DeadLetterEntry{}, err
	}
	return out[0], nil
}

func (s *Store) attachReplays(ctx context.Context, es []DeadLetterEntry) error {
	if len(es) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(es))
	for i, e := range es {
		p, _ := s.parseRef(e.Ref)
		cmds[i] = pipe.Get(ctx, s.replayKey(p.shard, e.DeadLetter, p.id()))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read replays of %d dead letters: %w", len(es), err)
	}
	for i, c := range cmds {
		if v, err := c.Result(); err == nil {
			es[i].Replay = parseReplay(v)
		}
	}
	return nil
}

func parseReplay(v string) *Replay {
	id, rest, _ := strings.Cut(v, "|")
	ms, by, _ := strings.Cut(rest, "|")
	at, _ := strconv.ParseInt(ms, 10, 64)
	return &Replay{IngestID: id, At: time.UnixMilli(at), By: by}
}

// replayLua appends a dead letter's message back to the ingest stream once.
// KEYS: the dead-letter stream, the ingest stream, the replay's mark (one
// hash tag). ARGV: the dead letter's stream id, its ingest id, now (unix
// ms), who, the mark's time to live (seconds), the dead letter's ref.
// Returns {1, mark} when it replayed now, {0, mark} when it had been, and
// {-1, ""} when the dead letter is gone (trimmed).
const replayLua = `
local mark = redis.call('GET', KEYS[3])
if mark then return {0, mark} end
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return {-1, ''} end
local f, v = e[1][2], {}
for i = 1, #f, 2 do v[f[i]] = f[i + 1] end
if (v['ingest_id'] or '') ~= ARGV[2] then return {-1, ''} end
local at = v['at']
if not tonumber(at) then at = ARGV[3] end
local id = redis.call('XADD', KEYS[2], '*', 'src', v['src'] or '', 'body', v['body'] or '', 'at', at,
  'replay_of', ARGV[6])
mark = id .. '|' .. ARGV[3] .. '|' .. ARGV[4]
redis.call('SET', KEYS[3], mark, 'EX', ARGV[5])
return {1, mark}`

var replayScript = redis.NewScript(replayLua)

func (s *Store) replayArgs(e DeadLetterEntry, by string, now time.Time) ([]string, []any) {
	p, _ := s.parseRef(e.Ref)
	keys := []string{s.DeadLetterKey(p.shard), s.IngestKey(p.shard), s.replayKey(p.shard, e.DeadLetter, p.id())}
	return keys, []any{p.id(), e.IngestID, now.UnixMilli(), by, int64(replayMarkTTL / time.Second), e.Ref}
}

func replayResult(v any) (int64, *Replay) {
	r, _ := v.([]any)
	if len(r) != 2 {
		return -1, nil
	}
	code, _ := r[0].(int64)
	mark, _ := r[1].(string)
	if code < 0 {
		return code, nil
	}
	return code, parseReplay(mark)
}

// ReplayDeadLetter appends the message of dead letter ref back to the
// ingest stream, as the source it came from, with the time it was first
// accepted, unless it was replayed before. It returns the entry with its
// Replay, and whether this call replayed it. The message goes through the
// processors as any other: fix its adapter first.
func (s *Store) ReplayDeadLetter(ctx context.Context, ref, by string, now time.Time) (DeadLetterEntry, bool, error) {
	e, err := s.DeadLetter(ctx, ref)
	if err != nil || e.Replay != nil {
		return e, false, err
	}
	if s.backlogFull.Load() {
		return e, false, ErrBacklogFull
	}
	keys, args := s.replayArgs(e, by, now)
	v, err := replayScript.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return e, false, fmt.Errorf("replay dead letter %s: %w", ref, err)
	}
	code, r := replayResult(v)
	if code < 0 {
		return e, false, ErrNotFound
	}
	e.Replay = r
	return e, code == 1, nil
}

// ReplayFilter selects the dead letters ReplayDeadLetters replays.
type ReplayFilter struct {
	// Sources are the ingest sources replayed; at least one.
	Sources []string
	// Since is the earliest time of dead-lettering replayed.
	Since time.Time
	// Cursor is a ReplaySummary's Cursor: go on where that run stopped.
	Cursor string
}

// ReplaySummary is what ReplayDeadLetters did.
type ReplaySummary struct {
	// Replayed were appended now; Already had been replayed before.
	Replayed, Already int
	// Cursor is where the run stopped, when it stopped before the end
	// (ReplayMax replayed, or as much read as one run reads); "" when
	// every matching dead letter was seen.
	Cursor string
}

// ReplayDeadLetters replays, as ReplayDeadLetter does, every dead letter of
// the filter's sources dead-lettered since Since that was not replayed yet,
// oldest first in each shard. It stops after about ReplayMax; continue
// with the Cursor it returns.
func (s *Store) ReplayDeadLetters(ctx context.Context, f ReplayFilter, by string, now time.Time) (ReplaySummary, error) {
	var sum ReplaySummary
	if len(f.Sources) == 0 {
		return sum, errors.New("replay dead letters: no source given")
	}
	// The cursor holds each shard's last id read ("" none yet, "." done).
	from := make([]string, s.cfg.Shards)
	if f.Cursor != "" {
		parts := strings.Split(f.Cursor, ",")
		if len(parts) != s.cfg.Shards {
			return sum, ErrInvalidCursor
		}
		for i, p := range parts {
			if _, _, ok := parseStreamID(p); !ok && p != "" && p != "." {
				return sum, ErrInvalidCursor
			}
			from[i] = p
		}
	}
	since := strconv.FormatInt(max(f.Since.UnixMilli(), 0), 10)
	stopped, scanned := false, 0
	for shard := range s.cfg.Shards {
		if stopped || from[shard] == "." {
			continue
		}
		key := s.DeadLetterKey(shard)
		for {
			if s.backlogFull.Load() {
				return sum, ErrBacklogFull
			}
			start := since
			if from[shard] != "" {
				start = "(" + from[shard]
			}
			msgs, err := s.rdb.XRangeN(ctx, key, start, "+", replayChunk).Result()
			if err != nil {
				return sum, fmt.Errorf("read dead letters %s: %w", key, err)
			}
			pipe := s.rdb.Pipeline()
			var cmds []*redis.Cmd
			for _, m := range msgs {
				e, _ := deadLetterFrom(m, shard)
				if !matches(f.Sources, e.Source) {
					continue
				}
				keys, args := s.replayArgs(e, by, now)
				cmds = append(cmds, replayScript.Eval(ctx, pipe, keys, args...))
			}
			if len(cmds) > 0 {
				if _, err := pipe.Exec(ctx); err != nil {
					return sum, fmt.Errorf("replay dead letters of %s: %w", key, err)
				}
			}
			for _, c := range cmds {
				switch code, _ := replayResult(c.Val()); code {
				case 1:
					sum.Replayed++
				case 0:
					sum.Already++
				}
			}
			scanned += len(msgs)
			if len(msgs) < replayChunk {
				from[shard] = "."
				break
			}
			from[shard] = msgs[len(msgs)-1].ID
			if sum.Replayed >= ReplayMax || scanned >= deadLetterScan {
				stopped = true
				break
			}
		}
	}
	if stopped {
		sum.Cursor = strings.Join(from, ",")
	}
	return sum, nil
}
