package transport_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestStarredOverTheWire: over real QUIC, a user stars messages on one
// device and reads them on another, newest first, page by page; a
// message of a conversation they are not in is NOT_MEMBER, a malformed
// page cursor INVALID; unstarring takes one off.
func TestStarredOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, phone, laptop := e.dial("teacher", "phone"), e.dial("ann", "phone"), e.dial("ann", "laptop")
	conv, err := teacher.CreateGroup(ctx, "g:maths", "maths", []string{"ann"})
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, text := range []string{"page 12", "page 14", "test on Monday"} {
		m, err := teacher.SendText(ctx, client.ToConv(conv), text)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	for _, seq := range seqs {
		if _, err := phone.Star(ctx, conv, seq, true); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := phone.Star(ctx, conv, seqs[1], false); err != nil || n != 2 {
		t.Fatalf("unstar: %d, %v; want 2 left", n, err)
	}
	page, next, err := laptop.StarredPage(ctx, time.Time{}, 1)
	if err != nil || len(page) != 1 || string(page[0].Message.Body) != "test on Monday" || next.IsZero() {
		t.Fatalf("the laptop's first page: %+v, %v, %v", page, next, err)
	}
	all, err := laptop.Starred(ctx)
	var got []string
	for _, s := range all {
		got = append(got, fmt.Sprintf("%s#%d:%s", s.Message.Conv, s.Message.Seq, s.Message.Body))
	}
	if want := fmt.Sprintf("%s#%d:test on Monday %s#%d:page 12", conv, seqs[2], conv, seqs[0]); err != nil || strings.Join(got, " ") != want {
		t.Fatalf("the laptop's starred: %v, %v; want %s", got, err, want)
	}
	if _, err := teacher.Star(ctx, wirepb.DirectConvID("ann", "bob"), 1, true); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("starring in a conversation one is not in: %v, want NOT_MEMBER", err)
	}
	if _, _, err := laptop.StarredPage(ctx, time.UnixMilli(-5), 0); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a page before a negative time: %v, want INVALID", err)
	}
}

// waitFor reads c's events until one of kind comes, within ten seconds.
func waitFor(t *testing.T, c *client.Client, kind client.EventKind, what string) {
	t.Helper()
	waitEvent(t, c, fmt.Sprintf("no %v event: %s", kind, what), func(ev client.Event) bool { return ev.Kind == kind })
}

// waitEvent reads c's events until one is wanted, failing with missing
// after 10 s.
func waitEvent(t *testing.T, c *client.Client, missing string, wanted func(client.Event) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if wanted(ev) {
				return
			}
		case <-deadline:
			t.Fatal(missing)
		}
	}
}

// TestListsPushOverTheWire: a user's other device hears that their lists
// changed: a star, a message scheduled, and that message going out.
func TestListsPushOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	phone, laptop := e.dial("mia", "phone"), e.dial("mia", "laptop")
	m, err := phone.SendText(ctx, client.ToUser("max"), "the bike is red")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := phone.Star(ctx, m.Conv, m.Seq, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, laptop, client.EventStarred, "the phone starred a message")
	if _, err := phone.ScheduleText(ctx, client.ToUser("max"), "ride at 5?", time.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, laptop, client.EventScheduled, "the phone scheduled a message")
	waitFor(t, laptop, client.EventScheduled, "the scheduled message went out")
	if list, err := laptop.ScheduledMessages(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after it went out: %+v, %v", list, err)
	}
}
