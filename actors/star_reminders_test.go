package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Reminders on starred messages, as the node keeps them: a moved
// reminder comes once, at its new time; one on a message recalled before
// it was due comes to nothing (no REMINDER push, the message no longer
// starred); a reminder outlives its node; one on a message the user
// cannot read is refused.
func TestStarReminderMovesAndGoes(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{ScheduleInterval: 50 * time.Millisecond, MaxScheduleAhead: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:shop"
	mustCreateGroup(t, node, g, "seller", "buyer")
	keep := mustSend(t, node, g, "buyer", "can you hold it until Friday?")
	gone := mustSend(t, node, g, "buyer", "my number is 555")
	if _, err := node.Remind(ctx, "stranger", g, keep.Seq, time.Now().Add(time.Minute)); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger's reminder: %v, want NOT_MEMBER", err)
	}

	// Moved from soon to later: it comes at the later time, once.
	if _, err := node.Remind(ctx, "seller", g, keep.Seq, time.Now().Add(200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(900 * time.Millisecond)
	if _, err := node.Remind(ctx, "seller", g, keep.Seq, later); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Remind(ctx, "seller", g, gone.Seq, time.Now().Add(600*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	// The node restarts with both pending; the seller connects after.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	dev, _ := connect(t, node, "seller", "phone")
	if _, err := node.Recall(ctx, g, "buyer", gone.Seq); err != nil {
		t.Fatal(err)
	}
	reminders := func() []string {
		var out []string
		for _, p := range dev.pushesNow() {
			if l := p.GetLists(); l.GetList() == pb.ListsUpdate_REMINDER {
				out = append(out, fmt.Sprintf("%s#%d", l.Conv, l.Seq))
			}
		}
		return out
	}
	eventually(t, func() error {
		if got := reminders(); len(got) == 0 {
			return fmt.Errorf("no reminder yet")
		}
		return nil
	})
	if time.Now().Before(later) {
		t.Fatalf("the moved reminder came before its new time %v", later)
	}
	time.Sleep(300 * time.Millisecond) // another sweep or two: nothing more comes
	if got, want := reminders(), []string{fmt.Sprintf("%s#%d", g, keep.Seq)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reminders pushed %v, want %v once (the recalled message's comes to nothing)", got, want)
	}
	starred, _, err := node.Starred(ctx, "seller", time.Time{}, 0)
	if err != nil || len(starred) != 1 || starred[0].Message.Seq != keep.Seq || !starred[0].RemindAt.IsZero() {
		t.Fatalf("starred after the reminders: %+v, %v; want the kept message, its reminder gone", starred, err)
	}
}
