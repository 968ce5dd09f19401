package dhl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/language"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/zones"
	"github.com/trackd/trackd/tracking"
)

// MaxShipments and MaxEvents bound one answer, so that a broken one cannot
// make one message cost unbounded work. DHL pages shipments by five, and a
// shipment has tens of events.
const (
	MaxShipments = 100
	MaxEvents    = 1000
)

// apiShipment is one of an answer's shipments[]. Only what trackd uses is
// decoded; the rest (details, origin, destination, URLs) is ignored,
// whatever its type.
type apiShipment struct {
	// ID is the tracking number; typed string, but DHL's own example (and
	// so its mock) has a number.
	ID      text `json:"id"`
	Service text `json:"service"`
	// Status is the shipment's current status, an event of the same shape
	// as events[]; kept raw to become an event of its own when events[]
	// does not hold it (parseShipment).
	Status json.RawMessage `json:"status"`
	// Events are kept raw: each is decoded on its own and kept, compacted,
	// as its event's Raw.
	Events []json.RawMessage `json:"events"`
	// The estimated delivery fields are decoded leniently (see eta): they
	// are auxiliary, and a wrong one must not cost the events.
	ETA      json.RawMessage `json:"estimatedTimeOfDelivery"`
	ETAFrame json.RawMessage `json:"estimatedDeliveryTimeFrame"`
}

// apiEvent is one shipment event (supermodelIoLogisticsTrackingShipmentEvent).
type apiEvent struct {
	Timestamp   text      `json:"timestamp"`
	Location    *apiPlace `json:"location"`
	StatusCode  text      `json:"statusCode"`
	Status      text      `json:"status"`
	Description text      `json:"description"`
}

// apiPlace is a place (supermodelIoLogisticsSupportingPlace). Its
// streetAddress is never read: trackd keeps no street addresses.
type apiPlace struct {
	Address *struct {
		CountryCode     text `json:"countryCode"`
		PostalCode      text `json:"postalCode"`
		AddressLocality text `json:"addressLocality"`
	} `json:"address"`
}

// problem is an RFC 7807 problem detail, DHL's error body.
type problem struct {
	Type   text `json:"type"`
	Title  text `json:"title"`
	Status text `json:"status"`
	Detail text `json:"detail"`
	// Message is what an API gateway before DHL's service may answer
	// instead of a problem detail.
	Message text `json:"message"`
}

func (p *problem) empty() bool {
	return strings.TrimSpace(string(p.Type)+string(p.Title)+string(p.Status)+string(p.Detail)+string(p.Message)) == ""
}

// code is the problem's title ("No result found"): DHL's problem details
// have no type, and the title is what names the kind of problem.
func (p *problem) code() string { return strings.TrimSpace(string(p.Title)) }

func (p *problem) message() string {
	if s := strings.TrimSpace(string(p.Detail)); s != "" {
		return s
	}
	return strings.TrimSpace(string(p.Message))
}

// parsePoll parses an answer of GET /shipments: {"shipments": [...]},
// one update per shipment. An answer with no shipments has nothing to
// say, and says it without an error; a problem detail (DHL's error body)
// or anything without "shipments" is an error.
func (a *Adapter) parsePoll(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("poll answer is empty")
	}
	var ans struct {
		Shipments *[]*apiShipment `json:"shipments"`
		problem
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("poll answer: %w", jsonError(err))
	}
	switch {
	case ans.Shipments == nil && !ans.problem.empty():
		return nil, fmt.Errorf("poll answer is a DHL error: %s %s: %s",
			strings.TrimSpace(string(ans.Status)), ans.problem.code(), ans.problem.message())
	case ans.Shipments == nil:
		return nil, errors.New(`poll answer has no "shipments": not a DHL tracking answer`)
	case len(*ans.Shipments) > MaxShipments:
		return nil, fmt.Errorf("poll answer has %d shipments, more than %d", len(*ans.Shipments), MaxShipments)
	}
	us := make([]tracking.Update, 0, len(*ans.Shipments))
	for i, s := range *ans.Shipments {
		field := fmt.Sprintf("shipments[%d]", i)
		if s == nil {
			return nil, fmt.Errorf("%s is null, not a shipment", field)
		}
		u, err := a.parseShipment(s, field)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, nil
}

