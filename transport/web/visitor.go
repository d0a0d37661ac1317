package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/time/rate"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A website's visitors chat with its desk without signing in: the
// customer chat framed by widget.js, given no token by the site, asks the
// node for an anonymous visitor's token at VisitorPath and keeps it in the
// browser for the token's life, so the visitor finds their chat again.
// Such a visitor is only ever a desk customer, of the scenes open to
// visitors (actors.IsVisitor, desk.Config.VisitorScenes).

// VisitorPath mints an anonymous visitor's token (POST).
const VisitorPath = "/visitor"

// ClaimPath merges an anonymous visitor into the account they signed in
// as (POST {"visitor_token", "token"}): both tokens prove it, so the
// visitor's desk chats become the account's (desk.Desk.Merge).
const ClaimPath = "/visitor/claim"

// maxClaimBytes bounds a claim's body: two tokens of at most 8 KiB.
const maxClaimBytes = 20 << 10

// Defaults of VisitorConfig.
const (
	DefaultVisitorTTL       = 30 * 24 * time.Hour
	DefaultVisitorPerMinute = 30
	// DefaultVisitorAddresses bounds the source addresses whose minting
	// rate is remembered (a few hundred bytes each).
	DefaultVisitorAddresses = 100_000
)

// VisitorConfig says how anonymous visitors' tokens are minted.
type VisitorConfig struct {
	// Auth signs them (its HS256 secret and audience).
	Auth *transport.Authenticator
	// TTL is a token's life (default DefaultVisitorTTL): as long, the
	// visitor keeps their id, and with it their chat.
	TTL time.Duration
	// PerMinute is how many tokens one source address gets a minute
	// (default DefaultVisitorPerMinute, also the burst); beyond it the
	// answer is 429 with Retry-After.
	PerMinute int
	// MaxAddresses bounds the source addresses tracked (default
	// DefaultVisitorAddresses); when full, those idle long enough to be
	// back at a full allowance are forgotten first.
	MaxAddresses int
	// Claim merges visitor into account once both tokens were verified
	// (nil: ClaimPath is not served). Its error's wire code says why.
	Claim func(ctx context.Context, visitor, account string) error
}

var metricVisitorTokens = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: "switchboard", Subsystem: "web", Name: "visitor_tokens_total",
	Help: "Anonymous visitors' token requests (POST /visitor, and /visitor/claim), by result: minted, limited (429, the source address's rate), forbidden (a page of an origin not allowed), claimed (merged into an account) or refused (a claim's token not good).",
}, []string{"result"})

// visitorMinter serves VisitorPath.
type visitorMinter struct {
	cfg        VisitorConfig
	origins    Origins
	clientAddr func(*http.Request) netip.AddrPort
	mu         sync.Mutex
	byAddr     map[string]*rate.Limiter
}

// ServeVisitors mounts VisitorPath, and tells pages (ConfigPath) that the
// node takes anonymous visitors.
func (s *Server) ServeVisitors(cfg VisitorConfig) error {
	switch {
	case cfg.Auth == nil:
		return errors.New("web: visitor tokens need the node's authenticator")
	case cfg.TTL < 0 || cfg.PerMinute < 0 || cfg.MaxAddresses < 0:
		return errors.New("web: negative visitor token life, rate or address bound")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultVisitorTTL
	}
	if cfg.PerMinute == 0 {
		cfg.PerMinute = DefaultVisitorPerMinute
	}
	if cfg.MaxAddresses == 0 {
		cfg.MaxAddresses = DefaultVisitorAddresses
	}
	// A node that cannot sign one says so at start, not at a visitor's.
	if _, err := cfg.Auth.MintVisitor(cfg.TTL); err != nil {
		return fmt.Errorf("web: %w", err)
	}
	m := &visitorMinter{cfg: cfg, origins: s.cfg.Origins, clientAddr: s.clientAddr, byAddr: map[string]*rate.Limiter{}}
	s.mux.Handle("POST "+VisitorPath, m)
	s.mux.HandleFunc("OPTIONS "+VisitorPath, m.preflight)
	if cfg.Claim != nil {
		s.mux.HandleFunc("POST "+ClaimPath, m.claim)
		s.mux.HandleFunc("OPTIONS "+ClaimPath, m.preflight)
	}
	s.visitors.Store(true)
	return nil
}

