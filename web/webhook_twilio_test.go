package web

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/notify/sms"
)

const (
	twToken     = "0123456789abcdef0123456789abcdef"
	twPublicURL = "https://track.example.com"
	twSID       = "SM1f0e8ae6ade43cb3c0ce4525424e404f"
	twShopper   = "+14155550123"
	twNumber    = "+14155550100"
	twHelp      = "Acme <orders> & returns: reply STOP to opt out, START to opt back in."
)

// twilioFakes record what the handlers pass on.
type twilioFakes struct {
	mu       sync.Mutex
	statuses []string
	optOuts  []string
	err      error
}

func (f *twilioFakes) UpdateByProviderID(_ context.Context, id, status, detail string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, id+" "+status+" "+detail)
	return f.err
}

func (f *twilioFakes) SetSMSOptOut(_ context.Context, phone string, out bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if out {
		f.optOuts = append(f.optOuts, phone+" out")
	} else {
		f.optOuts = append(f.optOuts, phone+" in")
	}
	return f.err
}

func (f *twilioFakes) calls() (statuses, optOuts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.statuses...), append([]string(nil), f.optOuts...)
}

func newTwilioApp(f *twilioFakes, token string) *fiber.App {
	deps := TwilioDeps{AuthToken: token, PublicURL: twPublicURL + "/", Log: f, OptOuts: f, HelpText: twHelp}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
	app.Post("/webhooks/twilio/status", TwilioStatus(deps))
	app.Post("/webhooks/twilio/inbound", TwilioInbound(deps))
	return app
}

// twilioPost posts a form body to target (path and query) with
// signature in X-Twilio-Signature, as Twilio does.
func twilioPost(t *testing.T, app *fiber.App, target, body, signature string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set(sms.SignatureHeader, signature)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// twSign is Twilio's signature of form posted to target on trackd.
func twSign(target string, form url.Values) string {
	return sms.Sign(twToken, twPublicURL+target, form)
}

// statusCallback is a status callback's form as Twilio posts it.
func statusCallback(status, errorCode string) url.Values {
	v := url.Values{
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "ApiVersion": {"2010-04-01"},
		"From": {twNumber}, "To": {twShopper},
		"MessageSid": {twSID}, "MessageStatus": {status}, "SmsSid": {twSID}, "SmsStatus": {status},
	}
	if errorCode != "" {
		v.Set("ErrorCode", errorCode)
	}
	return v
}

// inboundMessage is an incoming text's form as Twilio posts it.
func inboundMessage(from, body string) url.Values {
	return url.Values{
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "ApiVersion": {"2010-04-01"},
		"MessageSid": {"SM0000000000000000000000000000abcd"}, "SmsSid": {"SM0000000000000000000000000000abcd"},
		"From": {from}, "To": {twNumber}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"FromCountry": {"US"}, "FromState": {"CA"}, "FromCity": {"SAN FRANCISCO"},
	}
}

func TestTwilioStatus_SignedUpdateRecorded(t *testing.T) {
	tests := []struct {
		name, target string
		form         url.Values
		want         string
	}{
		{"delivered", "/webhooks/twilio/status", statusCallback("delivered", ""), twSID + " delivered "},
		{"undelivered", "/webhooks/twilio/status", statusCallback("undelivered", "30007"), twSID + " undelivered twilio error 30007: filtered by the carrier"},
		{"callback URL with a query", "/webhooks/twilio/status?shop=acme&v=2", statusCallback("sent", ""), twSID + " sent "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &twilioFakes{}
			resp, body := twilioPost(t, newTwilioApp(f, twToken), tt.target, tt.form.Encode(), twSign(tt.target, tt.form))
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			statuses, optOuts := f.calls()
			if !reflect.DeepEqual(statuses, []string{tt.want}) || len(optOuts) != 0 {
				t.Errorf("statuses %q, opt-outs %q; want %q", statuses, optOuts, tt.want)
			}
		})
	}
}

func TestTwilioStatus_OnlyLoggedStatusesPassedOn(t *testing.T) {
	const target = "/webhooks/twilio/status"
	for _, status := range []string{"accepted", "queued", "sending", "scheduled", "read", "canceled"} {
		t.Run(status, func(t *testing.T) {
			f := &twilioFakes{}
			form := statusCallback(status, "")
			resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
			if statuses, _ := f.calls(); len(statuses) != 0 {
				t.Errorf("passed on %q", statuses)
			}
		})
	}
}

