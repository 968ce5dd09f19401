package web

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/notify/sms"
)

// twilioBodyLimit caps a Twilio webhook body. Status callbacks and inbound
// messages are a few hundred bytes of form; 64 KiB leaves room for a
// 1600-character body with every character percent-encoded, and MMS media
// URLs.
const twilioBodyLimit = 64 << 10

// SMSStatusLog records what Twilio says became of a message
// (deliverylog.Log). status is one of sent, delivered, undelivered and
// failed, the names of the delivery log's results; Twilio may report them
// more than once and out of order ("sent" after "delivered"). An error
// wrapping deliverylog.ErrNotFound means the message is not trackd's (or
// no longer kept) and is acknowledged like a recorded one.
type SMSStatusLog interface {
	UpdateByProviderID(ctx context.Context, providerID, status, errorDetail string) error
}

// SMSOptOuts records a shopper's SMS opt-out, by E.164 number.
type SMSOptOuts interface {
	SetSMSOptOut(ctx context.Context, phone string, out bool) error
}

// TwilioDeps is what the Twilio webhooks need.
type TwilioDeps struct {
	// AuthToken is the account's auth token, the key of X-Twilio-Signature
	// (even when sending uses an API key). Empty refuses every request.
	AuthToken string
	// PublicURL is trackd's URL as Twilio calls it (TRACKD_PUBLIC_URL,
	// e.g. https://track.example.com), without a trailing slash. Twilio
	// signs the URL it requested, which a proxy in front of trackd may have
	// rewritten (scheme, host, port), so it is configuration, not read
	// from the request.
	PublicURL string
	// Log receives status callbacks; TwilioStatus needs it.
	Log SMSStatusLog
	// OptOuts receives STOP and START; TwilioInbound needs it.
	OptOuts SMSOptOuts
	// HelpText answers HELP and INFO: who is texting, and how to stop.
	// Empty sends no reply of trackd's (Twilio may send its own).
	HelpText string
}

// statusesLogged are the Twilio statuses the delivery log records. The
// others (accepted, queued, scheduled, sending, and read or canceled,
// which trackd's SMS never reach) tell nothing Send's answer did not.
var statusesLogged = map[string]bool{
	sms.StatusSent: true, sms.StatusDelivered: true, sms.StatusUndelivered: true, sms.StatusFailed: true,
}

// TwilioStatus handles POST /webhooks/twilio/status, where Twilio reports
// each change of a message's delivery status (the StatusCallback Send
// passes). A verified, well-formed report of a status in statusesLogged
// goes to deps.Log; every verified report is answered 204, since Twilio
// has nothing to do about one trackd does not keep. A bad or missing
// signature is a 401, and nothing of the request is kept.
func TwilioStatus(deps TwilioDeps) fiber.Handler {
	if deps.Log == nil {
		panic("web.TwilioStatus: nil Log")
	}
	return func(c *fiber.Ctx) error {
		params, err := deps.verifiedForm(c)
		if err != nil {
			return err
		}
		st, err := sms.ParseStatus(params)
		if err != nil {
			return httpError(fiber.StatusBadRequest, err.Error())
		}
		if !statusesLogged[st.MessageStatus] {
			return c.SendStatus(fiber.StatusNoContent)
		}
		err = deps.Log.UpdateByProviderID(c.UserContext(), st.MessageSID, st.MessageStatus, st.ErrorDetail())
		if err != nil && !errors.Is(err, deliverylog.ErrNotFound) {
			return fmt.Errorf("record status %s of sms %s: %w", st.MessageStatus, st.MessageSID, err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// TwilioInbound handles POST /webhooks/twilio/inbound, where Twilio
// forwards the texts shoppers send to trackd's number. Twilio blocks a
// number that texts STOP at its own level; recording the opt-out too
// keeps trackd from sending against it (from any sender), and START
// undoes it. HELP gets deps.HelpText back as TwiML. Anything else is
// acknowledged with an empty TwiML response: trackd holds no
// conversations.
func TwilioInbound(deps TwilioDeps) fiber.Handler {
	if deps.OptOuts == nil {
		panic("web.TwilioInbound: nil OptOuts")
	}
	return func(c *fiber.Ctx) error {
		params, err := deps.verifiedForm(c)
		if err != nil {
			return err
		}
		reply := ""
		switch kind := sms.Keyword(params.Get("Body")); kind {
		case sms.OptOut, sms.OptIn:
			from, err := sms.E164(params.Get("From"))
			if err != nil {
				return &Error{Status: fiber.StatusBadRequest, Message: "From is not a phone number: " + err.Error(), Field: "From"}
			}
			if err := deps.OptOuts.SetSMSOptOut(c.UserContext(), from, kind == sms.OptOut); err != nil {
				// The number stays out of the error: it is logged.
				return fmt.Errorf("record sms %s of inbound message %s: %w", kind, params.Get("MessageSid"), err)
			}
		case sms.Help:
			reply = deps.HelpText
		}
		c.Set(fiber.HeaderContentType, "text/xml; charset=utf-8")
		return c.SendString(twiml(reply))
	}
}

// verifiedForm returns the request's form once X-Twilio-Signature proves
// Twilio sent it: size first, then the signature, and nothing is acted on
// before both pass.
func (d TwilioDeps) verifiedForm(c *fiber.Ctx) (url.Values, error) {
	body := c.Body()
	if len(body) > twilioBodyLimit {
		return nil, httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	if d.AuthToken == "" {
		return nil, httpError(fiber.StatusUnauthorized, "twilio webhooks are disabled: no Twilio auth token is configured")
	}
	signature := c.Get(sms.SignatureHeader)
	if signature == "" {
		return nil, httpError(fiber.StatusUnauthorized, "missing "+sms.SignatureHeader)
	}
	// ParseQuery copies out of Fiber's buffer, so params outlive the request.
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, httpError(fiber.StatusBadRequest, "body is not a form")
	}
	if !sms.Verify(d.AuthToken, strings.TrimRight(d.PublicURL, "/")+c.OriginalURL(), params, signature) {
		return nil, httpError(fiber.StatusUnauthorized, sms.SignatureHeader+" does not match")
	}
	return params, nil
}

const twimlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>`

// twiml is a TwiML response replying msg, or nothing when msg is empty.
func twiml(msg string) string {
	if msg == "" {
		return twimlDeclaration + "<Response/>"
	}
	var b strings.Builder
	b.WriteString(twimlDeclaration + "<Response><Message>")
	// EscapeText writes to a strings.Builder, which cannot fail.
	_ = xml.EscapeText(&b, []byte(msg))
	b.WriteString("</Message></Response>")
	return b.String()
}
