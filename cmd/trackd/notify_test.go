package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/notify/email/smtptest"
	"github.com/trackd/trackd/notify/sms"
	"github.com/trackd/trackd/tracking/redistest"
)

const testNotifySecret = "notify-secret-0123456789-0123456789"

// parts decodes a multipart/alternative email into its text and HTML.
func parts(t *testing.T, raw []byte) (*mail.Message, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	var text, html string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(body)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return m, text, html
}

// A carrier webhook in, the shopper's email out: in their language, the
// carrier's text escaped, with the one-click unsubscribe headers; the
// link opts them out, and the next change sends nothing.
func TestNotifications_EmailEndToEnd(t *testing.T) {
	smtp := smtptest.Start(t, smtptest.Options{})
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"SMTP_URL": smtp.URL(), "SMTP_FROM": "Acme Shop <shop@example.com>", "TRACKD_NOTIFY_SECRET": testNotifySecret,
		"TRACKD_NOTIFY_COLLAPSE": "0", "TRACKD_BRAND_NAME": "Acme"})
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-MAIL-1",
		"customer":  map[string]any{"name": "Ana García", "email": "ana@example.com", "locale": "es"},
		"items":     []map[string]any{{"sku": "MUG", "name": "Taza", "quantity": 1}},
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1ZMAIL0001", "items": []map[string]any{{"sku": "MUG", "quantity": 1}}}},
	}, nil); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	webhook := func(status, text string) {
		body, _ := json.Marshal(generic.Message{Carrier: "ups", TrackingNumber: "1ZMAIL0001", Events: []generic.MessageEvent{{
			Status: status, Message: text, OccurredAt: time.Now().UTC().Format(time.RFC3339)}}})
		if code, resp := in.post(body); code != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", code, resp)
		}
	}
	webhook("out_for_delivery", "<script>alert(1)</script>")
	msgs := smtp.Wait(t, 1)
	m, text, html := parts(t, msgs[0].Data)
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if msgs[0].To[0] != "ana@example.com" || subject == "" {
		t.Fatalf("message to %v with subject %q", msgs[0].To, subject)
	}
	if !strings.Contains(html+text, "Ana") || !strings.Contains(html, "1ZMAIL0001") {
		t.Errorf("the email does not greet Ana or name the tracking number:\n%s", html)
	}
	if strings.Contains(html, "<script>alert(1)</script>") {
		t.Errorf("the carrier's text reached the HTML unescaped:\n%s", html)
	}
	if strings.Contains(subject+text, "Out for delivery") {
		t.Errorf("a Spanish shopper got English: %q", subject)
	}
	unsub := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, in.base+"/u/") || m.Header.Get("List-Unsubscribe-Post") != "" && m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", unsub, m.Header.Get("List-Unsubscribe-Post"))
	}
	if !strings.Contains(html, strings.ReplaceAll(unsub, "&", "&amp;")) {
		t.Errorf("the HTML has no unsubscribe link %s", unsub)
	}

	// The mail client's one-click opt-out.
	req, _ := http.NewRequest(http.MethodPost, unsub, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if code, body := do(t, req); code != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d %s", code, body)
	}
	webhook("delivered", "Entregado")
	// The delivery log shows the skip: await it rather than the absence
	// of an email.
	waitFor(t, "the delivered email to be skipped for the opt-out", func() bool {
		var page struct {
			Notifications []struct{ Trigger, Result string } `json:"notifications"`
		}
		if in.api(http.MethodGet, "/api/v1/notifications?order=R-MAIL-1", nil, &page) != http.StatusOK {
			return false
		}
		for _, n := range page.Notifications {
			if n.Trigger == "delivered" && n.Result == "skipped_optout" {
				return true
			}
		}
		return false
	})
	if n := smtp.Count(); n != 1 {
		t.Errorf("%d emails after the opt-out, want still 1", n)
	}
}

