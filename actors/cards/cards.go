// Package cards carries a customer's click on a business card's action to
// the business system's card webhook and posts its answer back into the
// conversation, as an update of the card or as a new message.
//
// Signing goes both ways, with one shared secret:
//   - the node signs every webhook request: header X-Switchboard-Signature
//     "sha256=" + hex(HMAC-SHA256(secret, body)); the body carries ts_ms and
//     an idempotency key, so the business can refuse replays and repeats;
//   - the business signs its answer the same way (the same header over the
//     response body); an answer without a valid signature is refused
//     (UPSTREAM_FAILED) and nothing is posted, so a party that can reach
//     the node's outbound connection cannot put words in the business's
//     mouth.
//
// Delivery: each attempt has Timeout; a network error, a timeout, a 5xx or
// a 429 is retried up to Retries times with exponential backoff (Backoff,
// doubling, ±50% jitter). Other 4xx answers are final. Every attempt of
// one click carries the same Idempotency-Key (conv, seq, action, user), and
// the posted answer uses it as its client_msg_id, so repeated clicks and
// retries post one answer.
package cards

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
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" on the
// webhook request and on its answer.
const SignatureHeader = "X-Switchboard-Signature"

// Config configures the webhook calls. Zero fields take the defaults.
type Config struct {
	// URL of the business system's card webhook; empty: clicks are
	// refused (INVALID).
	URL string
	// Secret signs requests and verifies answers (required with URL).
	Secret []byte
	// Timeout bounds one attempt (default 5 s).
	Timeout time.Duration
	// Retries after the first attempt (default 3); Backoff is the first
	// wait between attempts, doubled each time (default 200 ms).
	Retries int
	Backoff time.Duration
	// MaxAnswerBytes bounds the webhook's answer (default 64 KiB).
	MaxAnswerBytes int
	Logger         *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Timeout: 5 * time.Second, Retries: 3, Backoff: 200 * time.Millisecond, MaxAnswerBytes: 64 << 10}
}

// Cards serves clicks on one node.
type Cards struct {
	rt     *actors.Runtime
	cfg    Config
	client *http.Client
	log    *slog.Logger
}

