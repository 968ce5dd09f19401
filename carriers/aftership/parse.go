package aftership

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxCheckpoints bounds the checkpoints of one tracking, so that a signed
// but broken payload cannot make one message cost unbounded work. Real
// trackings have tens.
const MaxCheckpoints = 1000

// apiTracking is AfterShip's tracking object: data.tracking of the API,
// data.trackings[] of its list, msg of a webhook. Only what trackd uses is
// decoded; the rest of the object is ignored, whatever its type.
type apiTracking struct {
	Slug           text `json:"slug"`
	TrackingNumber text `json:"tracking_number"`
	Tag            text `json:"tag"`
	Subtag         text `json:"subtag"`
	SubtagMessage  text `json:"subtag_message"`
	UpdatedAt      text `json:"updated_at"`
	LastUpdatedAt  text `json:"last_updated_at"`
	// Checkpoints are kept raw: each is decoded on its own and kept,
	// compacted, as its event's Raw.
	Checkpoints []json.RawMessage `json:"checkpoints"`
	// The estimated delivery fields are decoded leniently (see eta): they
	// are auxiliary, and their shape has changed between API versions.
	ExpectedDelivery json.RawMessage `json:"expected_delivery"`
	CourierEDD       json.RawMessage `json:"courier_estimated_delivery_date"`
	LatestEDD        json.RawMessage `json:"latest_estimated_delivery"`
	AfterShipEDD     json.RawMessage `json:"aftership_estimated_delivery_date"`
}

// apiCheckpoint is one of a tracking's checkpoints.
type apiCheckpoint struct {
	CheckpointTime text `json:"checkpoint_time"`
	Tag            text `json:"tag"`
	Subtag         text `json:"subtag"`
	SubtagMessage  text `json:"subtag_message"`
	Message        text `json:"message"`
	City           text `json:"city"`
	State          text `json:"state"`
	Zip            text `json:"zip"`
	CountryISO3    text `json:"country_iso3"`
	// CountryRegion is country_iso3's name in the dated API versions.
	CountryRegion text `json:"country_region"`
}

// parseWebhook parses AfterShip's webhook body, the envelope
// {"event", "event_id", "is_tracking_first_tag", "msg", "ts"}
// (https://www.aftership.com/docs/tracking/webhook/webhook-specifications).
// Every tracking event (tracking_update, edd_revise, tracking_pending_time)
// carries the whole tracking in msg, so the event's name does not matter:
// the update says what the tracking says now. The result is one update.
func parseWebhook(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("webhook body is empty")
	}
	var env struct {
		Event text         `json:"event"`
		Msg   *apiTracking `json:"msg"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("webhook body: %w", jsonError(err))
	}
	switch {
	case strings.TrimSpace(string(env.Event)) == "":
		return nil, errors.New(`webhook body has no "event": not an AfterShip tracking webhook`)
	case env.Msg == nil:
		return nil, fmt.Errorf(`webhook %q has no "msg"`, env.Event)
	}
	u, err := parseTracking(env.Msg, "msg")
	if err != nil {
		return nil, fmt.Errorf("webhook %q: %w", env.Event, err)
	}
	return []tracking.Update{u}, nil
}

// parsePoll parses an answer of the Tracking API: {"meta": {"code"},
// "data": {"tracking": {...}}} for one tracking, or {"data": {"trackings":
// [...]}} from the list, one update per tracking.
func parsePoll(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("poll answer is empty")
	}
	var ans struct {
		Meta apiMeta `json:"meta"`
		Data *struct {
			Tracking  *apiTracking   `json:"tracking"`
			Trackings *[]apiTracking `json:"trackings"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("poll answer: %w", jsonError(err))
	}
	if code, ok := ans.Meta.failed(); ok {
		return nil, fmt.Errorf("poll answer is an error: meta.code %s %s", code, ans.Meta.message())
	}
	switch {
	case ans.Data == nil:
		return nil, errors.New(`poll answer has no "data"`)
	case ans.Data.Tracking != nil:
		u, err := parseTracking(ans.Data.Tracking, "data.tracking")
		if err != nil {
			return nil, err
		}
		return []tracking.Update{u}, nil
	case ans.Data.Trackings != nil:
		list := *ans.Data.Trackings
		us := make([]tracking.Update, 0, len(list))
		for i := range list {
			u, err := parseTracking(&list[i], fmt.Sprintf("data.trackings[%d]", i))
			if err != nil {
				return nil, err
			}
			us = append(us, u)
		}
		return us, nil
	}
	return nil, errors.New(`poll answer has neither "data.tracking" nor "data.trackings"`)
}

