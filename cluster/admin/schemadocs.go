package admin

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// The description's words for each schema and property are the Go doc
// comments of the types the handlers read and write: one text for the
// Go reader and the API's. A deployed binary has no sources, so make
// generate copies them into schemadocs.json (SchemaDocsJSON, run by
// cluster/admin/gen), which the binary embeds; TestSchemaDocsCurrent
// fails when a comment changed without it.

//go:embed schemadocs.json
var schemaDocsJSON []byte

// schemaDocs maps "<package path>.<Type>" and "<package path>.<Type>.<Field>"
// to its description, read once the description is first built.
var schemaDocs = sync.OnceValues(func() (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(schemaDocsJSON, &m); err != nil {
		return nil, fmt.Errorf("openapi: schemadocs.json: %w", err)
	}
	return m, nil
})

// SchemaDocsJSON reads the doc comments of every type the description
// names from the sources (the go command finds them) and returns them as
// schemadocs.json is written.
func SchemaDocsJSON() ([]byte, error) {
	_, types, err := (&Server{}).build()
	if err != nil {
		return nil, err
	}
	docs, err := schemaDocsFromSource(types)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(docs, "", "  ") // sorted keys: the same bytes each time
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// docKey is one described thing: a type (field "") or a field of the
// struct type that declares it.
type docKey struct {
	t     reflect.Type
	field string
}

func (k docKey) String() string {
	s := k.t.PkgPath() + "." + k.t.Name()
	if k.field != "" {
		s += "." + k.field
	}
	return s
}

// propertyDocs lists t's key and, for each property of t's schema, the
// key of the field behind it (a promoted field's is its own type's).
func propertyDocs(t reflect.Type) (self docKey, props map[string]docKey) {
	props = map[string]docKey{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" {
			continue
		}
		owner := t
		for _, i := range f.Index[:len(f.Index)-1] {
			owner = owner.Field(i).Type
			if owner.Kind() == reflect.Pointer {
				owner = owner.Elem()
			}
		}
		props[cmp.Or(name, f.Name)] = docKey{owner, f.Name}
	}
	return docKey{t: t}, props
}

// describeSchemas sets each component's description and its properties'
// from schemaDocs. A property that is a $ref gets its words beside it in
// an allOf: OpenAPI 3.0 ignores what stands beside a $ref.
func (m *schemaMaker) describeSchemas(docs map[string]string) {
	for name, t := range m.names {
		c := m.schemas[name]
		if t.Kind() != reflect.Struct || c == nil || c.Value == nil {
			continue
		}
		self, props := propertyDocs(t)
		c.Value.Description = docs[self.String()]
		for prop, key := range props {
			d, ok := docs[key.String()]
			p := c.Value.Properties[prop]
			if !ok || p == nil {
				continue
			}
			switch {
			case p.Ref != "":
				c.Value.Properties[prop] = &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{p}, Description: d}}
			case p.Value != nil:
				v := *p.Value // the generator may share a field's schema
				v.Description = d
				c.Value.Properties[prop] = &openapi3.SchemaRef{Value: &v}
			}
		}
	}
}

// schemaDocsFromSource parses the packages declaring types (and the
// structs their fields are promoted from) and returns the cleaned doc
// comment of each type and field the description shows.
func schemaDocsFromSource(types []reflect.Type) (map[string]string, error) {
	want := map[string]bool{}
	pkgs := map[string]bool{}
	for _, t := range types {
		self, props := propertyDocs(t)
		for _, k := range append([]docKey{self}, values(props)...) {
			want[k.String()] = true
			pkgs[k.t.PkgPath()] = true
		}
	}
	docs := map[string]string{}
	for pkg := range pkgs {
		if err := readPackageDocs(pkg, want, docs); err != nil {
			return nil, err
		}
	}
	return docs, nil
}

func values(m map[string]docKey) []docKey {
	out := make([]docKey, 0, len(m))
	for _, k := range m {
		out = append(out, k)
	}
	return out
}

// readPackageDocs adds to docs the comments in pkg's sources of the keys
// in want.
func readPackageDocs(pkg string, want map[string]bool, docs map[string]string) error {
	bp, err := build.Import(pkg, ".", build.FindOnly)
	if err != nil {
		return fmt.Errorf("schema docs: find %s: %w", pkg, err)
	}
	files, err := filepath.Glob(filepath.Join(bp.Dir, "*.go"))
	if err != nil {
		return err
	}
	fset := gotoken.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("schema docs: %w", err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != gotoken.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				key := pkg + "." + ts.Name.Name
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				if want[key] && doc != nil {
					docs[key] = cleanDoc(ts.Name.Name, doc.Text())
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					text := ""
					switch {
					case fld.Doc != nil:
						text = fld.Doc.Text()
					case fld.Comment != nil:
						text = fld.Comment.Text()
					}
					for _, n := range fld.Names {
						if k := key + "." + n.Name; want[k] && text != "" {
							docs[k] = cleanDoc(n.Name, text)
						}
					}
				}
			}
		}
	}
	return nil
}

// sourceFile and sourceFileAfter find a comment's pointers into the
// sources, "(notes.go)" and "(…; merge_thread.go)", which the API's
// reader has no use for.
var (
	sourceFile      = regexp.MustCompile(` ?\([a-z_/]+\.go\)`)
	sourceFileAfter = regexp.MustCompile(`; [a-z_/]+\.go\)`)
)

// cleanDoc makes a doc comment a description: one paragraph, without
// the Go name it starts with ("Transcript is a…", "Failed: when…",
// "MentionAll mentions…"), which the API's reader knows by its JSON name.
func cleanDoc(goName, text string) string {
	text = strings.Join(strings.Fields(text), " ")
	text = sourceFile.ReplaceAllString(text, "")
	text = sourceFileAfter.ReplaceAllString(text, ")")
	rest, ok := strings.CutPrefix(text, goName)
	if !ok {
		return capitalized(text)
	}
	switch {
	case strings.HasPrefix(rest, ": "):
		rest = rest[2:]
	case strings.HasPrefix(rest, " is "):
		rest = rest[4:]
	case strings.HasPrefix(rest, " are "):
		rest = rest[5:]
	case strings.HasPrefix(rest, " ") && !strings.HasPrefix(rest, " and ") && !strings.HasPrefix(rest, " or ") &&
		len(rest) > 1 && unicode.IsLower(rune(rest[1])):
		rest = rest[1:]
	default:
		return text
	}
	return capitalized(rest)
}

// capitalized starts s with a capital, unless its first word is a name
// to keep as written (switchboard_*, --flag, a path).
func capitalized(s string) string {
	first, _, _ := strings.Cut(s, " ")
	if strings.ContainsAny(first, "_*./{-") {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
