package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
)

const (
	// listPayloadMax is how much of a payload the list shows; the entry's
	// page shows all of it (bodies are capped at the webhook limit).
	listPayloadMax = 4 << 10
	// sinceLayout is how a datetime-local input writes a time.
	sinceLayout = "2006-01-02T15:04:05"
)

// carrierSlug is what a carrier filter may be: adapters' slugs.
var carrierSlug = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// deadLetterFilter reads the dead-letter pages' filter: carrier (a slug,
// which selects its webhooks and its poll answers) and since (UTC).
func deadLetterFilter(carrier, since string) (sources []string, at time.Time, err error) {
	carrier = strings.TrimSpace(carrier)
	if carrier != "" {
		if !carrierSlug.MatchString(carrier) {
			return nil, at, errors.New("carrier: not a carrier's name")
		}
		sources = []string{carrier, carrier + carriers.PollSuffix}
	}
	if since = strings.TrimSpace(since); since != "" {
		at, err = parseSince(since)
		if err != nil {
			return nil, at, err
		}
	}
	return sources, at, nil
}

func parseSince(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, sinceLayout, "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("since: not a time like 2026-11-25T10:00 (UTC)")
}

// carrierChoices are the filter's carriers: the configured adapters, the
// generic endpoint, and the one asked for (dead letters outlive adapters).
func (s *Server) carrierChoices(current string) []string {
	out := []string{"generic"}
	if s.deps.Adapters != nil {
		for _, a := range s.deps.Adapters.Adapters() {
			out = append(out, a.Slug())
		}
	}
	if current != "" && !slices.Contains(out, current) {
		out = append(out, current)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// payloadView is a raw body as the console shows it: indented when it is
// JSON, invalid UTF-8 replaced, cut to max bytes when max > 0. templ
// escapes it: a payload is whatever a sender chose to send.
func payloadView(body string, maxLen int) (string, bool) {
	var buf bytes.Buffer
	if json.Valid([]byte(body)) && json.Indent(&buf, []byte(body), "", "  ") == nil {
		body = buf.String()
	}
	body = strings.ToValidUTF8(body, "\uFFFD")
	if maxLen <= 0 || len(body) <= maxLen {
		return body, false
	}
	cut := maxLen
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut] + "\n…", true
}

func deadLetterView(e tracking.DeadLetterEntry, maxLen int) templates.DeadLetterView {
	v := templates.DeadLetterView{Ref: e.Ref, Source: e.Source, Reason: e.Reason, IngestID: e.IngestID,
		At: opsTime(e.At), Accepted: opsTime(e.Accepted), Size: len(e.Body)}
	v.Payload, v.Truncated = payloadView(e.Body, maxLen)
	if r := e.Replay; r != nil {
		v.Replayed = fmt.Sprintf("Replayed %s by %s as ingest entry %s", opsTime(r.At), r.By, r.IngestID)
	}
	return v
}

func deadLettersURL(carrier, since string, extra url.Values) string {
	q := url.Values{}
	if carrier != "" {
		q.Set("carrier", carrier)
	}
	if since != "" {
		q.Set("since", since)
	}
	for k, v := range extra {
		q[k] = v
	}
	if len(q) == 0 {
		return "/console/dead-letters"
	}
	return "/console/dead-letters?" + q.Encode()
}

// replayCursorChars is what a replay's continuation cursor is made of:
// one stream id (or "." for done) per shard, comma-separated.
var replayCursorChars = regexp.MustCompile(`^[0-9,.\-]*$`)

func validReplayCursor(s string) bool { return len(s) <= 32<<10 && replayCursorChars.MatchString(s) }

// deadLettersPage serves GET /console/dead-letters: every shard's dead
// letters, newest first, filtered by carrier and time.
func (s *Server) deadLettersPage(c *fiber.Ctx) error {
	const title = "Dead letters"
	ops := s.deps.Console.Ops
	if ops.DeadLetters == nil {
		return s.notSetUp(c, title, "deadletters")
	}
	carrier := strings.Clone(strings.TrimSpace(c.Query("carrier")))
	since := strings.Clone(strings.TrimSpace(c.Query("since")))
	p := templates.DeadLettersProps{Console: s.consoleProps(c, title, "deadletters"), Carrier: carrier}
	sources, at, err := deadLetterFilter(carrier, since)
	if err != nil {
		c.Status(fiber.StatusBadRequest)
		p.Carrier, p.Error = "", err.Error()
		p.Carriers = s.carrierChoices("")
		return s.consolePage(c, templates.DeadLetters(p))
	}
	if !at.IsZero() {
		p.Since = at.UTC().Format(sinceLayout)
	}
	p.Carriers = s.carrierChoices(carrier)
	if c.Query("replayed") != "" {
		n, _ := strconv.Atoi(c.Query("replayed"))
		already, _ := strconv.Atoi(c.Query("already"))
		p.Notice = fmt.Sprintf("Replayed %d dead letters; %d had been replayed before.", n, already)
		if cont := c.Query("cont"); cont != "" && validReplayCursor(cont) {
			p.Continue = strings.Clone(cont)
			p.Notice += " The replay stopped early to keep this request short: continue it below."
		}
	}
	cursor := strings.Clone(c.Query("cursor"))
	list, next, err := ops.DeadLetters.DeadLetters(c.UserContext(), tracking.DeadLetterFilter{Sources: sources, Since: at, Cursor: cursor})
	switch {
	case errors.Is(err, tracking.ErrInvalidCursor):
		c.Status(fiber.StatusBadRequest)
		p.Error = "This page link is not one the console made; start from the first page."
	case err != nil:
		s.deps.Log.Warn("list dead letters", "err", err)
		c.Status(fiber.StatusServiceUnavailable)
		p.Error = "The dead letters cannot be read now; reload in a moment."
	}
	for _, e := range list {
		p.Entries = append(p.Entries, deadLetterView(e, listPayloadMax))
	}
	if next != "" {
		p.Next = deadLettersURL(carrier, p.Since, url.Values{"cursor": {next}})
	}
	return s.consolePage(c, templates.DeadLetters(p))
}

// deadLetterPage serves GET /console/dead-letters/:ref: one dead letter
// with its whole payload.
func (s *Server) deadLetterPage(c *fiber.Ctx) error {
	const title = "Dead letter"
	ops := s.deps.Console.Ops
	if ops.DeadLetters == nil {
		return s.notSetUp(c, title, "deadletters")
	}
	e, err := ops.DeadLetters.DeadLetter(c.UserContext(), strings.Clone(c.Params("ref")))
	if errors.Is(err, tracking.ErrNotFound) {
		return s.opsMessage(c, fiber.StatusNotFound, title, "deadletters", "No such dead letter: it may have been trimmed.")
	}
	if err != nil {
		s.deps.Log.Warn("read dead letter", "err", err)
		return s.opsMessage(c, fiber.StatusServiceUnavailable, title, "deadletters", "The dead letter cannot be read now; reload in a moment.")
	}
	p := templates.DeadLetterProps{Console: s.consoleProps(c, title, "deadletters"), Entry: deadLetterView(e, 0)}
	switch c.Query("done") {
	case "replayed":
		p.Notice = "Replayed: its payload is back on the ingest stream."
	case "already":
		p.Notice = "It had been replayed already: nothing was appended again."
	}
	return s.consolePage(c, templates.DeadLetter(p))
}

func (s *Server) actor(c *fiber.Ctx) string {
	if cc := signedIn(c); cc != nil {
		return cc.User.Email
	}
	return "unknown"
}

// replayDeadLetter serves POST /console/dead-letters/:ref/replay: the
// payload goes back to the ingest stream once, however often this is
// posted (tracking.Store.ReplayDeadLetter).
func (s *Server) replayDeadLetter(c *fiber.Ctx) error {
	const title = "Dead letter"
	ops := s.deps.Console.Ops
	if ops.DeadLetters == nil {
		return s.notSetUp(c, title, "deadletters")
	}
	ref := strings.Clone(c.Params("ref"))
	e, did, err := ops.DeadLetters.ReplayDeadLetter(c.UserContext(), ref, s.actor(c), s.deps.Now())
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		return s.opsMessage(c, fiber.StatusNotFound, title, "deadletters", "No such dead letter: it may have been trimmed.")
	case errors.Is(err, tracking.ErrBacklogFull):
		return s.opsMessage(c, fiber.StatusServiceUnavailable, title, "deadletters", "The processors are too far behind to take more now; replay later.")
	case err != nil:
		s.deps.Log.Warn("replay dead letter", "ref", ref, "err", err)
		return s.opsMessage(c, fiber.StatusServiceUnavailable, title, "deadletters", "The dead letter cannot be replayed now; try again in a moment (it will not be replayed twice).")
	}
	done := "already"
	if did {
		done = "replayed"
		s.audit(c, "dead letter replayed", e.Ref, fmt.Sprintf("1 replayed: source %s, ingest id %s, as ingest entry %s", e.Source, e.IngestID, e.Replay.IngestID))
	}
	return c.Redirect("/console/dead-letters/"+url.PathEscape(e.Ref)+"?done="+done, fiber.StatusSeeOther)
}