// apiMeta is the meta object of every API answer.
type apiMeta struct {
	Code    text `json:"code"`
	Type    text `json:"type"`
	Message text `json:"message"`
}

// failed reports whether meta says the request failed: a code outside
// 2xx. A missing code is no failure (the body's status is the HTTP one).
func (m apiMeta) failed() (string, bool) {
	code := strings.TrimSpace(string(m.Code))
	if code == "" {
		return "", false
	}
	n, err := strconv.Atoi(code)
	return code, err != nil || n < 200 || n > 299
}

// message is meta's message, or its type when it has none.
func (m apiMeta) message() string {
	if s := strings.TrimSpace(string(m.Message)); s != "" {
		return s
	}
	return strings.TrimSpace(string(m.Type))
}

// parseTracking turns one tracking into an update; field names it in
// errors ("msg", "data.trackings[2]").
func parseTracking(t *apiTracking, field string) (tracking.Update, error) {
	u := tracking.Update{
		Carrier:           carrierOf(string(t.Slug)),
		TrackingNumber:    tracking.NormalizeTrackingNumber(string(t.TrackingNumber)),
		EstimatedDelivery: eta(t),
	}
	switch {
	case u.Carrier == "":
		return u, fmt.Errorf("%s.slug: the courier is missing", field)
	case u.TrackingNumber == "":
		return u, fmt.Errorf("%s.tracking_number is missing", field)
	case len(t.Checkpoints) > MaxCheckpoints:
		return u, fmt.Errorf("%s.checkpoints: %d checkpoints, more than %d", field, len(t.Checkpoints), MaxCheckpoints)
	}
	u.Events = make([]tracking.Event, 0, len(t.Checkpoints)+1)
	for i, raw := range t.Checkpoints {
		e, err := parseCheckpoint(raw)
		if err != nil {
			return u, fmt.Errorf("%s.checkpoints[%d]: %w", field, i, err)
		}
		u.Events = append(u.Events, e)
	}
	e, ok, err := trackingEvent(t, u.Events)
	if err != nil {
		return u, fmt.Errorf("%s: %w", field, err)
	}
	if ok {
		u.Events = append(u.Events, e)
	}
	return u, nil
}

// parseCheckpoint turns one checkpoint into an event. Its error starts
// with the name of the field at fault, for parseTracking to prefix.
func parseCheckpoint(raw json.RawMessage) (tracking.Event, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return tracking.Event{}, errors.New("is null, not a checkpoint")
	}
	var c apiCheckpoint
	if err := json.Unmarshal(raw, &c); err != nil {
		return tracking.Event{}, jsonError(err)
	}
	st, err := StatusOf(string(c.Tag), string(c.Subtag))
	if err != nil {
		return tracking.Event{}, fmt.Errorf("tag: %w", err)
	}
	at, local, unknown, err := parseTime(string(c.CheckpointTime))
	if err != nil {
		return tracking.Event{}, fmt.Errorf("checkpoint_time: %w", err)
	}
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return tracking.Event{}, err
	}
	msg := strings.TrimSpace(string(c.Message))
	if msg == "" {
		msg = strings.TrimSpace(string(c.SubtagMessage))
	}
	return tracking.Event{
		// AfterShip checkpoints carry no id: trackd fingerprints them.
		Status:          st,
		CarrierStatus:   carrierStatus(c.Tag, c.Subtag),
		Message:         msg,
		OccurredAt:      at,
		OccurredAtLocal: local,
		OffsetUnknown:   unknown,
		Location: tracking.Location{
			City:       strings.TrimSpace(string(c.City)),
			Region:     strings.TrimSpace(string(c.State)),
			PostalCode: strings.TrimSpace(string(c.Zip)),
			Country:    country(string(c.CountryISO3), string(c.CountryRegion)),
		},
		Raw: compact.Bytes(),
	}, nil
}

