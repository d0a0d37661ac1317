package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Tokens are JWTs (github.com/golang-jwt/jwt/v5: maintained, small, strict
// about algorithms) naming the user in "sub" and the device in "dev", with a
// mandatory "exp". HS256 (shared secret) and EdDSA (Ed25519 public key) are
// accepted; nothing else, so an "alg":"none" or an RS/HS confusion never
// verifies.

// Claims are a token's claims. Name and Picture are OpenID Connect's
// standard claims: when present, they set the user's profile at connect
// (unless Config.IgnoreTokenProfile), so an app whose backend mints the
// tokens keeps every user's name and picture as its directory has them.
type Claims struct {
	Device  string  `json:"dev"`
	Name    *string `json:"name,omitempty"`
	Picture *string `json:"picture,omitempty"`
	// Visitor marks an anonymous visitor's token (MintVisitor): only such
	// a token names a user of the visitor namespace, and it names no
	// other user.
	Visitor bool `json:"vis,omitempty"`
	jwt.RegisteredClaims
}

// Identity is who a verified token speaks for.
type Identity struct {
	User   string
	Device string
	// Expires is when the server stops honouring the token: its exp plus
	// the leeway. A connection lives until then.
	Expires time.Time
	// Name and Picture: the token's profile claims (nil: absent).
	Name, Picture *string
}

// AuthConfig says which tokens a server accepts.
type AuthConfig struct {
	// Secret verifies HS256 tokens (at least 32 bytes); nil disables HS256.
	Secret []byte
	// PreviousSecrets verify HS256 tokens too, during a rotation: tokens
	// minted with the old secret stay good while the token servers move
	// to the new one (docs/OPERATIONS.md, "Rotating the token secret").
	PreviousSecrets [][]byte
	// PublicKeys verify EdDSA tokens; empty disables EdDSA.
	PublicKeys []ed25519.PublicKey
	// Audience, when set, must be in the token's "aud".
	Audience string
	// Provider, when set, verifies the tokens of the app's identity
	// provider too (auth_provider.go): those signed with an asymmetric
	// key but EdDSA while PublicKeys are set.
	Provider *ProviderConfig
	// Leeway tolerates clock skew between token issuer and server: a
	// token is accepted, and its connection kept, until exp + Leeway (and
	// from nbf - Leeway). 0 takes DefaultLeeway; NoLeeway (any negative
	// value) means none; at most MaxLeeway.
	Leeway time.Duration
}

// Clock-skew leeway bounds.
const (
	DefaultLeeway = 30 * time.Second
	NoLeeway      = time.Duration(-1)
	MaxLeeway     = 5 * time.Minute
)

// Authenticator verifies connection tokens.
type Authenticator struct {
	cfg      AuthConfig
	methods  []string
	parser   *jwt.Parser
	provider *provider // nil: no identity provider's tokens
}

// MinSecretBytes is the shortest HS256 secret accepted.
const MinSecretBytes = 32

// NewAuthenticator checks cfg and returns a verifier.
func NewAuthenticator(cfg AuthConfig) (*Authenticator, error) {
	var methods []string
	if cfg.Secret != nil {
		if len(cfg.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("auth secret is %d bytes, need at least %d", len(cfg.Secret), MinSecretBytes)
		}
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	for i, s := range cfg.PreviousSecrets {
		switch {
		case cfg.Secret == nil:
			return nil, errors.New("auth: a previous secret without a secret")
		case len(s) < MinSecretBytes:
			return nil, fmt.Errorf("previous auth secret %d is %d bytes, need at least %d", i+1, len(s), MinSecretBytes)
		}
	}
	for i, k := range cfg.PublicKeys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth public key %d: not an Ed25519 key", i)
		}
	}
	if len(cfg.PublicKeys) > 0 {
		methods = append(methods, jwt.SigningMethodEdDSA.Alg())
	}
	if len(methods) == 0 && cfg.Provider == nil {
		return nil, errors.New("auth: no secret, no public key and no identity provider configured")
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	case cfg.Leeway > MaxLeeway:
		return nil, fmt.Errorf("auth leeway %v is above %v", cfg.Leeway, MaxLeeway)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(cfg.Leeway)}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a := &Authenticator{cfg: cfg, methods: methods, parser: jwt.NewParser(opts...)}
	if cfg.Provider != nil {
		p, err := newProvider(*cfg.Provider, cfg.Leeway)
		if err != nil {
			return nil, err
		}
		a.provider = p
	}
	return a, nil
}

// Close stops the refresh of an identity provider's keys.
func (a *Authenticator) Close() {
	if a.provider != nil {
		a.provider.stop()
	}
}

// Leeway is the clock-skew leeway in force.
func (a *Authenticator) Leeway() time.Duration { return a.cfg.Leeway }

// Verify checks a token and names the device it connects: the token's
// own (dev), else device, the one the client's Hello names (an identity
// provider's token names none; with a dev claim the Hello's is
// ignored). Failures are *wirepb.Error with code UNAUTHENTICATED or
// TOKEN_EXPIRED.
func (a *Authenticator) Verify(token, device string) (Identity, error) {
	if token == "" {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "no token")
	}
	if len(token) > 8<<10 {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "token too long")
	}
	verifier, check := "own", a.verifyOwn
	if a.provider != nil && a.providerSigns(headerAlg(token)) {
		verifier, check = "provider", func(token string) (Identity, error) { return a.provider.verify(token, a.cfg.Leeway) }
	}
	id, err := check(token)
	if err == nil {
		if id.Device == "" { // a token's own device wins over the hello's
			id.Device = device
		}
		if !session.ValidUserID(id.Device) {
			err = wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "no valid device: the token's dev, or the hello's device (1-64 of A-Z a-z 0-9 . _ @ -)")
		}
	}
	switch {
	case err == nil:
		metricAuth.WithLabelValues(verifier, "ok").Inc()
		return id, nil
	case wirepb.CodeOf(err) == wirepb.Code_TOKEN_EXPIRED:
		metricAuth.WithLabelValues(verifier, "expired").Inc()
	default:
		metricAuth.WithLabelValues(verifier, "refused").Inc()
	}
	return Identity{}, err
}