func TestTwilioStatus_UnknownMessageAcknowledged(t *testing.T) {
	f := &twilioFakes{err: fmt.Errorf("update attempt of %s: %w", twSID, deliverylog.ErrNotFound)}
	form := statusCallback("delivered", "")
	const target = "/webhooks/twilio/status"
	resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d %s, want 204", resp.StatusCode, body)
	}
	if statuses, _ := f.calls(); len(statuses) != 1 {
		t.Errorf("statuses %q, want the one lookup", statuses)
	}
}

func TestTwilioStatus_DefaultPortInSignedURLAccepted(t *testing.T) {
	f := &twilioFakes{}
	form := statusCallback("delivered", "")
	sig := sms.Sign(twToken, "https://track.example.com:443/webhooks/twilio/status", form)
	if resp, body := twilioPost(t, newTwilioApp(f, twToken), "/webhooks/twilio/status", form.Encode(), sig); resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d: %s", resp.StatusCode, body)
	}
}

func TestTwilioWebhooks_RefusedWithoutValidSignature(t *testing.T) {
	const status, inbound = "/webhooks/twilio/status", "/webhooks/twilio/inbound"
	delivered := statusCallback("delivered", "")
	stop := inboundMessage(twShopper, "STOP")
	tampered := inboundMessage("+14155550199", "STOP")
	repeated := inboundMessage(twShopper, "hello")
	repeated.Add("Body", "STOP")
	tests := []struct {
		name, token, target, body, signature string
		want                                 int
		errHas                               string
	}{
		{"status, unsigned", twToken, status, delivered.Encode(), "", 401, "missing X-Twilio-Signature"},
		{"inbound, unsigned", twToken, inbound, stop.Encode(), "", 401, "missing X-Twilio-Signature"},
		{"signed with another token", twToken, inbound, stop.Encode(), sms.Sign("fedcba9876543210", twPublicURL+inbound, stop), 401, "does not match"},
		{"signed for another path", twToken, inbound, stop.Encode(), twSign(status, stop), 401, "does not match"},
		{"signed for http", twToken, inbound, stop.Encode(), sms.Sign(twToken, "http://track.example.com"+inbound, stop), 401, "does not match"},
		{"query added after signing", twToken, inbound + "?x=1", stop.Encode(), twSign(inbound, stop), 401, "does not match"},
		{"From changed after signing", twToken, inbound, tampered.Encode(), twSign(inbound, stop), 401, "does not match"},
		{"status changed after signing", twToken, status, statusCallback("failed", "30003").Encode(), twSign(status, delivered), 401, "does not match"},
		{"unsigned STOP appended", twToken, inbound, repeated.Encode(), twSign(inbound, inboundMessage(twShopper, "hello")), 401, "does not match"},
		{"garbage signature", twToken, status, delivered.Encode(), "!!!", 401, "does not match"},
		{"no token configured", "", status, delivered.Encode(), sms.Sign("", twPublicURL+status, delivered), 401, "disabled"},
		{"too large", twToken, inbound, stop.Encode() + "&Pad=" + strings.Repeat("x", 64<<10), "x", 413, "too large"},
		{"not a form", twToken, status, "%zz", "x", 400, "not a form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &twilioFakes{}
			resp, body := twilioPost(t, newTwilioApp(f, tt.token), tt.target, tt.body, tt.signature)
			if resp.StatusCode != tt.want || !strings.Contains(body, tt.errHas) {
				t.Errorf("status %d %s, want %d with %q", resp.StatusCode, body, tt.want, tt.errHas)
			}
			if statuses, optOuts := f.calls(); len(statuses)+len(optOuts) != 0 {
				t.Errorf("acted on it: statuses %q, opt-outs %q", statuses, optOuts)
			}
		})
	}
}

func TestTwilioStatus_MalformedSignedReportRefused(t *testing.T) {
	f := &twilioFakes{}
	form := statusCallback("delivered", "")
	form.Set("MessageSid", "SM<script>")
	form.Set("SmsSid", "SM<script>")
	const target = "/webhooks/twilio/status"
	resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "MessageSid") {
		t.Errorf("status %d %s, want 400 about MessageSid", resp.StatusCode, body)
	}
	if statuses, _ := f.calls(); len(statuses) != 0 {
		t.Errorf("recorded %q", statuses)
	}
}

