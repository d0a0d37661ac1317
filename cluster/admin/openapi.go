package admin

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// The API's OpenAPI 3 description, built from the route table
// (routes.go) and the Go types its handlers read and write, so a team can
// generate a client for its servers in its own language. It is served at
// GET /api/v1/openapi.json, printed by `switchboard openapi`, and kept in
// docs/openapi.json (make generate); the admin tests check every answer
// they get against it.

// OpenAPI describes the API a Server serves (the route table does not
// depend on the node, so it needs none).
func OpenAPI() (*openapi3.T, error) {
	return (&Server{}).describe()
}

// OpenAPIJSON is the description as indented JSON, the same bytes each
// time for the same build.
func OpenAPIJSON() ([]byte, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return append(b, '\n'), nil
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	b, err := OpenAPIJSON() // a few milliseconds, and rarely asked for
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, APIError{Error: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// APIError is the body of every refusal: why, and the protocol's error
// code where there is one (docs/PROTOCOL.md, "Errors").
type APIError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// pathParam finds a pattern's wildcards: {name} and {name...}.
var pathParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// openAPIPath splits a ServeMux pattern into its method and its OpenAPI
// path ({id...} becomes {id}, which may then hold slashes).
func openAPIPath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, pathParam.ReplaceAllString(path, "{$1}")
}

const bearer = "bearer"

func (s *Server) describe() (*openapi3.T, error) {
	doc, _, err := s.build()
	return doc, err
}

// build makes the description and lists the Go types it has a component
// for.
func (s *Server) build() (*openapi3.T, []reflect.Type, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:   "Switchboard HTTP API",
			Version: "v1",
			License: &openapi3.License{Name: "Apache-2.0", URL: "https://www.apache.org/licenses/LICENSE-2.0"},
			Description: "The node's HTTP API for operators and for the business's own servers: probes, the cluster, " +
				"posting and reading messages, conversations, users, moderation and the service desk " +
				"(docs/OPERATIONS.md, \"Admin commands\"). Calls need the admin token, or an API key holding the " +
				"operation's scope (x-switchboard-scope), as `Authorization: Bearer …`.",
		},
		Servers: openapi3.Servers{{URL: "http://{node}", Description: "a node's admin address (serve --admin)",
			Variables: map[string]*openapi3.ServerVariable{"node": {Default: "127.0.0.1:8080"}}}},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				bearer: &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("admin token or API key")},
			},
		},
	}
	doc.Components.SecuritySchemes[bearer].Value.Description = "The admin token (serve --admin-token-file) or an API key (serve --api-keys)."
	schemas := newSchemaMaker(doc.Components.Schemas, nil)
	errorRef, err := schemas.ref(APIError{})
	if err != nil {
		return nil, nil, err
	}
	doc.Components.Responses = refusals(errorRef)
	routes := s.routes()
	for _, rt := range routes { // every answer first, for the bodies' names
		for _, a := range append([]answer{{body: rt.answer}}, rt.also...) {
			if a.body != nil && !rt.text {
				if _, err := schemas.ref(a.body); err != nil {
					return nil, nil, fmt.Errorf("openapi: %s: answer: %w", rt.pattern, err)
				}
			}
		}
	}
	bodies := newSchemaMaker(doc.Components.Schemas, schemas)
	var tags []string
	for _, rt := range routes {
		method, urlPath := openAPIPath(rt.pattern)
		op, err := operation(rt, method, urlPath, schemas, bodies, errorRef)
		if err != nil {
			return nil, nil, fmt.Errorf("openapi: %s: %w", rt.pattern, err)
		}
		doc.AddOperation(urlPath, method, op)
		if !slices.Contains(tags, rt.tag) {
			tags = append(tags, rt.tag)
		}
	}
	for _, t := range tags {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t, Description: tagAbout[t]})
	}
	docs, err := schemaDocs()
	if err != nil {
		return nil, nil, err
	}
	var types []reflect.Type
	for _, m := range []*schemaMaker{schemas, bodies} {
		m.nullableRefs()
		m.describeSchemas(docs)
		for _, t := range m.names {
			if t.Kind() == reflect.Struct && !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	for _, err := range []error{schemas.err, bodies.err} {
		if err != nil {
			return nil, nil, err
		}
	}
	return doc, types, nil
}

// tagAbout says what each group of endpoints is for.
var tagAbout = map[string]string{
	"probes":        "Liveness, readiness, Prometheus metrics and this description: open to anyone.",
	"cluster":       "The cluster's members, grains and health; draining a node.",
	"metrics":       "Service-quality metrics (docs/METRICS.md).",
	"store":         "The embedded store: backups and retention sweeps.",
	"messages":      "Posting as a user from your servers, scheduled messages, transcripts and polls.",
	"conversations": "Creating conversations, their members, settings, invites, meta, timers and freezes.",
	"users":         "Users' profiles, away messages, quiet hours and labels.",
	"moderation":    "Reports, suspensions, recalls, a user's data and erasure, the content policy.",
	"desk":          "The service desk (docs/DESK.md): scenes, lines, agents, queues and sessions.",
	"debug":         "Go runtime profiles, for the admin token only.",
}

// operation describes one route: who may call it, its parameters, its
// body, its answers and its refusal.
func operation(rt route, method, urlPath string, schemas, bodies *schemaMaker, errorRef *openapi3.SchemaRef) (*openapi3.Operation, error) {
	op := openapi3.NewOperation()
	op.Summary, op.Tags = rt.summary, []string{rt.tag}
	op.OperationID = cmp.Or(rt.id, operationID(method, urlPath))
	secure(op, rt)
	for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
		p := openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema())
		if m[2] != "" {
			p.Description = "may hold slashes"
		}
		op.AddParameter(p)
	}
	for _, qp := range rt.query {
		op.AddParameter(openapi3.NewQueryParameter(qp.name).WithDescription(qp.about).WithSchema(&openapi3.Schema{Type: &openapi3.Types{qp.kind}}))
	}
	if rt.body != nil {
		ref, err := bodies.ref(rt.body)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		body := openapi3.NewRequestBody().WithJSONSchemaRef(ref)
		body.Required = !rt.optionalBody
		op.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	op.Responses = openapi3.NewResponses()
	op.Responses.Delete("default")
	status := cmp.Or(rt.status, http.StatusOK)
	for _, a := range append([]answer{{status: status, body: rt.answer, about: http.StatusText(status)}}, rt.also...) {
		res := openapi3.NewResponse().WithDescription(a.about)
		switch {
		case rt.text:
			res.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"text/plain"}))
		case a.body != nil:
			ref, err := schemas.ref(a.body)
			if err != nil {
				return nil, fmt.Errorf("answer: %w", err)
			}
			res.WithContent(openapi3.NewContentWithJSONSchemaRef(ref))
		}
		op.AddResponse(a.status, res)
	}
	refusal := openapi3.NewResponse().WithDescription("refused: the error and its code")
	if rt.text && rt.access == public { // a probe's 503 says why in text
		refusal.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"text/plain"}))
	} else {
		refusal.WithContent(openapi3.NewContentWithJSONSchemaRef(errorRef))
	}
	op.Responses.Set("default", &openapi3.ResponseRef{Value: refusal})
	if rt.access != public {
		op.Responses.Set("401", &openapi3.ResponseRef{Ref: refusalRef + "Unauthorized"})
		op.Responses.Set("403", &openapi3.ResponseRef{Ref: refusalRef + "Forbidden"})
	}
	if rt.body != nil {
		op.Responses.Set("400", &openapi3.ResponseRef{Ref: refusalRef + "BadRequest"})
	}
	return op, nil
}