// providerSigns: a token signed with alg is the identity provider's, not
// one the app's backend minted: any signature but HS256, and EdDSA only
// while the node has no Ed25519 keys of its own.
func (a *Authenticator) providerSigns(alg string) bool {
	return alg != jwt.SigningMethodHS256.Alg() && !(alg == jwt.SigningMethodEdDSA.Alg() && len(a.cfg.PublicKeys) > 0)
}

// verifyOwn checks a token the app's backend minted (HS256, EdDSA).
func (a *Authenticator) verifyOwn(token string) (Identity, error) {
	if len(a.methods) == 0 {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "invalid token: signed with %q, which only the identity provider's keys verify here", headerAlg(token))
	}
	var c Claims
	_, err := a.parser.ParseWithClaims(token, &c, a.key)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, wirepb.Errorf(wirepb.Code_TOKEN_EXPIRED, "token expired")
	case err != nil:
		// The library's text says which check failed, never the key.
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "invalid token: %v", err)
	}
	if !session.ValidUserID(c.Subject) {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "token names no valid user (sub)")
	}
	if session.IsVisitor(c.Subject) != c.Visitor {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "user ids beginning %q are the node's anonymous visitors: only a visitor token names one, and it names no other", session.VisitorPrefix)
	}
	// The connection layer closes at Expires: with the bare exp, a token
	// inside the leeway would be welcomed and then closed at once.
	return Identity{User: c.Subject, Device: c.Device, Expires: c.ExpiresAt.Time.Add(a.cfg.Leeway), Name: c.Name, Picture: c.Picture}, nil
}

func (a *Authenticator) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if len(a.cfg.PreviousSecrets) == 0 {
			return a.cfg.Secret, nil
		}
		keys := []jwt.VerificationKey{a.cfg.Secret}
		for _, s := range a.cfg.PreviousSecrets {
			keys = append(keys, s)
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	case jwt.SigningMethodEdDSA.Alg():
		keys := make([]jwt.VerificationKey, len(a.cfg.PublicKeys))
		for i, k := range a.cfg.PublicKeys {
			keys[i] = k
		}
		return jwt.VerificationKeySet{Keys: keys}, nil
	}
	return nil, fmt.Errorf("algorithm %s not accepted", t.Method.Alg())
}

// TokenOption adds to the claims of a token minted here.
type TokenOption func(*Claims)

// WithProfile puts the profile claims name and picture in a token (nil:
// leave that one out).
func WithProfile(name, picture *string) TokenOption {
	return func(c *Claims) { c.Name, c.Picture = name, picture }
}

// VisitorToken is an anonymous visitor's token (MintVisitor).
type VisitorToken struct {
	User, Token string
	Expires     time.Time
}

// visitorIDChars: the random part of a visitor id is 20 of these (100
// bits), lower case so that it reads the same in any tool.
const visitorIDChars = "abcdefghijklmnopqrstuvwxyz234567"

// MintVisitor makes a new anonymous visitor and signs its token, valid
// for ttl, with the node's HS256 secret (and audience). It names no
// device: the client names it in its hello.
func (a *Authenticator) MintVisitor(ttl time.Duration) (VisitorToken, error) {
	if len(a.cfg.Secret) == 0 {
		return VisitorToken{}, errors.New("visitor tokens are signed with the node's HS256 secret, and it has none")
	}
	if ttl <= 0 {
		return VisitorToken{}, fmt.Errorf("visitor token life %v: want a positive one", ttl)
	}
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return VisitorToken{}, fmt.Errorf("visitor id: %w", err)
	}
	for i := range b {
		b[i] = visitorIDChars[b[i]&31]
	}
	user := session.VisitorPrefix + string(b[:])
	c := newClaims(user, "", ttl, a.cfg.Audience, nil)
	c.Visitor = true
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.cfg.Secret)
	if err != nil {
		return VisitorToken{}, fmt.Errorf("sign visitor token: %w", err)
	}
	return VisitorToken{User: user, Token: tok, Expires: c.ExpiresAt.Time}, nil
}

func newClaims(user, device string, ttl time.Duration, audience string, opts []TokenOption) Claims {
	now := time.Now()
	c := Claims{Device: device, RegisteredClaims: jwt.RegisteredClaims{
		Subject: user, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}}
	if audience != "" {
		c.Audience = jwt.ClaimStrings{audience}
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// MintHS256 signs a token for user and device, valid for ttl.
func MintHS256(secret []byte, user, device string, ttl time.Duration, audience string, opts ...TokenOption) (string, error) {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, newClaims(user, device, ttl, audience, opts)).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// MintEdDSA signs a token with an Ed25519 private key.
func MintEdDSA(key ed25519.PrivateKey, user, device string, ttl time.Duration, audience string, opts ...TokenOption) (string, error) {
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, newClaims(user, device, ttl, audience, opts)).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ReadEd25519PublicKey reads a PEM "PUBLIC KEY" (PKIX) Ed25519 key file.
func ReadEd25519PublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pk, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 public key", path)
	}
	return pk, nil
}

// ReadEd25519PrivateKey reads a PEM "PRIVATE KEY" (PKCS #8) Ed25519 key file.
func ReadEd25519PrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	pk, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 private key", path)
	}
	return pk, nil
}

func readPEM(path, typ string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %q block", path, typ)
	}
	return blk.Bytes, nil
}
