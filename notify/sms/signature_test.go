package sms

import (
	"net/url"
	"testing"
)

// docURL, docParams and docToken are the example of Twilio's "Validating
// requests" documentation (as given in the twilio-php guide);
// libParams adds the two parameters twilio-go's own test adds.
const (
	docURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docToken = "12345"
)

var (
	docParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	libParams = url.Values{
		"CallSid":               {"CA1234567890ABCDE"},
		"Caller":                {"+14158675309"},
		"Digits":                {"1234"},
		"From":                  {"+14158675309"},
		"To":                    {"+18005551212"},
		"Reason":                {"Participant"},
		"ReasonConferenceEnded": {"test"},
	}
)

func TestSign_TwilioExamples(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		params url.Values
		want   string
	}{
		{"documentation example", docURL, docParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"twilio-go's example", docURL, libParams, "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{"twilio-go's example over http", "http://mycompany.com/myapp.php?foo=1&bar=2", libParams, "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(docToken, tt.url, tt.params); got != tt.want {
				t.Errorf("Sign = %q, want %q", got, tt.want)
			}
			if !Verify(docToken, tt.url, tt.params, tt.want) {
				t.Error("Verify refuses Twilio's own signature")
			}
		})
	}
}

func TestVerify_RefusesTampering(t *testing.T) {
	const sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	with := func(k, v string) url.Values {
		p := url.Values{}
		for name, vs := range docParams {
			p[name] = append([]string(nil), vs...)
		}
		p[k] = append(p[k], v)
		return p
	}
	changed := func(k, v string) url.Values {
		p := with(k, v)
		p[k] = []string{v}
		return p
	}
	tests := []struct {
		name         string
		token, url   string
		params       url.Values
		signature    string
		wantAccepted bool
	}{
		{"genuine", docToken, docURL, docParams, sig, true},
		{"genuine, default port written out", docToken, "https://mycompany.com:443/myapp.php?foo=1&bar=2", docParams, sig, true},
		{"other token", "54321", docURL, docParams, sig, false},
		{"empty token", "", docURL, docParams, Sign("", docURL, docParams), false},
		{"no signature", docToken, docURL, docParams, "", false},
		{"garbage signature", docToken, docURL, docParams, "not base64 at all", false},
		{"changed value", docToken, docURL, changed("Digits", "9999"), sig, false},
		{"added parameter", docToken, docURL, changed("Body", "STOP"), sig, false},
		{"removed parameter", docToken, docURL, url.Values{"CallSid": docParams["CallSid"]}, sig, false},
		{"other path", docToken, "https://mycompany.com/other.php?foo=1&bar=2", docParams, sig, false},
		{"other query", docToken, "https://mycompany.com/myapp.php?foo=1", docParams, sig, false},
		{"http instead of https", docToken, "http://mycompany.com/myapp.php?foo=1&bar=2", docParams, sig, false},
		// twilio-go would check the first value only; the second is unsigned.
		{"repeated parameter", docToken, docURL, with("Digits", "9999"), sig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.token, tt.url, tt.params, tt.signature); got != tt.wantAccepted {
				t.Errorf("Verify = %v, want %v", got, tt.wantAccepted)
			}
		})
	}
}
