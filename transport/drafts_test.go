package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestDraftsOverTheWire: an agent starts an answer on the desktop; the
// phone hears of it and reads it, finishes it, sends it and clears the
// draft; the desktop hears of that too. A draft of a conversation the
// user is not in is NOT_MEMBER, a malformed one INVALID.
func TestDraftsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	desktop, phone := e.dial("agent", "desktop"), e.dial("agent", "phone")
	m, err := desktop.SendText(ctx, client.ToUser("cleo"), "Hello Cleo")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := desktop.SetDraft(ctx, m.Conv, "Your refund was sent on"); err != nil || n != 1 {
		t.Fatalf("a draft: %d, %v", n, err)
	}
	waitFor(t, phone, client.EventDrafts, "the desktop kept a draft")
	ds, err := phone.Drafts(ctx)
	if err != nil || len(ds) != 1 || ds[0].Conv != m.Conv || ds[0].Text != "Your refund was sent on" || ds[0].UpdatedMs == 0 {
		t.Fatalf("the phone reads the drafts: %v, %v", ds, err)
	}
	if _, err := phone.SendText(ctx, client.ToConv(m.Conv), ds[0].Text+" Monday."); err != nil {
		t.Fatal(err)
	}
	if n, err := phone.SetDraft(ctx, m.Conv, ""); err != nil || n != 0 {
		t.Fatalf("clearing the draft once sent: %d, %v", n, err)
	}
	waitFor(t, desktop, client.EventDrafts, "the phone cleared the draft")
	if ds, err := desktop.Drafts(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("the desktop's drafts: %v, %v; want none", ds, err)
	}
	if _, err := phone.SetDraft(ctx, wirepb.DirectConvID("x", "y"), "hi"); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a draft in another's conversation: %v, want NOT_MEMBER", err)
	}
	if _, err := phone.SetDraft(ctx, "no conv", "hi"); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a draft of a malformed conversation: %v, want INVALID", err)
	}
}
