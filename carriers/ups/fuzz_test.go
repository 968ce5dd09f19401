package ups

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// The fixtures in testdata/ are the seeds, with the inputs in
// testdata/fuzz/<target>/ (Go's corpus format): hand-made edge cases, and
// whatever the fuzzer has found and kept.

// addFiles adds every testdata file matching pattern as a seed.
func addFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files %s: %v", pattern, err)
	}
	for _, file := range files {
		f.Add(readTestdata(f, filepath.Base(file)))
	}
}

func FuzzParseWebhook(f *testing.F) {
	addFiles(f, "trackalert_webhook_*.json")
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{"type":"I","code":"OT","descriptionCode":21},"localActivityDate":"20240423","localActivityTime":"91519"}`))
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{"type":"U"},"scheduledDeliveryDate":"20240425"}`))
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{"type":"X"},"gmtActivityDate":"20240423","gmtActivityTime":"1","gmtOffset":"+14.00"}`))
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{"type":"D"},"localActivityDate":"20240423","gmtActivityDate":"20240422","gmtActivityTime":"235959","localActivityTime":"000000"}`))
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{},"deliveryPhoto":"aGk="}`))
	f.Add([]byte(`{"trackingNumber":"1Z","activityStatus":{"type":"D"},"localActivityDate":"20240423","deliveryPhoto":"aGk=","activityLocation":{"country":"DE"}}`))
	f.Add([]byte(`{"trackingNumber":12345678,"activityStatus":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParseWebhook(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			if us != nil {
				t.Fatalf("ParseWebhook returned updates with its error %v", err)
			}
			return
		}
		if len(us) > 1 || len(us) == 1 && len(us[0].Events) > 1 {
			t.Fatalf("ParseWebhook returned %d updates, want at most 1 of at most one event", len(us))
		}
		for _, u := range us {
			checkUpdate(t, u)
			if len(u.Events) == 0 && u.EstimatedDelivery == "" {
				t.Fatal("an update with nothing in it")
			}
		}
		checkDeterministic(t, us, func() ([]tracking.Update, error) { return a.ParseWebhook(bytes.Clone(body)) })
	})
}

func FuzzParsePoll(f *testing.F) {
	addFiles(f, "track_v1_*.json")
	addFiles(f, "karrio_*.json")
	f.Add([]byte(`{"trackResponse":{"shipment":[{"inquiryNumber":"1Z","package":[{"activity":[{"date":"20220126","time":"74700","gmtDate":"20220126","gmtTime":"1","gmtOffset":"-05:00","status":{"type":"I","statusCode":"021"}}]}]}]}}`))
	f.Add([]byte(`{"trackResponse":{"shipment":[{"package":[{"trackingNumber":"1Z","deliveryDate":[{"type":"RDD","date":"20220127"}],"activity":[{"date":"20220126","status":{"type":"NA"}}]}]}]}}`))
	f.Add([]byte(`{"trackResponse":{"shipment":[{"package":[{"trackingNumber":"1Z","activity":[null]}]}]}}`))
	f.Add([]byte(`{"trackResponse":{"shipment":[{"warnings":[{"code":"TW0001","message":"Tracking Information Not Found"}]}]}}`))
	f.Add([]byte(`{"response":{"errors":[]},"trackResponse":{"shipment":[]}}`))
	f.Add([]byte(`<html></html>`))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParsePoll(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			if us != nil {
				t.Fatalf("ParsePoll returned updates with its error %v", err)
			}
			return
		}
		for _, u := range us {
			checkUpdate(t, u)
		}
		checkDeterministic(t, us, func() ([]tracking.Update, error) { return a.ParsePoll(bytes.Clone(body)) })
	})
}

// checkDeterministic parses again and wants the same events, key for key:
// a redelivered payload must be recognized as the same events.
func checkDeterministic(t *testing.T, us []tracking.Update, again func() ([]tracking.Update, error)) {
	t.Helper()
	us2, err := again()
	if err != nil || len(us2) != len(us) {
		t.Fatalf("second parse = %d updates, %v; first gave %d", len(us2), err, len(us))
	}
	for i := range us {
		if !reflect.DeepEqual(keys(us[i]), keys(us2[i])) || us[i].EstimatedDelivery != us2[i].EstimatedDelivery {
			t.Fatalf("update %d differs between two parses of the same body", i)
		}
	}
}

func keys(u tracking.Update) []string {
	out := make([]string, len(u.Events))
	for i, e := range u.Events {
		out[i] = e.Key()
	}
	return out
}

