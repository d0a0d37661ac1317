// Package push hands offline notifications to a push gateway: the signed
// webhook, APNs and FCM gateways, the per-conversation coalescer, and the
// dispatcher that sends from its own goroutines with retries, dead letters
// and invalid-token removal. The user grain feeds it (actors/push.go).
package push

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Notification is one push for one user: Count messages of Conv coalesced
// into one, the user's unread badge, and the newest message's preview.
// Text is empty when that message was recalled.
type Notification struct {
	ID string `json:"id"` // stable: receivers dedupe on it
	// Kind is what it is about (kinds.go): empty for a user's messages.
	Kind  string `json:"kind,omitempty"`
	User  string `json:"user"`
	Conv  string `json:"conv"`
	Seq   uint64 `json:"seq"` // newest seq covered
	Count int    `json:"count"`
	Badge int    `json:"badge"`
	From  string `json:"from,omitempty"`
	// FromName is the sender's display name (their profile's), empty
	// when they set none: a notification's title.
	FromName string `json:"from_name,omitempty"`
	// ConvTitle is the group's name, for a group's messages: a
	// notification's subtitle.
	ConvTitle string `json:"conv_title,omitempty"`
	Text      string `json:"text,omitempty"`
	// LocKey and LocArgs: Text is the node's own words (words.go), which
	// an app translates by this key. Empty for what a user wrote.
	LocKey  string   `json:"loc_key,omitempty"`
	LocArgs []string `json:"loc_args,omitempty"`
	// ExpiresAtMs: every message the notification covers disappears by
	// then (the conversation's timer, Unix ms): the gateways are told not
	// to deliver it later, and an app removes it from the screen then.
	// 0: something it covers stays.
	ExpiresAtMs int64 `json:"expires_at_ms,omitempty"`
	// CallID and Video: the call ringing (KindCall), for the app to
	// answer it when it wakes.
	CallID string `json:"call_id,omitempty"`
	Video  bool   `json:"video,omitempty"`
	// Outcome: why a call stopped ringing (KindCallEnded): "answered"
	// (on any of the user's devices), "declined", "cancelled", "dropped".
	Outcome string `json:"outcome,omitempty"`
	// Tokens are the devices' tokens this gateway sends to; Targets the
	// same with each one's platform, for a relay that serves several.
	Tokens  []string `json:"tokens"`
	Targets []Target `json:"targets,omitempty"`
}

// Target is one device token and its platform: "apns", "fcm",
// "webhook", or PlatformVoIP for an iPhone's PushKit token that a call
// rings.
type Target struct {
	Platform string `json:"platform"`
	Token    string `json:"token"`
}

// Say sets n's text to the node's words w.
func (n *Notification) Say(w Words) {
	n.Text, n.LocKey, n.LocArgs = w.English(), w.Key, w.Args
}

// expiredAt reports whether everything n covers has disappeared at now.
func (n Notification) expiredAt(now time.Time) bool {
	return n.ExpiresAtMs != 0 && now.UnixMilli() >= n.ExpiresAtMs
}

// Result is what a gateway reports: tokens the platform rejected (to be
// removed from the user's devices).
type Result struct {
	InvalidTokens []string `json:"invalid_tokens"`
}

// Gateway delivers notifications.
type Gateway interface {
	Send(ctx context.Context, n Notification) (Result, error)
}

// ErrPermanent marks a refusal that retrying cannot fix.
var ErrPermanent = errors.New("push: permanent failure")

// Webhook posts each notification as JSON to URL, signed with HMAC-SHA256
// over "<timestamp>.<body>" in the headers X-Switchboard-Timestamp and
// X-Switchboard-Signature ("sha256=<hex>"). 5xx, 429 and transport errors
// are retried with exponential backoff and jitter up to MaxAttempts; then,
// or at once for another 4xx, the notification goes to DeadLetter.
type Webhook struct {
	URL         string
	Secret      []byte
	Client      *http.Client
	MaxAttempts int           // default 5
	BaseBackoff time.Duration // default 200 ms, doubled per attempt
	MaxBackoff  time.Duration // default 10 s
	DeadLetter  func(Notification, error)
	now         func() time.Time
}

// Sign returns the signature header value for body at ts (unix seconds).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature in constant time (for receivers and tests).
func Verify(secret []byte, ts string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// Send delivers n, retrying as described on Webhook.
func (w *Webhook) Send(ctx context.Context, n Notification) (Result, error) {
	if w.URL == "" || len(w.Secret) == 0 {
		return Result{}, fmt.Errorf("%w: webhook needs a URL and a secret", ErrPermanent)
	}
	attempts := w.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	base, maxB := w.BaseBackoff, w.MaxBackoff
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if maxB <= 0 {
		maxB = 10 * time.Second
	}
	if w, ok := n.words(); ok { // the relay translates the count's words too
		n.LocKey, n.LocArgs = w.Key, w.Args
	}
	body, err := json.Marshal(n)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			d := min(base<<(i-1), maxB)
			d = d/2 + rand.N(d/2+1) // jitter: [d/2, d]
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return Result{}, ctx.Err()
			}
		}
		var res Result
		res, last = w.post(ctx, body)
		if last == nil {
			return res, nil
		}
		if errors.Is(last, ErrPermanent) {
			break
		}
	}
	if w.DeadLetter != nil {
		w.DeadLetter(n, last)
	}
	return Result{}, last
}

func (w *Webhook) post(ctx context.Context, body []byte) (Result, error) {
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Switchboard-Timestamp", ts)
	req.Header.Set("X-Switchboard-Signature", Sign(w.Secret, ts, body))
	cl := w.Client
	if cl == nil {
		cl = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := cl.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("push webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var res Result
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &res); err != nil {
				return Result{}, fmt.Errorf("%w: bad response body: %v", ErrPermanent, err)
			}
		}
		return res, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return Result{}, fmt.Errorf("push webhook: status %d", resp.StatusCode)
	default:
		return Result{}, fmt.Errorf("%w: status %d", ErrPermanent, resp.StatusCode)
	}
}

// Title is what a notification's title shows: the sender's name, or
// their id when they set none.
func (n Notification) Title() string {
	if n.FromName != "" {
		return n.FromName
	}
	return n.From
}

// Heading is a one-line title: the sender, and the group's name for a
// group's message ("Ann · Class 7b"), where a platform has no subtitle.
func (n Notification) Heading() string {
	if n.ConvTitle != "" {
		return n.Title() + " · " + n.ConvTitle
	}
	return n.Title()
}