// carrierStatus is AfterShip's own code for an event: the subtag, which
// names its tag too ("InTransit_007"), or the tag when there is no subtag.
func carrierStatus(tag, subtag text) string {
	if s := strings.TrimSpace(string(subtag)); s != "" {
		return s
	}
	return strings.TrimSpace(string(tag))
}

// trackingEvent returns an event for the tracking's own status when its
// newest checkpoint does not say it. AfterShip sets some statuses on the
// tracking with no checkpoint behind them: Expired (30 days without news),
// and whatever a user chose when marking the tracking completed (the
// Exception_013 "lost" of a tracking whose last scan says delivered). The
// event is dated when AfterShip last updated the tracking, the moment it
// took that status. Pending is left alone: it is where every shipment
// starts, and a dated pending event would hide the scans the carrier has
// yet to report from before it. A tracking with no time to date the event
// by gives none.
func trackingEvent(t *apiTracking, events []tracking.Event) (tracking.Event, bool, error) {
	if strings.TrimSpace(string(t.Tag)) == "" && strings.TrimSpace(string(t.Subtag)) == "" {
		return tracking.Event{}, false, nil
	}
	st, err := StatusOf(string(t.Tag), string(t.Subtag))
	if err != nil {
		return tracking.Event{}, false, fmt.Errorf("tag: %w", err)
	}
	if st == tracking.StatusPending {
		return tracking.Event{}, false, nil
	}
	// The newest event as trackd orders them (Event.SortKey): by
	// millisecond, then by status rank. The key that breaks the last ties
	// only ever separates events of one status, so it is left out.
	var newest *tracking.Event
	for i, e := range events {
		if newest == nil || e.OccurredAt.UnixMilli() > newest.OccurredAt.UnixMilli() ||
			e.OccurredAt.UnixMilli() == newest.OccurredAt.UnixMilli() && e.Status.Rank() > newest.Status.Rank() {
			newest = &events[i]
		}
	}
	if newest != nil && newest.Status == st {
		return tracking.Event{}, false, nil
	}
	var at, local time.Time
	for _, s := range [...]text{t.UpdatedAt, t.LastUpdatedAt} {
		a, l, unknown, err := parseTime(string(s))
		if err == nil && !unknown {
			at, local = a, l
			break
		}
	}
	if at.IsZero() {
		return tracking.Event{}, false, nil
	}
	// Raw is the part of the tracking the event comes from.
	raw, err := json.Marshal(struct {
		Tag           text `json:"tag,omitempty"`
		Subtag        text `json:"subtag,omitempty"`
		SubtagMessage text `json:"subtag_message,omitempty"`
		UpdatedAt     text `json:"updated_at,omitempty"`
		LastUpdatedAt text `json:"last_updated_at,omitempty"`
	}{t.Tag, t.Subtag, t.SubtagMessage, t.UpdatedAt, t.LastUpdatedAt})
	if err != nil {
		return tracking.Event{}, false, err
	}
	msg := strings.TrimSpace(string(t.SubtagMessage))
	if msg == "" {
		msg = strings.TrimSpace(string(t.Tag))
	}
	return tracking.Event{
		Status:          st,
		CarrierStatus:   carrierStatus(t.Tag, t.Subtag),
		Message:         msg,
		OccurredAt:      at,
		OccurredAtLocal: local,
		Raw:             raw,
	}, true, nil
}

