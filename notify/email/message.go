package email

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email to one shopper.
type Message struct {
	// To is the recipient's bare address (shopper@example.com); ToName,
	// optional, the name shown with it.
	To, ToName string
	// Subject is the subject line; line breaks in it become spaces.
	Subject string
	// HTML and Text are the two renderings; at least one is required.
	// With both, the message is multipart/alternative, text first, as
	// RFC 2046 orders from plainest to richest.
	HTML, Text string
	// UnsubscribeURL, optional, is the one-click opt-out link, sent as
	// List-Unsubscribe and, for an https URL, with RFC 8058's
	// "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (which requires
	// https; an http URL, as in development, gets List-Unsubscribe only).
	UnsubscribeURL string
	// MessageID, optional, is the Message-ID without angle brackets
	// (id@domain). Empty generates one at From's domain.
	MessageID string
	// Headers are extra header fields (X-Trackd-Notification: ...). The
	// fields Send sets itself cannot be given, and values must be one
	// line.
	Headers map[string]string
}

// reserved are the header fields Send writes; giving them in Headers
// would duplicate or contradict them, as would any Content- field (the
// MIME structure is Send's). Cc and Bcc would show addresses the
// envelope does not send to.
var reserved = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "list-unsubscribe": true, "list-unsubscribe-post": true,
	"return-path": true,
}

// maxHeaderValue keeps every header line within RFC 5322's 998 octets
// with room for its name.
const maxHeaderValue = 900

// build checks m and turns it into a go-mail message. Every error is an
// *Error that Permanent recognises: the same message would fail again.
func (s *Sender) build(m Message) (*gomail.Msg, string, error) {
	to, err := recipient(m.To)
	if err != nil {
		return nil, "", invalid(err)
	}
	to.Name = displayName(m.ToName)
	if m.HTML == "" && m.Text == "" {
		return nil, "", invalid(errors.New("no body: HTML and Text are empty"))
	}
	id := strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">")
	if id == "" {
		id = rand.Text() + "@" + s.ep.fromDomain
	} else if err := checkMessageID(id); err != nil {
		return nil, "", invalid(err)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.ep.from)
	msg.ToMailAddress(to)
	msg.Subject(oneLine(utf8(m.Subject)))
	msg.SetDateWithValue(s.now())
	msg.SetMessageIDWithValue(id)
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, utf8(m.Text))
		msg.AddAlternativeString(gomail.TypeTextHTML, utf8(m.HTML))
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, utf8(m.Text))
	default:
		msg.SetBodyString(gomail.TypeTextHTML, utf8(m.HTML))
	}
	if m.UnsubscribeURL != "" {
		if err := setUnsubscribe(msg, m.UnsubscribeURL); err != nil {
			return nil, "", invalid(err)
		}
	}
	for name, value := range m.Headers {
		if err := checkHeader(name, value); err != nil {
			return nil, "", invalid(err)
		}
		msg.SetGenHeader(gomail.Header(name), value)
	}
	return msg, id, nil
}

// recipient parses a bare address. A display name, comment or group is
// refused rather than guessed at: To comes from an order, and anything but
// one address there is a mistake (or an attempt to add recipients).
func recipient(s string) (*mail.Address, error) {
	if s == "" {
		return nil, errors.New("no recipient")
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("recipient address contains a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("invalid recipient address: %w", err)
	}
	if a.Name != "" || a.Address != s {
		return nil, errors.New("invalid recipient address: want a bare address, without name or comment")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 1 || !strings.Contains(a.Address[at+1:], ".") {
		return nil, errors.New("invalid recipient address: no domain")
	}
	return a, nil
}

// oneLine neutralises what would end a header line: control characters
// (CR and LF above all) become spaces, runs of spaces one. Subjects come
// from templates, where a stray newline is a slip, not a reason to fail
// the message; encoded or not, it must never start a new header.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return isControl(r) || r == ' ' }), " ")
}

// displayName is the recipient's name made safe for the To header: one
// line of valid UTF-8, without backslashes, which Go's RFC 2047 encoder
// leaves raw in encoded words where a display name may not have them
// (and net/mail then fails to parse the header).
func displayName(s string) string {
	return oneLine(strings.ReplaceAll(utf8(s), `\`, " "))
}

// utf8 replaces invalid UTF-8 with U+FFFD: every part is declared UTF-8.
func utf8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// checkMessageID accepts what RFC 5322's msg-id allows in practice: a
// left and right part of printable ASCII around one @.
func checkMessageID(id string) error {
	left, right, ok := strings.Cut(id, "@")
	if !ok || left == "" || right == "" || len(id) > 250 ||
		strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`<>()[]\",;:`, r) }) ||
		strings.Contains(right, "@") {
		return fmt.Errorf("message id %q: want id@domain in printable ASCII", id)
	}
	return nil
}

// checkHeader refuses a header field that could break the header block:
// a name outside RFC 5322's field-name characters, a value with a line
// break, or a field Send sets itself.
func checkHeader(name, value string) error {
	if name == "" || len(name) > 76 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) {
		return fmt.Errorf("header name %q: want at most 76 printable ASCII characters without spaces or colons", name)
	}
	if lower := strings.ToLower(name); reserved[lower] || strings.HasPrefix(lower, "content-") {
		return fmt.Errorf("header %s is set by the sender", name)
	}
	if strings.ContainsFunc(value, func(r rune) bool { return isControl(r) && r != '\t' }) {
		return fmt.Errorf("header %s: value contains a line break or control character", name)
	}
	if len(value) > maxHeaderValue {
		return fmt.Errorf("header %s: value longer than %d bytes", name, maxHeaderValue)
	}
	return nil
}

// setUnsubscribe sets List-Unsubscribe, with the one-click POST header
// for https URLs. The URL goes between angle brackets unencoded, so
// characters that would end it early or split the list are refused.
func setUnsubscribe(msg *gomail.Msg, raw string) error {
	if len(raw) > maxHeaderValue || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(`<>",`, r) }) {
		return errors.New("unsubscribe URL: want at most 900 printable ASCII characters without <, >, \", comma or space")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("unsubscribe URL %q: want an absolute https URL", raw)
	}
	msg.SetListUnsubscribe(raw)
	if u.Scheme == "https" {
		msg.SetListUnsubscribePost()
	}
	return nil
}

// now is the clock messages are dated by.
func (s *Sender) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}
