package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// model is the plain in-memory reference the randomized test compares a
// store against. It holds only what the random operations touch.
type model struct {
	msgs     map[string]map[uint64]storage.Message  // conv → seq → message
	userConv map[string]map[string]storage.UserConv // user → conv → state
	inbox    map[string]map[uint64]storage.InboxEntry
	devices  map[string]uint64                    // user|device → cursor
	members  map[string]map[string]storage.Member // conv → user → member
	epochs   map[string]uint64
}

func newModel() *model {
	return &model{
		msgs:     map[string]map[uint64]storage.Message{},
		userConv: map[string]map[string]storage.UserConv{}, inbox: map[string]map[uint64]storage.InboxEntry{},
		devices: map[string]uint64{}, members: map[string]map[string]storage.Member{}, epochs: map[string]uint64{},
	}
}

func (m *model) lastSeq(conv string) uint64 {
	var last uint64
	for seq := range m.msgs[conv] {
		last = max(last, seq)
	}
	return last
}

func (m *model) listMessages(conv string, from, to uint64, order storage.Order, limit int) []uint64 {
	var out []uint64
	for seq := range m.msgs[conv] {
		if seq >= from && (to == 0 || seq <= to) {
			out = append(out, seq)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if order == storage.NewestFirst {
			return out[i] > out[j]
		}
		return out[i] < out[j]
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (m *model) uc(user, conv string) storage.UserConv {
	if u, ok := m.userConv[user][conv]; ok {
		return u
	}
	return storage.UserConv{UserID: user, ConvID: conv}
}

func (m *model) setUC(u storage.UserConv) {
	if m.userConv[u.UserID] == nil {
		m.userConv[u.UserID] = map[string]storage.UserConv{}
	}
	m.userConv[u.UserID][u.ConvID] = u
}

// seed returns SWITCHBOARD_SEED if set, else a fresh one.
func seed() uint64 {
	if v := os.Getenv("SWITCHBOARD_SEED"); v != "" {
		if s, err := strconv.ParseUint(v, 10, 64); err == nil {
			return s
		}
	}
	return uint64(time.Now().UnixNano())
}

// testModel applies random operation sequences to the store and to the
// model and compares every result. Rerun a failure with SWITCHBOARD_SEED.
func testModel(t *testing.T, s storage.Store, id func(string) string) {
	sd := seed()
	steps := 400
	if testing.Short() {
		steps = 150
	}
	rng := rand.New(rand.NewPCG(sd, sd^0x9e3779b97f4a7c15))
	c := ctx(t)
	m := newModel()
	users := []string{id("u0"), id("u1"), id("u2")}
	convs := []string{id("c0"), id("c1"), id("c2")}
	for _, cv := range convs {
		must(t, s.CreateConversation(c, storage.Conversation{ID: cv, Kind: storage.KindGroup}))
	}
	step := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (rerun with SWITCHBOARD_SEED=%d) step %d: %s", sd, sd, step, fmt.Sprintf(format, args...))
	}
	check := func(err error, want error) {
		t.Helper()
		if want == nil && err != nil {
			fail("unexpected error %v", err)
		}
		if want != nil && !errors.Is(err, want) {
			fail("got error %v, want %v", err, want)
		}
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	randSeq := func(conv string) uint64 { return uint64(rng.IntN(int(m.lastSeq(conv)) + 3)) }

	for step = 0; step < steps; step++ {
		conv, user := pick(convs), pick(users)
		switch op := rng.IntN(16); op {
		case 0, 1, 2: // append 1–3 new messages, or one existing seq
			if rng.IntN(5) == 0 && m.lastSeq(conv) > 0 {
				seq := 1 + uint64(rng.IntN(int(m.lastSeq(conv))))
				err := s.AppendMessages(c, conv, 0, []storage.Message{msg(conv, seq, user, "dup")})
				check(err, storage.ErrSeqExists)
				continue
			}
			n := 1 + rng.IntN(3)
			var batch []storage.Message
			for i := 0; i < n; i++ {
				mm := msg(conv, m.lastSeq(conv)+1+uint64(i), user, fmt.Sprintf("body-%d", rng.Uint32()))
				if rng.IntN(2) == 0 {
					mm.ClientMsgID = fmt.Sprintf("k%d", rng.IntN(1000))
				}
				batch = append(batch, mm)
			}
			check(s.AppendMessages(c, conv, 0, batch), nil)
			if m.msgs[conv] == nil {
				m.msgs[conv] = map[uint64]storage.Message{}
			}
			for _, mm := range batch {
				m.msgs[conv][mm.Seq] = mm
			}
		case 3, 6: // get one message
			seq := randSeq(conv)
			if seq == 0 {
				seq = 1
			}
			got, err := s.GetMessage(c, conv, seq)
			want, ok := m.msgs[conv][seq]
			if !ok {
				check(err, storage.ErrNotFound)
				continue
			}
			check(err, nil)
			if !equalMessage(got, want) {
				fail("message %d: got %+v, want %+v", seq, got, want)
			}
		case 4, 5: // page
			from, to := randSeq(conv), uint64(0)
			if rng.IntN(2) == 0 {
				to = randSeq(conv)
			}
			order, limit := storage.Order(rng.IntN(2)), 1+rng.IntN(6)
			got, err := s.ListMessages(c, conv, from, to, order, limit)
			check(err, nil)
			want := m.listMessages(conv, from, to, order, limit)
			if fmt.Sprint(seqs(got)) != fmt.Sprint(want) {
				fail("page %d..%d order %d limit %d: got %v, want %v", from, to, order, limit, seqs(got), want)
			}
			for _, g := range got {
				if !equalMessage(g, m.msgs[conv][g.Seq]) {
					fail("page message %d differs", g.Seq)
				}
			}
		case 7: // tombstone
			seq := randSeq(conv)
			if seq == 0 {
				seq = 1
			}
			err := s.TombstoneMessage(c, conv, seq)
			mm, ok := m.msgs[conv][seq]
			if !ok {
				check(err, storage.ErrNotFound)
				continue
			}
			check(err, nil)
			mm.Flags |= storage.FlagRecalled
			mm.Body = nil
			m.msgs[conv][seq] = mm
		case 8: // read cursor
			seq := uint64(rng.IntN(20))
			got, err := s.AdvanceReadCursor(c, user, conv, seq)
			check(err, nil)
			u := m.uc(user, conv)
			if seq > u.ReadSeq {
				u.ReadSeq = seq
			}
			m.setUC(u)
			if got != u.ReadSeq {
				fail("read cursor %d, want %d", got, u.ReadSeq)
			}
		case 9: // activity, pin
			u := m.uc(user, conv)
			switch rng.IntN(7) {
			case 0:
				p := rng.IntN(2) == 0
				check(s.SetPinned(c, user, conv, p), nil)
				u.Pinned = p
			case 1:
				a := uint64(rng.IntN(3)) // 0: back to the main list
				check(s.SetArchived(c, user, conv, a, time.Time{}), nil)
				u.ArchivedSeq = a
			case 2:
				mu := rng.IntN(2) == 0
				check(s.SetMarkedUnread(c, user, conv, mu), nil)
				u.MarkedUnread = mu
			default:
				when := at(float64(rng.IntN(50)))
				check(s.TouchConversation(c, user, conv, when), nil)
				if when.After(u.LastActivity) {
					u.LastActivity = when
				}
			}
			m.setUC(u)
		case 10: // user-conversation state
			got, err := s.GetUserConv(c, user, conv)
			check(err, nil)
			if want := m.uc(user, conv); !got.Equal(want) {
				fail("state of %s: got %+v, want %+v", conv, got, want)
			}
		case 11: // inbox append: next seq, or an existing one
			var last uint64
			for seq := range m.inbox[user] {
				last = max(last, seq)
			}
			e := storage.InboxEntry{UserID: user, Seq: last + 1, Kind: storage.InboxMessage, ConvID: conv, ConvSeq: uint64(rng.IntN(100)), At: at(float64(step))}
			if last > 0 && rng.IntN(5) == 0 {
				e.Seq = 1 + uint64(rng.IntN(int(last)))
				check(s.AppendInbox(c, user, []storage.InboxEntry{e}), storage.ErrSeqExists)
				continue
			}
			check(s.AppendInbox(c, user, []storage.InboxEntry{e}), nil)
			if m.inbox[user] == nil {
				m.inbox[user] = map[uint64]storage.InboxEntry{}
			}
			m.inbox[user][e.Seq] = e
		case 12: // inbox page and last seq
			after, limit := uint64(rng.IntN(len(m.inbox[user])+2)), 1+rng.IntN(5)
			got, err := s.ListInbox(c, user, after, limit)
			check(err, nil)
			var want []uint64
			for seq := after + 1; len(want) < limit; seq++ {
				if _, ok := m.inbox[user][seq]; !ok {
					break
				}
				want = append(want, seq)
			}
			var gotSeqs []uint64
			for _, g := range got {
				gotSeqs = append(gotSeqs, g.Seq)
				w := m.inbox[user][g.Seq]
				if g.ConvID != w.ConvID || g.ConvSeq != w.ConvSeq || !g.At.Equal(w.At) || g.Kind != w.Kind {
					fail("inbox entry %d: got %+v, want %+v", g.Seq, g, w)
				}
			}
			if fmt.Sprint(gotSeqs) != fmt.Sprint(want) {
				fail("inbox after %d: %v, want %v", after, gotSeqs, want)
			}
			last, err := s.LastInboxSeq(c, user)
			check(err, nil)
			if int(last) != len(m.inbox[user]) {
				fail("last inbox seq %d, want %d", last, len(m.inbox[user]))
			}
		case 13: // device cursor
			dev := fmt.Sprintf("d%d", rng.IntN(2))
			cur := uint64(rng.IntN(30))
			got, err := s.SetDeviceCursor(c, user, dev, cur, at(float64(step)))
			check(err, nil)
			k := user + "|" + dev
			m.devices[k] = max(m.devices[k], cur)
			if got != m.devices[k] {
				fail("device cursor %d, want %d", got, m.devices[k])
			}
		case 14: // membership
			if m.members[conv] == nil {
				m.members[conv] = map[string]storage.Member{}
			}
			if mem, ok := m.members[conv][user]; ok && mem.Active() && rng.IntN(2) == 0 {
				left := m.lastSeq(conv) + 1
				mem.LeftSeq = left
				check(s.PutMember(c, mem), nil)
				m.members[conv][user] = mem
			} else {
				mem := storage.Member{ConvID: conv, UserID: user, Role: storage.Role(rng.IntN(3)), JoinedSeq: m.lastSeq(conv) + 1}
				check(s.PutMember(c, mem), nil)
				m.members[conv][user] = mem
			}
			got, err := s.ListMembers(c, conv, "", 10)
			check(err, nil)
			if len(got) != len(m.members[conv]) {
				fail("members of %s: %d, want %d", conv, len(got), len(m.members[conv]))
			}
			for _, g := range got {
				if !g.Equal(m.members[conv][g.UserID]) {
					fail("member %+v, want %+v", g, m.members[conv][g.UserID])
				}
			}
		case 15: // epoch: the right view wins, a stale one loses
			seen := m.epochs[conv]
			if rng.IntN(3) == 0 && seen > 0 {
				_, err := s.AcquireEpoch(c, conv, seen-1)
				check(err, storage.ErrEpochLost)
				continue
			}
			e, err := s.AcquireEpoch(c, conv, seen)
			check(err, nil)
			m.epochs[conv] = e
			head, err := s.GetConversation(c, conv)
			check(err, nil)
			if head.Epoch != e || head.LastSeq != m.lastSeq(conv) {
				fail("head %+v, want epoch %d last seq %d", head, e, m.lastSeq(conv))
			}
		}
	}
	// A final full comparison of every conversation's log.
	for _, conv := range convs {
		got, err := s.ListMessages(c, conv, 0, 0, storage.OldestFirst, 10000)
		check(err, nil)
		want := m.listMessages(conv, 0, 0, storage.OldestFirst, 10000)
		if fmt.Sprint(seqs(got)) != fmt.Sprint(want) {
			fail("final log of %s: %v, want %v", conv, seqs(got), want)
		}
		for _, g := range got {
			if w := m.msgs[conv][g.Seq]; !equalMessage(g, w) || !bytes.Equal(g.Body, w.Body) {
				fail("final message %d differs", g.Seq)
			}
		}
	}
}
