package tracking

import (
	"fmt"
	"sort"
	"time"
)

// The merge rules. The Redis script (store_apply.lua) applies them
// atomically; Log applies them in memory and is the reference the script is
// tested against.
//
//   - An event is stored once: its Key is its identity.
//   - History is kept in time order (SortKey), whatever order events arrive in.
//   - The current status is the status of the newest event by SortKey, so an
//     event older than the current state's event never moves it backwards.
//   - The estimated delivery keeps the first and the latest promise, ordered
//     by the newest event of the message that carried it.

// Log is one shipment's merge state in memory.
type Log struct {
	Status      Status
	StatusEvent *Event
	ETA         *ETA
	statusKey   string
	etaFirstKey string
	etaLastKey  string
	seen        map[string]struct{}
	events      []Event
}

// Result says what applying an update changed.
type Result struct {
	New, Duplicates int
	// From and To are the status before and after.
	From, To   Status
	ETAChanged bool
}

// StateChanged reports whether the update changed what a shopper is told.
func (r Result) StateChanged() bool { return r.From != r.To || r.ETAChanged }

// Apply merges u into the log.
func (l *Log) Apply(u Update) Result {
	if l.seen == nil {
		l.seen = map[string]struct{}{}
		l.Status = StatusPending
	}
	res := Result{From: l.Status}
	for _, e := range u.Events {
		k := e.Key()
		if _, dup := l.seen[k]; dup {
			res.Duplicates++
			continue
		}
		l.seen[k] = struct{}{}
		l.events = append(l.events, e)
		res.New++
		if sk := e.SortKey(); sk > l.statusKey {
			l.statusKey = sk
			l.Status = e.Status
			ev := e
			l.StatusEvent = &ev
		}
	}
	if u.EstimatedDelivery != "" {
		k := etaKey(u)
		before := ""
		if l.ETA != nil {
			before = l.ETA.Latest
		}
		if l.ETA == nil {
			l.ETA = &ETA{First: u.EstimatedDelivery, Latest: u.EstimatedDelivery}
			l.etaFirstKey, l.etaLastKey = k, k
		} else {
			if k < l.etaFirstKey {
				l.ETA.First, l.etaFirstKey = u.EstimatedDelivery, k
			}
			if k > l.etaLastKey {
				l.ETA.Latest, l.etaLastKey = u.EstimatedDelivery, k
			}
		}
		res.ETAChanged = before != l.ETA.Latest
	}
	res.To = l.Status
	return res
}

// History returns the stored events in time order.
func (l *Log) History() []Event {
	out := append([]Event(nil), l.events...)
	SortEvents(out)
	return out
}

// SortEvents sorts events into time order by SortKey.
func SortEvents(events []Event) {
	sort.SliceStable(events, func(i, j int) bool { return events[i].SortKey() < events[j].SortKey() })
}

// etaKey orders estimated-delivery promises by the newest event of the
// message that made them (or when it arrived, for a message without events),
// then by value, so the first and latest promise do not depend on arrival order.
func etaKey(u Update) string {
	newest := fmt.Sprintf("%016d|99|", u.ReceivedAt.UnixMilli())
	if len(u.Events) > 0 {
		newest = ""
		for _, e := range u.Events {
			if sk := e.SortKey(); sk > newest {
				newest = sk
			}
		}
	}
	return newest + "|" + u.EstimatedDelivery
}

// ParseETA parses an estimated delivery: a date, or an RFC 3339 instant.
func ParseETA(s string) error {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return fmt.Errorf("estimated_delivery %q is neither a date (2006-01-02) nor an RFC 3339 time", s)
	}
	return nil
}

// etaDeadline is the instant after which an undelivered shipment is late. A
// date-only estimate ends at midnight after that date in the offset of the
// shipment's newest scan, which is the best guess trackd has of where it is.
func etaDeadline(eta string, zone *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, eta); err == nil {
		return t, true
	}
	d, err := time.ParseInLocation(time.DateOnly, eta, zone)
	if err != nil {
		return time.Time{}, false
	}
	return d.AddDate(0, 0, 1), true
}

// DeriveDelayed sets Delayed: a shipment not yet finished is delayed when its
// latest estimated delivery has passed, or when no scan has come for
// noScanAfter (zero disables that rule).
func (s *Shipment) DeriveDelayed(now time.Time, noScanAfter time.Duration) {
	s.Delayed = false
	if s.Status.Terminal() {
		return
	}
	zone := time.UTC
	last := s.CreatedAt
	if s.StatusEvent != nil {
		zone = s.StatusEvent.OccurredAtLocal.Location()
		last = s.StatusEvent.OccurredAt
	}
	if s.EstimatedDelivery != nil {
		if dl, ok := etaDeadline(s.EstimatedDelivery.Latest, zone); ok && now.After(dl) {
			s.Delayed = true
			return
		}
	}
	if noScanAfter > 0 && !last.IsZero() && now.Sub(last) > noScanAfter {
		s.Delayed = true
	}
}
