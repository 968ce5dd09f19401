package email

import (
	"errors"
	"net/textproto"
	"strings"

	mail "github.com/wneessen/go-mail"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("email sender closed")

// Error is a failed Send. Its text keeps the server's reply (code and
// text) when there was one.
type Error struct {
	// Op is what failed: "message" (refused before sending), "dial"
	// (connect, TLS, EHLO, AUTH), "mail from", "rcpt to", "data", "send".
	Op string
	// Code is the SMTP reply code (550, 451...), 0 when the failure was
	// not a reply (a network error, a timeout, a bad message).
	Code int
	// EnhancedCode is the RFC 3463 status ("5.1.1") when the server sent
	// one.
	EnhancedCode string
	// permanent says retrying the same message cannot succeed.
	permanent bool
	Err       error
	// text, when set, says what Err says without repeating the recipient.
	text string
}

func (e *Error) Error() string {
	if e.text != "" {
		return "smtp " + e.Op + ": " + e.text
	}
	return "smtp " + e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether err says the message can never be delivered
// as it is, so retrying is pointless: a 5xx reply to the transaction (550
// mailbox unavailable, 553 bad address, 552 too big), or a message refused
// before sending (an invalid recipient address, a header with a line
// break). Everything else is transient: 4xx replies, timeouts, connection
// and TLS errors, and failures to dial or log in, whatever their code,
// since those are about the server or its settings, not the message, and
// every message would fail alike until someone fixes them.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.permanent
}

// invalid is a message refused before sending.
func invalid(err error) *Error {
	return &Error{Op: "message", Err: err, permanent: true}
}

// sendOp names the stage a go-mail send failed at.
func sendOp(r mail.SendErrReason) string {
	switch r {
	case mail.ErrSMTPMailFrom:
		return "mail from"
	case mail.ErrSMTPRcptTo:
		return "rcpt to"
	case mail.ErrSMTPData, mail.ErrSMTPDataClose, mail.ErrWriteContent:
		return "data"
	default:
		return "send"
	}
}

// classify turns a go-mail send failure into an *Error.
func classify(err error) *Error {
	var se *mail.SendError
	if !errors.As(err, &se) {
		return &Error{Op: "send", Err: err}
	}
	e := &Error{Op: sendOp(se.Reason), Code: se.ErrorCode(), EnhancedCode: se.EnhancedStatusCode(), Err: err, text: replyText(se)}
	// Only a reply to the transaction itself says the message is bad; a
	// 5xx before MAIL (there is none without NOOP and RSET) would not.
	switch se.Reason {
	case mail.ErrSMTPMailFrom, mail.ErrSMTPRcptTo, mail.ErrSMTPData, mail.ErrSMTPDataClose:
		e.permanent = e.Code >= 500 && e.Code < 600
	}
	return e
}

// replyText is what go-mail's SendError says, less what the caller
// knows already: the stage (Op says it), the recipient's address (which
// would defeat a delivery log's masking) and the message id.
func replyText(se *mail.SendError) string {
	s := strings.TrimPrefix(se.Error(), se.Reason.String()+": ")
	for _, tail := range []string{", affected recipient(s): ", ", affected message ID: "} {
		if i := strings.Index(s, tail); i >= 0 {
			s = s[:i]
		}
	}
	return s
}

// dialError wraps a failure to open a connection: transient whatever its
// code.
func dialError(err error) *Error {
	return &Error{Op: "dial", Code: replyCode(err), Err: err}
}

// replyCode is the code of the SMTP reply err carries, 0 without one.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}
