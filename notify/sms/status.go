package sms

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Message statuses Twilio reports in status callbacks. Twilio may add
// more; ParseStatus passes any well-formed status on.
const (
	StatusAccepted    = "accepted"
	StatusScheduled   = "scheduled"
	StatusQueued      = "queued"
	StatusSending     = "sending"
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
	StatusFailed      = "failed"
	StatusRead        = "read"
	StatusCanceled    = "canceled"
)

// Status is one delivery update from Twilio's status callback. Twilio
// posts one per transition and does not promise their order: "sent" may
// arrive after "delivered".
type Status struct {
	MessageSID    string // the sid Send returned
	MessageStatus string // queued, sent, delivered, undelivered, failed...
	ErrorCode     string // Twilio's error code when undelivered or failed, e.g. "30007"; else empty
	To            string // the recipient, as Twilio reports it
}

// Final reports whether no later status is expected, except "read" after
// "delivered" on channels that report it.
func (s Status) Final() bool {
	switch s.MessageStatus {
	case StatusDelivered, StatusUndelivered, StatusFailed, StatusRead, StatusCanceled:
		return true
	}
	return false
}

// deliveryErrors name the delivery errors people meet most, so the log
// says more than a number. From Twilio's error dictionary.
var deliveryErrors = map[string]string{
	"30001": "queue overflow",
	"30002": "account suspended",
	"30003": "unreachable destination handset",
	"30004": "message blocked",
	"30005": "unknown destination handset",
	"30006": "landline or unreachable carrier",
	"30007": "filtered by the carrier",
	"30008": "unknown error",
	"30010": "message price exceeds max price",
	"30032": "toll-free number not verified",
	"30034": "sender not registered (A2P 10DLC)",
}

// ErrorDetail is the error for the delivery log: empty when there is no
// error code, else the code and, for well-known codes, what it means.
func (s Status) ErrorDetail() string {
	if s.ErrorCode == "" {
		return ""
	}
	if what, ok := deliveryErrors[s.ErrorCode]; ok {
		return "twilio error " + s.ErrorCode + ": " + what
	}
	return "twilio error " + s.ErrorCode
}

var (
	sidPattern         = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	statusPattern      = regexp.MustCompile(`^[a-z_]{1,32}$`)
	errorCodePattern   = regexp.MustCompile(`^[0-9]{1,10}$`)
	errMalformedStatus = errors.New("malformed twilio status callback")
)

// ParseStatus reads the form of a status callback. It checks the shape of
// what it keeps, since the values end up in the delivery log; it does not
// authenticate (see Verify).
func ParseStatus(params url.Values) (Status, error) {
	s := Status{
		MessageSID:    params.Get("MessageSid"),
		MessageStatus: params.Get("MessageStatus"),
		ErrorCode:     params.Get("ErrorCode"),
		To:            params.Get("To"),
	}
	// SmsSid and SmsStatus are the deprecated names Twilio still sends.
	if s.MessageSID == "" {
		s.MessageSID = params.Get("SmsSid")
	}
	if s.MessageStatus == "" {
		s.MessageStatus = params.Get("SmsStatus")
	}
	s.MessageStatus = strings.ToLower(s.MessageStatus)
	// Twilio sends ErrorCode=0 on some channels for "no error".
	if s.ErrorCode == "0" {
		s.ErrorCode = ""
	}
	var errs []error
	if !sidPattern.MatchString(s.MessageSID) {
		errs = append(errs, errors.New("missing MessageSid, or not a Twilio sid"))
	}
	if !statusPattern.MatchString(s.MessageStatus) {
		errs = append(errs, errors.New("missing or malformed MessageStatus"))
	}
	if s.ErrorCode != "" && !errorCodePattern.MatchString(s.ErrorCode) {
		errs = append(errs, errors.New("non-numeric ErrorCode"))
	}
	if len(s.To) > maxNumberInput {
		errs = append(errs, errors.New("overlong To"))
	}
	if len(errs) > 0 {
		return Status{}, errors.Join(append([]error{errMalformedStatus}, errs...)...)
	}
	return s, nil
}
