package templates

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestUnsubscribeMessages_Complete(t *testing.T) {
	for _, l := range langs {
		for key, en := range unsubscribeMessages[English] {
			m, ok := unsubscribeMessages[l][key]
			if !ok || m == "" {
				t.Errorf("%s: no %q", l, key)
				continue
			}
			for _, ph := range regexp.MustCompile(`\{\w+\}`).FindAllString(en, -1) {
				if !strings.Contains(m, ph) {
					t.Errorf("%s %q: %q lacks %s", l, key, m, ph)
				}
			}
		}
		for key := range unsubscribeMessages[l] {
			if _, ok := unsubscribeMessages[English][key]; !ok {
				t.Errorf("%s: %q is not in English", l, key)
			}
		}
	}
}

func TestUnsubscribePage_States(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     UnsubscribeProps
		want  []string
		avoid []string
	}{
		{"ask email", UnsubscribeProps{Lang: English, Channel: "email", Store: "Acme <b>", Action: "/u/tok", CSRF: "c\"x"},
			[]string{"<h1>Stop shipping updates by email?</h1>", "emails from Acme &lt;b&gt; about", `action="/u/tok"`,
				`name="csrf" value="c&#34;x"`, `name="lang" value="en"`, `<button type="submit">Unsubscribe</button>`},
			[]string{"<b>", "role=\"alert\""}},
		{"ask sms in German with an error", UnsubscribeProps{Lang: German, Channel: "sms", Store: "Acme", Action: "/u/tok", Message: "unsub.error.retry"},
			[]string{"<h1>Keine Versandinformationen mehr per SMS?</h1>", `role="alert">Wir konnten Ihre Anfrage nicht bestätigen`, `value="de"`},
			nil},
		{"done sms in Spanish", UnsubscribeProps{Lang: Spanish, State: UnsubscribeDone, Channel: "sms"},
			[]string{"<h1>Te has dado de baja</h1>", "responde START"},
			[]string{"<form"}},
		{"invalid in French", UnsubscribeProps{Lang: French, State: UnsubscribeInvalid},
			[]string{"<h1>Lien de désabonnement non valide</h1>"},
			[]string{"<form"}},
		{"a dangerous action is not a link", UnsubscribeProps{Lang: English, Action: "javascript:alert(1)"},
			[]string{`action="about:invalid#TemplFailedSanitizationURL"`},
			[]string{"javascript:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := UnsubscribePage(tc.p).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("page lacks %q:\n%s", w, b.String())
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(b.String(), a) {
					t.Errorf("page holds %q:\n%s", a, b.String())
				}
			}
		})
	}
}

func TestUnsubscribeTitle(t *testing.T) {
	for _, tc := range []struct {
		p    UnsubscribeProps
		want string
	}{
		{UnsubscribeProps{Lang: English}, "Unsubscribe"},
		{UnsubscribeProps{Lang: French, State: UnsubscribeDone}, "Votre désabonnement est confirmé"},
		{UnsubscribeProps{Lang: German, State: UnsubscribeInvalid}, "Abmeldelink ungültig"},
		{UnsubscribeProps{Lang: "pt"}, "Unsubscribe"},
	} {
		if got := UnsubscribeTitle(tc.p); got != tc.want {
			t.Errorf("UnsubscribeTitle(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}
