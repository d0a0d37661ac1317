package actors_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The scenario tests drive the grains with random traffic and check them
// against a plain model after every phase (DESIGN.md §9). SWITCHBOARD_SEED
// reruns a failing seed.

type mMsg struct {
	sender, body, cid string
	kind              pb.MessageKind
	recalled          bool
	ref               uint64 // an edit: the seq of the message it edits
}

type mMember struct {
	role         pb.Role
	joined, left uint64
}

func (m *mMember) sees(seq uint64) bool { return seq >= m.joined && (m.left == 0 || seq <= m.left) }

// mConv is the model of one conversation; only its worker touches it
// during a phase.
type mConv struct {
	id      string
	group   bool
	owner   string
	msgs    map[uint64]*mMsg
	members map[string]*mMember
	read    map[string]uint64 // user → read cursor
}

func (c *mConv) last() uint64 {
	var l uint64
	for s := range c.msgs {
		l = max(l, s)
	}
	return l
}

// visibleLast is the last seq the user sees.
func (c *mConv) visibleLast(u string) uint64 {
	m := c.members[u]
	l := c.last()
	if m.left != 0 {
		l = min(l, m.left)
	}
	return l
}

func (c *mConv) unread(u string) uint64 {
	m := c.members[u]
	var n uint64
	for s, msg := range c.msgs {
		if s > c.read[u] && m.sees(s) && msg.kind == pb.MessageKind_NORMAL && msg.ref == 0 && !msg.recalled && msg.sender != u {
			n++
		}
	}
	return n
}

func (c *mConv) active() []string {
	var out []string
	for u, m := range c.members {
		if m.left == 0 {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

type scenario struct {
	t      *testing.T
	seed   uint64
	store  storage.Store
	nodes  []*boot.Node
	dead   []atomic.Bool
	users  []string
	online map[string]bool
	convs  []*mConv
	cids   atomic.Int64
	noKill bool // membership and recalls allowed (their retry is not idempotent)
}

func newScenario(t *testing.T, store storage.Store, nodes []*boot.Node) *scenario {
	seed := rand.Uint64()
	if s := os.Getenv("SWITCHBOARD_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SWITCHBOARD_SEED: %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("rerun with SWITCHBOARD_SEED=%d", seed)
		}
	})
	sc := &scenario{t: t, seed: seed, store: store, nodes: nodes, dead: make([]atomic.Bool, len(nodes)), online: map[string]bool{}, noKill: true}
	for i := range 12 {
		sc.users = append(sc.users, fmt.Sprintf("u%02d", i))
	}
	return sc
}

// node picks a live node.
func (sc *scenario) node(r *rand.Rand) *boot.Node {
	for {
		i := r.IntN(len(sc.nodes))
		if !sc.dead[i].Load() {
			return sc.nodes[i]
		}
	}
}

// retry repeats an idempotent request through live nodes until it is
// answered (a rejection is an answer).
func retry[T any](sc *scenario, r *rand.Rand, f func(ctx context.Context, n *boot.Node) (T, error)) (T, error) {
	deadline := time.Now().Add(40 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		res, err := f(ctx, sc.node(r))
		cancel()
		var ae *actors.Error
		if err == nil || errors.As(err, &ae) && ae.Code != pb.Code_RETRY || time.Now().After(deadline) {
			return res, err
		}
	}
}

// setup connects devices and creates the conversations.
func (sc *scenario) setup() {
	t, r := sc.t, rand.New(rand.NewPCG(sc.seed, 0))
	for i, u := range sc.users[:8] {
		sc.online[u] = true
		for _, d := range []string{"phone", "tablet", "web"}[:2+i%2] {
			connect(t, sc.nodes[r.IntN(len(sc.nodes))], u, d)
		}
	}
	for g := range 4 {
		perm := r.Perm(len(sc.users))
		c := &mConv{id: fmt.Sprint("g:", g), group: true, owner: sc.users[perm[0]], msgs: map[uint64]*mMsg{}, members: map[string]*mMember{}, read: map[string]uint64{}}
		req := &pb.CreateConversation{Conv: c.id, Kind: pb.ConvKind_GROUP, Creator: c.owner}
		c.members[c.owner] = &mMember{role: pb.Role_OWNER, joined: 1}
		for _, p := range perm[1 : 3+r.IntN(5)] {
			req.Members = append(req.Members, &pb.Member{User: sc.users[p]})
			c.members[sc.users[p]] = &mMember{joined: 1}
		}
		if _, err := sc.node(r).CreateConversation(tctx(t), req); err != nil {
			t.Fatal(err)
		}
		sc.convs = append(sc.convs, c)
	}
	seen := map[string]bool{}
	for len(seen) < 8 {
		a, b := sc.users[r.IntN(len(sc.users))], sc.users[r.IntN(len(sc.users))]
		id := wirepb.DirectConvID(a, b)
		if a == b || seen[id] {
			continue
		}
		seen[id] = true
		c := &mConv{id: id, msgs: map[uint64]*mMsg{}, members: map[string]*mMember{a: {joined: 1}, b: {joined: 1}}, read: map[string]uint64{}}
		res, err := sc.node(r).SendDirect(tctx(t), b, &pb.SendMessage{Sender: a, ClientMsgId: "first", Body: []byte("first")})
		if err != nil {
			t.Fatal(err)
		}
		c.msgs[res.Seq] = &mMsg{sender: a, body: "first", cid: "first"}
		c.read[a] = res.Seq
		sc.convs = append(sc.convs, c)
	}
}

// phase runs ops random operations spread over workers, each owning a
// share of the conversations; during runs midway.
func (sc *scenario) phase(name string, ops int, during func()) {
	t := sc.t
	const workers = 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var done atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(sc.seed, uint64(len(name)*100+w+1)))
			var mine []*mConv
			for i, c := range sc.convs {
				if i%workers == w {
					mine = append(mine, c)
				}
			}
			for range ops / workers {
				if err := sc.op(r, mine[r.IntN(len(mine))]); err != nil {
					errs <- err
					return
				}
				done.Add(1)
			}
		}()
	}
	if during != nil {
		for done.Load() < int64(ops/2) && len(errs) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		during()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("phase %s: %v", name, err)
	}
}

