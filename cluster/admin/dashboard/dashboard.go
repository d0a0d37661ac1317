// Package dashboard is the operator web page every node serves on its admin
// port: the cluster members and their load, live message rate and latency,
// and the service metrics of the metrics actors as charts.
//
// The page is static (HTML, CSS and a small hand-written script, embedded
// in the binary) and reads the admin JSON API of the node that served it,
// so it needs nothing from the network at run time and adds no server
// state. Charts are plain SVG drawn by the script.
//
// Wire it in with admin.Config{Extra: dashboard.Register}.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Register serves the page at /dashboard/ and redirects / to it.
func Register(mux *http.ServeMux) {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	// "/{$}" is the root only: other unknown paths stay 404s.
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		// Relative, so the page also works behind a proxy that mounts the
		// admin port under a path prefix; the browser keeps the #token.
		w.Header().Set("Location", "dashboard/")
		w.WriteHeader(http.StatusFound)
	})
	mux.Handle("GET /dashboard/", headers(http.StripPrefix("/dashboard/", http.FileServerFS(files))))
}

// headers locks the page down: it only ever talks to its own origin, and the
// embedded files have no modification time, so caches must revalidate.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
