package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testConfig(url string) Config {
	cfg := DefaultConfig("test")
	cfg.InstanceURL, cfg.ClientID, cfg.ClientSecret = url, "consumer-key", "consumer-secret"
	return cfg
}

func TestQuoteSOQL(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"1Z999AA10123456784", `'1Z999AA10123456784'`, false},
		{"AB'C", `'AB\'C'`, false},
		{`A\B`, `'A\\B'`, false},
		{`A"B`, `'A\"B'`, false},
		{"A\nB\tC\rD\bE\fF", `'A\nB\tC\rD\bE\fF'`, false},
		{"') OR Id != null OR TrackingNumber IN ('", `'\') OR Id != null OR TrackingNumber IN (\''`, false},
		{"Ünïcödé", `'Ünïcödé'`, false},
		{"A\x00B", "", true},
		{"A\x1bB", "", true},
		{"A\x7fB", "", true},
		{"A\xffB", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := QuoteSOQL(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("QuoteSOQL(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

// FuzzQuoteSOQL: whatever a tracking number holds, its literal reads back
// as exactly that number and nothing after it: no input escapes the
// literal into the query.
func FuzzQuoteSOQL(f *testing.F) {
	for _, s := range []string{"1Z999AA10123456784", "AB'C", `\'`, `\\'`, "') OR ('1'='1", "\n\t", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := QuoteSOQL(s)
		if err != nil {
			return
		}
		got, rest, err := parseSOQLLiteral(lit)
		if err != nil || rest != "" || got != s {
			t.Fatalf("QuoteSOQL(%q) = %q, which reads back as %q, rest %q, %v", s, lit, got, rest, err)
		}
	})
}

func TestClient_TokenRequestAndBearer(t *testing.T) {
	sf := newFakeSF(t)
	sf.addShipment("0OBxx0000000001AAA", "1Z999AA10123456784")
	c := NewClient(testConfig(sf.srv.URL), sf.srv.Client())
	ctx := context.Background()
	for range 2 {
		found, refused, err := c.FindShipments(ctx, []string{"1Z999AA10123456784"})
		if err != nil || len(refused) != 0 {
			t.Fatal(err, refused)
		}
		if got := found["1Z999AA10123456784"]; len(got) != 1 || got[0] != "0OBxx0000000001AAA" {
			t.Fatalf("found %v", found)
		}
	}
	// The fake checked the form and the Bearer header; one token serves
	// both queries.
	if tokens, queries, _ := sf.counts(); tokens != 1 || queries != 2 {
		t.Errorf("%d token requests, %d queries; want 1 and 2", tokens, queries)
	}
}

func TestClient_FindShipmentsEscapesQuotes(t *testing.T) {
	sf := newFakeSF(t)
	sf.addShipment("0OBxx0000000001AAA", `1Z'9\9`)
	sf.addShipment("0OBxx0000000002AAA", "ABC123")
	sf.addShipment("0OBxx0000000003AAA", "abc123") // a second record, in other case
	c := NewClient(testConfig(sf.srv.URL), sf.srv.Client())
	found, refused, err := c.FindShipments(context.Background(), []string{`1Z'9\9`, "ABC123", "NOPE", "BAD\x01"})
	if err != nil {
		t.Fatal(err)
	}
	if got := found[`1Z'9\9`]; len(got) != 1 || got[0] != "0OBxx0000000001AAA" {
		t.Errorf("number with a quote: found %v", found)
	}
	if got := found["ABC123"]; len(got) != 2 {
		t.Errorf("ABC123: found %v, want both records", got)
	}
	if _, ok := found["NOPE"]; ok {
		t.Errorf("NOPE found: %v", found)
	}
	if refused["BAD\x01"] == nil || len(refused) != 1 {
		t.Errorf("refused = %v, want the number with a control character", refused)
	}
	sf.mu.Lock()
	q := sf.queries[0]
	sf.mu.Unlock()
	if want := `IN ('1Z\'9\\9', 'ABC123', 'NOPE')`; !strings.Contains(q, want) {
		t.Errorf("query %q, want it to contain %s", q, want)
	}
}

func TestClient_FindShipmentsChunksLongLists(t *testing.T) {
	sf := newFakeSF(t)
	var numbers []string
	for i := range 250 {
		numbers = append(numbers, fmt.Sprintf("1Z999AA1%010d", i))
	}
	sf.addShipment("0OBxx0000000249AAA", numbers[249])
	c := NewClient(testConfig(sf.srv.URL), sf.srv.Client())
	found, _, err := c.FindShipments(context.Background(), numbers)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[numbers[249]] == nil {
		t.Errorf("found %v", found)
	}
	if _, queries, _ := sf.counts(); queries != 3 {
		t.Errorf("%d queries for 250 numbers, want 3 of at most 100", queries)
	}
}

func TestClient_ExpiredTokenIsRefreshedOnce(t *testing.T) {
	sf := newFakeSF(t)
	sf.addShipment("0OBxx0000000001AAA", "N1")
	c := NewClient(testConfig(sf.srv.URL), sf.srv.Client())
	ctx := context.Background()
	if _, _, err := c.FindShipments(ctx, []string{"N1"}); err != nil {
		t.Fatal(err)
	}
	sf.revokeTokens() // the session policy ended it
	res, err := c.UpdateShipments(ctx, []Record{{ID: "0OBxx0000000001AAA", Fields: map[string]any{"Status": "Delivered"}}})
	if err != nil || len(res) != 1 || !res[0].Success {
		t.Fatalf("update after expiry = %v, %v", res, err)
	}
	tokens, _, patches := sf.counts()
	if tokens != 2 || patches != 1 {
		t.Errorf("%d token requests, %d updates carried out; want 2 and 1", tokens, patches)
	}
}

// TestClient_UpdateRequestGolden pins the request body against the golden
// file, and reads the documented partial answer.
func TestClient_UpdateRequestGolden(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/services/oauth2/token":
			b, _ := os.ReadFile("testdata/token_answer.json")
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Write(b)
		case apiPath + "/composite/sobjects":
			if r.Method != http.MethodPatch || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer 00Dxx") {
				t.Errorf("%s with Authorization %q", r.Method, r.Header.Get("Authorization"))
			}
			body, _ = io.ReadAll(r.Body)
			b, _ := os.ReadFile("testdata/update_answer_partial.json")
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Write(b)
		default:
			t.Errorf("unexpected %s", r.URL)
		}
	}))
	defer srv.Close()
	c := NewClient(testConfig(srv.URL), srv.Client())
	res, err := c.UpdateShipments(context.Background(), []Record{
		{ID: "0OBxx0000000001AAA", Fields: map[string]any{"Status": "In Transit", "ExpectedDeliveryDate": "2026-11-27T12:00:00.000Z"}},
		{ID: "0OBxx0000000002AAA", Fields: map[string]any{"Status": "Delivered", "ActualDeliveryDate": "2026-11-26T15:04:05.000Z"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	const golden = "testdata/update_request.golden.json"
	if *update {
		os.WriteFile(golden, pretty.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("request body:\n%s\nwant:\n%s", pretty.Bytes(), want)
	}
	if !res[0].Success || res[1].Success || res[1].Errors[0].Code() != "UNABLE_TO_LOCK_ROW" {
		t.Errorf("results %+v", res)
	}
}

func TestClient_ErrorsCarryStatusCodeAndRetryAfter(t *testing.T) {
	sf := newFakeSF(t)
	sf.answerNext(answer{status: 503, retryAfter: "120"})
	c := NewClient(testConfig(sf.srv.URL), sf.srv.Client())
	_, _, err := c.FindShipments(context.Background(), []string{"N1"})
	var re *RequestError
	if !errors.As(err, &re) || re.Status != 503 || re.Code != "SERVER_UNAVAILABLE" || re.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %#v", err)
	}

	// A refused token request is a RequestError too, with OAuth's code.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"invalid client credentials"}`)
	}))
	defer srv.Close()
	_, _, err = NewClient(testConfig(srv.URL), srv.Client()).FindShipments(context.Background(), []string{"N1"})
	if !errors.As(err, &re) || re.Status != 400 || re.Code != "invalid_client" {
		t.Fatalf("token refusal: err = %#v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	b, err := os.ReadFile("testdata/session_expired.json")
	if err != nil {
		t.Fatal(err)
	}
	e, ok := decodeErrors(b)
	if !ok || e.Code() != "INVALID_SESSION_ID" || e.Message != "Session expired or invalid" {
		t.Errorf("decodeErrors = %+v, %v", e, ok)
	}
}

// FuzzDecodeAnswers feeds Salesforce's answers' decoders anything: they
// must not panic, whatever a proxy or an outage puts in the body.
func FuzzDecodeAnswers(f *testing.F) {
	for _, name := range []string{"testdata/session_expired.json", "testdata/update_answer_partial.json", "testdata/token_answer.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"totalSize":1,"done":false,"nextRecordsUrl":"/x","records":[{"Id":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeErrors(b)
		var sr []SaveResult
		if json.Unmarshal(b, &sr) == nil {
			for _, r := range sr {
				recordFailure(r.Errors)
			}
		}
		var q queryResult
		json.Unmarshal(b, &q)
	})
}
