package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"

	"github.com/twilio/twilio-go/client"
)

// SignatureHeader is the header Twilio signs its webhook requests in.
const SignatureHeader = "X-Twilio-Signature"

// Verify reports whether signature is Twilio's X-Twilio-Signature of a
// form POST to fullURL with params: the base64 HMAC-SHA1, keyed with the
// account's auth token, of the URL exactly as Twilio requested it (scheme,
// host, path and query) followed by every POST parameter's name and value,
// sorted by name. The comparison is twilio-go's, in constant time, and
// accepts the URL with or without its default port, as Twilio signs
// either.
//
// A parameter given twice is refused: Twilio's SMS webhooks never repeat
// one, and twilio-go would check only the first value, so a repeat could
// smuggle in an unsigned one. An empty token verifies nothing.
func Verify(authToken, fullURL string, params url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	flat := make(map[string]string, len(params))
	for k, vs := range params {
		if len(vs) != 1 {
			return false
		}
		flat[k] = vs[0]
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, flat, signature)
}

// Sign computes the X-Twilio-Signature Twilio would send for a form POST
// of params to fullURL: the counterpart of Verify, for tests and tools
// that play Twilio.
func Sign(authToken, fullURL string, params url.Values) string {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range names {
		for _, v := range params[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