// Marketing's templates through the API: a syntax error is refused with
// its line, saves are versions, a restore brings one back, a test send
// arrives, and the shipped notification uses the restored template, in
// the default locale for a shopper whose language trackd has none of.
func TestNotifications_TemplatesVersionsAndLocaleFallback(t *testing.T) {
	smtp := smtptest.Start(t, smtptest.Options{})
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"SMTP_URL": smtp.URL(), "SMTP_FROM": "shop@example.com", "TRACKD_NOTIFY_SECRET": testNotifySecret,
		"TRACKD_NOTIFY_COLLAPSE": "0"})
	const path = "/api/v1/templates/shipped/email/en"
	html := "<p>Hello {{ customer.first_name }}, order {{ order.number }} shipped: {{ shipment.tracking_number }}</p>"
	put := func(subject, html string, out any) int {
		b, _ := json.Marshal(map[string]any{"subject": subject, "html": html, "text": "Order {{ order.number }}"})
		req, _ := http.NewRequest(http.MethodPut, in.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+testAPIKey)
		code, text := do(t, req)
		if err := json.Unmarshal([]byte(text), out); err != nil {
			t.Fatalf("PUT %s: %d %s", path, code, text)
		}
		return code
	}
	var bad struct {
		Errors []struct {
			Part    string `json:"part"`
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if code := put("Shipped", "<p>line one</p>\n<p>{% if customer.first_name %}unclosed</p>", &bad); code != http.StatusUnprocessableEntity ||
		len(bad.Errors) == 0 || bad.Errors[0].Part != "html" || bad.Errors[0].Line < 1 {
		t.Fatalf("a syntax error: %d %+v, want 422 naming the html part and its line", code, bad)
	}
	var saved struct {
		Version int `json:"version"`
	}
	for i, subject := range []string{"V1: order {{ order.number }} is on its way", "V2: something else"} {
		if code := put(subject, html, &saved); code != http.StatusOK || saved.Version != i+1 {
			t.Fatalf("save %d: %d, version %d", i+1, code, saved.Version)
		}
	}
	if code := in.api(http.MethodPost, path+"/versions/1/restore", nil, &saved); code != http.StatusOK || saved.Version != 3 {
		t.Fatalf("restore version 1: %d, version %d; want 200 and version 3", code, saved.Version)
	}
	var got struct {
		Version int    `json:"version"`
		Subject string `json:"subject"`
	}
	if code := in.api(http.MethodGet, path, nil, &got); code != http.StatusOK || got.Version != 3 || !strings.HasPrefix(got.Subject, "V1:") {
		t.Fatalf("after the restore: %d %+v, want version 3 with version 1's subject", code, got)
	}

	if code := in.api(http.MethodPost, "/api/v1/templates/test-send", map[string]any{
		"trigger": "shipped", "channel": "email", "locale": "en", "to": "marketing@example.com"}, nil); code != http.StatusAccepted {
		t.Fatalf("test send: %d", code)
	}
	sent := smtp.Wait(t, 1)
	if sent[0].To[0] != "marketing@example.com" || !bytes.Contains(sent[0].Data, []byte("V1: order")) {
		t.Fatalf("test email to %v:\n%s", sent[0].To, sent[0].Data)
	}

	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-TPL-1",
		"customer":  map[string]any{"name": "Marco Rossi", "email": "marco@example.com", "locale": "it"},
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1ZTPL0001"}}}, nil); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	body, _ := json.Marshal(generic.Message{Carrier: "ups", TrackingNumber: "1ZTPL0001", Events: []generic.MessageEvent{{
		Status: "in_transit", Message: "Picked up", OccurredAt: time.Now().UTC().Format(time.RFC3339)}}})
	if code, resp := in.post(body); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, resp)
	}
	msgs := smtp.Wait(t, 2)
	m, _, htmlPart := parts(t, msgs[1].Data)
	if msgs[1].To[0] != "marco@example.com" || !strings.Contains(m.Header.Get("Subject"), "V1: order R-TPL-1") ||
		!strings.Contains(htmlPart, "Hello Marco") {
		t.Errorf("shipped email to %v, subject %q, html %q: want the restored English template", msgs[1].To, m.Header.Get("Subject"), htmlPart)
	}
}

// twilioStandIn answers the Messages API as Twilio documents it, and keeps
// the form of every request whose Basic auth is the account's.
type twilioStandIn struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
	got   chan struct{}
}

const (
	testTwilioSID   = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken = "0123456789abcdef0123456789abcdef"
)

func newTwilioStandIn(t *testing.T) *twilioStandIn {
	tw := &twilioStandIn{got: make(chan struct{}, 16)}
	tw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != testTwilioSID || pass != testTwilioToken || r.Method != http.MethodPost ||
			r.URL.Path != "/2010-04-01/Accounts/"+testTwilioSID+"/Messages.json" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		r.ParseForm()
		tw.mu.Lock()
		tw.forms = append(tw.forms, r.PostForm)
		n := len(tw.forms)
		tw.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","to":%q,"from":%q,"body":%q}`, n, r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body"))
		tw.got <- struct{}{}
	}))
	t.Cleanup(tw.Close)
	return tw
}