func (sc *scenario) op(r *rand.Rand, c *mConv) error {
	active := c.active()
	switch k := r.IntN(100); {
	case k < 55 && len(active) > 0: // send or edit, sometimes retried as a duplicate
		sender := active[r.IntN(len(active))]
		if c.members[sender].left != 0 {
			return nil
		}
		var ref uint64 // an edit of one of the sender's visible messages
		if r.IntN(6) == 0 {
			var own []uint64
			for s, m := range c.msgs {
				if m.sender == sender && m.kind == pb.MessageKind_NORMAL && m.ref == 0 && !m.recalled && c.members[sender].sees(s) {
					own = append(own, s)
				}
			}
			if len(own) > 0 {
				slices.Sort(own)
				ref = own[r.IntN(len(own))]
			}
		}
		cid := fmt.Sprint("c", sc.cids.Add(1))
		body := fmt.Sprintf("%s from %s", cid, sender)
		msg := func() *pb.SendMessage {
			return &pb.SendMessage{Conv: c.id, Sender: sender, ClientMsgId: cid, Body: []byte(body), RefSeq: ref}
		}
		res, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.SendResponse, error) { return n.Send(ctx, msg()) })
		if err != nil {
			return fmt.Errorf("send %s to %s: %w", cid, c.id, err)
		}
		if old, ok := c.msgs[res.Seq]; ok {
			return fmt.Errorf("seq %d of %s acked twice: %+v and %s", res.Seq, c.id, old, cid)
		}
		c.msgs[res.Seq] = &mMsg{sender: sender, body: body, cid: cid, ref: ref}
		if ref == 0 {
			c.read[sender] = max(c.read[sender], res.Seq) // sending reads up to it; an edit does not
		}
		if r.IntN(5) == 0 {
			dup, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.SendResponse, error) { return n.Send(ctx, msg()) })
			if err != nil || !dup.Duplicate || dup.Seq != res.Seq || dup.MsgId != res.MsgId {
				return fmt.Errorf("duplicate of %s: %+v %v (first %+v)", cid, dup, err, res)
			}
		}
	case k < 58: // an outsider sends
		for _, u := range sc.users {
			if _, ok := c.members[u]; !ok {
				_, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.SendResponse, error) {
					return send(ctx, n, c.id, u, "let me in")
				})
				if actors.CodeOf(err) != pb.Code_NOT_MEMBER {
					return fmt.Errorf("outsider %s sends to %s: %v", u, c.id, err)
				}
				break
			}
		}
	case k < 78: // read
		var us []string
		for u := range c.members {
			us = append(us, u)
		}
		slices.Sort(us)
		u := us[r.IntN(len(us))]
		vl := c.visibleLast(u)
		if vl == 0 {
			return nil
		}
		seq := 1 + r.Uint64N(vl)
		res, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.MarkReadResponse, error) {
			return n.MarkRead(ctx, u, "phone", c.id, seq)
		})
		if err != nil {
			return fmt.Errorf("%s reads %s to %d: %w", u, c.id, seq, err)
		}
		// The cursor may lag the model's by the user's own sends, whose
		// read moves when their Deliver arrives.
		if res.ReadSeq < seq || res.ReadSeq > vl {
			return fmt.Errorf("%s read %s to %d: cursor %d (model %d, visible last %d)", u, c.id, seq, res.ReadSeq, c.read[u], vl)
		}
		c.read[u] = max(c.read[u], res.ReadSeq)
	case k < 88 && sc.noKill: // recall by the sender or the owner
		var cands []uint64
		for s, m := range c.msgs {
			if m.kind == pb.MessageKind_NORMAL && m.ref == 0 && !m.recalled && c.members[m.sender].left == 0 {
				cands = append(cands, s)
			}
		}
		if len(cands) == 0 {
			return nil
		}
		slices.Sort(cands)
		s := cands[r.IntN(len(cands))]
		who := c.msgs[s].sender
		if c.group && r.IntN(2) == 0 && c.members[c.owner].left == 0 {
			who = c.owner
		}
		ev, err := sc.node(r).Recall(tctx(sc.t), c.id, who, s)
		if !c.members[who].sees(s) {
			if actors.CodeOf(err) != pb.Code_NOT_FOUND {
				return fmt.Errorf("recall of unseen %d by %s: %v", s, who, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s recalls %s/%d: %w", who, c.id, s, err)
		}
		c.msgs[s].recalled = true
		for _, m := range c.msgs {
			if m.ref == s {
				m.recalled = true // a recall takes the message's edits with it
			}
		}
		c.msgs[ev] = &mMsg{sender: who, kind: pb.MessageKind_RECALL}
	case k < 100 && sc.noKill && c.group: // join or leave
		u := sc.users[r.IntN(len(sc.users))]
		m := c.members[u]
		if u == c.owner {
			return nil
		}
		if m == nil || m.left != 0 {
			seq, err := sc.node(r).ChangeMembership(tctx(sc.t), &pb.MembershipChange{Conv: c.id, Actor: c.owner, Op: pb.MembershipChange_ADD, Users: []string{u}})
			if err != nil {
				return fmt.Errorf("add %s to %s: %w", u, c.id, err)
			}
			c.members[u] = &mMember{joined: seq}
			c.msgs[seq] = &mMsg{sender: c.owner, kind: pb.MessageKind_SYSTEM}
		} else {
			seq, err := sc.node(r).ChangeMembership(tctx(sc.t), &pb.MembershipChange{Conv: c.id, Actor: u, Op: pb.MembershipChange_LEAVE})
			if err != nil {
				return fmt.Errorf("%s leaves %s: %w", u, c.id, err)
			}
			m.left = seq
			c.msgs[seq] = &mMsg{sender: u, kind: pb.MessageKind_SYSTEM}
			// A member that left keeps its read cursor; nothing after the
			// leave counts.
		}
	}
	return nil
}

