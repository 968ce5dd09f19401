package usps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/carriers/zones"
	"github.com/trackd/trackd/tracking"
)

// Limits on what one message may make trackd keep. The spec caps
// trackingEvents at 99; a scan's text is a line.
const (
	maxEvents               = 500
	maxTextLength           = 1024
	maxTrackingNumberLength = 64
)

// text is a JSON value read as a string: USPS writes booleans as strings
// and may write a ZIP Code as a number, so scalars of any type are taken as
// their text, and null as "". An object or an array is a wrong shape.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"' && len(b) >= 2 && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b):
		// The common case, and the decoder has checked the JSON already.
		*t = text(b[1 : len(b)-1])
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[':
		kind := "object"
		if b[0] == '[' {
			kind = "array"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
	default:
		*t = text(b)
	}
	return nil
}

func (t text) String() string { return strings.TrimSpace(string(t)) }

// details is what trackd reads of the spec's TrackingDetails, the poll
// answer and the payload of a TRACKING notification.
type details struct {
	TrackingNumber text `json:"trackingNumber"`
	// The estimates, in the order eta prefers them.
	GuaranteedDeliveryTimeStamp text `json:"guaranteedDeliveryTimeStamp"`
	GuaranteedDeliveryDate      text `json:"guaranteedDeliveryDate"`
	ExpectedDeliveryTimeStamp   text `json:"expectedDeliveryTimeStamp"`
	ExpectedDeliveryDate        text `json:"expectedDeliveryDate"`
	PredictedDeliveryTimeStamp  text `json:"predictedDeliveryTimeStamp"`
	PredictedDeliveryDate       text `json:"predictedDeliveryDate"`
	// Events are decoded one by one, so that each keeps its own JSON and an
	// error names the event it is about.
	TrackingEvents []json.RawMessage `json:"trackingEvents"`
	// Error is set when the body is USPS's error object instead.
	Error json.RawMessage `json:"error"`
}

// event is one TrackingEvent: one scan.
type event struct {
	EventType      text `json:"eventType"`
	EventTimestamp text `json:"eventTimestamp"`
	GMTTimestamp   text `json:"GMTTimestamp"`
	GMTOffset      text `json:"GMTOffset"`
	EventCountry   text `json:"eventCountry"`
	EventCity      text `json:"eventCity"`
	EventState     text `json:"eventState"`
	EventZIP       text `json:"eventZIP"`
	EventCode      text `json:"eventCode"`
}

// envelope is a Subscriptions - Tracking notification.
// Its timestamp and subscriptionId say nothing about the parcel.
type envelope struct {
	SubscriptionType text            `json:"subscriptionType"`
	Payload          json.RawMessage `json:"payload"`
}

// ParseWebhook implements carriers.Adapter: a TRACKING notification gives
// one update from its payload (see the package documentation); another
// subscription type gives none and no error. Errors are *tracking.FieldError
// naming the field at fault, e.g. "payload.trackingEvents[2].GMTTimestamp".
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fe("body", "is empty")
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, jsonError("", err)
	}
	if st := env.SubscriptionType.String(); st != "" && !strings.EqualFold(st, "TRACKING") {
		return nil, nil
	}
	if len(env.Payload) == 0 || string(env.Payload) == "null" {
		return nil, fe("payload", "is required: a TRACKING notification carries the tracking details")
	}
	var payload string
	if err := json.Unmarshal(env.Payload, &payload); err != nil {
		return nil, fe("payload", "must be a string holding the tracking details as JSON")
	}
	u, err := parseDetails([]byte(payload), "payload")
	if err != nil {
		return nil, err
	}
	return []tracking.Update{u}, nil
}

// ParsePoll implements carriers.Poller: a TrackingDetails answer gives one
// update. Errors are *tracking.FieldError, as for ParseWebhook.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) {
	u, err := parseDetails(body, "")
	if err != nil {
		return nil, err
	}
	return []tracking.Update{u}, nil
}

// parseDetails normalizes the TrackingDetails in b, found at path ("" for
// the top level).
func parseDetails(b []byte, path string) (tracking.Update, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return tracking.Update{}, fe(orBody(path), "is empty")
	}
	var d details
	if err := json.Unmarshal(b, &d); err != nil {
		return tracking.Update{}, jsonError(path, err)
	}
	u := tracking.Update{Carrier: "usps", TrackingNumber: tracking.NormalizeTrackingNumber(d.TrackingNumber.String())}
	switch {
	case u.TrackingNumber == "" && len(d.Error) > 0 && string(d.Error) != "null":
		code, msg := errorText(b)
		return u, fe(join(path, "error"), fmt.Sprintf("USPS answered an error: %s %s", code, msg))
	case u.TrackingNumber == "":
		return u, fe(join(path, "trackingNumber"), "is required")
	case len(u.TrackingNumber) > maxTrackingNumberLength:
		return u, fe(join(path, "trackingNumber"), fmt.Sprintf("is longer than %d characters", maxTrackingNumberLength))
	case len(d.TrackingEvents) > maxEvents:
		return u, fe(join(path, "trackingEvents"), fmt.Sprintf("has %d events, more than %d", len(d.TrackingEvents), maxEvents))
	}
	u.EstimatedDelivery = d.eta()
	if len(d.TrackingEvents) == 0 {
		return u, nil
	}
	u.Events = make([]tracking.Event, len(d.TrackingEvents))
	for i, raw := range d.TrackingEvents {
		e, err := parseEvent(raw)
		if err != nil {
			var f *tracking.FieldError
			if errors.As(err, &f) {
				f.Field = join(fmt.Sprintf("%s[%d]", join(path, "trackingEvents"), i), f.Field)
			}
			return u, err
		}
		u.Events[i] = e
	}
	return u, nil
}

