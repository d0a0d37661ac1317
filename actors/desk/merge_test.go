package desk_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// TestMergeCrashAnywhere: an anonymous visitor with a service session, two
// groups (one shared with the account), a group it left and a direct
// conversation is merged into its account while others keep sending; the
// node is killed at a random point of the merge (every later write
// refused, no graceful stop) and a new node starts on the same Pebble
// directory, which finishes the merge by itself. Then: every conversation
// is the account's exactly once, every acknowledged message is in each
// log exactly once and visible to the account, the account's read cursors
// are the higher of the two identities', and its unread counts (the grain's
// and the inbox sync's) equal a count from the log.
func TestMergeCrashAnywhere(t *testing.T) {
	runs := 6
	if testing.Short() {
		runs = 2
	}
	seed := time.Now().UnixNano()
	if s := os.Getenv("SWITCHBOARD_MERGE_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	for i := range runs {
		s := seed + int64(i)
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) { mergeCrashRun(t, s) })
	}
}

// liveNode is the node the workers call through; it changes at the crash.
type liveNode struct{ p atomic.Pointer[boot.Node] }

func (l *liveNode) get() *boot.Node { return l.p.Load() }

func mergeCrashRun(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	const anon, acct = "v-anon1", "c1"
	store := openStore(t)
	// The merge's crash points: the merge calls the hook at each; the
	// crash comes at a random one of the first ~20 (a run has about that
	// many), or never if the merge ends first.
	var steps atomic.Int64
	crashAt := int64(1 + rng.IntN(20))
	killed := make(chan struct{})
	var ks atomic.Pointer[killableStore]
	cfg := desk.Config{OnMergeStep: func(from, what string) {
		if steps.Add(1) == crashAt {
			ks.Load().kill()
			close(killed)
		}
	}}
	k1 := &killableStore{Store: store}
	ks.Store(k1)
	var live liveNode
	live.p.Store(startNode(t, k1, cfg))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a loaded machine is slow
	defer cancel()
	n := live.get()

	// ---- before the merge ----------------------------------------------
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(3), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	sess, err := n.Desk.Enter(ctx, anon, "listing/1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		s, err := n.Desk.Session(ctx, "a1", sess.Conv)
		if err != nil || agentOf(s) != "a1" {
			return fmt.Errorf("session %+v %v, want a1", s, err)
		}
		return nil
	})
	group := func(members ...string) string {
		var ms []*pb.Member
		for _, m := range members {
			ms = append(ms, &pb.Member{User: m})
		}
		r, err := n.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_GROUP, Creator: "o1", Members: ms})
		if err != nil {
			t.Fatal(err)
		}
		return r.Conv
	}
	g1, g2, g3, g4 := group(anon, "o2"), group(anon, acct), group(anon), group(acct)
	direct := actors.DirectConvID(anon, "o2")
	// Who writes where (the anonymous id only before the merge).
	writers := map[string][]string{sess.Conv: {"a1"}, g1: {"o1", "o2"}, g2: {"o1"}, g3: {"o1"}, g4: {"o1"}, direct: {"o2"}}
	moved := []string{sess.Conv, g1, g2, g3, direct}

	var mu sync.Mutex
	acked := map[string]map[string]bool{} // conv -> client msg ids acknowledged
	var nextID atomic.Int64
	send := func(ctx context.Context, conv, sender string) error {
		id := fmt.Sprintf("%s-%d", sender, nextID.Add(1))
		req := &pb.SendMessage{Conv: conv, Sender: sender, ClientMsgId: id, Body: []byte("hello " + id)}
		for {
			// One attempt's own deadline: an attempt that went to the
			// killed node never gets an answer.
			actx, acancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			if conv == direct {
				to := "o2"
				if sender == "o2" {
					to = anon
				}
				_, err = live.get().SendDirect(actx, to, req)
			} else {
				_, err = live.get().Send(actx, req)
			}
			acancel()
			if err == nil {
				mu.Lock()
				if acked[conv] == nil {
					acked[conv] = map[string]bool{}
				}
				acked[conv][id] = true
				mu.Unlock()
				return nil
			}
			if ctx.Err() != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond) // the same id again: it must not be stored twice
		}
	}
	if err := send(ctx, direct, anon); err != nil { // creates it
		t.Fatal(err)
	}
	for range 30 {
		conv := moved[rng.IntN(len(moved))]
		from := anon
		if rng.IntN(2) == 0 {
			from = writers[conv][rng.IntN(len(writers[conv]))]
		}
		if err := send(ctx, conv, from); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if err := send(ctx, g4, "o1"); err != nil {
			t.Fatal(err)
		}
	}
	// The anonymous id reads part of each conversation, the account part
	// of the shared group and of its own.
	for _, conv := range moved {
		if rng.IntN(3) > 0 {
			if _, err := n.MarkRead(ctx, anon, "", conv, uint64(1+rng.IntN(12))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, conv := range []string{g2, g4} {
		if _, err := n.MarkRead(ctx, acct, "", conv, uint64(1+rng.IntN(8))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := n.ChangeMembership(ctx, &pb.MembershipChange{Conv: g3, Actor: anon, Op: pb.MembershipChange_LEAVE, Users: []string{anon}}); err != nil {
		t.Fatal(err)
	}
	if err := n.SetPinned(ctx, anon, g1, true); err != nil {
		t.Fatal(err)
	}
	// The visitor's phone: it synced the anonymous inbox and registered
	// for pushes.
	vsync, err := n.Sync(ctx, anon, "dev-v", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.AckCursor(ctx, anon, "dev-v", vsync.Cursor); err != nil {
		t.Fatal(err)
	}
	if err := n.RegisterPushToken(ctx, anon, "dev-v", "fcm", "tok-v", ""); err != nil {
		t.Fatal(err)
	}
	readBefore := map[string]uint64{}
	for _, user := range []string{anon, acct} {
		l, err := n.ListConversations(ctx, user, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Conversations {
			readBefore[c.Conv] = max(readBefore[c.Conv], c.ReadSeq)
		}
	}

	// ---- the merge, with senders and a crash ---------------------------
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for conv, ws := range writers {
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := send(ctx, conv, w); err != nil {
						sendErr.Store(err)
						return
					}
					time.Sleep(time.Duration(5+rng.IntN(10)) * time.Millisecond)
				}
			}()
		}
	}
	mctx, mcancel := context.WithCancel(ctx)
	mergeDone := make(chan error, 1)
	go func() {
		_, err := n.Desk.Merge(mctx, anon, acct)
		mergeDone <- err
	}()
	select {
	case <-killed:
		mcancel()
		<-mergeDone
		t.Logf("killed at merge step %d", crashAt)
		n.Stop(false)
		k2 := &killableStore{Store: store}
		ks.Store(k2)
		n = startNode(t, k2, desk.Config{})
		live.p.Store(n)
	case err := <-mergeDone:
		mcancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("merge done before step %d (%d steps)", crashAt, steps.Load())
	}
	// Nobody asks again: the new node resumes the merge by itself.
	eventually(t, func() error {
		m, err := n.Desk.MergeStatus(ctx, anon)
		if err != nil || m.Phase != desk.MergeDone {
			return fmt.Errorf("merge %+v %v", m, err)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // a few sends after the merge too
	close(stop)
	wg.Wait()
	if err, _ := sendErr.Load().(error); err != nil {
		t.Fatal(err)
	}
	// Repeating the merge changes nothing; another target is refused.
	if m, err := n.Desk.Merge(ctx, anon, acct); err != nil || m.Phase != desk.MergeDone {
		t.Fatalf("merge again: %+v %v", m, err)
	}
	if _, err := n.Desk.Merge(ctx, anon, "c2"); code(err) != pb.Code_BUSY {
		t.Fatalf("merge into another account: %v, want BUSY", err)
	}

	// ---- checks ----------------------------------------------------------
	for _, conv := range moved {
		am, err := n.Store().GetMember(ctx, conv, anon)
		if err != nil || am.Active() {
			t.Fatalf("%s: the anonymous id is still a member: %+v %v", conv, am, err)
		}
		cm, err := n.Store().GetMember(ctx, conv, acct)
		if err != nil {
			t.Fatalf("%s: the account has no row: %v", conv, err)
		}
		if conv == g3 && cm.Active() {
			t.Fatalf("%s: the group the anonymous id had left is active for the account: %+v", conv, cm)
		}
		if conv != g2 && cm.JoinedSeq != am.JoinedSeq {
			t.Fatalf("%s: the account joined at %d, the anonymous id at %d", conv, cm.JoinedSeq, am.JoinedSeq)
		}
	}
	var list *pb.ListConversationsResponse
	var unread map[string]uint64
	eventually(t, func() error {
		// The grain counts what the log says once the last Delivers are in.
		l, err := n.ListConversations(ctx, acct, "", 100)
		if err != nil {
			return err
		}
		got := map[string]uint64{}
		for _, c := range l.Conversations {
			if _, dup := got[c.Conv]; dup {
				return fmt.Errorf("%s listed twice", c.Conv)
			}
			got[c.Conv] = c.Unread
		}
		want, err := expectUnread(ctx, n, acct, append(moved, g4), l)
		if err != nil {
			return err
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("unread %v, from the log %v", got, want)
		}
		list, unread = l, got
		return nil
	})
	var total uint64
	for _, c := range list.Conversations {
		if c.ReadSeq < min(readBefore[c.Conv], c.LastSeq) {
			t.Fatalf("%s: read cursor %d, below the identities' %d", c.Conv, c.ReadSeq, readBefore[c.Conv])
		}
		if !c.Muted {
			total += c.Unread
		}
	}
	if total != list.TotalUnread {
		t.Fatalf("total unread %d, sum %d", list.TotalUnread, total)
	}
	if pinned := list.Conversations[0]; pinned.Conv != g1 || !pinned.Pinned {
		t.Fatalf("the anonymous id's pinned conversation is not first: %+v", pinned)
	}
	// A new device's sync of the inbox says the same.
	sy, err := n.Sync(ctx, acct, "newdev", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sy.Conversations {
		if c.Unread != unread[c.Conv] {
			t.Fatalf("sync: %s unread %d, list %d", c.Conv, c.Unread, unread[c.Conv])
		}
	}
	if len(sy.Conversations) != len(unread) || sy.TotalUnread != list.TotalUnread {
		t.Fatalf("sync: %d conversations, total %d; list %d, %d", len(sy.Conversations), sy.TotalUnread, len(unread), list.TotalUnread)
	}
	checkMergedDevice(ctx, t, n, anon, acct, vsync.Cursor, unread, list.TotalUnread)
	// Nothing lost, nothing twice: every acknowledged message once in the
	// log, and in the account's history when its row lets it see the seq
	// (in the group the anonymous id had left, what came after is not).
	for conv, ids := range acked {
		mem, err := n.Store().GetMember(ctx, conv, acct)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := n.Store().ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 10000)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := n.History(ctx, &pb.GetHistory{Conv: conv, User: acct, OldestFirst: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, m := range msgs {
			seen[m.ClientMsgId]++
		}
		stored, visible := map[string]int{}, map[string]bool{}
		for _, m := range raw {
			stored[m.ClientMsgID]++
			visible[m.ClientMsgID] = mem.Sees(m.Seq)
		}
		for id := range ids {
			want := 0
			if visible[id] {
				want = 1
			}
			if stored[id] != 1 || seen[id] != want {
				t.Fatalf("%s: message %s stored %d times, seen %d times by the account (want 1, %d)", conv, id, stored[id], seen[id], want)
			}
		}
	}
	checkMergedEntry(ctx, t, n, anon, acct, sess.Conv, "a1")
}

// checkMergedDevice: the anonymous id's device is the account's, with a
// cursor that misses nothing; signed in as the account it syncs every
// conversation exactly once with the exact unread count.
func checkMergedDevice(ctx context.Context, t *testing.T, n *boot.Node, anon, acct string, anonCursor uint64, unread map[string]uint64, total uint64) {
	t.Helper()
	devs, err := n.Store().ListDevices(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	cursor, found := uint64(0), false
	for _, d := range devs {
		if d.DeviceID == "dev-v" {
			cursor, found = d.Cursor, true
		}
	}
	if !found || cursor != 0 {
		t.Fatalf("the visitor's device is not the account's with cursor 0: %+v (its anonymous cursor was %d)", devs, anonCursor)
	}
	if toks, err := n.Store().ListPushTokens(ctx, acct); err != nil || len(toks) != 1 || toks[0].DeviceID != "dev-v" || toks[0].Token != "tok-v" {
		t.Fatalf("the account's push tokens: %+v %v", toks, err)
	}
	if toks, err := n.Store().ListPushTokens(ctx, anon); err != nil || len(toks) != 0 {
		t.Fatalf("the anonymous id keeps push tokens: %+v %v", toks, err)
	}
	// One page: every conversation exactly once.
	sy, err := n.Sync(ctx, acct, "dev-v", cursor, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var sum uint64
	for _, c := range sy.Conversations {
		seen[c.Conv]++
		if c.Unread != unread[c.Conv] {
			t.Fatalf("device sync: %s unread %d, want %d", c.Conv, c.Unread, unread[c.Conv])
		}
		if !c.Muted {
			sum += c.Unread
		}
	}
	for conv := range unread {
		if seen[conv] != 1 {
			t.Fatalf("device sync: %s seen %d times, want once (%v)", conv, seen[conv], seen)
		}
	}
	if sy.More || len(seen) != len(unread) || sum != total || sy.TotalUnread != total {
		t.Fatalf("device sync: %v (sum %d, total %d, more %v), want %v (total %d)", seen, sum, sy.TotalUnread, sy.More, unread, total)
	}
	// Small pages: a page summarizes its slice of the inbox, so a later
	// page may update a conversation again; the device's resulting view
	// is the same, and no page skips one.
	view := map[string]uint64{}
	for {
		sy, err := n.Sync(ctx, acct, "dev-v", cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range sy.Conversations {
			view[c.Conv] = c.Unread
		}
		cursor = sy.Cursor
		if !sy.More {
			break
		}
	}
	if fmt.Sprint(view) != fmt.Sprint(unread) {
		t.Fatalf("device sync in pages: %v, want %v", view, unread)
	}
}

// checkMergedEntry: the account's entries through the line of the
// anonymous id's service conversation reach that conversation (and its
// agent), while its session is open and again within the sticky window;
// the anonymous id can no longer enter.
func checkMergedEntry(ctx context.Context, t *testing.T, n *boot.Node, anon, acct, conv, agent string) {
	t.Helper()
	s, err := n.Desk.Enter(ctx, acct, "listing/1")
	if err != nil || s.Conv != conv || agentOf(s) != agent || s.Customer != acct {
		t.Fatalf("the account's entry: %+v %v, want the open session of %s with %s", s, err, conv, agent)
	}
	if _, err := n.Desk.Close(ctx, acct, conv, ""); err != nil {
		t.Fatal(err)
	}
	s2, err := n.Desk.Enter(ctx, acct, "listing/2")
	if err != nil || s2.Conv != conv || s2.Session == s.Session {
		t.Fatalf("the account's entry within the window: %+v %v, want a new session in %s", s2, err, conv)
	}
	eventually(t, func() error {
		got, err := n.Desk.Session(ctx, agent, conv)
		if err != nil || got.Session != s2.Session || agentOf(got) != agent {
			return fmt.Errorf("session %+v %v, want %s with %s", got, err, s2.Session, agent)
		}
		return nil
	})
	if _, err := n.Desk.Enter(ctx, anon, "listing/1"); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("the anonymous id entered after its merge: %v, want FORBIDDEN", err)
	}
}

// expectUnread counts each conversation's unread messages for user from
// the log: normal, not recalled, from someone else, visible to the user,
// above the read cursor the list reports.
func expectUnread(ctx context.Context, n *boot.Node, user string, convs []string, l *pb.ListConversationsResponse) (map[string]uint64, error) {
	read := map[string]uint64{}
	for _, c := range l.Conversations {
		read[c.Conv] = c.ReadSeq
	}
	out := map[string]uint64{}
	for _, conv := range convs {
		mem, err := n.Store().GetMember(ctx, conv, user)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", conv, err)
		}
		msgs, err := n.Store().ListMessages(ctx, conv, read[conv]+1, 0, storage.OldestFirst, 10000)
		if err != nil {
			return nil, err
		}
		var k uint64
		for _, m := range msgs {
			if m.Kind == storage.MsgNormal && m.Sender != user && !m.Recalled() && mem.Sees(m.Seq) {
				k++
			}
		}
		out[conv] = k
	}
	return out, nil
}