// check compares the cluster with the model (DESIGN.md §9), waiting for
// fan-out to settle.
func (sc *scenario) check(name string) {
	t := sc.t
	t.Helper()
	r := rand.New(rand.NewPCG(sc.seed, 99))
	ctx := tctx(t)
	// 1, 2: every acked message is stored once with its body; seqs are
	// contiguous; stored client ids are unique.
	for _, c := range sc.convs {
		msgs, err := sc.store.ListMessages(ctx, c.id, 1, 0, storage.OldestFirst, 100000)
		if err != nil {
			t.Fatal(err)
		}
		cids := map[string]uint64{}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: %s: seq %d at position %d (gap or duplicate)", name, c.id, m.Seq, i+1)
			}
			if m.ClientMsgID != "" {
				if prev, ok := cids[m.Sender+"/"+m.ClientMsgID]; ok {
					t.Fatalf("%s: %s: client id %s stored at %d and %d", name, c.id, m.ClientMsgID, prev, m.Seq)
				}
				cids[m.Sender+"/"+m.ClientMsgID] = m.Seq
			}
			mm, ok := c.msgs[m.Seq]
			if !ok {
				if m.Kind == storage.MsgSystem && string(m.Body) == `{"op":"gap"}` {
					c.msgs[m.Seq] = &mMsg{sender: m.Sender, kind: pb.MessageKind_SYSTEM}
					continue
				}
				t.Fatalf("%s: %s: stored seq %d was never acked: %+v", name, c.id, m.Seq, m)
			}
			if pb.MessageKind(m.Kind) != mm.kind || m.Recalled() != mm.recalled ||
				(mm.kind == pb.MessageKind_NORMAL && !mm.recalled && (string(m.Body) != mm.body || m.Sender != mm.sender)) {
				t.Fatalf("%s: %s: seq %d stored %+v, model %+v", name, c.id, m.Seq, m, mm)
			}
		}
		if uint64(len(msgs)) != c.last() {
			t.Fatalf("%s: %s: %d stored, model's last seq %d: an acked message is missing", name, c.id, len(msgs), c.last())
		}
		// Members see their window in History; outsiders nothing.
		for u, m := range c.members {
			hist, err := sc.node(r).History(ctx, &pb.GetHistory{Conv: c.id, User: u, FromSeq: 1, OldestFirst: true, Limit: 1})
			if err != nil {
				t.Fatalf("%s: history of %s for %s: %v", name, c.id, u, err)
			}
			if vl := c.visibleLast(u); vl >= m.joined && (len(hist) != 1 || hist[0].Seq != m.joined) {
				t.Fatalf("%s: %s's history of %s starts at %v, joined at %d", name, u, c.id, seqs(hist), m.joined)
			}
		}
		for _, u := range sc.users {
			if _, ok := c.members[u]; !ok {
				_, err := sc.node(r).History(ctx, &pb.GetHistory{Conv: c.id, User: u})
				wantCode(t, err, pb.Code_NOT_MEMBER, name+": outsider's history")
				break
			}
		}
	}
	// 3, 4: every device's sync from 0 lists every conversation with its
	// last seq, read cursor and exact unread; the list agrees.
	for _, u := range sc.users {
		want := map[string][3]uint64{} // last, read, unread
		var total uint64
		for _, c := range sc.convs {
			if _, ok := c.members[u]; ok {
				un := c.unread(u)
				want[c.id] = [3]uint64{c.visibleLast(u), c.read[u], un}
				total += un
			}
		}
		devs := []string{"phone", "tablet"}
		if !sc.online[u] {
			devs = []string{"x"}
		}
		for _, d := range devs {
			eventually(t, func() error {
				s, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.SyncResponse, error) { return n.Sync(ctx, u, d, 0, 0) })
				if err != nil {
					return err
				}
				got := map[string][3]uint64{}
				for _, cs := range s.Conversations {
					got[cs.Conv] = [3]uint64{cs.LastSeq, cs.ReadSeq, cs.Unread}
				}
				for id, w := range want {
					if got[id] != w {
						return fmt.Errorf("%s: %s/%s sync of %s: [last read unread] %v, model %v\n%s", name, u, d, id, got[id], w, sc.dump(id, u))
					}
				}
				if len(got) != len(want) || s.TotalUnread != total {
					return fmt.Errorf("%s: %s/%s sync: %d conversations total unread %d, model %d and %d", name, u, d, len(got), s.TotalUnread, len(want), total)
				}
				return nil
			})
		}
		eventually(t, func() error {
			l, err := retry(sc, r, func(ctx context.Context, n *boot.Node) (*pb.ListConversationsResponse, error) {
				return n.ListConversations(ctx, u, "", 0)
			})
			if err != nil {
				return err
			}
			if l.TotalUnread != total || len(l.Conversations) != len(want) {
				return fmt.Errorf("%s: %s list: total %d of %d conversations, model %d of %d", name, u, l.TotalUnread, len(l.Conversations), total, len(want))
			}
			for _, cs := range l.Conversations {
				if cs.Unread != want[cs.Conv][2] {
					return fmt.Errorf("%s: %s list %s unread %d, model %d", name, u, cs.Conv, cs.Unread, want[cs.Conv][2])
				}
			}
			return nil
		})
	}
}