// refusalRef names the refusals every operation of a kind shares.
const refusalRef = "#/components/responses/"

// refusals are the shared refusals' descriptions, by component name.
func refusals(errorRef *openapi3.SchemaRef) openapi3.ResponseBodies {
	out := openapi3.ResponseBodies{}
	for name, about := range map[string]string{
		"Unauthorized": "no bearer token, or one the node does not know",
		"Forbidden":    "an API key without the operation's scope (x-switchboard-scope), or a user's rights that do not allow it",
		"BadRequest":   "a body that is not the operation's JSON, or a value out of its bounds",
	} {
		out[name] = &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(about).
			WithContent(openapi3.NewContentWithJSONSchemaRef(errorRef))}
	}
	return out
}

// secure says who may call the route: anyone, the token or a key with
// its scope (x-switchboard-scope), or either with --admin-open-read.
func secure(op *openapi3.Operation, rt route) {
	token := openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate(bearer))
	switch rt.access {
	case public:
		op.Security = openapi3.NewSecurityRequirements()
		return
	case openRead:
		op.Security = token.With(openapi3.NewSecurityRequirement())
		op.Description = "Open to anyone when the node runs with --admin-open-read."
	default:
		op.Security = token
	}
	scope := string(rt.scope)
	if rt.scope == scopeAdmin {
		scope = "admin" // the admin token only
	}
	op.Extensions = map[string]any{"x-switchboard-scope": scope}
}

