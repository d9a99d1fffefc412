package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/customerkey"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/wire"
)

// errBadRequest, errForbidden and errTooLarge classify request problems.
var (
	errBadRequest = errors.New("bad request")
	errForbidden  = errors.New("forbidden")
	errTooLarge   = errors.New("request body too large")
)

func badf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, a...))
}

func forbiddenf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errForbidden, fmt.Sprintf(format, a...))
}

// Fail answers err as the API's own routes do: 400/403/413 for request problems (e.g.
// a DecodeStrict error), 500 for the rest.
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, err error) { s.fail(w, r, err) }

// fail answers an error with its status: 400/403/413 for request problems (the text
// names the field), 500 for the rest (details only in the log).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	msg := err.Error()
	switch {
	case errors.Is(err, errTooLarge):
		WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", wire.MaxBodyBytes))
	case errors.Is(err, errForbidden):
		WriteError(w, http.StatusForbidden, strings.TrimPrefix(msg, errForbidden.Error()+": "))
	case errors.Is(err, errBadRequest):
		WriteError(w, http.StatusBadRequest, strings.TrimPrefix(msg, errBadRequest.Error()+": "))
	case errors.Is(err, hq.ErrInvalid):
		WriteError(w, http.StatusBadRequest, msg)
	case errors.Is(err, hq.ErrUnavailable):
		s.log.Warn("request failed: storage unavailable", "route", r.Pattern, "err", err)
		WriteUnavailable(w)
	default:
		s.log.Error("request failed", "route", r.Pattern, "err", err)
		WriteError(w, http.StatusInternalServerError, "internal error; see HQ log")
	}
}

// readBody reads the whole body, at most wire.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > wire.MaxBodyBytes {
		return nil, errTooLarge
	}
	// Sized from Content-Length when given (at most the limit), so a batch is read
	// without regrowing; MaxBytesReader still enforces the limit on what arrives.
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes))
	body := buf.Bytes()
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, badf("read body: %v", err)
	}
	return body, nil
}