// parseShipment turns one shipment into an update; field names it in
// errors ("shipments[1]").
func (a *Adapter) parseShipment(s *apiShipment, field string) (tracking.Update, error) {
	u := tracking.Update{
		Carrier:           "dhl",
		TrackingNumber:    tracking.NormalizeTrackingNumber(string(s.ID)),
		EstimatedDelivery: eta(s),
	}
	switch {
	case u.TrackingNumber == "":
		return u, fmt.Errorf("%s.id: the tracking number is missing", field)
	case len(s.Events) > MaxEvents:
		return u, fmt.Errorf("%s.events: %d events, more than %d", field, len(s.Events), MaxEvents)
	}
	u.Events = make([]tracking.Event, 0, len(s.Events)+1)
	walls := make([]time.Time, 0, len(s.Events))
	for i, raw := range s.Events {
		e, wall, err := a.parseEvent(raw)
		if err != nil {
			return u, fmt.Errorf("%s.events[%d]: %w", field, i, err)
		}
		u.Events = append(u.Events, e)
		walls = append(walls, wall)
	}
	// The current status repeats the newest event, except when DHL gives
	// no events (some services do without the recipient's postal code) or
	// has news the events do not list yet. It counts only then, and only
	// when it can be read: the events are the record.
	if len(s.Status) > 0 {
		if e, wall, err := a.parseEvent(s.Status); err == nil && !repeats(e, wall, u.Events, walls) {
			u.Events = append(u.Events, e)
		}
	}
	return u, nil
}

// repeats reports whether the status event e says what one of events
// says: the same classification, text and place, at the same instant or
// at the same wall-clock time. DHL writes the one scan's timestamp with a
// "Z" in the status and without an offset in the event (its own example
// does), and which of the two is right cannot be told: it is one scan,
// not two an offset apart.
func repeats(e tracking.Event, wall time.Time, events []tracking.Event, walls []time.Time) bool {
	for i, o := range events {
		if o.CarrierStatus == e.CarrierStatus && o.Message == e.Message && o.Location == e.Location &&
			(o.OccurredAt.Equal(e.OccurredAt) || walls[i].Equal(wall)) {
			return true
		}
	}
	return false
}

// parseEvent turns one event into a trackd event, and returns the wall
// clock its timestamp reads (as a time in UTC) for repeats. Its error
// starts with the name of the field at fault, for parseShipment to prefix.
func (a *Adapter) parseEvent(raw json.RawMessage) (tracking.Event, time.Time, error) {
	var wall time.Time
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return tracking.Event{}, wall, errors.New("is null, not an event")
	}
	var ev apiEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return tracking.Event{}, wall, jsonError(err)
	}
	loc := a.location(ev.Location)
	at, local, unknown, err := eventTime(string(ev.Timestamp), loc)
	if err != nil {
		return tracking.Event{}, wall, fmt.Errorf("timestamp: %w", err)
	}
	wall = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), local.Nanosecond(), time.UTC)
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return tracking.Event{}, wall, err
	}
	msg := strings.TrimSpace(string(ev.Description))
	if msg == "" {
		msg = strings.TrimSpace(string(ev.Status))
	}
	return tracking.Event{
		// DHL events carry no id: trackd fingerprints them.
		Status:          StatusOf(string(ev.StatusCode), string(ev.Status), string(ev.Description)),
		CarrierStatus:   carrierStatus(string(ev.StatusCode), string(ev.Status)),
		Message:         msg,
		OccurredAt:      at,
		OccurredAtLocal: local,
		OffsetUnknown:   unknown,
		Location:        loc,
		Raw:             compact.Bytes(),
	}, wall, nil
}

// eventTime reads a timestamp. With an offset the instant is exact and
// local keeps the offset. Without one the time is the wall clock at the
// event's place, resolved by zones.Place: by the place's zone when it has
// one, else read as UTC with offsetUnknown set.
func eventTime(s string, loc tracking.Location) (at, local time.Time, offsetUnknown bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return at, local, false, errors.New("is missing")
	}
	t, offset, ok := parseTimestamp(s)
	switch {
	case !ok:
		return at, local, false, fmt.Errorf("%q is not a date and time (YYYY-MM-DDTHH:MM:SS, with or without an offset)", s)
	case t.Year() < 2000:
		return at, local, false, fmt.Errorf("%q is before 2000", s)
	case offset:
		return t.UTC(), t, false, nil
	}
	at, local, offsetUnknown = zones.Place(t, loc)
	return at, local, offsetUnknown, nil
}

// parseTimestamp reads the timestamps DHL writes: with an offset
// ("2018-03-02T07:53:47Z", "+01:00"), local time without one
// ("2018-03-02T07:53:47", as Express and Parcel Germany write them), or a
// date (the schema allows a schema.org Date). Without an offset, t holds
// the wall clock in UTC and offset is false.
func parseTimestamp(s string) (t time.Time, offset, ok bool) {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true, true
		}
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, false, true
		}
	}
	return t, false, false
}

