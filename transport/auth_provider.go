package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
	// for tests): its OpenID configuration's jwks_uri.
	JWKSURL string
	// Issuer must be the token's "iss" (Firebase:
	// https://securetoken.google.com/<project>).
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
	// Client fetches the key set (nil: a client with a 5 s timeout).
	Client *http.Client
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
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
	stop   context.CancelFunc
}

func newProvider(cfg ProviderConfig, leeway time.Duration) (*provider, error) {
	u, err := url.Parse(cfg.JWKSURL)
	switch {
	case err != nil || u.Host == "":
		return nil, fmt.Errorf("auth: provider key set URL %q: want an https URL", cfg.JWKSURL)
	case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
		return nil, fmt.Errorf("auth: provider key set URL %q: want https (http only on loopback)", cfg.JWKSURL)
	case cfg.Issuer == "":
		return nil, errors.New("auth: a provider's tokens need the issuer they must name (iss)")
	case cfg.Audience == "":
		return nil, errors.New("auth: a provider's tokens need the audience they must name (aud): its keys sign every app's tokens")
	case cfg.Refresh < 0:
		return nil, fmt.Errorf("auth: provider key refresh %v is negative", cfg.Refresh)
	}
	cfg.UserClaim = strings.TrimSpace(cfg.UserClaim)
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:          cfg.Client,
		HTTPTimeout:     5 * time.Second,
		RefreshInterval: cfg.Refresh,
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
				log.Warn("identity provider's key set not fetched: its tokens fail until it is", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("auth: provider key set: %w", err)
	}
	// What an operator checks first: the set was fetched, and whose tokens
	// it takes (a failed fetch was logged by the handler above).
	if all, err := keys.Storage().KeyReadAll(ctx); err == nil && len(all) > 0 {
		log.Info("identity provider's key set fetched", "url", cfg.JWKSURL, "keys", len(all), "issuer", cfg.Issuer, "audience", cfg.Audience)
	}
	return &provider{cfg: cfg, keys: keys, stop: stop, parser: jwt.NewParser(jwt.WithValidMethods(providerAlgs),
		jwt.WithExpirationRequired(), jwt.WithLeeway(leeway), jwt.WithIssuer(cfg.Issuer), jwt.WithAudience(cfg.Audience))}, nil
}

// loopbackHost: a key set served on this machine, as tests do.
func loopbackHost(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

// verify checks a provider's token and reads who it is for.
func (p *provider) verify(token string, leeway time.Duration) (Identity, error) {
	claims := jwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(token, claims, p.keys.Keyfunc)
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
