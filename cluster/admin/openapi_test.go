package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// The description must be valid OpenAPI 3, name every route the node
// serves, and be what docs/openapi.json holds (make generate writes it).
func TestOpenAPIDescription(t *testing.T) {
	doc := loadDescription(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("not valid OpenAPI: %v", err)
	}
	wildcard := regexp.MustCompile(`\{([A-Za-z_]+)\.\.\.\}`)
	operations := 0
	for _, pattern := range admin.RoutePatterns() {
		method, path, _ := strings.Cut(pattern, " ")
		path = wildcard.ReplaceAllString(path, "{$1}")
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s: not described", pattern)
			continue
		}
		op := item.GetOperation(method)
		if op.Summary == "" || op.OperationID == "" || len(op.Responses.Map()) < 2 {
			t.Errorf("%s: summary %q, operation id %q, %d answers", pattern, op.Summary, op.OperationID, len(op.Responses.Map()))
		}
		operations++
	}
	described := 0
	for _, item := range doc.Paths.Map() {
		described += len(item.Operations())
	}
	if described != operations || operations < 80 {
		t.Errorf("%d operations described, %d routes served", described, operations)
	}
	want, err := admin.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/openapi.json")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("docs/openapi.json is not the description this build serves (%v): run make generate", err)
	}
}

// The schemas carry their Go types' doc comments, without the Go name
// they start with, and schemadocs.json (which a binary without sources
// embeds) holds what the sources say now.
func TestSchemaDocsCurrent(t *testing.T) {
	doc := loadDescription(t)
	post := doc.Components.Schemas["PostMessageRequest"].Value
	if !strings.HasPrefix(post.Description, "The body of POST /api/v1/messages") ||
		post.Properties["client_msg_id"].Value.Description != "The idempotency key: a retry with it is answered with the first" ||
		!strings.HasPrefix(post.Properties["mention_all"].Value.Description, "Mentions every member") {
		t.Errorf("PostMessageRequest described as %q, client_msg_id %q, mention_all %q", post.Description,
			post.Properties["client_msg_id"].Value.Description, post.Properties["mention_all"].Value.Description)
	}
	// A $ref's words stand beside it in an allOf.
	if loc := post.Properties["location"]; loc.Ref != "" || len(loc.Value.AllOf) != 1 || loc.Value.AllOf[0].Ref == "" ||
		!strings.HasPrefix(loc.Value.Description, "A place the text shares") {
		t.Errorf("location: %+v", loc)
	}
	if d := doc.Components.Schemas["DeskSessionInfo"].Value.Properties["queue_wait_ms"].Value.Description; !strings.HasPrefix(d, "While queued") {
		t.Errorf("a desk type's field described as %q", d)
	}
	want, err := admin.SchemaDocsJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("schemadocs.json")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("schemadocs.json is not what the sources' comments say (%v): run make generate", err)
	}
}

// The node serves the description; it is public, like a probe.
func TestOpenAPIServed(t *testing.T) {
	call := startAdminAPI(t, actors.Config{}, admin.Config{})
	var doc map[string]any
	call("GET", "/api/v1/openapi.json", "", "", http.StatusOK, &doc)
	if doc["openapi"] != "3.0.3" || len(doc["paths"].(map[string]any)) < 60 {
		t.Fatalf("openapi.json: %v, %d paths", doc["openapi"], len(doc["paths"].(map[string]any)))
	}
}

// described wraps an API handler for a test: every answer must match
// the description (its status's schema, or the refusal's), and every
// request it accepted must too, with no query parameter it does not
// name. The admin tests serve through it, so each call they make checks
// the description against what the node really does.
func described(t testing.TB, h http.Handler) http.Handler {
	doc := loadDescription(t)
	routes := http.NewServeMux()
	for _, p := range admin.RoutePatterns() {
		routes.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	wildcard := regexp.MustCompile(`\{([A-Za-z_]+)\.\.\.\}`)
	var mu sync.Mutex // t.Errorf after the test ended panics; servers outlive some checks
	ended := false
	t.Cleanup(func() { mu.Lock(); ended = true; mu.Unlock() })
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !ended {
			t.Errorf("openapi: "+format, args...)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = readAll(r)
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		_, pattern := routes.Handler(r)
		if pattern == "" {
			return // not the API's (the dashboard), or no such route
		}
		method, path, _ := strings.Cut(pattern, " ")
		op := doc.Paths.Find(wildcard.ReplaceAllString(path, "{$1}")).GetOperation(method)
		where := r.Method + " " + r.URL.Path
		res := op.Responses.Status(rec.status)
		if res == nil {
			res = op.Responses.Default()
		}
		if res == nil {
			fail("%s answered %d, which it does not describe", where, rec.status)
			return
		}
		if media := res.Value.Content.Get("application/json"); media != nil {
			checkJSON(fail, where+" answer "+strconv.Itoa(rec.status), media.Schema, rec.body.Bytes())
		} else if ct := rec.Header().Get("Content-Type"); strings.HasPrefix(ct, "application/json") && rec.status != http.StatusNotFound {
			fail("%s answered %d with JSON, described without", where, rec.status)
		}
		if rec.status >= 300 {
			return
		}
		for name := range r.URL.Query() {
			if op.Parameters.GetByInAndName("query", name) == nil {
				fail("%s: query parameter %q not described", where, name)
			}
		}
		if op.RequestBody != nil && len(bytes.TrimSpace(reqBody)) > 0 {
			checkJSON(fail, where+" body", op.RequestBody.Value.Content.Get("application/json").Schema, reqBody)
		} else if op.RequestBody == nil && len(bytes.TrimSpace(reqBody)) > 0 {
			fail("%s took a body it does not describe", where)
		}
	})
}

// loadDescription reads the description as a client would: its JSON,
// with every $ref resolved.
func loadDescription(t testing.TB) *openapi3.T {
	b, err := admin.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	return doc
}

func checkJSON(fail func(string, ...any), what string, schema *openapi3.SchemaRef, b []byte) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		fail("%s: not JSON: %v", what, err)
		return
	}
	if err := schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		fail("%s does not match its description: %v\n%s", what, err, b)
	}
}

func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	r.Body.Close()
	r.Body = readCloser{bytes.NewReader(buf.Bytes())}
	return buf.Bytes(), err
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder keeps what a handler wrote, as it passes it on.
type recorder struct {
	http.ResponseWriter
	status  int
	body    bytes.Buffer
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.status, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