// admit answers whether r may go on, and refuses it otherwise: a page
// elsewhere may not make or claim visitors here (the chat page is the
// node's own, or a listed origin's; an app without Origin may), and one
// source address only at its rate.
func (m *visitorMinter) admit(w http.ResponseWriter, r *http.Request) bool {
	if !m.origins.Allow(w, r) {
		metricVisitorTokens.WithLabelValues("forbidden").Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return false
	}
	if wait, ok := m.allow(r); !ok {
		metricVisitorTokens.WithLabelValues("limited").Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		http.Error(w, "too many visitor requests from this address: try again later", http.StatusTooManyRequests)
		return false
	}
	return true
}

// preflight answers a browser asking whether a page of another origin
// may POST here (a claim's JSON body makes it ask).
func (m *visitorMinter) preflight(w http.ResponseWriter, r *http.Request) {
	if !m.origins.Allow(w, r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (m *visitorMinter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !m.admit(w, r) {
		return
	}
	v, err := m.cfg.Auth.MintVisitor(m.cfg.TTL)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	metricVisitorTokens.WithLabelValues("minted").Inc()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"user": v.User, "token": v.Token, "expires_ms": v.Expires.UnixMilli()})
}

// allow takes one token of r's source address's allowance; when there is
// none it answers how long until there is.
func (m *visitorMinter) allow(r *http.Request) (time.Duration, bool) {
	return m.allowAt(m.clientAddr(r).Addr().String(), time.Now())
}

// allowAt is allow for the source address addr at now.
func (m *visitorMinter) allowAt(addr string, now time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.byAddr[addr]
	if l == nil {
		if len(m.byAddr) >= m.cfg.MaxAddresses {
			m.forget(now)
		}
		l = rate.NewLimiter(rate.Every(time.Minute/time.Duration(m.cfg.PerMinute)), m.cfg.PerMinute)
		m.byAddr[addr] = l
	}
	res := l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// forget drops the addresses back at a full allowance (they lose
// nothing), or every address when none is.
func (m *visitorMinter) forget(now time.Time) {
	for addr, l := range m.byAddr {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(m.byAddr, addr)
		}
	}
	if len(m.byAddr) >= m.cfg.MaxAddresses {
		clear(m.byAddr)
	}
}

// claim merges the visitor a visitor token names into the account the
// other token names: whoever holds both is both, so no admin is needed.
func (m *visitorMinter) claim(w http.ResponseWriter, r *http.Request) {
	if !m.admit(w, r) {
		return
	}
	var body struct {
		VisitorToken string `json:"visitor_token"`
		Token        string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxClaimBytes)).Decode(&body); err != nil {
		http.Error(w, "want JSON {\"visitor_token\", \"token\"}", http.StatusBadRequest)
		return
	}
	// The device is no part of a claim: any valid name lets a token that
	// names none be checked.
	visitor, err := m.cfg.Auth.Verify(body.VisitorToken, "claim")
	if err == nil && !session.IsVisitor(visitor.User) {
		err = errors.New("visitor_token is no anonymous visitor's")
	}
	if err != nil {
		metricVisitorTokens.WithLabelValues("refused").Inc()
		http.Error(w, "visitor_token: "+err.Error(), http.StatusUnauthorized)
		return
	}
	account, err := m.cfg.Auth.Verify(body.Token, "claim")
	if err == nil && session.IsVisitor(account.User) {
		err = errors.New("token is another anonymous visitor's, not an account's")
	}
	if err != nil {
		metricVisitorTokens.WithLabelValues("refused").Inc()
		http.Error(w, "token: "+err.Error(), http.StatusUnauthorized)
		return
	}
	if err := m.cfg.Claim(r.Context(), visitor.User, account.User); err != nil {
		status := http.StatusServiceUnavailable
		switch wirepb.CodeOf(err) {
		case wirepb.Code_INVALID:
			status = http.StatusBadRequest
		case wirepb.Code_BUSY:
			status = http.StatusConflict // merged into another account already
		}
		http.Error(w, err.Error(), status)
		return
	}
	metricVisitorTokens.WithLabelValues("claimed").Inc()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"visitor": visitor.User, "user": account.User})
}