func TestTwilioStatus_LogFailureIs500(t *testing.T) {
	f := &twilioFakes{err: errors.New("redis down")}
	form := statusCallback("delivered", "")
	const target = "/webhooks/twilio/status"
	if resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form)); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d %s, want 500", resp.StatusCode, body)
	}
}

// twimlResponse is what Twilio reads of a TwiML reply.
type twimlResponse struct {
	XMLName  xml.Name `xml:"Response"`
	Messages []string `xml:"Message"`
}

func TestTwilioInbound_Keywords(t *testing.T) {
	tests := []struct {
		name, from, body string
		wantOptOuts      []string
		wantReply        []string
	}{
		{"STOP opts out", twShopper, "STOP", []string{twShopper + " out"}, nil},
		{"any opt-out keyword, any case", twShopper, " unsubscribe\n", []string{twShopper + " out"}, nil},
		{"START opts back in", twShopper, "Start", []string{twShopper + " in"}, nil},
		{"UNSTOP opts back in", twShopper, "UNSTOP", []string{twShopper + " in"}, nil},
		{"HELP replies", twShopper, "help", nil, []string{twHelp}},
		{"INFO replies", twShopper, "INFO", nil, []string{twHelp}},
		{"a sentence is no keyword", twShopper, "please stop texting me", nil, nil},
		{"a question gets no reply", twShopper, "where is my parcel?", nil, nil},
		{"anything from a short code is ignored", "22395", "Free msg: your plan renews", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &twilioFakes{}
			form := inboundMessage(tt.from, tt.body)
			const target = "/webhooks/twilio/inbound"
			resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Errorf("content type %q", ct)
			}
			var got twimlResponse
			if err := xml.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("not TwiML: %v\n%s", err, body)
			}
			if !reflect.DeepEqual(got.Messages, tt.wantReply) {
				t.Errorf("reply %q, want %q (%s)", got.Messages, tt.wantReply, body)
			}
			statuses, optOuts := f.calls()
			if !reflect.DeepEqual(optOuts, tt.wantOptOuts) || len(statuses) != 0 {
				t.Errorf("opt-outs %q, want %q; statuses %q", optOuts, tt.wantOptOuts, statuses)
			}
		})
	}
}

func TestTwilioInbound_HelpTextIsEscaped(t *testing.T) {
	f := &twilioFakes{}
	form := inboundMessage(twShopper, "HELP")
	const target = "/webhooks/twilio/inbound"
	_, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
	want := `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme &lt;orders&gt; &amp; returns: reply STOP to opt out, START to opt back in.</Message></Response>`
	if body != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

func TestTwilioInbound_NoHelpTextNoReply(t *testing.T) {
	f := &twilioFakes{}
	deps := TwilioDeps{AuthToken: twToken, PublicURL: twPublicURL, Log: f, OptOuts: f}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
	app.Post("/webhooks/twilio/inbound", TwilioInbound(deps))
	form := inboundMessage(twShopper, "HELP")
	const target = "/webhooks/twilio/inbound"
	if _, body := twilioPost(t, app, target, form.Encode(), twSign(target, form)); body != `<?xml version="1.0" encoding="UTF-8"?><Response/>` {
		t.Errorf("body %s, want an empty response", body)
	}
}

func TestTwilioInbound_Failures(t *testing.T) {
	const target = "/webhooks/twilio/inbound"
	tests := []struct {
		name     string
		from     string
		storeErr error
		want     int
	}{
		{"opt-out store down", twShopper, errors.New("redis down"), http.StatusInternalServerError},
		{"STOP from something not a number", "whatsapp:+14155550123", nil, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &twilioFakes{err: tt.storeErr}
			form := inboundMessage(tt.from, "STOP")
			resp, body := twilioPost(t, newTwilioApp(f, twToken), target, form.Encode(), twSign(target, form))
			if resp.StatusCode != tt.want {
				t.Errorf("status %d %s, want %d", resp.StatusCode, body, tt.want)
			}
			if strings.Contains(body, "4155550123") {
				t.Errorf("the answer repeats the number: %s", body)
			}
		})
	}
}
