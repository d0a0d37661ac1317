// Package linkpreview reads what a web page says of itself (its Open
// Graph tags, else its title and description) for a chat's link
// previews: a browser page cannot read another site's page, and a phone
// that fetches every link it is sent tells each site who read it. The
// node fetches instead, with the bounds a server that fetches what its
// users name needs: http and https only, no private, loopback or
// link-local address (checked at connect time, so no DNS answer or
// redirect leads there), a timeout, a cap on the bytes read, a few
// redirects, and a cache so a link shared in a group of 300 is read once.
package linkpreview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/sync/singleflight"
)

// Preview is what a page says of itself; any field may be empty.
type Preview struct {
	URL         string // the link as asked (the cache's key)
	Title       string
	Description string
	ImageURL    string // absolute, http(s)
	SiteName    string
}

// Config bounds the fetches; zero fields take the defaults.
type Config struct {
	Timeout      time.Duration // a fetch, redirects included (default 5 s)
	MaxBytes     int64         // of a page read (default 512 KiB): the head is what matters
	MaxRedirects int           // default 3
	CacheSize    int           // previews kept (default 1,000)
	CacheTTL     time.Duration // how long one is kept (default 1 h); failures too, for a tenth of it
	// AllowPrivate lets fetches reach private, loopback and link-local
	// addresses: tests and a closed intranet only.
	AllowPrivate bool
}

// Bounds of what a preview keeps of a page.
const (
	MaxURLBytes   = 2048
	maxTitleBytes = 300
	maxDescBytes  = 500
)

// Errors, by what the caller should say.
var (
	ErrInvalid   = errors.New("not an http(s) link")
	ErrForbidden = errors.New("the link's address is not one the node fetches")
	ErrNoPreview = errors.New("no preview: the page could not be read")
)

// Fetcher makes previews; safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
	cache  *lru.Cache[string, result]
	// reads makes the callers asking for one link at once share one read
	// (a link sent to a busy group: every member's client asks).
	reads singleflight.Group
}

// result is a cached answer, until its end (no cleanup goroutine: an
// entry past its end is read as missing, and the LRU drops it in time).
type result struct {
	p   Preview
	err error
	end time.Time
}

// New returns a Fetcher for cfg.
func New(cfg Config) *Fetcher {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 512 << 10
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 3
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1000
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Hour
	}
	cache, _ := lru.New[string, result](cfg.CacheSize) // errs on a size < 1 only
	f := &Fetcher{cfg: cfg, cache: cache}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: f.checkAddress}
	transport := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout, MaxIdleConns: 16, IdleConnTimeout: 30 * time.Second}
	f.client = &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > cfg.MaxRedirects {
				return fmt.Errorf("more than %d redirects", cfg.MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("a redirect to %s: %w", req.URL.Scheme, ErrInvalid)
			}
			return nil
		}}
	return f
}

// sharedSpace is the carrier-grade NAT range (RFC 6598): not the
// internet either.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// checkAddress refuses a connection to an address the node does not
// fetch from: run at connect time, after DNS, for every redirect too.
func (f *Fetcher) checkAddress(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	ip = ip.Unmap()
	if !f.cfg.AllowPrivate && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || sharedSpace.Contains(ip)) {
		return fmt.Errorf("%s: %w", ip, ErrForbidden)
	}
	return nil
}

