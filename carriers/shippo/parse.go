package shippo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// Limits on one Track, so a careless or hostile body cannot make one entry
// cost unbounded work or storage. Real Tracks have tens of events.
const (
	MaxEvents     = 1000
	maxTextLength = 2048
	maxCarrierLen = 32
	maxNumberLen  = 64
)

// EventTrackUpdated is the webhook event type that carries a Track.
const EventTrackUpdated = "track_updated"

// envelope is a Shippo webhook body. "test" is not decoded: test webhooks
// are parsed like live ones (see the package comment).
type envelope struct {
	Event string `json:"event"`
	Data  *track `json:"data"`
}

// track is Shippo's Track object: the answer to GET /tracks/{carrier}/{number}
// and the data of a track_updated webhook. Only what trackd uses is decoded.
type track struct {
	Carrier        text `json:"carrier"`
	TrackingNumber text `json:"tracking_number"`
	ETA            text `json:"eta"`
	// TrackingStatus is the latest event; it is null for a number the
	// carrier does not know (yet). It usually repeats the newest history
	// entry under another object_id.
	TrackingStatus *entry `json:"tracking_status"`
	// TrackingHistory is every event, oldest first.
	TrackingHistory []entry `json:"tracking_history"`
}

// entry is one tracking event with its JSON, kept for Event.Raw. Decoding
// it during the one pass over the body spares decoding every entry a second
// time from a json.RawMessage.
type entry struct {
	raw  json.RawMessage
	null bool
	trackingStatus
}

func (e *entry) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*e = entry{null: true}
		return nil
	}
	e.raw = bytes.Clone(b) // b belongs to the decoder
	return json.Unmarshal(b, &e.trackingStatus)
}

// trackingStatus is one tracking event (Shippo's TrackingStatus object).
type trackingStatus struct {
	ObjectID      text           `json:"object_id"`
	Status        text           `json:"status"`
	StatusDetails text           `json:"status_details"`
	StatusDate    text           `json:"status_date"`
	Substatus     *substatusJSON `json:"substatus"`
	Location      *locationJSON  `json:"location"`
}

type substatusJSON struct {
	Code text `json:"code"`
	Text text `json:"text"`
}

type locationJSON struct {
	City    text `json:"city"`
	State   text `json:"state"`
	Zip     text `json:"zip"`
	Country text `json:"country"`
}

// text is carriers.Text: a string field that also takes a number or null.
type text = carriers.Text

// ParseWebhook implements carriers.Adapter. A track_updated body yields one
// update (none when the Track says nothing yet, like an unknown number's);
// a body of any other event type yields none and no error, since Shippo
// sends every subscribed event type to the same URL.
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("shippo webhook: %w", err)
	}
	switch {
	case env.Event == "":
		return nil, errors.New(`shippo webhook: no "event"`)
	case env.Event != EventTrackUpdated:
		return nil, nil
	case env.Data == nil:
		return nil, errors.New(`shippo webhook: track_updated without "data"`)
	}
	us, err := normalize(env.Data)
	if err != nil {
		return nil, fmt.Errorf("shippo webhook: %w", err)
	}
	return us, nil
}

// ParsePoll implements carriers.Poller: body is a Track object.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) {
	var t track
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, fmt.Errorf("shippo poll: %w", err)
	}
	us, err := normalize(&t)
	if err != nil {
		return nil, fmt.Errorf("shippo poll: %w", err)
	}
	return us, nil
}

