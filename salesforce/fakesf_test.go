package salesforce

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeSF stands in for one Salesforce org, and checks every request the
// way Salesforce's documentation describes it; a request that deviates
// fails the test.
type fakeSF struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// shipments: record id -> its fields (TrackingNumber and what was written).
	shipments map[string]map[string]any
	issued    int
	valid     map[string]bool
	// tokenRequests counts token requests; queries holds each SOQL query
	// as decoded; patches each update's records.
	tokenRequests int
	queries       []string
	patches       [][]map[string]any
	// answers, when not empty, are the next data requests' HTTP statuses
	// (before any record is touched), with their Retry-After.
	answers []answer
	// failNext: record id -> the error codes its next update fails with.
	failNext map[string][]string
	// onUpdate, when set, runs at the start of each update (while the
	// connector's batch is in flight).
	onUpdate func()
}

type answer struct {
	status     int
	retryAfter string
}

const apiPath = "/services/data/v62.0"

func newFakeSF(t *testing.T) *fakeSF {
	f := &fakeSF{t: t, shipments: map[string]map[string]any{}, valid: map[string]bool{}, failNext: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/services/oauth2/token", f.token)
	mux.HandleFunc(apiPath+"/query", f.auth(f.query))
	mux.HandleFunc(apiPath+"/composite/sobjects", f.auth(f.update))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request to an undocumented path: %s %s", r.Method, r.URL)
		writeErrors(w, 404, "NOT_FOUND", "The requested resource does not exist")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// addShipment creates a Shipment record with a tracking number.
func (f *fakeSF) addShipment(id, trackingNumber string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shipments[id] = map[string]any{"TrackingNumber": trackingNumber}
}

func (f *fakeSF) field(id, name string) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shipments[id][name]
}

// removeShipment deletes a record.
func (f *fakeSF) removeShipment(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.shipments, id)
}

func (f *fakeSF) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *fakeSF) answerNext(a ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, a...)
}

func (f *fakeSF) failRecord(id string, codes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[id] = codes
}

func (f *fakeSF) counts() (tokens, queries, patches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests, len(f.queries), len(f.patches)
}

func (f *fakeSF) patch(i int) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.patches[i]
}

// writeErrors answers Salesforce's error body: an array of {message, errorCode}.
func writeErrors(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode([]map[string]string{{"message": msg, "errorCode": code}})
}

