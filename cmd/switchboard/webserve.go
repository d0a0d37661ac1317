package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/web/ui"
)

// webOptions are the browser transports' serve flags.
type webOptions struct {
	addr         string
	webtransport string
	origins      []string
	proxies      []string // trusted HTTP proxies (CIDRs or addresses)
	// anonymous visitors' tokens (with --visitor-scenes)
	visitorTTL       time.Duration
	visitorPerMinute int
}

func (o *webOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.addr, "web", "", "HTTP address for browsers, e.g. 127.0.0.1:8081: WebSocket at /ws, /web.json (empty: off; HTTPS with the node certificate unless --dev)")
	f.StringVar(&o.webtransport, "webtransport", "127.0.0.1:4434", "UDP address of the WebTransport (HTTP/3) server (empty: off; browsers fall back to WebSocket)")
	f.DurationVar(&o.visitorTTL, "visitor-token-ttl", web.DefaultVisitorTTL, "with --visitor-scenes: an anonymous visitor's token life, as long as the visitor keeps their id and chat in that browser")
	f.IntVar(&o.visitorPerMinute, "visitor-tokens-per-minute", web.DefaultVisitorPerMinute, "with --visitor-scenes: anonymous visitors' tokens one source address gets a minute (also the burst; NAT puts many visitors behind one address); beyond, 429 with Retry-After")
	f.StringSliceVar(&o.proxies, "web-trusted-proxies", nil, "HTTP proxies in front of --web (CIDRs or addresses, e.g. 10.0.0.0/8) whose X-Forwarded-For names the client: the per-address caps (--max-conns-per-addr, --visitor-tokens-per-minute) then count clients, not the proxy")
	f.StringSliceVar(&o.origins, "web-origins", nil, "web origins allowed to connect and to frame the customer chat (the widget, widget.js) (scheme://host[:port], * for any); --dev also allows localhost")
}

// startWeb starts the browser transports in front of srv; stop ends them.
func startWeb(o webOptions, dev bool, srv *transport.Server, tlsConf *tls.Config, log *slog.Logger) (ws *web.Server, addr string, stop func(), err error) {
	if o.addr == "" {
		return nil, "", func() {}, nil
	}
	proxies, err := trustedProxies(o.proxies)
	if err != nil {
		return nil, "", nil, err
	}
	cfg := web.Config{Origins: web.Origins{Allowed: o.origins, Localhost: dev}, TrustedProxies: proxies, WebTransportAddr: o.webtransport, Logger: log}
	if o.webtransport != "" {
		if dev {
			// Browsers trust a dev node by certificate hash, which needs
			// a short-lived ECDSA certificate (rotated; web.HashedCert).
			hc, err := web.NewHashedCert(0, 0)
			if err != nil {
				return nil, "", nil, err
			}
			cfg.Cert = hc
			cfg.TLS = &tls.Config{GetCertificate: hc.GetCertificate}
		} else {
			cfg.TLS = tlsConf.Clone()
			cfg.TLS.NextProtos = nil
		}
	}
	ws, err = web.New(srv, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	embedders := slices.Clone(o.origins) // who may connect may frame the chat (the widget)
	if dev {
		embedders = append(embedders, ui.LoopbackOrigins...)
	}
	ws.Mux().Handle("/", ui.Handler(embedders))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		_ = ws.Close()
		return nil, "", nil, fmt.Errorf("web listen %s: %w", o.addr, err)
	}
	hs := &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		var err error
		if dev {
			err = hs.Serve(ln)
		} else {
			tc := tlsConf.Clone()
			tc.NextProtos = []string{"http/1.1"}
			hs.TLSConfig = tc
			err = hs.ServeTLS(ln, "", "")
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web server stopped", "err", err)
		}
	}()
	log.Info("web listening", "addr", ln.Addr().String(), "webtransport", ws.WebTransportAddr())
	return ws, ln.Addr().String(), func() { _ = hs.Close(); _ = ws.Close() }, nil
}

// trustedProxies reads --web-trusted-proxies: CIDRs, or single addresses.
func trustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("--web-trusted-proxies %q: want a CIDR (10.0.0.0/8) or an address", v)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// serveVisitors mints anonymous visitors' tokens on the web listener
// when scenes are open to them (--visitor-scenes), and lets a visitor who
// signed in claim their chats for the account (claim: the desk's merge).
func serveVisitors(o webOptions, scenes []string, ws *web.Server, auth *transport.Authenticator, claim func(ctx context.Context, visitor, account string) error) error {
	if len(scenes) == 0 {
		return nil
	}
	if ws == nil {
		return errors.New("--visitor-scenes: anonymous visitors come through the web listener; give --web")
	}
	if o.visitorTTL <= 0 || o.visitorPerMinute <= 0 {
		return errors.New("--visitor-token-ttl and --visitor-tokens-per-minute must be positive")
	}
	if err := ws.ServeVisitors(web.VisitorConfig{Auth: auth, TTL: o.visitorTTL, PerMinute: o.visitorPerMinute, Claim: claim}); err != nil {
		return fmt.Errorf("--visitor-scenes: %w (their tokens are signed with --auth-secret-file's secret)", err)
	}
	return nil
}

// mountDevWeb adds what the pages of a dev node use instead of a real
// sign-in: /dev/token mints a token for any user (the dev secret), and
// /dev/admin/ passes requests to the admin API with the admin token (desk
// requests). Never without --dev.
func mountDevWeb(ws *web.Server, secret []byte, admin http.Handler, adminToken string) {
	ws.Mux().HandleFunc("GET /dev/token", func(w http.ResponseWriter, r *http.Request) {
		user, device := r.URL.Query().Get("user"), r.URL.Query().Get("device")
		if device == "" {
			device = "web"
		}
		tok, err := transport.MintHS256(secret, user, device, 12*time.Hour, "")
		if err != nil || user == "" {
			http.Error(w, "give user (and device)", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})
	ws.Mux().Handle("/dev/admin/", http.StripPrefix("/dev/admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+adminToken)
		admin.ServeHTTP(w, r)
	})))
}
