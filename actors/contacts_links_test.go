package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestContactLinks: with ContactLinks, links that take a deal elsewhere
// (a messenger, a payment page, another shop) are masked like a phone
// number, links to the marketplace's own domains and their subdomains
// stay, and prose, decimals and file names are not taken for links.
func TestContactLinks(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{ContactDetails: actors.PolicyMask, ContactLinks: true,
		ContactLinksAllow: []string{"Shop.example"}})[0]
	ctx := tctx(t)
	for _, c := range []struct{ sent, stored string }{
		{"pay me at https://paypal.me/ann123 please", "pay me at *** please"},
		{"see www.other-shop.com/item?id=3.", "see ***."},
		{"text me on wa.me/4915112345678 (whatsapp)", "text me on *** (whatsapp)"},
		{"or t.me/annlee, or HTTP://Example.ORG, or WWW.ELSEWHERE.COM", "or ***, or ***, or ***"},
		{"my shop: annsbikes.de", "my shop: ***"},
		{"mail ann.lee@example.co.uk", "mail ***"},
		{"https://user@evil.com/shop.example", "***"},
		{"http://shop.example.evil.com/x", "***"},
		{"http://notshop.example/x", "***"},
		{"the listing: https://shop.example/item/42", "the listing: https://shop.example/item/42"},
		{"help at https://help.shop.example/returns or www.shop.example", "help at https://help.shop.example/returns or www.shop.example"},
		{"it costs 3.50, I sold it.It was fine", "it costs 3.50, I sold it.It was fine"},
		{"the manual is manual.pdf, see e.g. page 3. Ph.D. at 5 p.m.", "the manual is manual.pdf, see e.g. page 3. Ph.D. at 5 p.m."},
	} {
		res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte(c.sent)})
		if err != nil {
			t.Fatalf("%q: %v", c.sent, err)
		}
		masked := c.stored != c.sent
		if got := string(res.StoredBody); masked && got != c.stored || !masked && got != "" {
			t.Errorf("%q: stored as %q, want %q", c.sent, got, c.stored)
		}
	}

	// Without ContactLinks, links are not read (TestContactDetailsMasked).
	// The settings that make no sense are refused at start.
	for _, cfg := range []actors.Config{
		{ContactLinks: true}, // contact details off: nothing for links to count as
		{ContactDetails: actors.PolicyMask, ContactLinksAllow: []string{"shop.example"}}, // links off
		{ContactDetails: actors.PolicyMask, ContactLinks: true, ContactLinksAllow: []string{"https://shop.example"}},
		{ContactDetails: actors.PolicyMask, ContactLinks: true, ContactLinksAllow: []string{"shop.example/x"}},
		{ContactDetails: actors.PolicyMask, ContactLinks: true, ContactLinksAllow: []string{"localhost"}},
		{ContactDetails: actors.PolicyMask, ContactLinks: true, ContactLinksAllow: []string{""}},
	} {
		if _, err := actors.NewRuntime(cfg, openStore(t)); err == nil {
			t.Errorf("config links %v allow %q (details %q) accepted", cfg.ContactLinks, cfg.ContactLinksAllow, cfg.ContactDetails)
		}
	}
}

// TestContactLinksFlagged: in flag mode a link is delivered as written,
// flagged for the moderators; a link to an allowed domain is not.
func TestContactLinksFlagged(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{ContactDetails: actors.PolicyFlag, ContactLinks: true, ContactLinksAllow: []string{"shop.example"}})[0]
	ctx := tctx(t)
	res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("cheaper at www.elsewhere.com")})
	if err != nil || !res.Flagged || len(res.StoredBody) != 0 {
		t.Fatalf("a link elsewhere: %+v %v, want delivered as written, flagged", res, err)
	}
	res, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("here: https://shop.example/item/7")})
	if err != nil || res.Flagged {
		t.Fatalf("a link to the shop: %+v %v, want not flagged", res, err)
	}
}