// FuzzVerifyWebhook feeds any credential and Authorization header: only
// the secret itself or a token issued under it, unexpired, may pass.
func FuzzVerifyWebhook(f *testing.F) {
	a := webhookAdapter(testSecret)
	good := mintToken(a.tokenKey, testNow.Add(time.Minute))
	f.Add(testSecret, "")
	f.Add("", "Bearer "+good)
	f.Add("", "Bearer "+mintToken(webhookTokenKey("other"), testNow.Add(time.Minute)))
	f.Add("", "Bearer "+mintToken(a.tokenKey, testNow.Add(-time.Second)))
	f.Add("", "Bearer "+good[:len(good)-1])
	f.Add("", "bearer  "+good+" ")
	f.Add("x", "Basic dXBzOndoc2Vj")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, credential, authorization string) {
		err := a.VerifyWebhook(request(nil, map[string]string{"credential": credential, "Authorization": authorization}))
		if err != nil {
			if !errors.Is(err, carriers.ErrUnauthenticated) {
				t.Fatalf("VerifyWebhook error %v does not wrap ErrUnauthenticated", err)
			}
			return
		}
		if strings.TrimSpace(credential) == testSecret {
			return
		}
		scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
		token = strings.TrimSpace(token)
		rest, ok := strings.CutPrefix(token, tokenVersion)
		exp, _, _ := strings.Cut(rest, ".")
		n, perr := strconv.ParseInt(exp, 10, 64)
		if !ok || perr != nil || !strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("VerifyWebhook accepted credential %q, Authorization %q", credential, authorization)
		}
		// The token must be the one minted for its expiry, byte for byte,
		// and unexpired.
		expiry := time.Unix(n, 0)
		if token != mintToken(a.tokenKey, expiry) || !testNow.Before(expiry) {
			t.Fatalf("VerifyWebhook accepted the token %q", token)
		}
	})
}

// FuzzIssueWebhookToken feeds any form and Authorization: the answer is
// always an RFC 6749 JSON answer, and a token only for the right client.
func FuzzIssueWebhookToken(f *testing.F) {
	f.Add("grant_type=client_credentials", basic("ups", testSecret))
	f.Add("grant_type=client_credentials&client_id=ups&client_secret="+testSecret, "")
	f.Add("grant_type=client_credentials", basic("ups", "x"))
	f.Add("grant_type=password", basic("ups", testSecret))
	f.Add("grant_type=%zz", "Basic !!")
	f.Add("", "")
	a := webhookAdapter(testSecret)
	f.Fuzz(func(t *testing.T, body, authorization string) {
		status, out := a.IssueWebhookToken(request([]byte(body), map[string]string{"Authorization": authorization}))
		var ans map[string]any
		if err := json.Unmarshal(out, &ans); err != nil {
			t.Fatalf("answer %q is not JSON", out)
		}
		switch status {
		case http.StatusOK:
			tok, _ := ans["access_token"].(string)
			if err := a.VerifyWebhook(request(nil, map[string]string{"Authorization": "Bearer " + tok})); err != nil {
				t.Fatalf("issued a token that does not verify: %v", err)
			}
			form, err := url.ParseQuery(body)
			if err != nil || form.Get("grant_type") != "client_credentials" {
				t.Fatalf("issued a token for the body %q", body)
			}
			if !presentsTheClient(form, authorization) {
				t.Fatalf("issued a token for the body %q and Authorization %q", body, authorization)
			}
		case http.StatusBadRequest, http.StatusUnauthorized:
			if e, _ := ans["error"].(string); e == "" || ans["access_token"] != nil {
				t.Fatalf("status %d answer %s", status, out)
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}

// presentsTheClient reports whether a token request authenticates as the
// test client, in the form or with HTTP Basic, raw or form-encoded.
func presentsTheClient(form url.Values, authorization string) bool {
	// A blank header is none: net/http trims header values.
	if authorization = strings.TrimSpace(authorization); authorization == "" {
		return form.Get("client_id") == DefaultWebhookClientID && form.Get("client_secret") == testSecret
	}
	scheme, cred, _ := strings.Cut(authorization, " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if !strings.EqualFold(scheme, "Basic") || err != nil {
		return false
	}
	id, secret, _ := strings.Cut(string(raw), ":")
	if id == DefaultWebhookClientID && secret == testSecret {
		return true
	}
	uid, err1 := url.QueryUnescape(id)
	usecret, err2 := url.QueryUnescape(secret)
	return err1 == nil && err2 == nil && uid == DefaultWebhookClientID && usecret == testSecret
}