// parseEvent normalizes one TrackingEvent; errors name fields relative to
// it.
func parseEvent(raw json.RawMessage) (tracking.Event, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return tracking.Event{}, fe("", "is null")
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return tracking.Event{}, eventJSONError(err)
	}
	loc := ev.location()
	at, local, unknown, err := ev.times(loc)
	if err != nil {
		return tracking.Event{}, err
	}
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return tracking.Event{}, eventJSONError(err)
	}
	code := clip(ev.EventCode.String())
	msg := plain(ev.EventType.String())
	st, _ := mapStatus(code, msg)
	return tracking.Event{
		Status:          st,
		CarrierStatus:   code,
		Message:         msg,
		OccurredAt:      at,
		OccurredAtLocal: local,
		OffsetUnknown:   unknown,
		Location:        loc,
		Raw:             compact.Bytes(),
	}, nil
}

// location is where the scan happened. USPS leaves eventCountry empty for
// scans in the United States, so a place without a country is there; a scan
// with no place at all ("In Transit to Next Facility") has no location.
func (ev *event) location() tracking.Location {
	l := tracking.Location{
		City:       clip(ev.EventCity.String()),
		Region:     strings.ToUpper(clip(ev.EventState.String())),
		PostalCode: clip(ev.EventZIP.String()),
		Country:    strings.ToUpper(clip(ev.EventCountry.String())),
	}
	if l.Country == "" && (l.City != "" || l.Region != "" || l.PostalCode != "") {
		l.Country = "US"
	}
	return l
}

// times reads when the scan happened. eventTimestamp is the local wall time
// without an offset; GMTTimestamp is the instant, and GMTOffset the local
// time's offset from it. The instant comes from GMTTimestamp when there is
// one; the offset from GMTOffset, else from the difference between the
// local and GMT times, else from the zone of the place. Without a
// GMTTimestamp the local time is placed in GMTOffset or the place's zone;
// failing both it is read as UTC and marked unknown.
func (ev *event) times(loc tracking.Location) (at, local time.Time, unknown bool, err error) {
	var wall time.Time
	var wallZoned bool
	if s := ev.EventTimestamp.String(); s != "" {
		if wall, wallZoned, err = parseWall(s); err != nil {
			return at, local, false, fe("eventTimestamp", err.Error())
		}
	}
	offset, hasOffset := 0, false
	if s := ev.GMTOffset.String(); s != "" {
		if offset, hasOffset = parseOffset(s); !hasOffset {
			return at, local, false, fe("GMTOffset", fmt.Sprintf("%q is not an offset like -05:00", clip(s)))
		}
	}

	if s := ev.GMTTimestamp.String(); s != "" {
		gmt, err := parseGMT(s)
		if err != nil {
			return at, local, false, fe("GMTTimestamp", err.Error())
		}
		switch {
		case hasOffset:
			local = gmt.In(fixedZone(offset))
		case wallZoned:
			local = gmt.In(wall.Location())
		case !wall.IsZero():
			if off, ok := offsetBetween(wall, gmt); ok {
				local = gmt.In(fixedZone(off))
			}
		}
		if local.IsZero() {
			if z, ok := zones.Lookup(loc.Country, loc.Region); ok {
				local = gmt.In(z)
			} else {
				// The instant is known; only the local rendering is not.
				local = gmt
			}
		}
		return gmt, local, false, nil
	}

	switch {
	case wall.IsZero():
		return at, local, false, fe("eventTimestamp", "is required (and there is no GMTTimestamp)")
	case wallZoned:
		return wall.UTC(), wall, false, nil
	case hasOffset:
		local = time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), fixedZone(offset))
		return local.UTC(), local, false, nil
	}
	at, local, unknown = zones.Place(wall, loc)
	return at, local, unknown, nil
}

// Layouts of times without an offset: eventTimestamp as the API sends it,
// and with a space, as mailPieceIntakeDate is written.
var wallLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"}

// parseWall reads a local time: without an offset, as USPS writes it, the
// wall-clock fields in UTC; with one, as given (zoned true).
func parseWall(s string) (t time.Time, zoned bool, err error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true, checkYear(t, s)
	}
	for _, layout := range wallLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, false, checkYear(t, s)
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date and time like 2006-01-02T15:04:05", clip(s))
}

