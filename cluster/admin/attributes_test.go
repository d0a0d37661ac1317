package admin_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
)

// TestServerCustomerAttributes: the business tells the desk about a
// customer, strings, numbers and booleans kept as text; a PUT replaces
// them whole; the bounds at their edges (3 attributes, 8 bytes), a bad
// name or a nested value are 400 and change nothing; erasing the
// customer clears them.
func TestServerCustomerAttributes(t *testing.T) {
	_, call := startAdminNode(t, actors.Config{MaxCustomerAttributes: 3, MaxAttributeBytes: 8}, admin.Config{})
	const tok, path = "s3cret", "/api/v1/desk/customers/c1/attributes"
	call(http.MethodGet, path, "", "", http.StatusUnauthorized, nil)
	var a admin.CustomerAttributes
	call(http.MethodGet, path, tok, "", http.StatusOK, &a)
	if a.Customer != "c1" || len(a.Attributes) != 0 || a.UpdatedMs != 0 {
		t.Fatalf("before any: %+v", a)
	}
	call(http.MethodPut, path, tok, `{"attributes":{"plan":"premium","orders":12,"vip":true}}`, http.StatusOK, nil)
	call(http.MethodGet, path, tok, "", http.StatusOK, &a)
	if got := attrs(a); got != `orders="12" plan="premium" vip="true"` || a.UpdatedMs == 0 {
		t.Fatalf("after a put: %s (%+v)", got, a)
	}
	for what, body := range map[string]string{
		"four attributes":     `{"attributes":{"a":"1","b":"2","c":"3","d":"4"}}`,
		"a value of 9 bytes":  `{"attributes":{"plan":"123456789"}}`,
		"a name with a space": `{"attributes":{"my plan":"x"}}`,
		"an object":           `{"attributes":{"plan":{"name":"x"}}}`,
		"a null":              `{"attributes":{"plan":null}}`,
		"a control character": `{"attributes":{"plan":"a\u0007"}}`,
		"not JSON":            `{"attributes":`,
	} {
		call(http.MethodPut, path, tok, body, http.StatusBadRequest, nil)
		a = admin.CustomerAttributes{}
		call(http.MethodGet, path, tok, "", http.StatusOK, &a)
		if got := attrs(a); got != `orders="12" plan="premium" vip="true"` {
			t.Fatalf("%s changed them: %s", what, got)
		}
	}
	var put admin.CustomerAttributes
	call(http.MethodPut, path, tok, `{"attributes":{"plan":"12345678"}}`, http.StatusOK, &put)
	if got := attrs(put); got != `plan="12345678"` {
		t.Fatalf("a put replaces them whole, 8 bytes at the edge: %s", got)
	}
	var e admin.Erasure
	call(http.MethodPost, "/api/v1/users/c1/erase", tok, "", http.StatusOK, &e)
	a = admin.CustomerAttributes{}
	call(http.MethodGet, path, tok, "", http.StatusOK, &a)
	if !e.Done || len(a.Attributes) != 0 {
		t.Fatalf("after the erasure: %+v", a)
	}
}

// attrs is a's attributes as sorted name="value" pairs.
func attrs(a admin.CustomerAttributes) string {
	var out []string
	for k, v := range a.Attributes {
		out = append(out, k+"="+string(v))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
