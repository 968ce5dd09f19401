package web

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/email"
	"github.com/trackd/trackd/notify/email/smtptest"
	tpl "github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/web/browsertest"
)

// mktWait waits until the JavaScript expression is true in the page.
func mktWait(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
		t.Fatalf("waiting for %s: %v\npage: %.4000s", what, err, body)
	}
}

// mktLoad runs an action that navigates (a click on a link or a submit
// button) and waits for the next page to load.
func mktLoad(t *testing.T, ctx context.Context, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, a)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// mktEval evaluates a JavaScript expression.
func mktEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// mktType types keys where the caret is.
func mktType(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		t.Fatalf("type %q: %v", keys, err)
	}
}

// TestConsoleTemplateEditor_Browser drives the template editor in headless
// Chromium: sign in, open the shipped email in English, type a syntax
// error into the HTML and see it beside the part with its line, fix it and
// see the preview follow, save twice (versions 1 and 2), restore version 1
// (as version 3) and send a test email that arrives at the test's SMTP
// server. The editor's screenshot goes to docs/template-editor.png.
func TestConsoleTemplateEditor_Browser(t *testing.T) {
	smtp := smtptest.Start(t, smtptest.Options{})
	sender, err := email.New(email.Config{URL: smtp.URL(), From: "Northwind Outfitters <shop@example.com>", HelloName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	send := func(ctx context.Context, ch notify.Channel, to string, r tpl.Rendered) (string, error) {
		if ch != notify.Email {
			return "", fmt.Errorf("no %s provider in this test", ch)
		}
		return sender.Send(ctx, email.Message{To: to, Subject: r.Subject, HTML: r.HTML, Text: r.Text})
	}
	e := newMktEnv(t, send)
	e.user(t, "mia@example.com", console.Marketing)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.app.Listener(ln)
	t.Cleanup(func() { e.app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	editor := "/console/templates/shipped/email/en"

	ctx := browsertest.Start(t, 3*time.Minute, chromedp.WindowSize(1280, 1000))
	scriptProblems := watchScriptProblems(t, ctx)

	// Sign in; the sign-in page sends us on to the editor.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/signin?next="+editor)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(`input[name="email"]`, "mia@example.com"),
		chromedp.SendKeys(`input[name="password"]`, mktPassword),
	); err != nil {
		t.Fatal(err)
	}
	mktLoad(t, ctx, "sign in", chromedp.Click(`form.signin button[type="submit"]`))
	mktWait(t, ctx, "the editor", `location.pathname === '`+editor+`' && document.querySelector('[data-preview]').dataset.editorReady === 'true'`)
	if sandbox := mktEval[string](t, ctx, `document.querySelector('iframe[data-preview-html]').getAttribute('sandbox')`); sandbox != "" {
		t.Errorf("the HTML preview's frame has sandbox=%q, want it sandboxed with no allowances", sandbox)
	}

	// A syntax error: an {% if %} never closed, typed on the </body> line.
	mktEval[bool](t, ctx, `(() => {
		const t = document.querySelector('#part-html'), i = t.value.indexOf('</body>');
		t.focus(); t.setSelectionRange(i, i); return true; })()`)
	mktType(t, ctx, "{% if order.number %}<p>Hello browser test</p>\n")
	line := mktEval[int](t, ctx, `(() => { const v = document.querySelector('#part-html').value;
		return v.slice(0, v.indexOf('{% if order.number %}<p>Hello')).split('\n').length; })()`)
	problem := fmt.Sprintf(`ul[data-kind="problems"][data-problems="html"] li[data-line="%d"]`, line)
	mktWait(t, ctx, "the syntax error beside the HTML part", `document.querySelector('[data-preview]').dataset.previewState === 'invalid' && `+
		`(document.querySelector('`+problem+`') || {textContent: ''}).textContent.startsWith('Line `+fmt.Sprint(line)+`: ')`)
	if inv := mktEval[string](t, ctx, `document.querySelector('#part-html').getAttribute('aria-invalid')`); inv != "true" {
		t.Errorf("the HTML part has aria-invalid=%q, want true", inv)
	}

	// Fixed: the problem goes and the preview shows the new paragraph.
	mktType(t, ctx, "{% endif %}")
	mktWait(t, ctx, "the preview with the fix", `document.querySelector('[data-preview]').dataset.previewState === 'ok' && `+
		`document.querySelectorAll('ul[data-kind="problems"] li').length === 0 && `+
		`document.querySelector('iframe[data-preview-html]').srcdoc.includes('<p>Hello browser test</p>')`)

	// Save: version 1. Then a new subject: version 2.
	mktLoad(t, ctx, "save", chromedp.Click(`form[data-template-editor] button[type="submit"]`))
	mktWait(t, ctx, "version 1 saved", `(document.querySelector('[data-flash]') || {}).textContent === 'Saved as version 1.'`)
	mktEval[bool](t, ctx, `(() => { const t = document.querySelector('#part-subject'), n = t.value.length;
		t.focus(); t.setSelectionRange(n, n); return true; })()`)
	mktType(t, ctx, " (test)")
	mktWait(t, ctx, "the subject in the preview", `document.querySelector('[data-preview-subject]').textContent.endsWith('(test)')`)
	mktLoad(t, ctx, "save again", chromedp.Click(`form[data-template-editor] button[type="submit"]`))
	mktWait(t, ctx, "version 2 saved", `(document.querySelector('[data-flash]') || {}).textContent === 'Saved as version 2.' && `+
		`document.querySelector('p[data-version]').dataset.version === '2'`)

	// The history shows both, version 2's change as a diff; restore 1.
	mktLoad(t, ctx, "open the history", chromedp.Click(`a[href$="/versions"]`))
	mktWait(t, ctx, "the history", `document.querySelectorAll('section[data-version]').length === 2 && `+
		`[...document.querySelectorAll('section[data-version="2"] pre[data-diff="subject"] ins')].some(e => e.textContent.includes('(test)'))`)
	mktLoad(t, ctx, "restore version 1", chromedp.Click(`button[data-restore="1"]`))
	mktWait(t, ctx, "version 1 restored as version 3", `(document.querySelector('[data-flash]') || {}).textContent === 'Restored version 1 as version 3.' && `+
		`document.querySelector('p[data-version]').dataset.version === '3' && `+
		`!document.querySelector('#part-subject').value.includes('(test)') && `+
		`document.querySelector('#part-html').value.includes('Hello browser test') && `+
		`document.querySelector('[data-preview]').dataset.editorReady === 'true'`)
	if doc := mktEval[string](t, ctx, `document.querySelector('iframe[data-preview-html]').srcdoc`); !strings.HasPrefix(doc, "<!DOCTYPE html>") || !strings.Contains(doc, "<p>Hello browser test</p>") {
		t.Errorf("the server-rendered preview frame holds %.200q, want the rendered page", doc)
	}
	if got, err := e.store.Get(context.Background(), notify.Shipped, notify.Email, "en"); err != nil || got.Version != 3 || got.RestoredFrom != 1 {
		t.Errorf("stored after the restore: version %d restored from %d (%v), want 3 from 1", got.Version, got.RestoredFrom, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "template-editor.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// A test email, to the test's SMTP server.
	if err := chromedp.Do(ctx, chromedp.SendKeys(`form[data-test-send] input[name="to"]`, "mia@example.com")); err != nil {
		t.Fatal(err)
	}
	mktLoad(t, ctx, "send a test", chromedp.Click(`form[data-test-send] button[type="submit"]`))
	mktWait(t, ctx, "the test sent", `(document.querySelector('[data-send-result]') || {}).textContent === 'Sent to mia@example.com.'`)
	msgs := smtp.Wait(t, 1)
	m := msgs[0]
	data := strings.ReplaceAll(string(m.Data), "=\r\n", "") // quoted-printable soft breaks
	if len(m.To) != 1 || m.To[0] != "mia@example.com" {
		t.Errorf("the test went to %v", m.To)
	}
	for _, want := range []string{"Subject: Your order NW-10482 is on its way\r\n", "Hello browser test"} {
		if !strings.Contains(data, want) {
			t.Errorf("the test email lacks %q:\n%.3000s", want, data)
		}
	}
	if strings.Contains(data, "(test)") {
		t.Error("the test email has version 2's subject, not the restored version 1's")
	}
	if a := e.lastAudit(t); a.Action != "test sent" || a.Detail != "version 3 to mia@example.com" {
		t.Errorf("audit %+v", a)
	}

	// An SMS: its size follows the text.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/console/templates/delivered/sms/en")); err != nil {
		t.Fatal(err)
	}
	mktWait(t, ctx, "the SMS editor", `document.querySelector('[data-preview]').dataset.editorReady === 'true'`)
	mktEval[bool](t, ctx, `(() => { const t = document.querySelector('#part-body'), n = t.value.length;
		t.focus(); t.setSelectionRange(n, n); return true; })()`)
	mktType(t, ctx, " Merci ✓")
	mktWait(t, ctx, "the SMS preview in UCS-2", `document.querySelector('[data-preview-body]').textContent.endsWith('Merci ✓') && `+
		`/^\d+ characters · UCS-2 · \d+ segments?$/.test(document.querySelector('[data-preview-size]').textContent)`)
	for _, p := range scriptProblems() {
		t.Errorf("page problem: %s", p)
	}
}