// normalize turns a Track into trackd's update. Events come from
// tracking_history, plus tracking_status when it is not one of them; they
// are returned in time order. A Track with neither events nor an estimate
// yields no update.
func normalize(t *track) ([]tracking.Update, error) {
	u := tracking.Update{
		Carrier:        CarrierSlug(string(t.Carrier)),
		TrackingNumber: tracking.NormalizeTrackingNumber(strings.TrimSpace(string(t.TrackingNumber))),
	}
	switch {
	case u.Carrier == "":
		return nil, errors.New("no carrier")
	case len(u.Carrier) > maxCarrierLen:
		return nil, fmt.Errorf("carrier is longer than %d bytes", maxCarrierLen)
	case u.TrackingNumber == "":
		return nil, errors.New("no tracking_number")
	case len(u.TrackingNumber) > maxNumberLen:
		return nil, fmt.Errorf("tracking_number is longer than %d bytes", maxNumberLen)
	case len(t.TrackingHistory) > MaxEvents:
		return nil, fmt.Errorf("tracking_history has %d events; at most %d are accepted", len(t.TrackingHistory), MaxEvents)
	}
	if eta := strings.TrimSpace(string(t.ETA)); eta != "" {
		e, err := normalizeETA(eta)
		if err != nil {
			return nil, fmt.Errorf("eta: %w", err)
		}
		u.EstimatedDelivery = e
	}

	events := make([]event, 0, len(t.TrackingHistory)+1)
	for i := range t.TrackingHistory {
		e, ok, err := parseEvent(&t.TrackingHistory[i])
		if err != nil {
			return nil, fmt.Errorf("tracking_history[%d]: %w", i, err)
		}
		if ok {
			events = append(events, e)
		}
	}
	if t.TrackingStatus != nil {
		e, ok, err := parseEvent(t.TrackingStatus)
		if err != nil {
			return nil, fmt.Errorf("tracking_status: %w", err)
		}
		if ok && !slices.ContainsFunc(events, e.same) {
			events = append(events, e)
		}
	}
	if len(events) == 0 && u.EstimatedDelivery == "" {
		return nil, nil
	}

	slices.SortStableFunc(events, func(a, b event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	u.Events = make([]tracking.Event, len(events))
	prev := tracking.StatusPending
	for i, e := range events {
		if e.inherit {
			e.Status = prev
		}
		prev = e.Status
		u.Events[i] = e.Event
	}
	return []tracking.Update{u}, nil
}

// event is a normalized event before the inheritance pass.
type event struct {
	tracking.Event
	inherit bool
}

// same reports whether e and o are one scan: Shippo repeats the newest
// history entry as tracking_status under another object_id.
func (e event) same(o event) bool {
	return e.ID != "" && e.ID == o.ID ||
		e.CarrierStatus == o.CarrierStatus && e.Message == o.Message && e.OccurredAt.Equal(o.OccurredAt)
}

// parseEvent normalizes one TrackingStatus object. ok is false for an event
// that says nothing: status UNKNOWN without a date, which is how Shippo can
// fill tracking_status before the carrier knows the number.
func parseEvent(in *entry) (event, bool, error) {
	if in.null {
		return event{}, false, errors.New("is null")
	}
	status := strings.ToUpper(strings.TrimSpace(string(in.Status)))
	code := ""
	msg := clip(string(in.StatusDetails))
	if in.Substatus != nil {
		code = strings.ToLower(clip(string(in.Substatus.Code)))
		if msg == "" {
			msg = clip(string(in.Substatus.Text))
		}
	}
	date := strings.TrimSpace(string(in.StatusDate))
	if date == "" && (status == "" || inherits[status]) {
		return event{}, false, nil
	}
	st, inherit, err := mapStatus(status, code)
	if err != nil {
		return event{}, false, err
	}
	if date == "" {
		return event{}, false, errors.New("no status_date")
	}
	at, offsetUnknown, err := parseTime(date)
	if err != nil {
		return event{}, false, fmt.Errorf("status_date: %w", err)
	}
	e := tracking.Event{
		ID:              clip(string(in.ObjectID)),
		Status:          st,
		CarrierStatus:   carrierStatus(status, code),
		Message:         msg,
		OccurredAt:      at.UTC(),
		OccurredAtLocal: at,
		OffsetUnknown:   offsetUnknown,
		Raw:             in.raw,
	}
	if l := in.Location; l != nil {
		e.Location = tracking.Location{
			City:       clip(string(l.City)),
			Region:     clip(string(l.State)),
			PostalCode: clip(string(l.Zip)),
			Country:    clip(string(l.Country)),
		}
	}
	return event{Event: e, inherit: inherit}, true, nil
}

// The times Shippo sends: status_date and eta are documented as UTC with
// "Z"; an offset is honoured when present, and a time without one is read
// as UTC and marked OffsetUnknown.
var (
	layoutsWithOffset    = [...]string{time.RFC3339, "2006-01-02 15:04:05Z07:00"}
	layoutsWithoutOffset = [...]string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly}
)

// parseTime parses a Shippo time. offsetUnknown is true when it had no
// offset and was read as UTC.
func parseTime(s string) (t time.Time, offsetUnknown bool, err error) {
	parsed := false
	for _, l := range layoutsWithOffset {
		if t, err = time.Parse(l, s); err == nil {
			parsed = true
			break
		}
	}
	if !parsed {
		for _, l := range layoutsWithoutOffset {
			if t, err = time.Parse(l, s); err == nil {
				parsed, offsetUnknown = true, true
				break
			}
		}
	}
	_, offset := t.Zone()
	switch {
	case !parsed:
		return time.Time{}, false, fmt.Errorf("%q is not a time", clip(s))
	case offset <= -24*60*60 || offset >= 24*60*60:
		// Only time.RFC3339 checks this; a time with such an offset could
		// not be written back as JSON.
		return time.Time{}, false, fmt.Errorf("%q has an offset beyond ±23:59", s)
	case t.UTC().Year() < 2000:
		return time.Time{}, false, fmt.Errorf("%q is before 2000", s)
	}
	return t, offsetUnknown, nil
}

// normalizeETA turns Shippo's eta into trackd's form. Shippo sends dates as
// midnight ("2016-12-08T00:00:00Z" for "on the 8th"); kept as an instant,
// that would make a parcel late at the very start of its delivery day (the
// evening before, in America), so a midnight eta becomes the date. Any other
// time stays an RFC 3339 instant.
func normalizeETA(s string) (string, error) {
	t, offsetUnknown, err := parseTime(s)
	if err != nil {
		return "", err
	}
	if h, m, sec := t.Clock(); h == 0 && m == 0 && sec == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly), nil
	}
	if offsetUnknown {
		t = t.UTC()
	}
	return t.Format(time.RFC3339), nil
}

// clip trims s and cuts it to maxTextLength bytes.
func clip(s string) string { return truncate(strings.TrimSpace(s), maxTextLength) }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
