// Package ui holds the browser pages a node serves (serve --web): the
// agent workbench (agent.html), the customer web chat (chat.html) and the
// widget that frames the chat on a business's own site (widget.js).
// They are static files embedded in the binary, with the TypeScript SDK
// bundled into static/switchboard.js (npm run bundle in sdk/ts; the bundle
// is committed, so go build needs no npm). No CDN.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Handler serves the pages at /. Embedders are the origins whose pages
// may frame the customer chat (the widget's panel): "https://shop.example",
// "http://127.0.0.1:*", or "*" for any. Every other page may be framed by
// the node's own pages only, so no site can overlay the workbench's
// buttons with its own (clickjacking).
func Handler(embedders []string) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServer(http.FS(sub))
	chat := "frame-ancestors " + strings.Join(append([]string{"'self'"}, embedders...), " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		policy := "frame-ancestors 'self'"
		if path.Base(r.URL.Path) == "chat.html" {
			policy = chat
		}
		w.Header().Set("Content-Security-Policy", policy)
		files.ServeHTTP(w, r)
	})
}

// LoopbackOrigins are the embedders of a dev node: any page served from
// this machine.
var LoopbackOrigins = []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*",
	"https://localhost:*", "https://127.0.0.1:*", "https://[::1]:*"}
