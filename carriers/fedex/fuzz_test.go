package fedex

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// The fixtures in testdata/ are the seeds, with the inputs in
// testdata/fuzz/<target>/ (Go's corpus format): the fixtures again,
// hand-made edge cases, and whatever the fuzzer has found and kept.

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

// addSeeds adds what both parse targets start from.
func addSeeds(f *testing.F) {
	f.Add([]byte(`{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[{"date":"2024-08-15T00:00:00","eventType":"PU","scanLocation":{"stateOrProvinceCode":"MN","countryCode":"US"}}]}]}]}}`))
	f.Add([]byte(`{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[{"date":"2024-08-15","eventType":"DE","exceptionCode":"08"}]},{"scanEvents":[{"date":"2024-08-16T10:00:00Z","eventType":"Q9","derivedStatusCode":"DL"}],"dateAndTimes":[{"type":"ESTIMATED_DELIVERY","dateTime":"2024-08-16T00:00:00-06:00"}]}]}]}}`))
	f.Add([]byte(`{"output":{"completeTrackResults":[{"trackingNumber":"9","trackResults":[{"error":{"code":"TRACKING.TRACKINGNUMBER.NOTFOUND"}}]}]}}`))
	f.Add([]byte(`{"output":{"completeTrackResults":[{"trackingNumber":"1","trackResults":[{"scanEvents":[null]}]}]}}`))
	f.Add([]byte(`{"output":{"completeTrackResults":[{"trackResults":[{"trackingNumberInfo":{"trackingNumber":12},"estimatedDeliveryTimeWindow":{"window":{"ends":"2024-08-22T12:00:00-04:00"}}}]}]}}`))
	f.Add([]byte(`{"errors":[{"code":"NOT.AUTHORIZED.ERROR","message":"Access token expired."}]}`))
	f.Add([]byte(`{"output":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
}

func FuzzParseWebhook(f *testing.F) {
	addFiles(f, "webhook_*.json")
	addSeeds(f)
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParse(t, body, a.ParseWebhook)
	})
}

func FuzzParsePoll(f *testing.F) {
	addFiles(f, "track_*.json")
	addFiles(f, "*error*.json")
	addSeeds(f)
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkParse(t, body, a.ParsePoll)
	})
}

// checkParse wants no panic, an error with a reason or valid updates, and
// the same events from a second parse.
func checkParse(t *testing.T, body []byte, parse func([]byte) ([]tracking.Update, error)) {
	us, err := parse(body)
	if err != nil {
		if err.Error() == "" {
			t.Fatal("an error without a reason")
		}
		if us != nil {
			t.Fatalf("updates returned with the error %v", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, u := range us {
		if err := u.Validate(); err != nil {
			t.Fatalf("update %+v does not validate: %v", u, err)
		}
		checkUpdate(t, u)
		if seen[u.TrackingNumber] {
			t.Fatalf("two updates for %s", u.TrackingNumber)
		}
		seen[u.TrackingNumber] = true
	}
	checkDeterministic(t, us, func() ([]tracking.Update, error) { return parse(bytes.Clone(body)) })
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
		if !reflect.DeepEqual(keys(us[i]), keys(us2[i])) || us[i].EstimatedDelivery != us2[i].EstimatedDelivery ||
			us[i].TrackingNumber != us2[i].TrackingNumber {
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

func FuzzVerifyWebhook(f *testing.F) {
	body := readTestdata(f, "webhook_picked_up.json")
	f.Add(SignatureOf(testSecret, body), body)
	f.Add(hex.EncodeToString(Sign(testSecret, body)), body)
	f.Add(SignatureOf("other", body), body)
	f.Add(SignatureOf(testSecret, nil), []byte{})
	f.Add(" "+SignatureOf(testSecret, []byte("x"))+"\t", []byte("x"))
	f.Add(strings.TrimRight(SignatureOf(testSecret, []byte("{}")), "="), []byte("{}"))
	f.Add("not base64", []byte("{}"))
	f.Add("", []byte("{}"))
	a := New(Config{WebhookSecret: testSecret})
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		err := a.VerifyWebhook(request(body, map[string]string{SignatureHeader: sig}))
		if err != nil {
			if !errors.Is(err, carriers.ErrUnauthenticated) {
				t.Fatalf("VerifyWebhook error %v does not wrap ErrUnauthenticated", err)
			}
		} else if !holdsMAC(strings.TrimSpace(sig), Sign(testSecret, body)) {
			t.Fatalf("VerifyWebhook accepted %q for body %q", sig, body)
		}
		// Whatever the body, its own signature verifies, and only for it.
		good := SignatureOf(testSecret, body)
		if err := a.VerifyWebhook(request(body, map[string]string{SignatureHeader: good})); err != nil {
			t.Fatalf("VerifyWebhook(SignatureOf(%q)) = %v", body, err)
		}
		if err := a.VerifyWebhook(request(append(bytes.Clone(body), 0), map[string]string{SignatureHeader: good})); err == nil {
			t.Fatalf("VerifyWebhook accepted the signature of %q for another body", body)
		}
	})
}

// holdsMAC reports whether sig is mac in one of the accepted encodings,
// decoded here independently of decodeMAC.
func holdsMAC(sig string, mac []byte) bool {
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(sig); err == nil && bytes.Equal(b, mac) {
			return true
		}
	}
	return false
}