// token is the client-credentials token endpoint: a form POST with
// grant_type, client_id and client_secret.
func (f *fakeSF) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenRequests++
	if r.Method != http.MethodPost {
		f.t.Errorf("token request: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		f.t.Errorf("token request: Content-Type %q, want application/x-www-form-urlencoded", ct)
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("token request: %v", err)
	}
	form := r.PostForm
	if form.Get("grant_type") != "client_credentials" || form.Get("client_id") != "consumer-key" || form.Get("client_secret") != "consumer-secret" {
		f.t.Errorf("token request form %v: want grant_type=client_credentials, client_id, client_secret", form)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"invalid client credentials"}`)
		return
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("token request carries a query string %q: credentials belong in the body", r.URL.RawQuery)
	}
	f.issued++
	tok := "00Dxx0000001gPL!tok-" + strconv.Itoa(f.issued)
	f.valid[tok] = true
	// The documented answer, with this server's token and instance.
	b, err := os.ReadFile("testdata/token_answer.json")
	if err != nil {
		f.t.Error(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Error(err)
	}
	m["access_token"], m["instance_url"] = tok, f.srv.URL
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(m)
}

// auth checks the Bearer token of a data request, and plays the queued
// answers.
func (f *fakeSF) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		valid := ok && f.valid[tok]
		var a *answer
		if valid && len(f.answers) > 0 {
			a = &f.answers[0]
			f.answers = f.answers[1:]
		}
		f.mu.Unlock()
		if !valid {
			writeErrors(w, 401, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		if a != nil && a.status != 200 {
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			writeErrors(w, a.status, "SERVER_UNAVAILABLE", "try again later")
			return
		}
		next(w, r)
	}
}

// query answers "SELECT Id, TrackingNumber FROM Shipment WHERE
// TrackingNumber IN (...)": the only query the connector has reason to send.
func (f *fakeSF) query(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		f.t.Errorf("query: method %s, want GET", r.Method)
	}
	q := r.URL.Query().Get("q")
	numbers, err := parseShipmentQuery(q)
	if err != nil {
		f.t.Errorf("query %q: %v", q, err)
		writeErrors(w, 400, "MALFORMED_QUERY", err.Error())
		return
	}
	f.mu.Lock()
	f.queries = append(f.queries, q)
	type rec struct {
		Attributes     map[string]string `json:"attributes"`
		ID             string            `json:"Id"`
		TrackingNumber string            `json:"TrackingNumber"`
	}
	recs := []rec{}
	for id, s := range f.shipments {
		tn, _ := s["TrackingNumber"].(string)
		for _, n := range numbers {
			// SOQL compares text without regard to case.
			if strings.EqualFold(tn, n) {
				recs = append(recs, rec{map[string]string{"type": "Shipment", "url": apiPath + "/sobjects/Shipment/" + id}, id, tn})
			}
		}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(map[string]any{"totalSize": len(recs), "done": true, "records": recs})
}

// shipmentFields are the fields the connector may write, with their types
// in the object reference.
var shipmentFields = map[string]string{"Status": "picklist", "ExpectedDeliveryDate": "dateTime", "ActualDeliveryDate": "dateTime"}

// update is sObject Collections' PATCH: allOrNone and up to 200 records,
// each with attributes.type and id; SaveResults in request order.
func (f *fakeSF) update(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPatch {
		f.t.Errorf("update: method %s, want PATCH", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.t.Errorf("update: Content-Type %q, want application/json", ct)
	}
	f.mu.Lock()
	hook := f.onUpdate
	f.onUpdate = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	var body struct {
		AllOrNone *bool            `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("update body: %v", err)
		writeErrors(w, 400, "JSON_PARSER_ERROR", err.Error())
		return
	}
	if body.AllOrNone == nil {
		f.t.Errorf("update: no allOrNone, want an explicit false (each record on its own)")
	} else if *body.AllOrNone {
		f.t.Errorf("update: allOrNone true, want false (each record on its own)")
	}
	if n := len(body.Records); n == 0 || n > 200 {
		f.t.Errorf("update: %d records, want 1 to 200", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches = append(f.patches, body.Records)
	var results []map[string]any
	for i, rec := range body.Records {
		attrs, _ := rec["attributes"].(map[string]any)
		if attrs["type"] != "Shipment" {
			f.t.Errorf("record %d: attributes %v, want type Shipment", i, rec["attributes"])
		}
		id, _ := rec["id"].(string)
		for k, v := range rec {
			if k == "attributes" || k == "id" {
				continue
			}
			switch shipmentFields[k] {
			case "picklist":
				if s, ok := v.(string); !ok || s == "" {
					f.t.Errorf("record %d: %s = %v, want a picklist value", i, k, v)
				}
			case "dateTime":
				s, _ := v.(string)
				if _, err := time.Parse("2006-01-02T15:04:05.000Z", s); err != nil {
					f.t.Errorf("record %d: %s = %v, want a dateTime such as 2026-11-27T12:00:00.000Z", i, k, v)
				}
			default:
				f.t.Errorf("record %d: field %q is not one the connector writes", i, k)
			}
		}
		s, exists := f.shipments[id]
		switch {
		case len(id) != 18:
			results = append(results, failed("MALFORMED_ID", "malformed id "+id, "Id"))
		case !exists:
			results = append(results, failed("ENTITY_IS_DELETED", "entity is deleted"))
		case len(f.failNext[id]) > 0:
			codes := f.failNext[id]
			delete(f.failNext, id)
			var errs []map[string]any
			for _, c := range codes {
				errs = append(errs, map[string]any{"statusCode": c, "message": "failed: " + c, "fields": []string{}})
			}
			results = append(results, map[string]any{"success": false, "errors": errs})
		default:
			for k, v := range rec {
				if k != "attributes" && k != "id" {
					s[k] = v
				}
			}
			results = append(results, map[string]any{"id": id, "success": true, "errors": []any{}})
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	json.NewEncoder(w).Encode(results)
}

func failed(code, msg string, fields ...string) map[string]any {
	return map[string]any{"success": false, "errors": []map[string]any{{"statusCode": code, "message": msg, "fields": append([]string{}, fields...)}}}
}

// parseShipmentQuery reads the tracking numbers of the connector's query,
// decoding the string literals by SOQL's rules: a backslash starts one of
// the documented escape sequences, and a quote not escaped ends the
// literal. Anything else is an error, as it would be in Salesforce.
func parseShipmentQuery(q string) ([]string, error) {
	rest, ok := strings.CutPrefix(q, "SELECT Id, TrackingNumber FROM Shipment WHERE TrackingNumber IN (")
	if !ok {
		return nil, errors.New("not the shipment lookup query")
	}
	var out []string
	for {
		lit, after, err := parseSOQLLiteral(rest)
		if err != nil {
			return nil, err
		}
		out = append(out, lit)
		if after == ")" {
			return out, nil
		}
		var ok bool
		if rest, ok = strings.CutPrefix(after, ", "); !ok {
			return nil, fmt.Errorf("unexpected %q after a literal", after)
		}
	}
}

// parseSOQLLiteral reads one quoted literal at the start of s.
func parseSOQLLiteral(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("want a quoted literal at %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\'':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", errors.New("backslash at the end")
			}
			switch e := s[i+1]; e {
			case 'n', 'N':
				b.WriteByte('\n')
			case 'r', 'R':
				b.WriteByte('\r')
			case 't', 'T':
				b.WriteByte('\t')
			case 'b', 'B':
				b.WriteByte('\b')
			case 'f', 'F':
				b.WriteByte('\f')
			case '"', '\'', '\\':
				b.WriteByte(e)
			default:
				return "", "", fmt.Errorf("invalid escape \\%c", e)
			}
			i += 2
		default:
			b.WriteRune(r)
			i += size
		}
	}
	return "", "", errors.New("unterminated literal")
}