// decodeStrict decodes one JSON value into v: unknown fields, field names in another
// case, repeated keys (checkKeys) and trailing data are errors, and every error names
// the field (prefixed with path).
func decodeStrict(data []byte, v any, path string) error {
	if err := checkKeys(data, reflect.TypeOf(v), path); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return badf("%s: trailing data after the JSON value", orBody(path))
		}
		return nil
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var pe *time.ParseError
	switch {
	case errors.As(err, &syn):
		return badf("%s: invalid JSON at byte %d: %v", orBody(path), syn.Offset, syn)
	case errors.As(err, &typ) && strings.HasSuffix(typ.Field, "amount_fen"):
		return badf("%s: %s; want the line total in fen, a whole number ≥ 0 (12.50 yuan = 1250)", joinPath(path, typ.Field), typ.Value)
	case errors.As(err, &typ):
		return badf("%s: wrong type %s, want %s", joinPath(path, typ.Field), typ.Value, typ.Type)
	case errors.As(err, &pe):
		return badf("%s: bad date/time %q: want RFC 3339 (e.g. 2026-06-30T09:15:00+08:00)", joinPath(path, fieldWithValue(data, pe.Value)), pe.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badf("%s: unknown field", joinPath(path, f))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badf("%s: invalid JSON: empty or truncated", orBody(path))
	default:
		return badf("%s: %v", orBody(path), err)
	}
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// fieldWithValue finds the dotted path of the first string field whose value is val
// (the text a date/time parser refused).
func fieldWithValue(data []byte, val string) string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	var walk func(v any, path string) string
	walk = func(v any, path string) string {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if s, ok := x[k].(string); ok && s == val {
					return joinPath(path, k)
				}
				if p := walk(x[k], joinPath(path, k)); p != "" {
					return p
				}
			}
		case []any:
			for i, e := range x {
				if p := walk(e, fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
		return ""
	}
	return walk(v, "")
}

// rawRecords is the first decoding stage of a records batch: each record is decoded
// separately so errors name "records[i].field".
type rawRecords struct {
	StoreID string            `json:"store_id"`
	Records []json.RawMessage `json:"records"`
}

func (s *Server) handleRecords(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, raws, err := s.parseRecords(body, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Points only for the store's own pharmacists: a record of anyone else is kept but
	// earns nothing and is flagged (a store token cannot invent pharmacists to pay).
	roster, err := hq.RosterSet(r.Context(), s.st, req.StoreID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	batch := make([]hq.VisitIngest, len(req.Records))
	oldest := time.Time{}
	unrostered := map[string]bool{}
	now := s.opts.Now()
	rules := map[int]flows.PointsRules{}
	for i, v := range req.Records {
		batch[i] = hq.VisitIngest{Visit: v, Raw: raws[i]}
		pr, err := s.pointsRules(r.Context(), v, rules)
		if err != nil {
			s.fail(w, r, fmt.Errorf("records[%d]: %w", i, err))
			return
		}
		ev, ok, err := pr.CompletionEvent(v)
		if err != nil {
			s.fail(w, r, badf("records[%d]: points: %v", i, err))
			return
		}
		switch {
		case !roster[v.PharmacistID]:
			unrostered[v.ID] = true
			batch[i].Flags = []hq.Flag{{At: now, Kind: hq.FlagNotOnRoster, StoreID: v.StoreID, PharmacistID: v.PharmacistID, Ref: v.ID,
				Detail: fmt.Sprintf("pharmacist %s is not on the roster of store %s: no points", v.PharmacistID, v.StoreID)}}
		case ok:
			batch[i].Points = []flows.PointsEvent{ev}
		}
		if s.opts.PrepareRecord != nil {
			if err := s.opts.PrepareRecord(&batch[i]); err != nil {
				s.fail(w, r, fmt.Errorf("records[%d]: %w", i, err))
				return
			}
		}
		if t := v.UpdatedAt; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	res, err := s.st.IngestVisits(r.Context(), req.StoreID, batch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.ingested.WithLabelValues(wire.KindVisit, req.StoreID).Add(float64(res.Accepted))
	s.metrics.duplicates.WithLabelValues(wire.KindVisit, req.StoreID).Add(float64(res.Duplicates))
	if !oldest.IsZero() {
		s.metrics.lag.WithLabelValues(req.StoreID).Set(math.Max(0, s.opts.Now().Sub(oldest).Seconds()))
	}
	out := wire.IngestResponse{Accepted: res.Accepted, Duplicates: res.Duplicates}
	for _, id := range res.AcceptedIDs {
		if unrostered[id] {
			out.NotOnRoster = append(out.NotOnRoster, id)
		}
	}
	if len(out.NotOnRoster) > 0 {
		s.log.Warn("records of pharmacists not on the roster: kept without points", "store", req.StoreID, "records", len(out.NotOnRoster))
	}
	s.log.Info("records ingested", "store", req.StoreID, "accepted", res.Accepted, "duplicates", res.Duplicates,
		"idempotency_key", r.Header.Get(wire.HeaderIdempotencyKey))
	WriteJSON(w, http.StatusOK, out)
}

// pointsRules are the points rules of the content version v was served with (memo:
// the batch's versions so far). Version 0 is HQ's own rules; a version HQ does not
// have (published at another HQ, or its data lost) is priced with version 0's and
// logged.
func (s *Server) pointsRules(ctx context.Context, v flows.Visit, memo map[int]flows.PointsRules) (flows.PointsRules, error) {
	n := v.ContentVersion
	if n == 0 {
		return s.opts.PointsRules, nil
	}
	if pr, ok := memo[n]; ok {
		return pr, nil
	}
	pr, _, err := s.versions.Points(ctx, n)
	switch {
	case errors.Is(err, hq.ErrNotFound):
		s.log.Warn("visit served with a content version HQ does not have: points priced with version 0's rules",
			"visit", v.ID, "store", v.StoreID, "content_version", n)
		pr = s.opts.PointsRules
	case err != nil:
		return nil, err
	}
	memo[n] = pr
	return pr, nil
}

// parseRecords decodes and validates a records batch for principal p. It returns the
// records and each record's JSON as received (stored verbatim).
//
// The common case — a well-formed batch with exactly the keys "store_id" and "records"
// once each — is decoded in one strict pass (fastRecords). Anything else, including
// every error, goes through the record-by-record decoding, whose errors name
// "records[i].field"; both give the same records and the same verdicts.
func (s *Server) parseRecords(body []byte, p hq.Principal) (wire.RecordsRequest, []json.RawMessage, error) {
	req, raws, ok := fastRecords(body)
	if !ok {
		var raw rawRecords
		if err := decodeStrict(body, &raw, ""); err != nil {
			return wire.RecordsRequest{}, nil, err
		}
		req, raws = wire.RecordsRequest{StoreID: raw.StoreID}, raw.Records
	}
	if req.StoreID == "" {
		return wire.RecordsRequest{}, nil, badf("store_id: missing")
	}
	if !p.CanAccessStore(req.StoreID) {
		return wire.RecordsRequest{}, nil, forbiddenf("store_id: token of store %s may not send records of store %s", p.StoreID, req.StoreID)
	}
	if raws == nil {
		return wire.RecordsRequest{}, nil, badf("records: missing")
	}
	if len(raws) > wire.MaxBatchRecords*4 {
		return wire.RecordsRequest{}, nil, badf("records: %d records, at most %d per batch", len(raws), wire.MaxBatchRecords*4)
	}
	decoded := ok
	if !decoded {
		req.Records = make([]flows.Visit, len(raws))
	}
	for i := range raws {
		path := "records[" + strconv.Itoa(i) + "]"
		v := &req.Records[i]
		if !decoded {
			if err := decodeStrict(raws[i], v, path); err != nil {
				return wire.RecordsRequest{}, nil, err
			}
		}
		switch {
		case strings.TrimSpace(v.ID) == "":
			return wire.RecordsRequest{}, nil, badf("%s.id: missing", path)
		case len(v.ID) > maxRecordID || strings.ContainsFunc(v.ID, unicode.IsControl):
			return wire.RecordsRequest{}, nil, badf("%s.id: at most %d bytes, no control characters", path, maxRecordID)
		case v.StoreID == "":
			return wire.RecordsRequest{}, nil, badf("%s.store_id: missing", path)
		case v.StoreID != req.StoreID && !p.Admin:
			return wire.RecordsRequest{}, nil, forbiddenf("%s.store_id: record of store %s in a batch of store %s", path, v.StoreID, req.StoreID)
		case v.StoreID != req.StoreID:
			return wire.RecordsRequest{}, nil, badf("%s.store_id: record of store %s in a batch of store %s", path, v.StoreID, req.StoreID)
		case v.PharmacistID == "":
			return wire.RecordsRequest{}, nil, badf("%s.pharmacist_id: missing", path)
		case v.StartedAt.IsZero():
			return wire.RecordsRequest{}, nil, badf("%s.started_at: missing", path)
		case v.CustomerKey != "" && !customerkey.Valid(v.CustomerKey):
			return wire.RecordsRequest{}, nil, badf("%s.customer_key: want 32 lower-case hex characters (a keyed hash, never an ID number)", path)
		case v.CustomerMasked != "" && !customerkey.ValidMask(v.CustomerMasked):
			return wire.RecordsRequest{}, nil, badf("%s.customer_masked: want the masked form (4 characters, asterisks, 4 characters, e.g. 1101**********002X) or nothing", path)
		case v.FollowUp != nil && v.FollowUp.FollowUp != nil && v.FollowUp.FollowUp.CustomerKey != "" && v.FollowUp.FollowUp.CustomerKey != v.CustomerKey:
			return wire.RecordsRequest{}, nil, badf("%s.followup.scheduled.customer_key: must be the record's customer_key (or empty)", path)
		}
		switch v.Outcome {
		case flows.OutcomeComplete, flows.OutcomeAbandoned, flows.OutcomeInProgress:
		default:
			return wire.RecordsRequest{}, nil, badf("%s.outcome: %q is not one of complete, abandoned, in_progress", path, v.Outcome)
		}
		// A repeat of an id inside the batch is a duplicate, counted by the store.
	}
	return req, raws, nil
}

// maxRecordID bounds a record id (HQ keys visits, follow-ups and points by it).
const maxRecordID = 128

// fastRecords decodes a records batch without the record-by-record path's extra
// passes: splitRecords checks the top level and cuts out each record's JSON, and the
// records are then each read once, strictly (decodeVisitJSON: unknown, repeated or
// case-folded keys and every kind of invalid JSON refused), in parallel across
// GOMAXPROCS for a large batch. It reports ok=false — the caller then takes the
// record-by-record path, which accepts what the one-pass reader leaves to it or names
// the field at fault — for any record the reader does not take and for any top level
// other than exactly "store_id" and "records", each at most once (so case-folded,
// escaped or repeated keys, whose merging rules differ between decodings, never take
// this path).
func fastRecords(body []byte) (wire.RecordsRequest, []json.RawMessage, bool) {
	sid, raws, ok := splitRecords(body)
	if !ok {
		return wire.RecordsRequest{}, nil, false
	}
	var req wire.RecordsRequest
	if sid != nil && json.Unmarshal(sid, &req.StoreID) != nil {
		return wire.RecordsRequest{}, nil, false
	}
	if raws == nil {
		return req, nil, true
	}
	req.Records = make([]flows.Visit, len(raws))
	ok = inParallel(len(raws), func(lo, hi int) bool { return decodeRecords(raws[lo:hi], req.Records[lo:hi]) })
	return req, raws, ok
}

// inParallel calls decode on [0, n) cut into one range per CPU (ranges of at least 128
// items) and reports whether every call succeeded.
func inParallel(n int, decode func(lo, hi int) bool) bool {
	workers := min(runtime.GOMAXPROCS(0), (n+127)/128)
	if workers <= 1 {
		return decode(0, n)
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			if !decode(lo, hi) {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}

// decodeRecords decodes each raw record strictly into out in one pass
// (decodeVisitJSON); false for the first record it does not take.
func decodeRecords(raws []json.RawMessage, out []flows.Visit) bool {
	for i, raw := range raws {
		if !decodeVisitJSON(raw, &out[i]) {
			return false
		}
	}
	return true
}

// splitRecords checks a records batch's top level and cuts out the "store_id" value
// and the elements of the "records" array (the slices share body's memory). It accepts
// only an object whose keys are exactly "store_id" and "records", each at most once, in
// any order, with "records" an array or null (nil records), followed by nothing but
// white space. The values themselves are left to the decoders.
func splitRecords(body []byte) (storeID []byte, raws []json.RawMessage, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, nil, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, nil, skipSpace(body, i+1) == len(body) // {}: the caller reports what is missing
	}
	seenStore, seenRecords := false, false
	for {
		if i >= len(body) || body[i] != '"' {
			return nil, nil, false
		}
		end := skipString(body, i)
		if end < 0 {
			return nil, nil, false
		}
		key := string(body[i+1 : end-1])
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(body, i+1)
		switch {
		case key == "store_id" && !seenStore:
			seenStore = true
			start := i
			if i = skipValue(body, i); i < 0 {
				return nil, nil, false
			}
			storeID = body[start:i:i]
		case key == "records" && !seenRecords:
			seenRecords = true
			if bytes.HasPrefix(body[i:], []byte("null")) {
				i += 4
				break
			}
			if i >= len(body) || body[i] != '[' {
				return nil, nil, false
			}
			raws = make([]json.RawMessage, 0, wire.MaxBatchRecords)
			i = skipSpace(body, i+1)
			if i < len(body) && body[i] == ']' {
				i++
				break
			}
			for {
				start := i
				if i = skipValue(body, i); i < 0 {
					return nil, nil, false
				}
				raws = append(raws, body[start:i:i])
				i = skipSpace(body, i)
				if i >= len(body) {
					return nil, nil, false
				}
				if body[i] == ']' {
					i++
					break
				}
				if body[i] != ',' {
					return nil, nil, false
				}
				i = skipSpace(body, i+1)
			}
		default:
			return nil, nil, false
		}
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil, nil, false
		}
		if body[i] == '}' {
			if skipSpace(body, i+1) != len(body) {
				return nil, nil, false // trailing data
			}
			return storeID, raws, true
		}
		if body[i] != ',' {
			return nil, nil, false
		}
		i = skipSpace(body, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i] ('"'), or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1. Objects and
// arrays are skipped by bracket depth outside strings; scalars up to the next
// delimiter. Well-formedness is left to the decoder.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				i-- // the loop's i++ moves past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		start := i
		for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[i])) {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
}

type rawPurchases struct {
	Purchases []json.RawMessage `json:"purchases"`
}

func (s *Server) handlePurchases(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ps, ok := fastPurchases(body)
	if !ok {
		// The strict two-stage decoding takes what the one-pass reader leaves to it
		// and words every error ("purchases[i].field: …").
		if ps, err = strictPurchases(body, p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if ps == nil {
		s.fail(w, r, badf("purchases: missing"))
		return
	}
	var unknown []string
	seenUnknown := map[string]bool{}
	stores := map[string]bool{}
	for i := range ps {
		if ok { // (the strict path has validated each purchase after decoding it)
			if err := validatePurchase(&ps[i], i, p); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if !s.resolve(&ps[i]) && !seenUnknown[ps[i].DrugCode] {
			seenUnknown[ps[i].DrugCode] = true
			unknown = append(unknown, ps[i].DrugCode)
		}
		stores[ps[i].StoreID] = true
	}
	res, err := s.st.IngestPurchases(r.Context(), ps)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	label := p.StoreID
	if p.Admin {
		label = "admin"
	}
	s.metrics.ingested.WithLabelValues(wire.KindPurchase, label).Add(float64(res.Accepted))
	s.metrics.duplicates.WithLabelValues(wire.KindPurchase, label).Add(float64(res.Duplicates))
	s.log.Info("purchases ingested", "by", label, "stores", len(stores), "accepted", res.Accepted,
		"duplicates", res.Duplicates, "unknown_codes", len(unknown))
	WriteJSON(w, http.StatusOK, wire.IngestResponse{Accepted: res.Accepted, Duplicates: res.Duplicates, UnknownCodes: unknown})
}

// strictPurchases decodes a purchases batch strictly, the batch and then each purchase
// (checkKeys and encoding/json), validating each purchase after decoding it: the first
// fault in the body is the one reported. A nil slice means "purchases" was null or
// missing.
func strictPurchases(body []byte, p hq.Principal) ([]flows.Purchase, error) {
	var raw rawPurchases
	if err := decodeStrict(body, &raw, ""); err != nil {
		return nil, err
	}
	if raw.Purchases == nil {
		return nil, nil
	}
	ps := make([]flows.Purchase, len(raw.Purchases))
	for i, rec := range raw.Purchases {
		if err := decodeStrict(rec, &ps[i], "purchases["+strconv.Itoa(i)+"]"); err != nil {
			return nil, err
		}
		if err := validatePurchase(&ps[i], i, p); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// fastPurchases decodes a purchases batch in one pass: the top level must be exactly
// {"purchases": [...] or null}, each purchase read once by decodePurchaseJSON, in
// parallel for a large batch. ok=false: the caller takes the strict path (which words
// any error). A nil slice means "purchases" was null or missing.
func fastPurchases(body []byte) (ps []flows.Purchase, ok bool) {
	raws, ok := splitPurchases(body)
	if !ok || raws == nil {
		return nil, ok
	}
	ps = make([]flows.Purchase, len(raws))
	ok = inParallel(len(raws), func(lo, hi int) bool {
		for i := lo; i < hi; i++ {
			if !decodePurchaseJSON(raws[i], &ps[i]) {
				return false
			}
		}
		return true
	})
	return ps, ok
}

// splitPurchases checks a purchases batch's top level — an object whose only key is
// "purchases", once, holding an array or null, followed by nothing but white space —
// and cuts out each element's JSON (sharing body's memory).
func splitPurchases(body []byte) (raws []json.RawMessage, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, skipSpace(body, i+1) == len(body) // {}: the caller reports it missing
	}
	const key = `"purchases"`
	if !bytes.HasPrefix(body[i:], []byte(key)) {
		return nil, false
	}
	i = skipSpace(body, i+len(key))
	if i >= len(body) || body[i] != ':' {
		return nil, false
	}
	i = skipSpace(body, i+1)
	switch {
	case bytes.HasPrefix(body[i:], []byte("null")):
		i += 4
	case i < len(body) && body[i] == '[':
		raws = make([]json.RawMessage, 0, 64)
		i = skipSpace(body, i+1)
		if i < len(body) && body[i] == ']' {
			i++
			break
		}
		for {
			start := i
			if i = skipValue(body, i); i < 0 {
				return nil, false
			}
			raws = append(raws, body[start:i:i])
			i = skipSpace(body, i)
			if i >= len(body) {
				return nil, false
			}
			if body[i] == ']' {
				i++
				break
			}
			if body[i] != ',' {
				return nil, false
			}
			i = skipSpace(body, i+1)
		}
	default:
		return nil, false
	}
	i = skipSpace(body, i)
	if i >= len(body) || body[i] != '}' || skipSpace(body, i+1) != len(body) {
		return nil, false
	}
	return raws, true
}

// validatePurchase checks purchase i of a batch for principal p.
func validatePurchase(pu *flows.Purchase, i int, p hq.Principal) error {
	path := "purchases[" + strconv.Itoa(i) + "]"
	switch {
	case strings.TrimSpace(pu.ID) == "":
		return badf("%s.id: missing", path)
	case !customerkey.Valid(pu.CustomerKey):
		return badf("%s.customer_key: want 32 lower-case hex characters", path)
	case pu.StoreID == "":
		return badf("%s.store_id: missing", path)
	case !p.CanAccessStore(pu.StoreID):
		return forbiddenf("%s.store_id: token of store %s may not send purchases of store %s", path, p.StoreID, pu.StoreID)
	case pu.SoldAt.IsZero():
		return badf("%s.sold_at: missing", path)
	case strings.TrimSpace(pu.DrugCode) == "":
		return badf("%s.drug_code: missing", path)
	case !(pu.Quantity > 0) || math.IsInf(pu.Quantity, 0):
		return badf("%s.quantity: must be a positive number", path)
	case pu.DaysSupply < 0:
		return badf("%s.days_supply: must not be negative", path)
	case pu.AmountFen != nil && *pu.AmountFen < 0:
		return badf("%s.amount_fen: %d is negative; want the line total in fen, a whole number ≥ 0", path, *pu.AmountFen)
	case !flows.ValidKind(pu.Kind):
		return badf("%s.kind: %q; want rx, otc or nondrug (or leave it out: the catalog's kind)", path, pu.Kind)
	case len(pu.ReceiptID) > maxReceiptID:
		return badf("%s.receipt_id: %d bytes; at most %d", path, len(pu.ReceiptID), maxReceiptID)
	case strings.ContainsFunc(pu.ReceiptID, unicode.IsControl):
		return badf("%s.receipt_id: contains a control character", path)
	case !strings.HasPrefix(pu.ID, pu.StoreID+":"):
		// Purchase ids are deduplicated chain-wide: each store's ids begin with its own
		// store id (STORE:SALE:CODE, as the POS import makes them), so no store can take
		// an id another store's sale will have.
		return badf("%s.id: %q does not begin with its store_id and a colon (%s:SALE:CODE)", path, pu.ID, pu.StoreID)
	}
	return nil
}

// maxReceiptID bounds a purchase's receipt id (POS receipt numbers are short).
const maxReceiptID = 128

func (s *Server) resolve(p *flows.Purchase) bool { return flows.ResolvePurchase(s.opts.Catalog, p) }

// checkQuery rejects query parameters the route does not know (a typo must not
// silently widen a report).
func checkQuery(q url.Values, known ...string) error {
	for k := range q {
		ok := false
		for _, n := range known {
			ok = ok || k == n
		}
		if !ok {
			return badf("%s: unknown query parameter (known: %s)", k, strings.Join(known, ", "))
		}
	}
	return nil
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	key := r.PathValue("customer_key")
	q := r.URL.Query()
	if err := checkQuery(q, "days", "as_of"); err != nil {
		s.fail(w, r, err)
		return
	}
	if !customerkey.Valid(key) {
		s.fail(w, r, badf("customer_key: want 32 lower-case hex characters"))
		return
	}
	days := flows.DefaultLookbackDays
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			s.fail(w, r, badf("days: %q is not a whole number of days in 1..366", v))
			return
		}
		days = n
	}
	asOf := flows.DayOf(s.opts.Now())
	if v := q.Get("as_of"); v != "" {
		d, err := flows.ParseDay(v)
		if err != nil {
			s.fail(w, r, badf("as_of: %q: want YYYY-MM-DD", v))
			return
		}
		asOf = d
	}
	opt := s.opts.Adherence
	opt.LookbackDays = days
	from, _ := flows.HistoryRange(asOf, opt)
	ps, err := s.st.History(r.Context(), key, from, asOf)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.noteRead(p, key, s.opts.Now()) // audited in batches (reads.go): no commit on this path
	a := flows.Analyze(ps, s.opts.Catalog, asOf, opt)
	resp := wire.HistoryResponse{CustomerKey: key, AsOf: asOf, Days: days, Purchases: ps, Adherence: a.Classes}
	if resp.Purchases == nil {
		resp.Purchases = []flows.Purchase{}
	}
	if resp.Adherence == nil {
		resp.Adherence = []flows.ClassResult{}
	}
	WriteJSON(w, http.StatusOK, resp)
}

func parseDayParam(q url.Values, name string) (flows.Day, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := flows.ParseDay(v)
	if err != nil {
		return 0, badf("%s: %q: want YYYY-MM-DD", name, v)
	}
	return d, nil
}

func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "store_id", "pharmacist_id", "from", "to", "group_by"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	from, err := parseDayParam(q, "from")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to, err := parseDayParam(q, "to")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if from != 0 && to != 0 && to < from {
		s.fail(w, r, badf("to: %s is before from %s", to, from))
		return
	}
	group := q.Get("group_by")
	switch group {
	case "":
		group = hq.GroupByStore
	case hq.GroupByStore, hq.GroupByPharmacist, hq.GroupByDay, hq.GroupByContentVersion:
	default:
		s.fail(w, r, badf("group_by: %q is not one of store, pharmacist, day, content_version", group))
		return
	}
	groups, err := s.st.Completion(r.Context(), hq.CompletionQuery{StoreID: store, PharmacistID: q.Get("pharmacist_id"), From: from, To: to, GroupBy: group})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]wire.CompletionRow, len(groups))
	for i, g := range groups {
		rows[i] = g.Row()
	}
	WriteJSON(w, http.StatusOK, wire.CompletionResponse{Rows: rows})
}

func (s *Server) handlePoints(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "store_id", "pharmacist_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	rows, err := s.st.Points(r.Context(), store, q.Get("pharmacist_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, wire.PointsResponse{Rows: rows})
}

func (s *Server) handleRoster(w http.ResponseWriter, r *http.Request, p hq.Principal) {
	q := r.URL.Query()
	if err := checkQuery(q, "store_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	store, err := p.ScopeStore(q.Get("store_id"))
	if err != nil {
		s.fail(w, r, forbiddenf("store_id: %v", err))
		return
	}
	if store == "" {
		s.fail(w, r, badf("store_id: required with an admin token"))
		return
	}
	ps, err := s.st.Roster(r.Context(), store)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, wire.RosterResponse{StoreID: store, Pharmacists: ps})
}
