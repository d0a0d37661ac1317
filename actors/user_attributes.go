package actors

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Customer attributes: what a business tells its service desk's agents
// about a user — their plan, their e-mail, their open orders — so an
// agent answers without asking for it. The business's back end sets
// them (the admin API); the agents of the user's desk sessions and the
// supervisors read them beside the internal notes (actors/desk); the
// user and other users never do. One checkpoint row per user, replaced
// whole by each change (one writer: the business), cleared by an
// erasure.

func attributesKey(user string) string { return "user/attributes/" + user }

// attributeKey is an attribute's name: 1–64 letters, digits, '_', '.'
// and '-' (a field name in the business's CRM).
var attributeKey = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// UserAttributes reads user's attributes (none: an empty set, updated 0).
func (n *Runtime) UserAttributes(ctx context.Context, user string) (*pb.UserAttributes, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	a, e := loadRow[pb.UserAttributes](ctx, n.store, attributesKey(user))
	return a, fromPB(e)
}

// SetUserAttributes replaces user's attributes with values (empty: none
// left): at most Config.MaxCustomerAttributes, each name an attributeKey
// and each value at most Config.MaxAttributeBytes of printable UTF-8
// (else INVALID). It answers them as stored.
func (n *Runtime) SetUserAttributes(ctx context.Context, user string, values map[string]string) (*pb.UserAttributes, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if len(values) > n.cfg.MaxCustomerAttributes {
		return nil, invalid("%d attributes, limit %d", len(values), n.cfg.MaxCustomerAttributes)
	}
	for k, v := range values {
		switch {
		case !attributeKey.MatchString(k):
			return nil, invalid("attribute name %q: 1 to 64 letters, digits, '_', '.' or '-'", k)
		case len(v) > n.cfg.MaxAttributeBytes:
			return nil, invalid("attribute %s is %d bytes, limit %d", k, len(v), n.cfg.MaxAttributeBytes)
		case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
			return nil, invalid("attribute %s is not printable UTF-8", k)
		}
	}
	a := &pb.UserAttributes{Values: values, UpdatedMs: time.Now().UnixMilli()}
	if err := saveRow(ctx, n.store, attributesKey(user), a); err != nil {
		return nil, fromPB(storeErr(err))
	}
	return a, nil
}
