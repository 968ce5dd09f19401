package email

import (
	"bytes"
	"net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// FuzzBuild feeds shopper- and template-supplied fields to the message
// builder: it must never panic, and a message it accepts must parse back
// with exactly the header fields Send sets, one recipient, and nothing a
// line break could have added.
func FuzzBuild(f *testing.F) {
	f.Add("a@example.net", "Zoë", "Votre colis est arrivé", "https://shop.example.com/u?t=1", "X-Id", "1", "")
	f.Add("a@example.net\r\nBcc: e@x.org", "n", "s", "", "X-A", "v", "")
	f.Add("a@example.net", "n\r\nBcc: e@x.org", "s\r\n\r\nbody", "", "X-A", "v\nBcc: x", "id@x.org")
	f.Add("\"a b\"@example.net", "", "=?UTF-8?q?x?=", "http://x/u>,<mailto:e@x.org>", "Bcc", "e@x.org", "<a@b>")
	f.Add("0@0.0", "\xfa\\", "0", "", "0", "0", "") // invalid UTF-8 and a backslash in the name
	f.Add("a@example.net", strings.Repeat("é", 300), strings.Repeat("mot ", 400), "", "X-Long", strings.Repeat("v", 800), "")
	s, err := New(Config{URL: "smtp://127.0.0.1", From: "Store <shop@example.com>"})
	if err != nil {
		f.Fatal(err)
	}
	s.clock = func() time.Time { return time.Unix(1700000000, 0) }
	f.Fuzz(func(t *testing.T, to, toName, subject, unsub, hName, hValue, id string) {
		m := Message{To: to, ToName: toName, Subject: subject, Text: "t", HTML: "<p>h</p>", UnsubscribeURL: unsub, MessageID: id}
		if hName != "" {
			m.Headers = map[string]string{hName: hValue}
		}
		msg, gotID, err := s.build(m)
		if err != nil {
			if !Permanent(err) {
				t.Fatalf("build error %v is not permanent", err)
			}
			return
		}
		var buf bytes.Buffer
		if _, err := msg.WriteTo(&buf); err != nil {
			t.Fatalf("write: %v", err)
		}
		pm, err := mail.ReadMessage(&buf)
		if err != nil {
			t.Fatalf("accepted message does not parse: %v\n%s", err, buf.String())
		}
		allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "List-Unsubscribe": true, "List-Unsubscribe-Post": true}
		if hName != "" {
			allowed[textproto.CanonicalMIMEHeaderKey(hName)] = true
		}
		for k, v := range pm.Header {
			if !allowed[k] {
				t.Errorf("unexpected header %s: %q", k, v)
			}
			if len(v) != 1 {
				t.Errorf("header %s appears %d times", k, len(v))
			}
		}
		rcpts, err := pm.Header.AddressList("To")
		if err != nil || len(rcpts) != 1 || rcpts[0].Address != to {
			t.Errorf("To = %q (%v), want only %s", pm.Header.Get("To"), err, to)
		}
		if pm.Header.Get("Message-Id") != "<"+gotID+">" {
			t.Errorf("Message-ID = %q, id %q", pm.Header.Get("Message-Id"), gotID)
		}
		if got := pm.Header.Get("List-Unsubscribe"); unsub != "" && got != "<"+unsub+">" {
			t.Errorf("List-Unsubscribe = %q, want <%s>", got, unsub)
		}
	})
}