func (tw *twilioStandIn) wait(t *testing.T) url.Values {
	t.Helper()
	select {
	case <-tw.got:
	case <-time.After(20 * time.Second):
		t.Fatal("no SMS reached the Twilio stand-in")
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.forms[len(tw.forms)-1]
}

// An SMS goes out as Twilio expects it; Twilio's status callback updates
// the delivery log; a STOP reply opts the shopper out of the next one.
func TestNotifications_SMSEndToEnd(t *testing.T) {
	tw := newTwilioStandIn(t)
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TWILIO_ACCOUNT_SID": testTwilioSID, "TWILIO_AUTH_TOKEN": testTwilioToken, "TWILIO_FROM": "+15005550006",
		"TWILIO_BASE_URL": tw.URL, "TRACKD_NOTIFY_SECRET": testNotifySecret, "TRACKD_NOTIFY_COLLAPSE": "0",
		"TRACKD_NOTIFY_QUIET_HOURS": "off"})
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-SMS-1",
		"customer":  map[string]any{"name": "Ana", "phone": "+14155550100", "locale": "en"},
		"notify":    map[string]any{"sms": true},
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1ZSMS0001"}}}, nil); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	webhook := func(status string) {
		body, _ := json.Marshal(generic.Message{Carrier: "ups", TrackingNumber: "1ZSMS0001", Events: []generic.MessageEvent{{
			Status: status, OccurredAt: time.Now().UTC().Format(time.RFC3339)}}})
		if code, resp := in.post(body); code != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", code, resp)
		}
	}
	webhook("out_for_delivery")
	form := tw.wait(t)
	if form.Get("To") != "+14155550100" || form.Get("From") != "+15005550006" || !strings.Contains(form.Get("Body"), "R-SMS-1") || !strings.Contains(form.Get("Body"), in.base+"/t/") ||
		form.Get("StatusCallback") != in.base+"/webhooks/twilio/status" {
		t.Fatalf("Twilio got %v", form)
	}
	sid := fmt.Sprintf("SM%032d", 1)
	var page struct {
		Notifications []struct{ Trigger, Channel, Result string } `json:"notifications"`
	}
	// Twilio calls back once its API has answered; the log records the
	// send when the answer comes back to the notifier.
	waitFor(t, "the SMS to be logged as sent", func() bool {
		return in.api(http.MethodGet, "/api/v1/notifications?order=R-SMS-1", nil, &page) == http.StatusOK &&
			len(page.Notifications) == 1 && page.Notifications[0].Result == "sent"
	})

	// Twilio calls back, signed with the auth token.
	twilioPost := func(path string, params url.Values) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, in.base+path, strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(sms.SignatureHeader, sms.Sign(testTwilioToken, in.base+path, params))
		return do(t, req)
	}
	status := url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "To": {"+14155550100"}, "AccountSid": {testTwilioSID}}
	forged := httptestRequest(in.base+"/webhooks/twilio/status", status)
	if code, _ := do(t, forged); code != http.StatusUnauthorized {
		t.Errorf("an unsigned status callback: %d, want 401", code)
	}
	if code, body := twilioPost("/webhooks/twilio/status", status); code != http.StatusNoContent {
		t.Fatalf("status callback: %d %s", code, body)
	}
	if in.api(http.MethodGet, "/api/v1/notifications?order=R-SMS-1", nil, &page) != http.StatusOK || len(page.Notifications) == 0 ||
		page.Notifications[0].Result != "delivered" {
		t.Fatalf("log after the callback: %+v, want the SMS delivered", page.Notifications)
	}

	// The shopper replies STOP: the next SMS is not sent.
	if code, body := twilioPost("/webhooks/twilio/inbound", url.Values{"From": {"+14155550100"}, "Body": {"STOP"}, "MessageSid": {"SM1"}}); code != http.StatusOK {
		t.Fatalf("inbound STOP: %d %s", code, body)
	}
	webhook("delivered")
	waitFor(t, "the delivered SMS to be skipped for the opt-out", func() bool {
		if in.api(http.MethodGet, "/api/v1/notifications?order=R-SMS-1", nil, &page) != http.StatusOK {
			return false
		}
		for _, n := range page.Notifications {
			if n.Trigger == "delivered" && n.Channel == "sms" && n.Result == "skipped_optout" {
				return true
			}
		}
		return false
	})
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if len(tw.forms) != 1 {
		t.Errorf("%d SMS sent, want only the one before STOP", len(tw.forms))
	}
}

func httptestRequest(u string, params url.Values) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}
