package transport_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/internal/linkpreview"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestLinkPreviewOverTheWire: over real QUIC, a user asks the node what a
// page says of itself; a malformed link is INVALID before the node reads
// anything, a page that cannot be read NOT_FOUND; a node's own network is
// FORBIDDEN unless it lets previews read it; a node without previews
// answers INVALID.
func TestLinkPreviewOverTheWire(t *testing.T) {
	t.Parallel()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/bike" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><meta property="og:title" content="Red bike"><meta property="og:image" content="/bike.jpg"></head></html>`)
	}))
	defer page.Close()
	// One node per subtest: under -race the package's nodes run one at a
	// time, each held until its test ends (newEnv).
	t.Run("reads pages", func(t *testing.T) {
		ctx := tctx(t)
		open := newEnv(t, envOptions{actors: actors.Config{LinkPreview: linkpreview.Config{AllowPrivate: true}}})
		ann := open.dial("ann", "phone")
		p, err := ann.LinkPreview(ctx, page.URL+"/bike")
		if err != nil || p.Title != "Red bike" || p.ImageUrl != page.URL+"/bike.jpg" || p.Url != page.URL+"/bike" {
			t.Fatalf("the bike's preview: %v %v", p, err)
		}
		if _, err := ann.LinkPreview(ctx, page.URL+"/sold"); codeOf(err) != wirepb.Code_NOT_FOUND {
			t.Fatalf("a page that is gone: %v, want NOT_FOUND", err)
		}
		if _, err := ann.LinkPreview(ctx, "file:///etc/passwd"); codeOf(err) != wirepb.Code_INVALID {
			t.Fatalf("a file link: %v, want INVALID", err)
		}
	})
	t.Run("not the node's own network", func(t *testing.T) {
		strict := newEnv(t, envOptions{})
		if _, err := strict.dial("ann", "phone").LinkPreview(tctx(t), page.URL+"/bike"); codeOf(err) != wirepb.Code_FORBIDDEN {
			t.Fatalf("the node's own network by default: %v, want FORBIDDEN", err)
		}
	})
	t.Run("off", func(t *testing.T) {
		off := newEnv(t, envOptions{actors: actors.Config{LinkPreviewsOff: true}})
		if _, err := off.dial("ann", "phone").LinkPreview(tctx(t), page.URL+"/bike"); codeOf(err) != wirepb.Code_INVALID {
			t.Fatalf("a node without previews: %v, want INVALID", err)
		}
	})
}