// parseTime reads a checkpoint_time. AfterShip documents three forms:
// YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, and YYYY-MM-DDTHH:MM:SS+TIMEZONE, all
// in the checkpoint's local time. With an offset, the instant is exact and
// local keeps the offset. Without one, the place's zone is unknown here
// (AfterShip gives a country at best, and many countries span zones): the
// time is read as UTC and offsetUnknown is set, as tracking.Event says.
func parseTime(s string) (at, local time.Time, offsetUnknown bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return at, local, false, errors.New("is missing")
	}
	var t time.Time
	for _, layout := range [...]string{time.RFC3339, "2006-01-02T15:04:05Z0700"} {
		if t, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	if err != nil {
		offsetUnknown = true
		for _, layout := range [...]string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
			if t, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
				break
			}
		}
	}
	switch {
	case err != nil:
		return at, local, false, fmt.Errorf("%q is none of YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, YYYY-MM-DDTHH:MM:SS+HH:MM", s)
	case t.Year() < 2000:
		return at, local, false, fmt.Errorf("%q is before 2000", s)
	}
	return t.UTC(), t, offsetUnknown, nil
}

// country returns a checkpoint's country as ISO 3166-1 alpha-2 ("US"), the
// form of trackd's other sources; AfterShip gives alpha-3 ("USA"). A code
// that is not a known country is kept, upper-cased.
func country(codes ...string) string {
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if r, err := language.ParseRegion(c); err == nil && r.IsCountry() {
			return r.String()
		}
		return strings.ToUpper(c)
	}
	return ""
}

// eta returns the tracking's estimated delivery as a date or an RFC 3339
// instant, or "". The carrier's own estimate comes first (expected_delivery
// in v4, courier_estimated_delivery_date in the dated versions), then
// AfterShip's latest_estimated_delivery, then its prediction
// (aftership_estimated_delivery_date). Of a range, the end is taken: the
// shipment is late only once that has passed. A value that is not a date
// is skipped rather than failing the update: the events matter more, and
// the raw payload keeps it.
func eta(t *apiTracking) string {
	if s := etaText(t.ExpectedDelivery); s != "" {
		return s
	}
	for _, raw := range [...]json.RawMessage{t.CourierEDD, t.LatestEDD, t.AfterShipEDD} {
		var o struct {
			Datetime      text `json:"datetime"`
			DatetimeMax   text `json:"datetime_max"`
			EstimatedDate text `json:"estimated_delivery_date"`
			EstimatedMax  text `json:"estimated_delivery_date_max"`
		}
		if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &o) != nil {
			continue
		}
		for _, s := range [...]text{o.Datetime, o.DatetimeMax, o.EstimatedDate, o.EstimatedMax} {
			if d := normalizeETA(string(s)); d != "" {
				return d
			}
		}
	}
	return ""
}

func etaText(raw json.RawMessage) string {
	var s text
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return normalizeETA(string(s))
}

// normalizeETA returns s as tracking.ParseETA accepts it: a date, an RFC
// 3339 instant, or the date of a local time without an offset (the day is
// what the carrier promises; the hour in an unknown zone is not).
func normalizeETA(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s
	}
	if _, err := time.Parse(time.RFC3339, s); err == nil {
		return s
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return ""
}

// text is carriers.Text: a string field that also takes a number or null.
type text = carriers.Text

// jsonError rewords encoding/json's errors without Go type names.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%s: want %s, not %s", field, kindName(typ.Type.Kind().String()), article(typ.Value))
	}
	return err
}

// kindName names a Go kind the way JSON would.
func kindName(k string) string {
	switch k {
	case "struct", "map", "ptr":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	}
	return "a number"
}

// article puts an article before encoding/json's name of a JSON value.
func article(v string) string {
	switch v {
	case "object", "array":
		return "an " + v
	case "bool":
		return "a boolean"
	case "string", "number":
		return "a " + v
	}
	return v
}