func scenarioConfig() actors.Config {
	return actors.Config{
		FanoutThreshold: 4, // groups of 5+ use read fan-out
		IdleTimeout:     300 * time.Millisecond,
		SendRate:        1000,
		SendBurst:       1000,
		RequestTimeout:  2 * time.Second,
	}
}

func TestScenarioSingleNode(t *testing.T) {
	store := openStore(t)
	nodes := startCluster(t, 1, store, scenarioConfig())
	sc := newScenario(t, store, nodes)
	sc.setup()
	sc.phase("warm", 300, nil)
	sc.check("warm")
	time.Sleep(700 * time.Millisecond) // idle grains passivate
	sc.phase("after passivation", 300, nil)
	sc.check("after passivation")
	sc.phase("passivating", 300, func() { time.Sleep(400 * time.Millisecond) })
	sc.check("passivating")
}

var raceProto = flag.Bool("actors.protoactor-race", false, "run the multi-node test under -race although protoactor itself races")

func TestScenarioCluster(t *testing.T) {
	store := openStore(t)
	nodes := startCluster(t, 3, store, scenarioConfig())
	ctx := tctx(t)

	t.Run("routing", func(t *testing.T) {
		// One grain whichever node is asked; pushes reach devices on any node.
		devs := make([]*device, 3)
		for i, n := range nodes {
			devs[i], _ = connect(t, n, "rx", fmt.Sprint("dev", i))
		}
		mustCreateGroup(t, nodes[0], "g:routed", "tx", "rx")
		for i, n := range nodes {
			res := mustSend(t, n, "g:routed", "tx", fmt.Sprint("via node ", i))
			if res.Seq != uint64(i+1) {
				t.Fatalf("send via node %d got seq %d: not the same grain", i, res.Seq)
			}
		}
		for i, d := range devs {
			if ms := d.waitMessages(t, 3); ms[2].Seq != 3 {
				t.Fatalf("device on node %d: %v", i, seqs(ms))
			}
		}
		for _, n := range nodes {
			s, err := n.Sync(ctx, "rx", "dev0", 0, 0)
			if err != nil || s.TotalUnread != 3 {
				t.Fatalf("sync via %v: %+v %v", n.System().Address(), s, err)
			}
		}
	})

	t.Run("scenario", func(t *testing.T) {
		sc := newScenario(t, store, nodes)
		sc.setup()
		sc.phase("warm", 300, nil)
		sc.check("warm")
		sc.noKill = false
		sc.phase("node loss", 300, func() {
			sc.dead[2].Store(true)
			nodes[2].Stop(false)
		})
		sc.check("after node loss")
	})
}

// dump describes a conversation of the model for a failure message.
func (sc *scenario) dump(id, u string) string {
	for _, c := range sc.convs {
		if c.id != id {
			continue
		}
		out := fmt.Sprintf("model of %s, member %s: %+v\n", id, u, *c.members[u])
		for s := uint64(1); s <= c.last(); s++ {
			if m := c.msgs[s]; m != nil {
				out += fmt.Sprintf("  %d %v by %s recalled=%v\n", s, m.kind, m.sender, m.recalled)
			}
		}
		return out
	}
	return ""
}