// CheckURL refuses what is no link a preview is made of: not absolute
// http(s) with a host, or longer than MaxURLBytes.
func CheckURL(raw string) (*url.URL, error) {
	if len(raw) > MaxURLBytes {
		return nil, fmt.Errorf("a link of %d bytes, at most %d: %w", len(raw), MaxURLBytes, ErrInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%q: %w", raw, ErrInvalid)
	}
	return u, nil
}

// Preview reads raw's page (or the cache) for its preview.
func (f *Fetcher) Preview(ctx context.Context, raw string) (Preview, error) {
	u, err := CheckURL(raw)
	if err != nil {
		return Preview{}, err
	}
	if r, ok := f.cache.Get(raw); ok && time.Now().Before(r.end) {
		return r.p, r.err
	}
	// The shared read is not the first caller's to cancel: it has its own
	// deadline (the client's timeout).
	ch := f.reads.DoChan(raw, func() (any, error) {
		p, err := f.fetch(context.WithoutCancel(ctx), u)
		ttl := f.cfg.CacheTTL
		if err != nil {
			ttl /= 10 // a page that failed may come back soon
		}
		r := result{p, err, time.Now().Add(ttl)}
		f.cache.Add(raw, r)
		return r, nil
	})
	select {
	case res := <-ch:
		r := res.Val.(result)
		return r.p, r.err
	case <-ctx.Done():
		return Preview{}, ctx.Err()
	}
}

func (f *Fetcher) fetch(ctx context.Context, u *url.URL) (Preview, error) {
	p := Preview{URL: u.String()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return p, fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", "SwitchboardLinkPreview/1")
	res, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrForbidden) {
			return p, ErrForbidden
		}
		return p, fmt.Errorf("%v: %w", err, ErrNoPreview)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return p, fmt.Errorf("HTTP %d: %w", res.StatusCode, ErrNoPreview)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "text/html" && mt != "application/xhtml+xml" {
		return p, fmt.Errorf("a page of type %q: %w", mt, ErrNoPreview)
	}
	// A page in a legacy charset (its header's, or its meta tag's) is read
	// as UTF-8; one whose charset is unknown, as it is.
	body := io.LimitReader(res.Body, f.cfg.MaxBytes)
	if r, err := charset.NewReader(body, res.Header.Get("Content-Type")); err == nil {
		body = r
	}
	readHead(body, res.Request.URL, &p)
	if p.Title == "" && p.Description == "" && p.ImageURL == "" {
		return p, fmt.Errorf("the page says nothing of itself: %w", ErrNoPreview)
	}
	return p, nil
}

// readHead fills p from the page's head: og: properties first, then the
// title element and the description meta tag. It stops at the body. A
// title cut off by the byte bound (no end tag read) is not taken.
func readHead(r io.Reader, base *url.URL, p *Preview) {
	z := html.NewTokenizer(r)
	var title, desc string
	var inTitle bool
	var titleText strings.Builder
	for {
		switch z.Next() {
		case html.ErrorToken:
			finish(p, title, desc, base)
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				finish(p, title, desc, base)
				return
			case "title":
				inTitle = true
			case "meta":
				if !hasAttr {
					continue
				}
				var key, content string
				for {
					k, v, more := z.TagAttr()
					switch string(k) {
					case "property", "name":
						key = strings.ToLower(string(v))
					case "content":
						content = string(v)
					}
					if !more {
						break
					}
				}
				switch key {
				case "og:title":
					p.Title = content
				case "og:description":
					p.Description = content
				case "og:image", "og:image:url":
					if p.ImageURL == "" {
						p.ImageURL = content
					}
				case "og:site_name":
					p.SiteName = content
				case "description":
					desc = content
				}
			}
		case html.TextToken:
			if inTitle && titleText.Len() <= maxTitleBytes*4 {
				titleText.Write(z.Text())
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "title" && inTitle {
				inTitle = false
				if title == "" {
					title = titleText.String()
				}
			}
		}
	}
}

// finish falls back to the title and description, makes the image
// absolute (dropping one that is not http(s)) and trims every field.
func finish(p *Preview, title, desc string, base *url.URL) {
	if p.Title == "" {
		p.Title = title
	}
	if p.Description == "" {
		p.Description = desc
	}
	if p.ImageURL != "" {
		img, err := base.Parse(strings.TrimSpace(p.ImageURL))
		if err != nil || (img.Scheme != "http" && img.Scheme != "https") || len(img.String()) > MaxURLBytes {
			p.ImageURL = ""
		} else {
			p.ImageURL = img.String()
		}
	}
	p.Title = clip(p.Title, maxTitleBytes)
	p.Description = clip(p.Description, maxDescBytes)
	p.SiteName = clip(p.SiteName, maxTitleBytes)
}

// clip trims s, folds its white space and cuts it to n bytes of whole
// UTF-8 characters (invalid UTF-8: nothing).
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if !utf8.ValidString(s) {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
