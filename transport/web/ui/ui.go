// Package ui holds the browser pages a node serves (serve --web): the
// agent workbench (agent.html) and the customer web chat (chat.html).
// They are static files embedded in the binary, with the TypeScript SDK
// bundled into static/switchboard.js (npm run bundle in sdk/ts; the bundle
// is committed, so go build needs no npm). No CDN.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Handler serves the pages at /.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.FileServer(http.FS(sub))
}