// parseGMT reads GMTTimestamp: an RFC 3339 time in UTC ("Z"); one without
// a zone is GMT all the same.
func parseGMT(s string) (time.Time, error) {
	t, zoned, err := parseWall(s)
	if err != nil {
		return time.Time{}, err
	}
	if zoned {
		t = t.UTC()
	}
	return t, nil
}

func checkYear(t time.Time, s string) error {
	if t.Year() < 2000 {
		return fmt.Errorf("%q is before 2000", clip(s))
	}
	return nil
}

// parseOffset reads GMTOffset: "-05:00", and the spec's own example "-7:00";
// also "-0500", "-5" and "Z". It returns seconds east of UTC.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "Z" || strings.EqualFold(s, "GMT") || strings.EqualFold(s, "UTC") {
		return 0, true
	}
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, m, ok := strings.Cut(s[1:], ":")
	if !ok {
		h, m, _ = strings.Cut(s[1:], ".")
	}
	if m == "" && len(h) == 4 {
		h, m = h[:2], h[2:]
	}
	hours, err := strconv.Atoi(h)
	if err != nil || len(h) > 2 || hours > 14 {
		return 0, false
	}
	minutes := 0
	if m != "" {
		if minutes, err = strconv.Atoi(m); err != nil || len(m) != 2 || minutes > 59 {
			return 0, false
		}
	}
	return sign * (hours*3600 + minutes*60), true
}

// offsetBetween is the offset of a local wall time (fields in UTC) from the
// GMT instant it stands for. USPS stamps the local time to the minute and
// the GMT time to the second, so it is rounded to the quarter hour, the
// finest step any zone uses; more than 14 hours apart they are not one
// instant.
func offsetBetween(wall, gmt time.Time) (int, bool) {
	d := wall.Sub(gmt).Round(15 * time.Minute)
	if d < -14*time.Hour || d > 14*time.Hour {
		return 0, false
	}
	return int(d / time.Second), true
}

func fixedZone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	return time.FixedZone("", offset)
}

// eta returns the estimated delivery: the guaranteed date (Priority Mail
// Express and the like) before the expected one (the service standard)
// before USPS's prediction; within each, the time before the date. A value
// that is neither a date nor a time is passed over, so that an odd estimate
// does not cost the events of the message.
func (d *details) eta() string {
	for _, v := range []text{
		d.GuaranteedDeliveryTimeStamp, d.GuaranteedDeliveryDate,
		d.ExpectedDeliveryTimeStamp, d.ExpectedDeliveryDate,
		d.PredictedDeliveryTimeStamp, d.PredictedDeliveryDate,
	} {
		if eta, ok := readETA(v.String()); ok {
			return eta
		}
	}
	return ""
}

// readETA reads one estimate. A time with an offset is kept as that
// instant, unless it is midnight: USPS writes dates that way, and a date
// read as the evening before in America would call the parcel late a day
// early. A time without an offset is local to where the parcel goes, which
// trackd cannot place: its day is the estimate.
func readETA(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	t, zoned, err := parseWall(s)
	if err != nil {
		return "", false
	}
	if !zoned || (t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0) {
		return t.Format(time.DateOnly), true
	}
	return t.Format(time.RFC3339), true
}

// plain turns a USPS text into plain text: mailClass and services carry
// HTML ("USPS Ground Advantage<SUP>&#153;</SUP>"), and any text may.
func plain(s string) string {
	if strings.ContainsAny(s, "<&") {
		var b strings.Builder
		in := false
		for _, r := range s {
			switch {
			case r == '<':
				in = true
			case r == '>' && in:
				in = false
			case !in:
				b.WriteRune(r)
			}
		}
		s = html.UnescapeString(b.String())
	}
	return clip(strings.Join(strings.Fields(s), " "))
}

func fe(field, msg string) *tracking.FieldError {
	return &tracking.FieldError{Field: field, Message: msg}
}

// join appends a field name to a path; either may be empty.
func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

func orBody(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

// jsonError turns a decoding error of the value at path into a FieldError.
func jsonError(path string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fe(orBody(path), fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err))
	case errors.As(err, &typ):
		return fe(orBody(join(path, typ.Field)), fmt.Sprintf("must be %s, not %s", typeName(typ.Type.Kind()), typ.Value))
	default:
		return fe(orBody(path), "malformed JSON: "+err.Error())
	}
}

// eventJSONError is jsonError for an event, whose fields are named
// relative to it ("" is the event itself).
func eventJSONError(err error) error {
	e := jsonError("", err)
	var f *tracking.FieldError
	if errors.As(e, &f) && f.Field == "body" {
		f.Field = ""
	}
	return e
}

func typeName(k reflect.Kind) string {
	switch k {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return "a " + k.String()
}

// clip trims s and cuts it to maxTextLength bytes, on a rune boundary.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxTextLength {
		return s
	}
	cut := maxTextLength
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
