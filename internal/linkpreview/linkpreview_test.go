package linkpreview

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPreview(t *testing.T) {
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/bike", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>ignored when og:title</title>
<meta property="og:title" content="  Red bike,
  barely used ">
<meta property="og:description" content="Pick up in Berlin.">
<meta property="og:image" content="/img/bike.jpg">
<meta property="og:site_name" content="Marketplace">
</head><body><meta property="og:title" content="not read: in the body"></body></html>`)
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Opening hours</title><meta name="description" content="Mon–Fri 9–5"><meta property="og:image" content="javascript:alert(1)"></head></html>`)
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><head><title>%s</title></head></html>`, strings.Repeat("é", 400))
	})
	mux.HandleFunc("/pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		fmt.Fprint(w, "%PDF-1.4")
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head></head><body>hello</body></html>`)
	})
	var shared atomic.Int32
	mux.HandleFunc("/shared", func(w http.ResponseWriter, r *http.Request) {
		shared.Add(1)
		time.Sleep(100 * time.Millisecond) // long enough for every asker to come in
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><title>Class trip</title></head></html>`)
	})
	mux.HandleFunc("/latin1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<html><head><title>Caf\xe9 cr\xe8me</title></head></html>")) // é, è in Latin-1
	})
	// /hops/N redirects N times before the bike's page.
	mux.HandleFunc("/hops/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hops/"))
		if n == 0 {
			http.Redirect(w, r, "/bike", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hops/%d", n-1), http.StatusFound)
	})
	// /padded/N: N bytes of head before the title.
	mux.HandleFunc("/padded/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/padded/"))
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<html><head><!--%s--><title>Late title</title></head></html>`, strings.Repeat("x", n))
	})
	mux.HandleFunc("/gone", http.NotFound)
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/bike", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	f := New(Config{AllowPrivate: true, Timeout: 500 * time.Millisecond})
	p, err := f.Preview(ctx, srv.URL+"/bike")
	if err != nil || p.Title != "Red bike, barely used" || p.Description != "Pick up in Berlin." || p.ImageURL != srv.URL+"/img/bike.jpg" || p.SiteName != "Marketplace" {
		t.Fatalf("the bike's page: %+v %v", p, err)
	}
	if _, err := f.Preview(ctx, srv.URL+"/bike"); err != nil || hits.Load() != 1 {
		t.Fatalf("asked again: %v, %d fetches, want 1 (cached)", err, hits.Load())
	}
	// A link sent to a group: every member's client asks at once; the
	// page is read once.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if p, err := f.Preview(ctx, srv.URL+"/shared"); err != nil || p.Title != "Class trip" {
				t.Errorf("an asker of the shared link: %+v %v", p, err)
			}
		})
	}
	wg.Wait()
	if n := shared.Load(); n != 1 {
		t.Fatalf("20 askers at once: %d reads of the page, want 1", n)
	}
	if p, err := f.Preview(ctx, srv.URL+"/hop"); err != nil || p.Title != "Red bike, barely used" || p.URL != srv.URL+"/hop" {
		t.Fatalf("through a redirect: %+v %v", p, err)
	}
	if p, err := f.Preview(ctx, srv.URL+"/plain"); err != nil || p.Title != "Opening hours" || p.Description != "Mon–Fri 9–5" || p.ImageURL != "" {
		t.Fatalf("a page without og tags, its image a script: %+v %v", p, err)
	}
	if p, err := f.Preview(ctx, srv.URL+"/latin1"); err != nil || p.Title != "Café crème" {
		t.Fatalf("a Latin-1 page: %+v %v", p, err)
	}
	if p, err := f.Preview(ctx, srv.URL+"/long"); err != nil || len(p.Title) != maxTitleBytes || !strings.HasPrefix(p.Title, "éé") {
		t.Fatalf("a title past the bound: %d bytes, %v", len(p.Title), err)
	}
	// The bounds at their edges: 3 redirects followed, not 4 (/hops/2 is
	// three: two hops and the last to the page); a page read to
	// MaxBytes, its title inside it, cut by it, or past it.
	if p, err := f.Preview(ctx, srv.URL+"/hops/2"); err != nil || p.Title != "Red bike, barely used" {
		t.Fatalf("three redirects: %+v %v", p, err)
	}
	if _, err := f.Preview(ctx, srv.URL+"/hops/3"); !errors.Is(err, ErrNoPreview) {
		t.Fatalf("four redirects: %v, want ErrNoPreview", err)
	}
	small := New(Config{AllowPrivate: true, MaxBytes: 200})
	head := len(`<html><head><!---->`) + len(`<title>Late title</title>`)
	if p, err := small.Preview(ctx, fmt.Sprintf("%s/padded/%d", srv.URL, 200-head)); err != nil || p.Title != "Late title" {
		t.Fatalf("a title ending at the byte bound: %+v %v", p, err)
	}
	if _, err := small.Preview(ctx, fmt.Sprintf("%s/padded/%d", srv.URL, 200-head+1)); !errors.Is(err, ErrNoPreview) {
		t.Fatalf("a title cut by the byte bound: %v, want ErrNoPreview (no half title)", err)
	}
	if _, err := small.Preview(ctx, fmt.Sprintf("%s/padded/%d", srv.URL, 200)); !errors.Is(err, ErrNoPreview) {
		t.Fatalf("a title past the byte bound: %v, want ErrNoPreview", err)
	}
	edge := "http://example.com/" + strings.Repeat("x", MaxURLBytes-len("http://example.com/"))
	if _, err := CheckURL(edge); err != nil {
		t.Fatalf("a link of exactly %d bytes: %v", MaxURLBytes, err)
	}
	if _, err := CheckURL(edge + "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a link one byte longer: %v, want ErrInvalid", err)
	}
	for _, path := range []string{"/pdf", "/empty", "/gone", "/loop", "/slow"} {
		if _, err := f.Preview(ctx, srv.URL+path); !errors.Is(err, ErrNoPreview) {
			t.Errorf("%s: %v, want ErrNoPreview", path, err)
		}
	}
	for _, bad := range []string{"ftp://example.com/x", "/relative", "http://", "https://user:pw@example.com/", "http://example.com/" + strings.Repeat("x", MaxURLBytes)} {
		if _, err := f.Preview(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}

	// By default no private or loopback address is fetched: not the
	// server's own, not through a name that resolves there.
	strict := New(Config{})
	for _, u := range []string{srv.URL + "/bike", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/bike", "http://[::1]:1/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/"} {
		if _, err := strict.Preview(ctx, u); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s by default: %v, want ErrForbidden", u, err)
		}
	}
}
