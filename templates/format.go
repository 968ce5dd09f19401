package templates

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Dates and times are written as CLDR's medium forms in each language, with
// the month abbreviated: en "Nov 25, 2026, 10:00 AM", es "25 nov 2026, 10:00",
// fr "25 nov. 2026, 10:00", de "25. Nov. 2026, 10:00". Browsers write the
// same with Intl.DateTimeFormat, so live updates look like the rest.

var monthAbbr = map[Lang][12]string{
	English: {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	Spanish: {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"},
	French:  {"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
	German:  {"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."},
}

func (l Lang) known() Lang {
	if _, ok := monthAbbr[l]; ok {
		return l
	}
	return English
}

// FormatDate writes t's calendar date (in t's own location) in l.
func FormatDate(l Lang, t time.Time) string {
	l = l.known()
	y, m, d := t.Date()
	mon := monthAbbr[l][m-1]
	switch l {
	case English:
		return fmt.Sprintf("%s %d, %d", mon, d, y)
	case German:
		return fmt.Sprintf("%d. %s %d", d, mon, y)
	default:
		return fmt.Sprintf("%d %s %d", d, mon, y)
	}
}

// FormatClock writes t's wall-clock time in l: 12-hour in English, 24-hour
// in the others.
func FormatClock(l Lang, t time.Time) string {
	if l.known() == English {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

// FormatDateTime writes t's date and wall-clock time in t's own location.
func FormatDateTime(l Lang, t time.Time) string {
	return FormatDate(l, t) + ", " + FormatClock(l, t)
}

// FormatOffset writes t's UTC offset as "UTC−05:00" (with a real minus
// sign), "UTC+05:30" or "UTC+00:00".
func FormatOffset(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "\u2212", -off
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, off/3600, off%3600/60)
}

// FormatEventTime writes when a scan happened as the local time at the
// scan's place, with its offset: "Nov 25, 2026, 10:00 AM (UTC−05:00)".
// local is the event's OccurredAtLocal.
func FormatEventTime(l Lang, local time.Time) string {
	return FormatDateTime(l, local) + " (" + FormatOffset(local) + ")"
}

// FormatNumber writes n with l's digit grouping: 1,234 / 1.234 / 1 234.
func FormatNumber(l Lang, n int) string {
	if n > -1000 && n < 1000 {
		return strconv.Itoa(n)
	}
	return message.NewPrinter(language.Make(string(l.known()))).Sprint(n)
}

// FormatRelative writes how long before now then was, in l: "just now",
// "12 minutes ago", "3 hours ago", "2 days ago". A then in the future (a
// clock a little ahead) is "just now".
func FormatRelative(l Lang, then, now time.Time) string {
	return formatSpan(l, "rel", "rel.now", now.Sub(then))
}

// FormatNext says when something will happen, relative to now: "next
// check in 3 hours". A time already past is "shortly": the scheduler is
// about to get to it.
func FormatNext(l Lang, then, now time.Time) string {
	return formatSpan(l, "next", "next.soon", then.Sub(now))
}

// formatSpan writes d in whole minutes, hours or days with the words under
// prefix ("rel.hour.other": "{n} hours ago"); under a minute, the word
// under brief ("just now", "shortly").
func formatSpan(l Lang, prefix, brief string, d time.Duration) string {
	var unit string
	var n int
	switch {
	case d < time.Minute:
		return l.T(brief)
	case d < time.Hour:
		unit, n = "minute", int(d/time.Minute)
	case d < 24*time.Hour:
		unit, n = "hour", int(d/time.Hour)
	default:
		unit, n = "day", int(d/(24*time.Hour))
	}
	form := ".other"
	if n == 1 {
		form = ".one"
	}
	return tr(l, prefix+"."+unit+form, "n", FormatNumber(l, n))
}

// ParseETA reads an estimated delivery, a date (2006-01-02) or an RFC 3339
// instant, as the calendar date it names (the instant's date in its own
// offset), at midnight UTC.
func ParseETA(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02") {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s[:len("2006-01-02")])
	if err != nil {
		return time.Time{}, false
	}
	if len(s) > len("2006-01-02") {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return time.Time{}, false
		}
	}
	return d, true
}

// FormatETA writes an estimated delivery's date in l, or "" when s is not
// a date.
func FormatETA(l Lang, s string) string {
	d, ok := ParseETA(s)
	if !ok {
		return ""
	}
	return FormatDate(l, d)
}

// tr returns the message key in l with each {name} replaced: pairs are
// name, value, name, value...
func tr(l Lang, key string, pairs ...string) string {
	m := l.T(key)
	for i := 0; i+1 < len(pairs); i += 2 {
		m = strings.ReplaceAll(m, "{"+pairs[i]+"}", pairs[i+1])
	}
	return m
}
