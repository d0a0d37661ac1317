package ice

import (
	"strings"
	"testing"
	"time"
)

// The credential is the TURN REST API's: base64 of HMAC-SHA1 of the
// username under the shared secret (the value computed independently,
// with Python's hmac module).
func TestCredential(t *testing.T) {
	if got, want := Credential([]byte("north"), "1700000000:alice"), "Cd/49soE35ICqcJF/bCTn8Z4OyE="; got != want {
		t.Fatalf("credential %q, want %q", got, want)
	}
}

// STUN servers come as they are, TURN servers with a username that
// expires TTL after now and its credential; no URLs, no servers.
func TestFor(t *testing.T) {
	c := Config{URLs: []string{"stun:stun.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
		Secret: []byte("north"), TTL: time.Hour}
	now := time.Unix(1_700_000_000, 0)
	got := c.For("alice", now)
	if len(got) != 2 || strings.Join(got[0].URLs, ",") != "stun:stun.example.org:3478" || got[0].Username != "" || got[0].Credential != "" {
		t.Fatalf("stun: %+v", got)
	}
	turn := got[1]
	if strings.Join(turn.URLs, ",") != "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349" ||
		turn.Username != "1700003600:alice" || turn.Credential != Credential([]byte("north"), "1700003600:alice") {
		t.Fatalf("turn: %+v", turn)
	}
	if d := (Config{URLs: []string{"turn:t"}, Secret: []byte("s")}).For("bob", now)[0].Username; d != "1700043200:bob" {
		t.Fatalf("the default ttl: %s", d)
	}
	if got := (Config{}).For("alice", now); len(got) != 0 {
		t.Fatalf("no urls: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{URLs: []string{"stun:stun.example.org"}},
		{URLs: []string{"turn:turn.example.org"}, Secret: []byte("s")},
		{},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []Config{
		{URLs: []string{"turn:turn.example.org"}},                       // no secret
		{URLs: []string{"http://turn.example.org"}},                     // no ICE scheme
		{URLs: []string{"stun:"}},                                       // no host
		{URLs: []string{"stun.example.org"}},                            // no scheme
		{URLs: []string{"stun:a b"}},                                    // a space
		{URLs: []string{"stun:a"}, TTL: -time.Second},                   // negative ttl
		{URLs: []string{"turns:turn.example.org"}, Secret: []byte(nil)}, // no secret
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}