// location reads a place. DHL Express writes no countryCode but puts the
// country into the locality ("LEIPZIG - GERMANY", "CINCINNATI HUB, OH -
// USA"); DHL's example has a street before the city ("Oderweg 2,
// AMSTERDAM"). Both are taken apart: the country and, in the countries
// whose zones go by state, the state, so that local times find their zone,
// and no street, which trackd does not keep.
func (a *Adapter) location(p *apiPlace) tracking.Location {
	if p == nil || p.Address == nil {
		return tracking.Location{}
	}
	ad := p.Address
	loc := tracking.Location{PostalCode: strings.TrimSpace(string(ad.PostalCode))}
	if c := strings.TrimSpace(string(ad.CountryCode)); c != "" {
		if loc.Country = a.country(c); loc.Country == "" {
			loc.Country = strings.ToUpper(c)
		}
	}
	locality := strings.TrimSpace(string(ad.AddressLocality))
	split := false
	if i := strings.LastIndex(locality, " - "); i > 0 {
		if c := a.country(locality[i+3:]); c != "" && (loc.Country == "" || loc.Country == c) {
			loc.Country, locality, split = c, strings.TrimSpace(locality[:i]), true
		}
	}
	var parts []string
	for part := range strings.SplitSeq(locality, ",") {
		if part = strings.TrimSpace(part); part != "" {
			parts = append(parts, part)
		}
	}
	if n := len(parts); n > 1 && (loc.Country == "US" || loc.Country == "CA" || loc.Country == "AU") && isRegionCode(parts[n-1]) {
		loc.Region, parts = strings.ToUpper(parts[n-1]), parts[:n-1]
	}
	if n := len(parts); n > 1 && strings.ContainsAny(strings.Join(parts[:n-1], ""), "0123456789") {
		parts = parts[n-1:]
	}
	loc.City = strings.Join(parts, ", ")
	// A locality that is only the country ("Germany") names no city.
	if c := a.country(loc.City); !split && c != "" && (loc.Country == "" || loc.Country == c) && len(loc.City) > 3 {
		loc.Country, loc.City = c, ""
	}
	return loc
}

// country returns the ISO 3166-1 alpha-2 code of s: a code (alpha-2 or
// alpha-3, "DE", "USA") or an English country name ("GERMANY"). "" when s
// is neither.
func (a *Adapter) country(s string) string {
	s = strings.TrimSpace(s)
	if (len(s) == 2 || len(s) == 3) && isASCIILetters(s) {
		return regionCode(s)
	}
	return a.countries[placeName(s)]
}

func isRegionCode(s string) bool { return (len(s) == 2 || len(s) == 3) && isASCIILetters(s) }

// regionCode returns the canonical alpha-2 code of an ISO 3166-1 alpha-2
// or alpha-3 code ("usa" is "US", "UK" is "GB"), or "" if it is none.
func regionCode(s string) string {
	r, err := language.ParseRegion(s)
	if err != nil {
		return ""
	}
	if r = r.Canonicalize(); !r.IsCountry() {
		return ""
	}
	return r.String()
}

func isASCIILetters(s string) bool {
	for i := range len(s) {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return s != ""
}

// placeName normalizes a country name for lookup: upper case, words of
// letters and digits separated by single spaces ("Hong Kong SAR, China"
// is "HONG KONG SAR CHINA").
func placeName(s string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.ToUpper(w))
	}
	return b.String()
}

// eta returns the shipment's estimated delivery as a date or an RFC 3339
// instant, or "". The end of estimatedDeliveryTimeFrame comes first: the
// shipment is late only once that has passed. Then estimatedTimeOfDelivery.
// A value that is not a time is skipped rather than failing the update:
// the events matter more, and the raw answer keeps it.
func eta(s *apiShipment) string {
	if len(s.ETAFrame) > 0 && s.ETAFrame[0] == '{' {
		var frame struct {
			Through json.RawMessage `json:"estimatedThrough"`
		}
		if json.Unmarshal(s.ETAFrame, &frame) == nil {
			if d := etaText(frame.Through); d != "" {
				return d
			}
		}
	}
	return etaText(s.ETA)
}

func etaText(raw json.RawMessage) string {
	var s text
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return normalizeETA(string(s))
}

// normalizeETA returns s as tracking.ParseETA accepts it. A time at
// midnight is a date in disguise (DHL's example: "2018-08-03T00:00:00Z"
// for "by end of day" on the 3rd), and a time without an offset is a
// date too: the day is what DHL promises, the hour in an unknown zone is
// not.
func normalizeETA(s string) string {
	t, offset, ok := parseTimestamp(strings.TrimSpace(s))
	switch {
	case !ok || t.Year() < 2000:
		return ""
	case !offset, t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0:
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
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