// operationID names an operation for generated clients:
// "GET /api/v1/users/{user}/profile" → getUsersUserProfile.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.Split(strings.TrimPrefix(path, "/api/v1"), "/") {
		part = strings.Trim(part, "{}.")
		for _, word := range strings.FieldsFunc(part, func(r rune) bool { return r == '_' || r == '.' || r == '-' }) {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

// schemaMaker turns Go types into component schemas, as encoding/json
// writes them: every exported field, the json tags' names, nil slices and
// maps null, no properties but the type's. In an answer the fields
// without omitempty are required; a body may leave any field out (the
// node reads it as zero), so a type both read and written has two
// components, the body's named …Input.
type schemaMaker struct {
	gen     *openapi3gen.Generator
	schemas openapi3.Schemas
	names   map[string]reflect.Type
	answers *schemaMaker // for bodies: the answers' maker
	err     error
}

func newSchemaMaker(schemas openapi3.Schemas, answers *schemaMaker) *schemaMaker {
	m := &schemaMaker{schemas: schemas, names: map[string]reflect.Type{}, answers: answers}
	m.gen = openapi3gen.NewGenerator(
		openapi3gen.UseAllExportedFields(),
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.CreateTypeNameGenerator(m.typeName),
		openapi3gen.SchemaCustomizer(m.customize))
	return m
}

// typeName is the Go type's name, after its package's for a type from
// another package than this one (DeskSessionInfo); two types of one
// name would share a component, so that is an error.
func (m *schemaMaker) typeName(t reflect.Type) string {
	name := t.Name()
	if pkg := path.Base(t.PkgPath()); t.PkgPath() != reflect.TypeFor[route]().PkgPath() && pkg != "." {
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + name
	}
	if m.answers != nil {
		if _, ok := m.answers.names[name]; ok {
			name += "Input"
		}
	}
	if prev, ok := m.names[name]; ok && prev != t && m.err == nil {
		m.err = fmt.Errorf("openapi: two types named %s (%s and %s): rename one", name, prev.PkgPath(), t.PkgPath())
	}
	m.names[name] = t
	return name
}

func (m *schemaMaker) ref(v any) (*openapi3.SchemaRef, error) {
	return m.gen.NewSchemaRefForValue(v, m.schemas)
}

func (m *schemaMaker) customize(_ string, t reflect.Type, tag reflect.StructTag, schema *openapi3.Schema) error {
	opts := strings.Split(tag.Get("json"), ",")[1:]
	if slices.Contains(opts, "string") { // `json:",string"`: a number written as a string
		schema.Type, schema.Format, schema.Min, schema.Max = &openapi3.Types{"string"}, "", nil, nil
		schema.Pattern = "^[0-9]+$"
	}
	if t.Kind() == reflect.Uint64 {
		schema.Max = nil // 2^64-1 is no JSON number a client reads exactly
	}
	if (t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 || t.Kind() == reflect.Map) && !omitted(opts) {
		schema.Nullable = true // encoding/json writes a nil one as null
	}
	if t.Kind() == reflect.Struct && schema.Properties != nil {
		if m.answers == nil {
			schema.Required = requiredFields(t)
		}
		schema.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	}
	return nil
}

// nullableRefs marks the fields that point to a struct and are written
// as null when nil: OpenAPI 3.0 ignores what stands beside a $ref, so the
// reference goes in an allOf beside nullable.
func (m *schemaMaker) nullableRefs() {
	for name, t := range m.names {
		c := m.schemas[name]
		if t.Kind() != reflect.Struct || c == nil || c.Value == nil {
			continue
		}
		for _, f := range reflect.VisibleFields(t) {
			json, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || f.Anonymous || json == "-" || omitted(strings.Split(opts, ",")) ||
				f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
				continue
			}
			if prop := c.Value.Properties[cmp.Or(json, f.Name)]; prop != nil && prop.Ref != "" {
				c.Value.Properties[cmp.Or(json, f.Name)] = &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"object"}, Nullable: true,
					AllOf: openapi3.SchemaRefs{prop}}}
			}
		}
	}
}

// omitted: the field's tag options leave it out when empty or zero.
func omitted(opts []string) bool {
	return slices.Contains(opts, "omitempty") || slices.Contains(opts, "omitzero")
}

// requiredFields lists the JSON names encoding/json always writes: no
// omitempty, and not promoted from an embedded pointer (nil: absent).
func requiredFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && name == "" {
			if f.Type.Kind() == reflect.Struct {
				out = append(out, requiredFields(f.Type)...)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !omitted(strings.Split(opts, ",")) {
			out = append(out, name)
		}
	}
	return out
}
