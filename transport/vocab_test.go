package transport_test

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// names maps an enum's numbers to its value names.
func names(e protoreflect.EnumDescriptor) map[protoreflect.EnumNumber]string {
	out := map[protoreflect.EnumNumber]string{}
	vs := e.Values()
	for i := 0; i < vs.Len(); i++ {
		out[vs.Get(i).Number()] = string(vs.Get(i).Name())
	}
	return out
}

// TestVocabularyShared proves the grain protocol's codes, roles and kinds
// equal the wire protocol's, name for number: the connection layer
// converts between them by number, so a value added to one and not the
// other (or renumbered) fails here rather than in a client.
func TestVocabularyShared(t *testing.T) {
	// Codes: 0–31 are shared, name for number: every grain code is there,
	// and the wire has no code of its own in that range; the wire's 32 and
	// up are its own (connection-level).
	grain, wire := names(pb.Code(0).Descriptor()), names(wirepb.Code(0).Descriptor())
	for n := protoreflect.EnumNumber(0); n < 32; n++ {
		if grain[n] != wire[n] {
			t.Errorf("code %d: grain %q, wire %q", n, grain[n], wire[n])
		}
	}
	for n, name := range grain {
		if n >= 32 {
			t.Errorf("grain code %d %s outside the shared 0–31", n, name)
		}
	}
	if len(grain) < 17 {
		t.Fatalf("only %d grain codes: the check reads the wrong enum", len(grain))
	}
	for _, e := range []struct {
		what        string
		grain, wire protoreflect.EnumDescriptor
	}{
		{"role", pb.Role(0).Descriptor(), wirepb.Role(0).Descriptor()},
		{"conversation kind", pb.ConvKind(0).Descriptor(), wirepb.ConvKind(0).Descriptor()},
		{"message kind", pb.MessageKind(0).Descriptor(), wirepb.MessageKind(0).Descriptor()},
	} {
		g, w := names(e.grain), names(e.wire)
		if fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s: grain %v, wire %v", e.what, g, w)
		}
	}
	// The store's constants, which the grains cast by number too.
	for _, c := range []struct {
		what        string
		store, wire int32
	}{
		{"direct", int32(storage.KindDirect), int32(wirepb.ConvKind_DIRECT)},
		{"group", int32(storage.KindGroup), int32(wirepb.ConvKind_GROUP)},
		{"service", int32(storage.KindService), int32(wirepb.ConvKind_SERVICE)},
		{"member", int32(storage.RoleMember), int32(wirepb.Role_MEMBER)},
		{"admin", int32(storage.RoleAdmin), int32(wirepb.Role_ADMIN)},
		{"owner", int32(storage.RoleOwner), int32(wirepb.Role_OWNER)},
		{"customer", int32(storage.RoleCustomer), int32(wirepb.Role_CUSTOMER)},
		{"agent", int32(storage.RoleAgent), int32(wirepb.Role_AGENT)},
		{"normal", int32(storage.MsgNormal), int32(wirepb.MessageKind_NORMAL)},
		{"recall", int32(storage.MsgRecall), int32(wirepb.MessageKind_RECALL)},
		{"system", int32(storage.MsgSystem), int32(wirepb.MessageKind_SYSTEM)},
	} {
		if c.store != c.wire {
			t.Errorf("%s: store %d, wire %d", c.what, c.store, c.wire)
		}
	}
}

// TestOneCodeOf: the one CodeOf reads a grain error's code as well as a
// wire error's, through wrapping.
func TestOneCodeOf(t *testing.T) {
	for code := pb.Code(0); code <= pb.Code_BUSY; code++ {
		err := fmt.Errorf("wrapped: %w", &actors.Error{Code: code, Message: "x"})
		if code == pb.Code_OK {
			continue
		}
		if got := wirepb.CodeOf(err); int32(got) != int32(code) {
			t.Errorf("grain %v read as %v", code, got)
		}
		if got := actors.CodeOf(err); got != code {
			t.Errorf("actors.CodeOf: grain %v read as %v", code, got)
		}
	}
	if wirepb.CodeOf(nil) != wirepb.Code_OK || wirepb.CodeOf(errors.New("x")) != wirepb.Code_INTERNAL {
		t.Error("nil or a plain error")
	}
	if got := wirepb.CodeOf(&actors.Error{Code: 99}); got != wirepb.Code_INTERNAL {
		t.Errorf("a code outside the vocabulary read as %v", got)
	}
}
