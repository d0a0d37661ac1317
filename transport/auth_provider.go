package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// An app whose users already sign in with an identity provider (Firebase
// Authentication, Auth0, Cognito, Keycloak, Sign in with Google: any
// OpenID Connect issuer) connects them with the ID token they already
// hold, without a backend of its own that mints our tokens: the node
// verifies it against the provider's published keys (its JWKS, fetched
// and refreshed by github.com/MicahParks/keyfunc, the JWKS companion of
// the JWT library the node uses), its issuer and its audience. Such a
// token names no device; the client names it in its Hello.

// ProviderConfig says which identity provider's tokens a node accepts.
type ProviderConfig struct {
	// JWKSURL is the provider's key set (https; http only on loopback,
	// for tests): its OpenID configuration's jwks_uri. Empty: read from
	// that configuration, under Issuer (OpenID Connect Discovery).
	JWKSURL string
	// Issuer must be the token's "iss" (Firebase:
	// https://securetoken.google.com/<project>). Without JWKSURL it is
	// where the provider's configuration is read, so an https URL.
	Issuer string
	// Audience must be in the token's "aud" (Firebase: the project id;
	// Google, Auth0: the app's client id). Required: a provider's keys
	// sign the tokens of every app it serves.
	Audience string
	// UserClaim names the claim holding the user id; empty: "sub". Its
	// value must be a user id here (1–64 of A–Z a–z 0–9 . _ @ -).
	UserClaim string
	// Refresh is how often the key set is fetched again (0: an hour); a
	// token signed by a key not in it fetches it at once, at most every
	// 30 s.
	Refresh time.Duration
	// Client fetches the key set and the configuration (nil: a client
	// with a 5 s timeout).
	Client *http.Client
	// DiscoveryRetry is how often a configuration that could not be read
	// (the provider down when the node started) is asked for again (0:
	// 30 s).
	DiscoveryRetry time.Duration
	// Log receives the key set's fetch failures (nil: slog.Default()).
	Log *slog.Logger
}

// providerAlgs are the signatures a provider's tokens may carry: its
// keys are public keys, so never an HMAC (which would take a public key
// as a shared secret).
var providerAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// provider verifies an identity provider's tokens.
type provider struct {
	cfg    ProviderConfig
	keys   atomic.Pointer[keySet] // nil until the key set's URL is known
	parser *jwt.Parser
	log    *slog.Logger
	ctx    context.Context
	stop   context.CancelFunc
}

// keySet is the provider's published keys, kept fresh by keyfunc.
type keySet struct{ verify keyfunc.Keyfunc }

// discoveryPath is where an OpenID Connect issuer publishes its
// configuration (OpenID Connect Discovery 1.0, §4).
const discoveryPath = "/.well-known/openid-configuration"

// maxDiscoveryBytes bounds the configuration document read (real ones
// are a few KiB).
const maxDiscoveryBytes = 1 << 20

func newProvider(cfg ProviderConfig, leeway time.Duration) (*provider, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("auth: a provider's tokens need the issuer they must name (iss)")
	case cfg.Audience == "":
		return nil, errors.New("auth: a provider's tokens need the audience they must name (aud): its keys sign every app's tokens")
	case cfg.Refresh < 0:
		return nil, fmt.Errorf("auth: provider key refresh %v is negative", cfg.Refresh)
	case cfg.DiscoveryRetry < 0:
		return nil, fmt.Errorf("auth: provider discovery retry %v is negative", cfg.DiscoveryRetry)
	}
	if cfg.JWKSURL != "" {
		if err := secureURL(cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("auth: provider key set URL: %w", err)
		}
	} else if err := secureURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("auth: provider issuer (its configuration is read under it when no key set URL is given): %w", err)
	}
	cfg.UserClaim = strings.TrimSpace(cfg.UserClaim)
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.DiscoveryRetry == 0 {
		cfg.DiscoveryRetry = 30 * time.Second
	}
	p := &provider{cfg: cfg, log: cfg.Log, parser: jwt.NewParser(jwt.WithValidMethods(providerAlgs),
		jwt.WithExpirationRequired(), jwt.WithLeeway(leeway), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience))}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.ctx, p.stop = context.WithCancel(context.Background())
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		u, err := p.discover()
		var wrong *wrongIssuerError
		switch {
		case errors.As(err, &wrong):
			// Read, but another issuer's: a misconfiguration to fix now.
			p.stop()
			return nil, fmt.Errorf("auth: %w", err)
		case err != nil:
			// The provider is down: start anyway, refuse its tokens, and
			// ask again until it answers.
			metricKeySetFailures.Inc()
			p.log.Warn("identity provider's configuration not read: its tokens fail until it is", "issuer", cfg.Issuer, "retry", cfg.DiscoveryRetry, "err", err)
			go p.rediscover()
			return p, nil
		}
		jwksURL = u
	}
	if err := p.openKeySet(jwksURL); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// secureURL: https, or http on loopback (tests).
func secureURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%q: want an https URL", raw)
	case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
		return fmt.Errorf("%q: want https (http only on loopback)", raw)
	}
	return nil
}

// wrongIssuerError: the configuration read under the issuer names another
// issuer, which the specification forbids using.
type wrongIssuerError struct{ want, got string }

func (e *wrongIssuerError) Error() string {
	return fmt.Sprintf("the provider's configuration at %s names the issuer %q, not %q", e.want+discoveryPath, e.got, e.want)
}

// discover reads the provider's OpenID configuration under its issuer and
// answers its key set's URL.
func (p *provider) discover() (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	where := strings.TrimSuffix(p.cfg.Issuer, "/") + discoveryPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return "", fmt.Errorf("configuration %s: %w", where, err)
	}
	res, err := p.cfg.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("configuration %s: %w", where, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("configuration %s: %s", where, res.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxDiscoveryBytes)).Decode(&doc); err != nil {
		return "", fmt.Errorf("configuration %s: %w", where, err)
	}
	if doc.Issuer != p.cfg.Issuer {
		return "", &wrongIssuerError{want: p.cfg.Issuer, got: doc.Issuer}
	}
	if err := secureURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("configuration %s: jwks_uri: %w", where, err)
	}
	return doc.JWKSURI, nil
}

// rediscover asks for the configuration every DiscoveryRetry until it is
// read, then opens the key set it names.
func (p *provider) rediscover() {
	t := time.NewTicker(p.cfg.DiscoveryRetry)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		u, err := p.discover()
		if err != nil {
			metricKeySetFailures.Inc()
			p.log.Warn("identity provider's configuration not read: its tokens fail until it is", "issuer", p.cfg.Issuer, "err", err)
			continue
		}
		if err := p.openKeySet(u); err != nil {
			p.log.Error("identity provider's key set", "err", err)
		}
		return
	}
}

// openKeySet fetches the key set at jwksURL and keeps it fresh.
func (p *provider) openKeySet(jwksURL string) error {
	keys, err := keyfunc.NewDefaultOverrideCtx(p.ctx, []string{jwksURL}, keyfunc.Override{
		Client:          p.cfg.Client,
		HTTPTimeout:     5 * time.Second,
		RefreshInterval: p.cfg.Refresh,
		// A token of a key the set lacks (the provider rotated) fetches
		// the set again, at most every 30 s. RateLimitWaitMax bounds both
		// that fetch and the wait for its turn: a hello waits at most 5 s,
		// and only when the next turn comes that soon (forged key ids
		// otherwise fail at once).
		RefreshUnknownKID: rate.NewLimiter(rate.Every(30*time.Second), 1),
		RateLimitWaitMax:  5 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				metricKeySetFailures.Inc()
				p.log.Warn("identity provider's key set not fetched: its tokens fail until it is", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("auth: provider key set: %w", err)
	}
	// What an operator checks first: the set was fetched, and whose tokens
	// it takes (a failed fetch was logged by the handler above).
	if all, err := keys.Storage().KeyReadAll(p.ctx); err == nil && len(all) > 0 {
		p.log.Info("identity provider's key set fetched", "url", jwksURL, "keys", len(all), "issuer", p.cfg.Issuer, "audience", p.cfg.Audience)
	}
	p.keys.Store(&keySet{verify: keys})
	return nil
}

// loopbackHost: a key set served on this machine, as tests do.
func loopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// verify checks a provider's token and reads who it is for.
func (p *provider) verify(token string, leeway time.Duration) (Identity, error) {
	ks := p.keys.Load()
	if ks == nil {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "the identity provider's configuration is not read yet: its tokens are refused until it is")
	}
	claims := jwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(token, claims, ks.verify.Keyfunc)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, wirepb.Errorf(wirepb.Code_TOKEN_EXPIRED, "token expired")
	case err != nil:
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "invalid token: %v", err)
	}
	user, _ := claims[p.cfg.UserClaim].(string)
	if !session.ValidUserID(user) {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "token's %s is not a user id here (1-64 of A-Z a-z 0-9 . _ @ -)", p.cfg.UserClaim)
	}
	if session.IsVisitor(user) {
		// A provider's user may pick a user name: never a visitor's.
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "token's %s %q is in the node's anonymous visitors' namespace (%s…)", p.cfg.UserClaim, user, session.VisitorPrefix)
	}
	exp, _ := claims.GetExpirationTime() // required: the parser checked it
	id := Identity{User: user, Expires: exp.Time.Add(leeway)}
	id.Device, _ = claims["dev"].(string)
	if s, ok := claims["name"].(string); ok {
		id.Name = &s
	}
	if s, ok := claims["picture"].(string); ok {
		id.Picture = &s
	}
	return id, nil
}

// headerAlg is a JWT's "alg" as its header says, unverified: which of
// the verifiers is to check it.
func headerAlg(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	b, err := jwt.NewParser().DecodeSegment(head)
	if err != nil || json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}
