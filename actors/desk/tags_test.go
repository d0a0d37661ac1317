package desk_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestSessionTags: the session's agent tags it (folded to lower case, a
// tag named twice counts once, removals before additions) up to
// MaxSessionTags, also after the close; the customer and other users may
// not, and never see the tags; every change, and no request that changes
// nothing, reaches OnTags with the whole list and its version.
func TestSessionTags(t *testing.T) {
	var mu sync.Mutex
	var events []desk.TagsEvent
	n := startNode(t, openStore(t), desk.Config{MaxSessionTags: 2, OnTags: func(e desk.TagsEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	d, ctx := n.Desk, tctx(t)
	w := desk.NewWire(d)
	careDesk(t, d, 1)
	s := enterAssigned(t, d, "c1", "help")

	for _, by := range []string{"c1", "stranger"} {
		if _, err := w.Tag(ctx, by, s.Conv, []string{"refund"}, nil); code(err) != pb.Code_FORBIDDEN {
			t.Fatalf("%s tags the session: %v", by, err)
		}
	}
	for name, c := range map[string]struct{ add, remove []string }{
		"no tag":          {},
		"a space":         {add: []string{"bad tag"}},
		"an empty name":   {remove: []string{""}},
		"33 bytes":        {add: []string{"abcdefghijklmnopqrstuvwxyz0123456"}},
		"a dot in remove": {remove: []string{"a.b"}},
	} {
		if _, err := w.Tag(ctx, "a1", s.Conv, c.add, c.remove); code(err) != pb.Code_INVALID {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := w.Tag(ctx, "a1", s.Conv, []string{"a", "b", "c"}, nil); code(err) != pb.Code_TOO_MANY {
		t.Fatalf("three tags in one request, limit 2: %v", err)
	}
	steps := []struct {
		add, remove, want []string
	}{
		{add: []string{"Refund", "refund"}, want: []string{"refund"}},
		{add: []string{"shipping", "REFUND"}, want: []string{"refund", "shipping"}}, // the limit
		{add: []string{"shipping"}, want: []string{"refund", "shipping"}},           // nothing changes
		{add: []string{"damaged"}, remove: []string{"refund"}, want: []string{"shipping", "damaged"}},
		{add: []string{"refund"}, remove: []string{"refund"}, want: []string{"shipping", "damaged"}}, // removed, then added: over the limit
	}
	for i, st := range steps {
		in, err := w.Tag(ctx, "a1", s.Conv, st.add, st.remove)
		if i == len(steps)-1 {
			if code(err) != pb.Code_TOO_MANY {
				t.Fatalf("a third tag: %+v %v", in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(in.Tags, st.want) {
			t.Fatalf("step %d: %v, want %v (%v)", i, in.Tags, st.want, err)
		}
	}
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.Tags != nil {
		t.Fatalf("the customer's view: %+v %v", in.Tags, err)
	}
	if in, err := w.Session(ctx, "c1", s.Conv); err != nil || in.Tags != nil {
		t.Fatalf("the customer's wire view: %+v %v", in.Tags, err)
	}
	if in, err := w.Session(ctx, "a1", s.Conv); err != nil || !slices.Equal(in.Tags, []string{"shipping", "damaged"}) {
		t.Fatalf("the agent's view: %+v %v", in.Tags, err)
	}

	// A wrap-up after the close; a CRM tags through the admin API.
	if _, err := d.Close(ctx, "a1", s.Conv, "resolved"); err != nil {
		t.Fatal(err)
	}
	if in, err := w.Tag(ctx, "a1", s.Conv, nil, []string{"damaged"}); err != nil || !slices.Equal(in.Tags, []string{"shipping"}) || in.State != desk.StateClosed {
		t.Fatalf("a wrap-up tag after the close: %+v %v", in, err)
	}
	if in, err := d.Tag(ctx, "crm", s.Conv, nil, []string{"shipping"}); err != nil || len(in.Tags) != 0 {
		t.Fatalf("the CRM removes the last tag: %+v %v", in, err)
	}
	if _, err := d.Tag(ctx, "a1", "s:l:nobody:1", []string{"x"}, nil); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("tags on no session: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, e := range events {
		if e.Session != s.Session || e.Conv != s.Conv {
			t.Fatalf("event of another session: %+v", e)
		}
		got = append(got, fmt.Sprintf("%d %s %v", e.Version, e.By, e.Tags))
	}
	want := []string{"1 a1 [refund]", "2 a1 [refund shipping]", "3 a1 [shipping damaged]", "4 a1 [shipping]", "5 crm []"}
	if !slices.Equal(got, want) {
		t.Fatalf("OnTags saw %q, want %q", got, want)
	}
}
