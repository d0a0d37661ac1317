package admin

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

var keyRateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "switchboard_admin_api_key_rate_limited_total",
	Help: "Requests refused 429 because their API key was over its rate= (by key name).",
}, []string{"key"})

func init() { prometheus.MustRegister(keyRateLimited) }

// Scope names a part of the API an API key may use. The admin token may
// use all of it; a business's backend gets a key with only the scopes it
// needs, so a leaked key cannot erase users, read every conversation of a
// moderation queue or stop a node.
type Scope string

const (
	// ScopeMessages: post messages as a user, read a conversation's log and its polls' results.
	ScopeMessages Scope = "messages"
	// ScopeMembers: create conversations, change and list their members.
	ScopeMembers Scope = "members"
	// ScopeDesk: the service desk's configuration, sessions and steps.
	ScopeDesk Scope = "desk"
	// ScopeModeration: users' status, suspension, erasure and messages,
	// reports, operator recall, the word policy.
	ScopeModeration Scope = "moderation"
	// ScopeStatus: cluster members, status, grains, placement, metrics.
	ScopeStatus Scope = "status"
	// scopeAdmin: drain, backup and profiles; the admin token only.
	scopeAdmin Scope = ""
)

// Scopes are the scopes a key may hold, in the order the docs give them.
var Scopes = []Scope{ScopeMessages, ScopeMembers, ScopeDesk, ScopeModeration, ScopeStatus}

// keyPrefix starts every generated key, so a key found in a log or a
// repository is recognisable (secret scanners match on such prefixes).
const keyPrefix = "sbk_"

// keyFileRecheck is how often, at most, the key file is read again for a
// key-authenticated request: rotation needs no restart.
var keyFileRecheck = time.Second

// MaxKeyRate bounds a key's rate= (requests per second): above it a
// limit would be no limit.
const MaxKeyRate = 100000

// APIKey is one line of the keys file: a name (for logs), its scopes, the
// SHA-256 of the key and, optionally, when it expires and how many
// requests a second it may make. The file holds no key itself.
type APIKey struct {
	Name    string
	Scopes  []Scope
	Hash    [sha256.Size]byte
	Expires time.Time // zero: never; from then on the key is refused 401
	// Rate: requests per second on each node, with bursts of as many (0:
	// no limit of its own); past it the key is answered 429 RATE_LIMITED.
	Rate int
}

// expired reports whether the key has expired at now.
func (k APIKey) expired(now time.Time) bool { return !k.Expires.IsZero() && !now.Before(k.Expires) }

// Line is the key as a line of the keys file.
func (k APIKey) Line() string {
	scopes := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		scopes[i] = string(s)
	}
	line := fmt.Sprintf("%s %s sha256:%s", k.Name, strings.Join(scopes, ","), hex.EncodeToString(k.Hash[:]))
	if !k.Expires.IsZero() {
		line += " expires=" + k.Expires.UTC().Format(time.RFC3339)
	}
	if k.Rate > 0 {
		line += " rate=" + strconv.Itoa(k.Rate)
	}
	return line
}

// NewAPIKey makes a random key with name and scopes: the key to give the
// backend (shown once) and its line for the keys file.
func NewAPIKey(name string, scopes []Scope) (key string, entry APIKey, err error) {
	if err := checkKeyName(name); err != nil {
		return "", APIKey{}, err
	}
	if len(scopes) == 0 {
		return "", APIKey{}, errors.New("a key needs at least one scope")
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return "", APIKey{}, fmt.Errorf("unknown scope %q (scopes: %s)", s, scopeList())
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("api key: %w", err)
	}
	key = keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, APIKey{Name: name, Scopes: scopes, Hash: sha256.Sum256([]byte(key))}, nil
}

func scopeList() string {
	names := make([]string, len(Scopes))
	for i, s := range Scopes {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

func checkKeyName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("key name %q: want 1 to 64 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("key name %q: letters, digits, '-', '_' and '.' only", name)
		}
	}
	return nil
}

// ParseAPIKeys reads a keys file: one key per line, "NAME SCOPE[,SCOPE…]
// sha256:HEX [expires=RFC3339] [rate=N]"; blank lines and lines starting
// with # are skipped. An error names the line.
func ParseAPIKeys(data []byte) ([]APIKey, error) {
	var keys []APIKey
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKeyLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if names[k.Name] {
			return nil, fmt.Errorf("line %d: key %q named twice", n, k.Name)
		}
		names[k.Name] = true
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return keys, nil
}

