package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// ErrEmptyBody is the error of a message with nothing to say.
var ErrEmptyBody = errors.New("empty message body")

// maxAnswer bounds what is read of one Twilio answer: a message resource
// is about 1 KiB.
const maxAnswer = 256 << 10

// Sender sends text messages with Twilio's Messages API. It is safe for
// concurrent use; its connections are shared by every Send.
type Sender struct {
	cfg       Config
	base      *url.URL
	transport *http.Transport
	user      string
	pass      string
}

// New returns a Sender for cfg, refusing a configuration Twilio would.
func New(cfg Config) (*Sender, error) {
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Sender{
		cfg:       cfg,
		base:      base,
		transport: http.DefaultTransport.(*http.Transport).Clone(),
		user:      cfg.AccountSID,
		pass:      cfg.AuthToken,
	}
	if cfg.APIKeySID != "" {
		s.user, s.pass = cfg.APIKeySID, cfg.APIKeySecret
	}
	return s, nil
}

// Close releases the Sender's idle connections.
func (s *Sender) Close() { s.transport.CloseIdleConnections() }

// Send asks Twilio to send body to the number to and returns the
// message's sid (SM...), by which status callbacks name it. Twilio has
// only queued the message then; its fate arrives at StatusCallbackURL.
//
// An error wraps Twilio's (*client.TwilioRestError, with Twilio's code and
// message) or the transport's; Permanent says whether retrying can help.
// A timeout is ambiguous: Twilio may have queued the message anyway.
func (s *Sender) Send(ctx context.Context, to, body string) (string, error) {
	num, err := E164(to)
	if err != nil {
		return "", fmt.Errorf("send sms: recipient: %w", err)
	}
	if strings.TrimSpace(body) == "" {
		return "", fmt.Errorf("send sms: %w", ErrEmptyBody)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()

	params := &twapi.CreateMessageParams{}
	params.SetTo(num).SetBody(body)
	if s.cfg.From != "" {
		params.SetFrom(s.cfg.From)
	}
	if s.cfg.MessagingServiceSID != "" {
		params.SetMessagingServiceSid(s.cfg.MessagingServiceSID)
	}
	if s.cfg.StatusCallbackURL != "" {
		params.SetStatusCallback(s.cfg.StatusCallbackURL)
	}
	msg, err := s.api(ctx).CreateMessage(params)
	if err != nil {
		return "", fmt.Errorf("send sms: twilio messages api: %w", err)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return "", errors.New("send sms: twilio messages api: answer has no message sid")
	}
	return *msg.Sid, nil
}

// api returns a twilio-go API service whose requests carry ctx. twilio-go
// builds its requests on context.Background() and takes no context, so
// the context travels in the transport instead; the service is a few
// small structs, cheap to make per call. Building the request handler
// directly, not with client.NewRequestHandler, keeps TWILIO_EDGE and
// TWILIO_REGION from being read behind the configuration's back.
func (s *Sender) api(ctx context.Context) *twapi.ApiService {
	c := &client.Client{
		Credentials: client.NewCredentials(s.user, s.pass),
		HTTPClient: &http.Client{
			Transport: &boundTransport{ctx: ctx, base: s.base, next: s.transport},
			// Twilio's API does not redirect; following one would resend
			// the credentials somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	return twapi.NewApiService(&client.RequestHandler{Client: c})
}

// boundTransport sends twilio-go's requests to the configured base URL
// under the caller's context, and reads each answer whole before handing
// it back. The last part matters: twilio-go never closes the body of an
// error answer, so one it stops decoding early (a proxy's HTML error page)
// would leak its connection and the connection's goroutines.
type boundTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	r.URL.Scheme = t.base.Scheme
	r.URL.Host = t.base.Host
	r.URL.Path = strings.TrimRight(t.base.Path, "/") + r.URL.Path
	r.URL.RawPath = ""
	r.Host = t.base.Host
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read twilio answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("twilio answer (HTTP %d) larger than %d bytes", resp.StatusCode, maxAnswer)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}

// permanentCodes are Twilio errors about the message or its recipient
// that no retry fixes, whatever HTTP status carries them.
var permanentCodes = map[int]bool{
	21211: true, // invalid 'To' number
	21408: true, // permission to send to this region not enabled
	21610: true, // recipient replied STOP
	21612: true, // 'To' number not reachable from this sender
	21614: true, // 'To' number is not a mobile number
	21617: true, // body exceeds 1600 characters
	21635: true, // 'To' number cannot receive this message type
}

// Permanent reports whether err means retrying the same message cannot
// succeed: an invalid or unsubscribed recipient, a refused request (a 4xx
// other than 408 and 429, including bad credentials, which will not mend
// within a retry schedule), or a message trackd itself refused. Rate
// limits, Twilio's 5xx, timeouts, network errors and anything unknown are
// transient.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidNumber) || errors.Is(err, ErrEmptyBody) {
		return true
	}
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		return false
	}
	if permanentCodes[te.Code] {
		return true
	}
	switch {
	case te.Status == http.StatusTooManyRequests, te.Status == http.StatusRequestTimeout:
		return false
	case te.Status >= 400 && te.Status < 500:
		return true
	}
	return false
}
