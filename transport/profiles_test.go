package transport_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestProfilesOverTheWire: over real QUIC a user sets a name on one
// device, the other device hears of it and reads it, a fellow member
// reads it (150 users asked
// for in two requests by the SDK, the stranger left out) with the
// operator's meta, and malformed requests are refused INVALID.
func TestProfilesOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	phone, laptop, bob := e.dial("ann", "phone"), e.dial("ann", "laptop"), e.dial("bob", "phone")
	if _, err := phone.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Ann"), AvatarUrl: proto.String("https://img.example/ann.png")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, laptop, client.EventProfile, "the phone changed ann's profile")
	if p, err := laptop.Profile(ctx); err != nil || p.Name != "Ann" || p.User != "ann" || p.UpdatedMs == 0 {
		t.Fatalf("the laptop reads ann's profile: %v, %v", p, err)
	}
	conv, err := phone.CreateGroup(ctx, "g:shop", "shop", []string{"bob"})
	if err != nil {
		t.Fatal(err)
	}
	users := []string{"ann"}
	for i := range 149 {
		users = append(users, "nobody"+strings.Repeat("x", i%5)+string(rune('a'+i%26)))
	}
	ps, err := bob.Profiles(ctx, conv, users...)
	if err != nil || len(ps) != 1 || ps[0].Name != "Ann" || ps[0].AvatarUrl != "https://img.example/ann.png" {
		t.Fatalf("bob reads 150 profiles in the shop: %v, %v; want ann's alone", ps, err)
	}
	if ps, err := bob.Profiles(ctx, "", "ann"); err != nil || len(ps) != 0 {
		t.Fatalf("bob reads ann's with no direct conversation: %v, %v; want none", ps, err)
	}
	// The shop marks ann verified: bob reads it with her profile, which
	// her own later change keeps.
	if _, err := e.nodes[0].SetProfileMeta(ctx, "ann", map[string]string{"verified": "true"}); err != nil {
		t.Fatal(err)
	}
	if _, err := phone.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Ann K.")}); err != nil {
		t.Fatal(err)
	}
	if ps, err := bob.Profiles(ctx, conv, "ann"); err != nil || len(ps) != 1 || ps[0].Name != "Ann K." || ps[0].Meta["verified"] != "true" {
		t.Fatalf("bob reads ann's verified profile: %v, %v", ps, err)
	}
	for what, req := range map[string]*wirepb.Request{
		"a name with a control character": {Op: &wirepb.Request_Profile{Profile: &wirepb.ProfileRequest{Name: proto.String("a\x07")}}},
		"an avatar that is no URL":        {Op: &wirepb.Request_Profile{Profile: &wirepb.ProfileRequest{AvatarUrl: proto.String("ann.png")}}},
		"a malformed user":                {Op: &wirepb.Request_Profiles{Profiles: &wirepb.ProfilesRequest{Users: []string{"a b"}}}},
		"a malformed conversation":        {Op: &wirepb.Request_Profiles{Profiles: &wirepb.ProfilesRequest{Conv: "x", Users: []string{"ann"}}}},
	} {
		if _, err := bob.Raw(ctx, req); codeOf(err) != wirepb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", what, err)
		}
	}
}

// withClaims dials with a token for ann/phone carrying the profile
// claims name and picture (nil: left out).
func withClaims(t *testing.T, name, picture *string) func(*client.Config) {
	return func(c *client.Config) {
		tok, err := transport.MintHS256(testSecret, "ann", "phone", time.Hour, "", transport.WithProfile(name, picture))
		if err != nil {
			t.Fatal(err)
		}
		c.Token = tok
	}
}

// TestProfileFromToken: a token's OpenID Connect name and picture claims
// set the user's profile before the Welcome; a picture the node refuses
// costs neither the connection nor the name.
func TestProfileFromToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	ann := e.dial("ann", "phone", withClaims(t, proto.String("Ann Kowalski"), proto.String("https://img.example/ann.png")))
	if p, err := ann.Profile(ctx); err != nil || p.Name != "Ann Kowalski" || p.AvatarUrl != "https://img.example/ann.png" {
		t.Fatalf("ann's profile once connected with claims: %v, %v", p, err)
	}
	_ = ann.Close()
	// A picture that is no URL: the connection works, the name applies,
	// the picture stays.
	ann = e.dial("ann", "phone", withClaims(t, proto.String("Ann K."), proto.String("not a url")))
	if p, err := ann.Profile(ctx); err != nil || p.Name != "Ann K." || p.AvatarUrl != "https://img.example/ann.png" {
		t.Fatalf("ann's profile once connected with a bad picture: %v, %v; want the new name, the old picture", p, err)
	}
}

// TestProfileClaimsIgnored: a node told to ignore the claims leaves the
// profile as the user set it.
func TestProfileClaimsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{IgnoreTokenProfile: true}})
	ctx := tctx(t)
	ann := e.dial("ann", "phone", withClaims(t, proto.String("Ann from the token"), nil))
	if _, err := ann.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Ann herself")}); err != nil {
		t.Fatal(err)
	}
	_ = ann.Close()
	ann = e.dial("ann", "phone", withClaims(t, proto.String("Ann from the token"), nil))
	if p, err := ann.Profile(ctx); err != nil || p.Name != "Ann herself" {
		t.Fatalf("a node ignoring the claims: %v, %v; want the name ann set", p, err)
	}
}