func parseKeyLine(line string) (APIKey, error) {
	f := strings.Fields(line)
	if len(f) < 3 || len(f) > 5 {
		return APIKey{}, errors.New(`want "NAME SCOPE[,SCOPE…] sha256:HEX [expires=RFC3339] [rate=N]"`)
	}
	k := APIKey{Name: f[0]}
	if err := checkKeyName(k.Name); err != nil {
		return APIKey{}, err
	}
	for _, s := range strings.Split(f[1], ",") {
		if !slices.Contains(Scopes, Scope(s)) {
			return APIKey{}, fmt.Errorf("unknown scope %q (scopes: %s)", s, scopeList())
		}
		k.Scopes = append(k.Scopes, Scope(s))
	}
	h, ok := strings.CutPrefix(f[2], "sha256:")
	raw, err := hex.DecodeString(h)
	if !ok || err != nil || len(raw) != sha256.Size {
		return APIKey{}, errors.New("the key's hash: want sha256: and 64 hex digits (switchboard apikey new prints the line)")
	}
	copy(k.Hash[:], raw)
	seen := map[string]bool{}
	for _, opt := range f[3:] {
		name, value, _ := strings.Cut(opt, "=")
		if seen[name] {
			return APIKey{}, fmt.Errorf("%s= given twice", name)
		}
		seen[name] = true
		switch name {
		case "expires":
			t, err := time.Parse(time.RFC3339, value)
			if err != nil {
				return APIKey{}, fmt.Errorf("%q: want expires= and a time as 2027-03-01T00:00:00Z", opt)
			}
			k.Expires = t
		case "rate":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > MaxKeyRate {
				return APIKey{}, fmt.Errorf("%q: want rate= and requests per second, 1 to %d", opt, MaxKeyRate)
			}
			k.Rate = n
		default:
			return APIKey{}, fmt.Errorf("%q: want expires=RFC3339 or rate=N after the hash", opt)
		}
	}
	return k, nil
}

// keyFile is the node's API keys, read from a file and read again (at
// most every keyFileRecheck) while requests come, so keys are added and
// revoked by editing the file on every node. A file that no longer parses
// keeps the keys last read, and says so in the log once per change.
type keyFile struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time
	data    []byte
	keys    map[[sha256.Size]byte]APIKey
	// limits holds the limiter of each key with a rate, by name; a reload
	// keeps a key's limiter while its rate stays, so an edit elsewhere in
	// the file does not hand every key a fresh burst.
	limits map[string]*keyLimit
}

type keyLimit struct {
	rate int
	lim  *rate.Limiter
}

// openKeyFile reads path; an error names what is wrong with it.
func openKeyFile(path string, log *slog.Logger) (*keyFile, error) {
	f := &keyFile{path: path, log: log}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api keys: %w", err)
	}
	if err := f.load(data); err != nil {
		return nil, fmt.Errorf("api keys in %s: %w", path, err)
	}
	f.checked = time.Now()
	return f, nil
}

func (f *keyFile) load(data []byte) error {
	keys, err := ParseAPIKeys(data)
	if err != nil {
		return err
	}
	f.keys = make(map[[sha256.Size]byte]APIKey, len(keys))
	limits := map[string]*keyLimit{}
	for _, k := range keys {
		f.keys[k.Hash] = k
		if k.Rate == 0 {
			continue
		}
		if l := f.limits[k.Name]; l != nil && l.rate == k.Rate {
			limits[k.Name] = l
		} else {
			limits[k.Name] = &keyLimit{rate: k.Rate, lim: rate.NewLimiter(rate.Limit(k.Rate), k.Rate)}
		}
	}
	f.limits = limits
	f.data = data
	return nil
}

// lookup finds the key whose hash is sha256(presented). Comparing hashes
// through a map reveals nothing about a key: the hash is what is looked up.
func (f *keyFile) lookup(presented string) (APIKey, bool) {
	h := sha256.Sum256([]byte(presented))
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.checked) >= keyFileRecheck {
		f.checked = time.Now()
		f.reload()
	}
	k, ok := f.keys[h]
	return k, ok
}

// allow takes one request of k from its rate; false and how long until
// the next one would pass when k is over it.
func (f *keyFile) allow(k APIKey, now time.Time) (bool, time.Duration) {
	f.mu.Lock()
	l := f.limits[k.Name]
	f.mu.Unlock()
	if l == nil {
		return true, 0
	}
	if l.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - l.lim.TokensAt(now) // a refused request spends nothing
	return false, time.Duration(missing / float64(l.rate) * float64(time.Second))
}

// reload reads the file again if it changed; f.mu is held.
func (f *keyFile) reload() {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.log.Error("api keys: the file cannot be read; keeping the keys read before", "path", f.path, "err", err)
		return
	}
	if bytes.Equal(data, f.data) {
		return
	}
	if err := f.load(data); err != nil {
		// Remember what was refused, so this is logged once per change.
		f.data = data
		f.log.Error("api keys: the file does not parse; keeping the keys read before", "path", f.path, "err", err)
		return
	}
	f.log.Info("api keys read again", "path", f.path, "keys", len(f.keys))
}
