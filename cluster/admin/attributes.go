package admin

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Customer attributes (actors/user_attributes.go): what the business
// tells its desk's agents about a customer — their plan, e-mail, open
// orders — shown beside the session's internal notes.

// CustomerAttributes is the body of PUT and the answer of GET and PUT
// /api/v1/desk/customers/{customer}/attributes. A PUT replaces them
// whole; its values may be JSON strings, numbers or booleans (kept as
// their text).
type CustomerAttributes struct {
	Customer   string                     `json:"customer"`
	Attributes map[string]json.RawMessage `json:"attributes"`
	UpdatedMs  int64                      `json:"updated_ms"` // 0: never set
}

func attributesAnswer(customer string, values map[string]string, updated int64) CustomerAttributes {
	out := CustomerAttributes{Customer: customer, Attributes: map[string]json.RawMessage{}, UpdatedMs: updated}
	for k, v := range values {
		b, _ := json.Marshal(v)
		out.Attributes[k] = b
	}
	return out
}

func (s *Server) customerAttributes(w http.ResponseWriter, r *http.Request) {
	customer := r.PathValue("customer")
	a, err := s.node.UserAttributes(r.Context(), customer)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, attributesAnswer(customer, a.Values, a.UpdatedMs))
}

func (s *Server) setCustomerAttributes(w http.ResponseWriter, r *http.Request) {
	var req CustomerAttributes
	if !readDeskBody(w, r, &req) {
		return
	}
	values := make(map[string]string, len(req.Attributes))
	for k, raw := range req.Attributes {
		var x any
		_ = json.Unmarshal(raw, &x) // valid: the body decoded
		switch x := x.(type) {
		case string:
			values[k] = x
		case float64, bool:
			values[k] = strings.TrimSpace(string(raw)) // as written
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "attribute " + k + ": a string, a number or a boolean"})
			return
		}
	}
	customer := r.PathValue("customer")
	a, err := s.node.SetUserAttributes(r.Context(), customer, values)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("customer attributes set", "by", callerOf(r), "customer", customer, "count", len(values))
	writeJSON(w, http.StatusOK, attributesAnswer(customer, a.Values, a.UpdatedMs))
}
