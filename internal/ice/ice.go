// Package ice hands clients the STUN and TURN servers their calls use.
// Calls go device to device over WebRTC; devices behind NATs that cannot
// reach each other relay through a TURN server the operator runs (coturn,
// for example). The node gives each device short-lived TURN credentials in
// the TURN REST API's form (coturn's use-auth-secret, static-auth-secret):
// the username is "<expiry, Unix seconds>:<user>", the password the
// base64 HMAC-SHA1 of the username under the secret the node and the TURN
// server share. Nothing is stored: the TURN server checks the HMAC and the
// expiry itself.
package ice

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTTL is how long a TURN credential is good for: a device asks for
// fresh ones before each call, and a call may last hours.
const DefaultTTL = 12 * time.Hour

// Config names the servers and the shared TURN secret.
type Config struct {
	// URLs are the STUN and TURN servers' URLs (RFC 7064, RFC 7065):
	// stun:, stuns:, turn: or turns: (turn:turn.example.org:3478?transport=udp).
	URLs []string
	// Secret is the TURN server's shared secret; required with a turn: or
	// turns: URL.
	Secret []byte
	// TTL is how long a credential is good for (default DefaultTTL).
	TTL time.Duration
}

// Server is one entry of a client's ICE server list (RTCIceServer).
type Server struct {
	URLs       []string
	Username   string
	Credential string
}

// Validate reports a URL of no known scheme, or TURN without a secret.
func (c Config) Validate() error {
	turn := false
	for _, u := range c.URLs {
		scheme, rest, ok := strings.Cut(u, ":")
		switch {
		case !ok || rest == "" || strings.ContainsAny(u, " \t\n"):
			return fmt.Errorf("ice server %q: want stun:, stuns:, turn: or turns: and a host", u)
		case scheme == "turn" || scheme == "turns":
			turn = true
		case scheme != "stun" && scheme != "stuns":
			return fmt.Errorf("ice server %q: scheme %q is none of stun, stuns, turn, turns", u, scheme)
		}
	}
	if turn && len(c.Secret) == 0 {
		return errors.New("ice servers: a turn: server needs the secret it shares with the node")
	}
	if c.TTL < 0 {
		return fmt.Errorf("turn credential ttl %v: want a positive duration", c.TTL)
	}
	return nil
}

// For is user's list at now: the STUN servers as they are, the TURN
// servers with a credential that expires TTL later. Empty without URLs.
func (c Config) For(user string, now time.Time) []Server {
	var stun, turn []string
	for _, u := range c.URLs {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			turn = append(turn, u)
		} else {
			stun = append(stun, u)
		}
	}
	var out []Server
	if len(stun) > 0 {
		out = append(out, Server{URLs: stun})
	}
	if len(turn) > 0 {
		ttl := c.TTL
		if ttl <= 0 {
			ttl = DefaultTTL
		}
		name := strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + user
		out = append(out, Server{URLs: turn, Username: name, Credential: Credential(c.Secret, name)})
	}
	return out
}

// Credential is the TURN REST API's password for username under secret.
func Credential(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