// New checks cfg and prepares the webhook client.
func New(rt *actors.Runtime, cfg Config) (*Cards, error) {
	d := DefaultConfig()
	if cfg.Timeout < 0 || cfg.Retries < 0 || cfg.Backoff < 0 || cfg.MaxAnswerBytes < 0 {
		return nil, errors.New("cards: negative limit")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = d.Backoff
	}
	if cfg.MaxAnswerBytes == 0 {
		cfg.MaxAnswerBytes = d.MaxAnswerBytes
	}
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("cards: webhook URL %q is not http(s)", cfg.URL)
		}
		if len(cfg.Secret) < 16 {
			return nil, errors.New("cards: the webhook secret must have at least 16 bytes")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Cards{rt: rt, cfg: cfg, client: &http.Client{}, log: cfg.Logger.With("component", "cards")}, nil
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under secret.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// Request is the webhook request body.
type Request struct {
	IdempotencyKey string          `json:"idempotency_key"`
	Conv           string          `json:"conv"`
	Seq            uint64          `json:"seq"`
	CardSender     string          `json:"card_sender"`
	User           string          `json:"user"`
	Action         string          `json:"action"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	TsMs           int64           `json:"ts_ms"`
}

// Answer is the webhook's answer: "update" replaces the card (Card
// required), "new" posts Card or Text as a new message, "none" posts
// nothing. Either way the card's sender is the poster.
type Answer struct {
	Mode string          `json:"mode"`
	Card json.RawMessage `json:"card,omitempty"`
	Text string          `json:"text,omitempty"`
}

// Result is what a click did.
type Result struct {
	Mode      string `json:"mode"`
	Conv      string `json:"conv"`
	Seq       uint64 `json:"seq,omitempty"` // the posted answer's seq
	Duplicate bool   `json:"duplicate,omitempty"`
	Attempts  int    `json:"attempts"`
}

var (
	webhookCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_card_webhook_attempts_total",
		Help: "Card webhook attempts, by result (ok, retry, refused, bad_signature, failed).",
	}, []string{"result"})
)

func init() { prometheus.MustRegister(webhookCalls) }

func failed(format string, args ...any) error {
	return actors.NewError(pb.Code_UPSTREAM_FAILED, fmt.Sprintf(format, args...))
}

// Click handles user's click on action of the card at seq of conv.
func (c *Cards) Click(ctx context.Context, user, conv string, seq uint64, action string) (Result, error) {
	res := Result{Conv: conv}
	if c.cfg.URL == "" {
		return res, actors.NewError(pb.Code_INVALID, "no card webhook is configured (--card-webhook-url)")
	}
	msg, card, err := c.rt.CardAt(ctx, user, conv, seq)
	if err != nil {
		return res, err
	}
	var act *actors.CardAction
	for i := range card.Actions {
		if card.Actions[i].ID == action {
			act = &card.Actions[i]
		}
	}
	if act == nil {
		return res, actors.NewError(pb.Code_NOT_FOUND, fmt.Sprintf("the card at %s#%d has no action %q", conv, seq, action))
	}
	key := idempotencyKey(conv, seq, action, user)
	body, _ := json.Marshal(Request{IdempotencyKey: key, Conv: conv, Seq: seq, CardSender: msg.Sender, User: user,
		Action: action, Payload: act.Payload, TsMs: time.Now().UnixMilli()})
	ans, attempts, err := c.call(ctx, key, body)
	res.Attempts = attempts
	if err != nil {
		c.log.Warn("card click not answered", "conv", conv, "seq", seq, "action", action, "user", user, "attempts", attempts, "err", err)
		return res, err
	}
	res.Mode = ans.Mode
	send := &pb.SendMessage{Conv: conv, Sender: msg.Sender, ClientMsgId: "card:" + key}
	switch {
	case ans.Mode == "none":
		return res, nil
	case ans.Mode == "update" && len(ans.Card) > 0:
		send.Kind, send.Body, send.RefSeq = pb.MessageKind_CARD, ans.Card, seq
	case ans.Mode == "new" && len(ans.Card) > 0 && ans.Text == "":
		send.Kind, send.Body = pb.MessageKind_CARD, ans.Card
	case ans.Mode == "new" && ans.Text != "" && len(ans.Card) == 0:
		send.Kind, send.Body = pb.MessageKind_NORMAL, []byte(ans.Text)
	default:
		return res, failed("the card webhook answered mode %q with card %v and text %v: want update+card, new+card, new+text or none", ans.Mode, len(ans.Card) > 0, ans.Text != "")
	}
	r, err := c.rt.Send(ctx, send)
	if err != nil {
		if actors.CodeOf(err) == pb.Code_INVALID {
			return res, failed("the card webhook's answer was refused: %v", err)
		}
		return res, err
	}
	res.Seq, res.Duplicate = r.Seq, r.Duplicate
	return res, nil
}

func idempotencyKey(conv string, seq uint64, action, user string) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s\x00%s", conv, seq, action, user)))
	return hex.EncodeToString(h[:16])
}

// call posts body to the webhook with retries and returns its verified
// answer.
func (c *Cards) call(ctx context.Context, key string, body []byte) (Answer, int, error) {
	var last error
	wait := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		ans, retry, err := c.attempt(ctx, key, body)
		if err == nil {
			webhookCalls.WithLabelValues("ok").Inc()
			return ans, attempt, nil
		}
		last = err
		if !retry || attempt > c.cfg.Retries {
			if retry {
				webhookCalls.WithLabelValues("failed").Inc()
				last = failed("card webhook failed after %d attempts: %v", attempt, err)
			}
			return Answer{}, attempt, last
		}
		webhookCalls.WithLabelValues("retry").Inc()
		d := wait/2 + rand.N(wait)
		wait *= 2
		select {
		case <-ctx.Done():
			return Answer{}, attempt, failed("card webhook: gave up after %d attempts (%v): %v", attempt, ctx.Err(), last)
		case <-time.After(d):
		}
	}
}

// attempt makes one request; retry says whether another may succeed.
func (c *Cards) attempt(ctx context.Context, key string, body []byte) (Answer, bool, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Answer{}, false, failed("card webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set(SignatureHeader, Sign(c.cfg.Secret, body))
	resp, err := c.client.Do(req)
	if err != nil {
		return Answer{}, true, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.cfg.MaxAnswerBytes)+1))
	if err != nil {
		return Answer{}, true, err
	}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return Answer{}, true, fmt.Errorf("status %d", resp.StatusCode)
	case resp.StatusCode/100 != 2:
		webhookCalls.WithLabelValues("refused").Inc()
		return Answer{}, false, failed("card webhook refused the click: status %d: %s", resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 200)])))
	case len(b) > c.cfg.MaxAnswerBytes:
		webhookCalls.WithLabelValues("refused").Inc()
		return Answer{}, false, failed("card webhook answer over %d bytes", c.cfg.MaxAnswerBytes)
	}
	if !Verify(c.cfg.Secret, b, resp.Header.Get(SignatureHeader)) {
		webhookCalls.WithLabelValues("bad_signature").Inc()
		return Answer{}, false, failed("card webhook answer has no valid signature (%s): refused", SignatureHeader)
	}
	var ans Answer
	if err := json.Unmarshal(b, &ans); err != nil {
		return Answer{}, false, failed("card webhook answer: %v", err)
	}
	return ans, false, nil
}

// Serve is Click in the shape of actors.CardClicker.
func (c *Cards) Serve(ctx context.Context, k *pb.CardClick) (*pb.CardClickResult, error) {
	r, err := c.Click(ctx, k.User, k.Conv, k.Seq, k.Action)
	if err != nil {
		return nil, err
	}
	return &pb.CardClickResult{Mode: r.Mode, Seq: r.Seq, Duplicate: r.Duplicate, Attempts: uint32(r.Attempts)}, nil
}
