package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/push"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// receiver is a local webhook endpoint that checks every request's
// signature and answers with the status codes given, in turn.
func receiver(t *testing.T, codes []int, body string) (*httptest.Server, *atomic.Int32, chan push.Notification) {
	var calls atomic.Int32
	got := make(chan push.Notification, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(calls.Add(1)) - 1
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			!push.Verify(secret, r.Header.Get("X-Switchboard-Timestamp"), b, r.Header.Get("X-Switchboard-Signature")) {
			t.Errorf("bad request: %s %v", r.Method, r.Header)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n push.Notification
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		code := codes[min(i, len(codes)-1)]
		w.WriteHeader(code)
		if code == http.StatusOK {
			got <- n
			_, _ = io.WriteString(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, got
}

func TestWebhookSignedAndInvalidTokens(t *testing.T) {
	srv, calls, got := receiver(t, []int{200}, `{"invalid_tokens":["tok-old"]}`)
	w := &push.Webhook{URL: srv.URL, Secret: secret}
	res, err := w.Send(context.Background(), push.Notification{ID: "push/u/c/3", User: "u", Conv: "c", Seq: 3, Count: 2, Badge: 5, Tokens: []string{"tok-new", "tok-old"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InvalidTokens) != 1 || res.InvalidTokens[0] != "tok-old" || calls.Load() != 1 {
		t.Fatalf("result %+v after %d calls", res, calls.Load())
	}
	if n := <-got; n.Count != 2 || n.Badge != 5 || n.ID != "push/u/c/3" {
		t.Fatalf("received %+v", n)
	}
	// A wrong secret does not verify.
	if push.Verify([]byte("other"), "1", []byte("{}"), push.Sign(secret, "1", []byte("{}"))) {
		t.Fatal("signature verified with another secret")
	}
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	srv, calls, _ := receiver(t, []int{500, 429, 200}, "")
	var dead int32
	w := &push.Webhook{URL: srv.URL, Secret: secret, BaseBackoff: time.Millisecond, MaxAttempts: 3,
		DeadLetter: func(push.Notification, error) { atomic.AddInt32(&dead, 1) }}
	if _, err := w.Send(context.Background(), push.Notification{ID: "x"}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || dead != 0 {
		t.Fatalf("%d calls, %d dead letters", calls.Load(), dead)
	}
}

func TestWebhookDeadLetter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     []int
		wantCalls int32
	}{{"5xx until MaxAttempts", []int{503}, 4}, {"4xx at once", []int{400}, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls, _ := receiver(t, tc.codes, "")
			var mu sync.Mutex
			var dead []push.Notification
			w := &push.Webhook{URL: srv.URL, Secret: secret, BaseBackoff: time.Millisecond, MaxAttempts: 4,
				DeadLetter: func(n push.Notification, err error) { mu.Lock(); dead = append(dead, n); mu.Unlock() }}
			_, err := w.Send(context.Background(), push.Notification{ID: "d1"})
			if err == nil || calls.Load() != tc.wantCalls || len(dead) != 1 || dead[0].ID != "d1" {
				t.Fatalf("err %v, %d calls, dead %v", err, calls.Load(), dead)
			}
			if tc.codes[0] == 400 && !errors.Is(err, push.ErrPermanent) {
				t.Fatalf("400 is not permanent: %v", err)
			}
		})
	}
	if _, err := (&push.Webhook{}).Send(context.Background(), push.Notification{}); !errors.Is(err, push.ErrPermanent) {
		t.Fatalf("unconfigured webhook: %v", err)
	}
}

func TestCoalescer(t *testing.T) {
	out := make(chan push.Notification, 8)
	c := &push.Coalescer{Interval: 100 * time.Millisecond, Flush: func(n push.Notification) { out <- n }}
	c.Add(push.Message{User: "u", Conv: "a", Seq: 1, From: "x", Text: "one", Badge: 1})
	c.Add(push.Message{User: "u", Conv: "a", Seq: 2, From: "x", Text: "two", Badge: 2})
	c.Add(push.Message{User: "u", Conv: "b", Seq: 7, From: "y", Text: "secret", Badge: 3, Recalled: true})
	c.Add(push.Message{User: "u", Conv: "a", Seq: 3, From: "x", Text: "three", Badge: 4})
	c.Recall("u", "a", 3)
	// A conversation whose only pending message was recalled sends nothing.
	c.Add(push.Message{User: "u", Conv: "c", Seq: 4, From: "z", Text: "oops", Badge: 5})
	if !c.Recall("u", "c", 4) || c.Recall("u", "c", 4) {
		t.Fatal("Recall of a pending message not reported once")
	}
	got := map[string]push.Notification{}
	for len(got) < 2 {
		select {
		case n := <-out:
			got[n.Conv] = n
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v", got)
		}
	}
	if a := got["a"]; a.Count != 2 || a.Seq != 3 || a.Badge != 4 || a.Text != "" || a.ID != "push/u/a/3" {
		t.Fatalf("conv a: %+v (the recalled newest message must leave no text and not count)", a)
	}
	if b := got["b"]; b.Count != 1 || b.Text != "" {
		t.Fatalf("conv b: %+v (recalled text pushed)", b)
	}
	select {
	case n := <-out:
		t.Fatalf("extra notification %+v", n)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestCoalescerEnd: a notification expires with the last of its messages
// to disappear, and not at all while one of them stays.
func TestCoalescerEnd(t *testing.T) {
	out := make(chan push.Notification, 8)
	c := &push.Coalescer{Interval: 50 * time.Millisecond, Flush: func(n push.Notification) { out <- n }}
	defer c.Stop()
	c.Add(push.Message{User: "u", Conv: "timer", Seq: 1, Text: "a", ExpiresAtMs: 2000})
	c.Add(push.Message{User: "u", Conv: "timer", Seq: 2, Text: "b", ExpiresAtMs: 1000})
	c.Add(push.Message{User: "u", Conv: "mixed", Seq: 1, Text: "a", ExpiresAtMs: 2000})
	c.Add(push.Message{User: "u", Conv: "mixed", Seq: 2, Text: "b"})
	c.Add(push.Message{User: "u", Conv: "mixed", Seq: 3, Text: "c", ExpiresAtMs: 3000})
	got := map[string]int64{}
	for len(got) < 2 {
		select {
		case n := <-out:
			got[n.Conv] = n.ExpiresAtMs
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v", got)
		}
	}
	if got["timer"] != 2000 || got["mixed"] != 0 {
		t.Fatalf("ends %v: want timer 2000 (the later), mixed 0 (one stays)", got)
	}
}