// replayDeadLetters serves POST /console/dead-letters/replay: every dead
// letter of a carrier since a time, each once.
func (s *Server) replayDeadLetters(c *fiber.Ctx) error {
	const title = "Dead letters"
	ops := s.deps.Console.Ops
	if ops.DeadLetters == nil {
		return s.notSetUp(c, title, "deadletters")
	}
	carrier := strings.Clone(strings.TrimSpace(c.FormValue("carrier")))
	since := strings.Clone(strings.TrimSpace(c.FormValue("since")))
	cursor := strings.Clone(c.FormValue("cursor"))
	sources, at, err := deadLetterFilter(carrier, since)
	switch {
	case err != nil:
		return s.opsMessage(c, fiber.StatusBadRequest, title, "deadletters", err.Error())
	case carrier == "" || since == "":
		return s.opsMessage(c, fiber.StatusBadRequest, title, "deadletters", "Choose a carrier and a time to replay from.")
	case !validReplayCursor(cursor):
		return s.opsMessage(c, fiber.StatusBadRequest, title, "deadletters", "This form is out of date; reload the page.")
	}
	sum, err := ops.DeadLetters.ReplayDeadLetters(c.UserContext(), tracking.ReplayFilter{Sources: sources, Since: at, Cursor: cursor},
		s.actor(c), s.deps.Now())
	if sum.Replayed > 0 {
		s.audit(c, "dead letter replayed", carrier, fmt.Sprintf("%d replayed (%d had been before): %s since %s",
			sum.Replayed, sum.Already, carrier, at.UTC().Format(time.RFC3339)))
	}
	switch {
	case errors.Is(err, tracking.ErrInvalidCursor):
		return s.opsMessage(c, fiber.StatusBadRequest, title, "deadletters", "This form is out of date; reload the page.")
	case errors.Is(err, tracking.ErrBacklogFull):
		return s.opsMessage(c, fiber.StatusServiceUnavailable, title, "deadletters",
			fmt.Sprintf("Replayed %d, then stopped: the processors are too far behind to take more now. Replay again later: what was replayed is skipped.", sum.Replayed))
	case err != nil:
		s.deps.Log.Warn("replay dead letters", "carrier", carrier, "err", err)
		return s.opsMessage(c, fiber.StatusServiceUnavailable, title, "deadletters",
			fmt.Sprintf("Replayed %d, then failed. Replay again in a moment: what was replayed is skipped.", sum.Replayed))
	}
	extra := url.Values{"replayed": {strconv.Itoa(sum.Replayed)}, "already": {strconv.Itoa(sum.Already)}}
	if sum.Cursor != "" {
		extra.Set("cont", sum.Cursor)
	}
	return c.Redirect(deadLettersURL(carrier, at.UTC().Format(sinceLayout), extra), fiber.StatusSeeOther)
}
