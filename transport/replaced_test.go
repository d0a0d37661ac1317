package transport_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestReplacedConnectionStops: a device id connected a second time (a
// second app sharing it) takes the device's pushes; its older connection
// is closed REPLACED, and its client stops instead of reconnecting (which
// would take the device back, for ever in turn). The newer one goes on
// getting messages. (The periodic re-registration, which also ends a
// replaced connection, is an hour away here: the newer connection's notice
// does it.)
func TestReplacedConnectionStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{Reregister: time.Hour}})
	ctx := tctx(t)
	alice, older := e.dial("alice", "phone"), e.dial("bob", "phone")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "one")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first connection gets the message", func() bool { return slices.Contains(texts(t, older, sent.Conv), "one") })

	newer := e.dial("bob", "phone")
	eventually(t, "the older client stops", func() bool { return older.Err() != nil })
	if code := codeOf(older.Err()); code != wirepb.Code_REPLACED {
		t.Fatalf("the older client stopped with %v, want REPLACED", older.Err())
	}
	for _, body := range []string{"two", "three"} {
		if _, err := alice.SendText(ctx, client.ToUser("bob"), body); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the newer connection gets "+body, func() bool { return slices.Contains(texts(t, newer, sent.Conv), body) })
	}
	if err := newer.Err(); err != nil {
		t.Fatalf("the newer client stopped: %v", err)
	}
	if slices.Contains(texts(t, older, sent.Conv), "two") {
		t.Fatal("the replaced client still got messages")
	}
}
