package push_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func tokenStore(t *testing.T, users ...string) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for _, u := range users {
		if err := s.SetPushToken(context.Background(), storage.PushToken{UserID: u, DeviceID: "phone", Platform: "webhook", Token: u + "-tok"}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// The queue holds QueueSize notifications while the senders are busy;
// the next one is dropped at once instead of blocking the caller.
func TestDispatcherQueueLimit(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-release
	}))
	defer srv.Close()
	d := &push.Dispatcher{Tokens: tokenStore(t, "u"), Default: &push.Webhook{URL: srv.URL, Secret: secret, MaxAttempts: 1},
		Workers: 1, QueueSize: 2}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	defer close(release)
	if !d.Enqueue(push.Notification{ID: "1", User: "u"}) {
		t.Fatal("first notification refused")
	}
	for calls.Load() == 0 { // the one sender is now busy
		time.Sleep(time.Millisecond)
	}
	if !d.Enqueue(push.Notification{ID: "2", User: "u"}) || !d.Enqueue(push.Notification{ID: "3", User: "u"}) {
		t.Fatal("notifications within QueueSize refused")
	}
	start := time.Now()
	if d.Enqueue(push.Notification{ID: "4", User: "u"}) {
		t.Fatal("a notification past QueueSize was queued")
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Enqueue blocked %s on a full queue", el)
	}
}

func TestDispatcherNeedsGatewayAndStore(t *testing.T) {
	if err := (&push.Dispatcher{Tokens: tokenStore(t)}).Start(); err == nil {
		t.Fatal("started without a gateway")
	}
	if err := (&push.Dispatcher{Default: &push.Webhook{}}).Start(); err == nil {
		t.Fatal("started without a token store")
	}
}

// A user without a registered token costs a store read and no call.
func TestDispatcherNoTokens(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	var dead atomic.Int32
	d := &push.Dispatcher{Tokens: tokenStore(t, "with"), Default: &push.Webhook{URL: srv.URL, Secret: secret, MaxAttempts: 1},
		DeadLetter: func(push.Notification, error) { dead.Add(1) }}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "a", User: "without"})
	d.Enqueue(push.Notification{ID: "b", User: "with"})
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if calls.Load() != 1 || dead.Load() != 0 {
		t.Fatalf("%d calls, %d dead letters; want 1 call (the user with a token), none dead", calls.Load(), dead.Load())
	}
}

// BenchmarkCoalescerAdd is the cost a user grain pays per message for an
// offline user: a map lookup and append under the coalescer's lock.
func BenchmarkCoalescerAdd(b *testing.B) {
	c := &push.Coalescer{Interval: time.Hour, Flush: func(push.Notification) {}}
	defer c.Stop()
	convs := []string{"d:a:b", "d:a:c", "g:team", "g:ops"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Add(push.Message{User: "u" + strconv.Itoa(i%1000), Conv: convs[i%len(convs)], Seq: uint64(i), From: "x", Text: "hello", Badge: i})
	}
}

// capture is a Gateway that hands each notification to got.
type capture struct{ got chan push.Notification }

func (c *capture) Send(_ context.Context, n push.Notification) (push.Result, error) {
	c.got <- n
	return push.Result{}, nil
}

// The dispatcher names the sender and the group when it sends, from its
// hooks; a hook that fails leaves the notification naming ids, and it
// still goes out.
func TestDispatcherNamesSenderAndGroup(t *testing.T) {
	got := make(chan push.Notification, 2)
	d := &push.Dispatcher{Tokens: tokenStore(t, "u"), Default: &capture{got: got},
		SenderName: func(_ context.Context, user string) (string, error) {
			if user == "ann" {
				return "Ann K.", nil
			}
			return "", errors.New("store down")
		},
		ConvTitle: func(_ context.Context, conv string) (string, error) {
			return map[string]string{"g:7b": "Class 7b"}[conv], nil
		},
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "1", User: "u", Conv: "g:7b", From: "ann"})
	if n := <-got; n.FromName != "Ann K." || n.ConvTitle != "Class 7b" || n.Heading() != "Ann K. · Class 7b" {
		t.Fatalf("a group's notification: %+v (%q)", n, n.Heading())
	}
	d.Enqueue(push.Notification{ID: "2", User: "u", Conv: "d:u:zed", From: "zed"})
	if n := <-got; n.FromName != "" || n.ConvTitle != "" || n.Heading() != "zed" {
		t.Fatalf("a direct notification whose sender's name failed: %+v (%q)", n, n.Heading())
	}
}

// TestDispatcherDropsExpired: a notification whose messages all
// disappeared before it went out is not sent (a phone would show what is
// gone); one whose end is ahead is.
func TestDispatcherDropsExpired(t *testing.T) {
	got := make(chan push.Notification, 2)
	var dead atomic.Int32
	d := &push.Dispatcher{Tokens: tokenStore(t, "u"), Default: &capture{got: got},
		DeadLetter: func(push.Notification, error) { dead.Add(1) }}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "gone", User: "u", Conv: "d:u:v", ExpiresAtMs: time.Now().Add(-time.Second).UnixMilli()})
	d.Enqueue(push.Notification{ID: "ahead", User: "u", Conv: "d:u:v", ExpiresAtMs: time.Now().Add(time.Hour).UnixMilli()})
	select {
	case n := <-got:
		if n.ID != "ahead" {
			t.Fatalf("sent %q, whose messages disappeared", n.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notification whose end is ahead was not sent")
	}
	select {
	case n := <-got:
		t.Fatalf("sent %q as well", n.ID)
	case <-time.After(200 * time.Millisecond):
	}
	if dead.Load() != 0 {
		t.Fatal("an expired notification was dead-lettered")
	}
}
