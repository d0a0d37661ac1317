package client

import (
	"crypto/tls"
	"strconv"
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func msg(conv string, seq uint64, sender, cmid, body string) *wirepb.Message {
	return &wirepb.Message{Conv: conv, Seq: seq, Sender: sender, ClientMsgId: cmid, Body: []byte(body)}
}

func seqs(ms []Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// Messages are held once each, ordered by seq, whatever order they come in;
// a pending send shows at once and is replaced by the server's message.
func TestStoreOrderDedupeAndPending(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	added, _ := s.addMessages([]*wirepb.Message{msg("c", 3, "bob", "", "three"), msg("c", 1, "bob", "", "one")}, true)
	if len(added) != 2 {
		t.Fatalf("added %d", len(added))
	}
	if added, _ := s.addMessages([]*wirepb.Message{msg("c", 3, "bob", "", "three")}, true); len(added) != 0 {
		t.Fatal("duplicate added")
	}
	if from, to := s.gap("c"); from != 2 || to != 2 {
		t.Fatalf("gap %d-%d", from, to)
	}
	s.addMessages([]*wirepb.Message{msg("c", 2, "bob", "", "two")}, false)
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("order %v", got)
	}
	if c, _ := s.conversation("c"); c.Unread != 2 || c.LastSeq != 3 {
		t.Fatalf("summary %+v", c)
	}

	o := &outgoing{done: make(chan struct{}), msg: Message{Conv: "c", ClientMsgID: "x1", Sender: "me", Body: []byte("mine")}}
	s.addPending(o)
	ms := s.messages("c")
	if last := ms[len(ms)-1]; last.Seq != 0 || last.State != StateSending {
		t.Fatalf("pending %+v", last)
	}
	// The push of the own message may come before the send's answer.
	s.addMessages([]*wirepb.Message{msg("c", 4, "me", "x1", "mine")}, true)
	m := s.confirm(o, &wirepb.SendResult{Conv: "c", Seq: 4, MsgId: 44})
	if m.State != StateSent || m.Seq != 4 {
		t.Fatalf("confirmed %+v", m)
	}
	if got := seqs(s.messages("c")); len(got) != 4 || got[3] != 4 {
		t.Fatalf("after confirm %v", got)
	}
	if ch := s.delivered("c", 4); len(ch) != 1 || ch[0].State != StateDelivered {
		t.Fatalf("delivered %+v", ch)
	}
	if ch := s.receipt("c", 4); len(ch) != 1 || ch[0].State != StateRead {
		t.Fatalf("read %+v", ch)
	}
	// A recall event blanks its target.
	s.addMessages([]*wirepb.Message{{Conv: "c", Seq: 5, Sender: "bob", Kind: wirepb.MessageKind_RECALL, RefSeq: 2}}, true)
	if m := s.messages("c")[1]; !m.Recalled || m.Body != nil {
		t.Fatalf("recalled %+v", m)
	}
	s.markedRead("c", 5)
	if c, _ := s.conversation("c"); c.Unread != 0 || c.ReadSeq != 5 {
		t.Fatalf("after read %+v", c)
	}
}

// The unread count is the newest summary's plus the messages above the seq
// that summary covered, however they arrive: a push, a gap filled from
// history outside a sync, or a push the server wrote before a summary it
// computed without it. Nothing a summary covered is counted twice.
func TestStoreUnreadAcrossGapsAndSummaries(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	unread := func(want uint64, after string) {
		t.Helper()
		if c, _ := s.conversation("g"); c.Unread != want {
			t.Fatalf("after %s: unread %d, want %d", after, c.Unread, want)
		}
	}
	s.applySummary(&wirepb.ConvSummary{Conv: "g", LastSeq: 2, Unread: 2, Member: true})
	s.addMessages([]*wirepb.Message{msg("g", 1, "bob", "", "1"), msg("g", 2, "bob", "", "2")}, false)
	unread(2, "the history the summary covered")
	s.addMessages([]*wirepb.Message{msg("g", 4, "bob", "", "4")}, true)
	unread(3, "a push above a gap")
	s.addMessages([]*wirepb.Message{msg("g", 3, "bob", "", "3")}, false)
	unread(4, "the gap filled from history outside a sync")
	s.addMessages([]*wirepb.Message{msg("g", 4, "bob", "", "4")}, true)
	unread(4, "a duplicate push")
	s.addMessages([]*wirepb.Message{msg("g", 5, "me", "", "5")}, true)
	unread(4, "an own message")

	// Seq 6 is pushed before the answer to a sync computed at seq 5.
	s.addMessages([]*wirepb.Message{msg("g", 6, "bob", "", "6")}, true)
	s.applySummary(&wirepb.ConvSummary{Conv: "g", LastSeq: 5, Unread: 4, Member: true})
	unread(5, "a summary older than a push held")
	// An older summary still (seq 3) does not take the count back.
	s.applySummary(&wirepb.ConvSummary{Conv: "g", LastSeq: 3, Unread: 3, Member: true})
	unread(5, "a stale summary")
	s.applySummary(&wirepb.ConvSummary{Conv: "g", LastSeq: 6, Unread: 5, Member: true})
	s.addMessages([]*wirepb.Message{msg("g", 6, "bob", "", "6")}, true)
	unread(5, "a summary covering the push, then the push again")

	// After this device reads everything, the next message counts once.
	s.markedRead("g", 6)
	unread(0, "reading all")
	s.addMessages([]*wirepb.Message{msg("g", 7, "bob", "", "7")}, false)
	unread(1, "history above what was read")

	// A new card is news as a text is; its update, a reaction and a card
	// already recalled are not.
	card := func(seq, ref uint64) *wirepb.Message {
		m := msg("g", seq, "shop", "", `{"title":"Order 7"}`)
		m.Kind, m.RefSeq = wirepb.MessageKind_CARD, ref
		return m
	}
	s.addMessages([]*wirepb.Message{card(8, 0)}, true)
	unread(2, "a new card")
	s.addMessages([]*wirepb.Message{card(9, 8)}, true)
	unread(2, "the card's update")
	gone := card(10, 0)
	gone.Recalled = true
	s.addMessages([]*wirepb.Message{gone, {Conv: "g", Seq: 11, Sender: "bob", Kind: wirepb.MessageKind_REACTION, RefSeq: 8, Body: []byte("👍")}}, true)
	unread(2, "a recalled card and a reaction")
}

// UnreadMentions counts the unread messages that name this user, the way
// Unread is counted: the summary's, plus the news above it, reset by reads.
func TestStoreUnreadMentions(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	counts := func(unread, mentions uint64, after string) {
		t.Helper()
		if c, _ := s.conversation("g"); c.Unread != unread || c.UnreadMentions != mentions {
			t.Fatalf("after %s: unread %d, mentions %d; want %d, %d", after, c.Unread, c.UnreadMentions, unread, mentions)
		}
	}
	mention := func(seq uint64, sender string, users ...string) *wirepb.Message {
		m := msg("g", seq, sender, "", strconv.FormatUint(seq, 10))
		m.Mentions = users
		return m
	}
	s.applySummary(&wirepb.ConvSummary{Conv: "g", LastSeq: 2, Unread: 2, UnreadMentions: 1, Member: true})
	counts(2, 1, "the summary")
	s.addMessages([]*wirepb.Message{mention(3, "bob", "me"), mention(4, "bob", "ann"), mention(5, "me", "bob")}, true)
	counts(4, 2, "pushes naming me, naming ann, and my own")
	s.addMessages([]*wirepb.Message{mention(3, "bob", "me")}, true)
	counts(4, 2, "a duplicate push")
	s.readUpdate("g", 3, 1, 0)
	counts(1, 0, "a read on another device")
	s.addMessages([]*wirepb.Message{mention(6, "bob", "ann", "me")}, true)
	counts(2, 1, "one more")
	s.markedRead("g", 6)
	counts(0, 0, "reading all")
}

// A delivered or read mark that moves reports exactly the own messages
// whose state it changed: those in (old mark, new mark], not the others'
// messages, not those a mark had already passed, not those above it.
func TestStoreMarksReportWhatChanged(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	var ms []*wirepb.Message
	for seq := uint64(1); seq <= 20; seq++ {
		sender := "bob"
		if seq%2 == 0 {
			sender = "me"
		}
		ms = append(ms, msg("c", seq, sender, "", "x"))
	}
	s.addMessages(ms, true)
	check := func(what string, got []Message, want ...uint64) {
		t.Helper()
		if g := seqs(got); len(g) != len(want) || len(g) > 0 && (g[0] != want[0] || g[len(g)-1] != want[len(want)-1]) {
			t.Fatalf("%s: changed %v, want %v", what, g, want)
		}
	}
	check("delivered to 7", s.delivered("c", 7), 2, 4, 6)
	check("delivered to 7 again", s.delivered("c", 7))
	check("delivered back to 3", s.delivered("c", 3))
	check("read to 5", s.receipt("c", 5), 2, 4)
	check("delivered to 12", s.delivered("c", 12), 8, 10, 12)
	check("read to 11", s.receipt("c", 11), 6, 8, 10)
	check("read past the end", s.receipt("c", 99), 12, 14, 16, 18, 20)
	for _, m := range s.messages("c") {
		if m.Sender == "me" && m.State != StateRead {
			t.Fatalf("seq %d: %v after the last receipt", m.Seq, m.State)
		}
	}
}

// BenchmarkStoreReceipt: a receipt for the newest message of a
// conversation that holds 10,000.
func BenchmarkStoreReceipt(b *testing.B) {
	s := storeHolding(10000, "me")
	seq := uint64(0)
	for b.Loop() {
		seq = seq%10000 + 1
		if seq == 1 {
			cs := s.convs["c"]
			cs.info.DeliveredSeq = 0
		}
		s.delivered("c", seq)
	}
}

// gap names the first missing range above the oldest message held,
// wherever it is, and past the newest up to the last seq known.
func TestStoreGapFindsTheFirstHole(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	add := func(seqs ...uint64) {
		for _, q := range seqs {
			s.addMessages([]*wirepb.Message{msg("c", q, "bob", "", "x")}, true)
		}
	}
	add(5, 6, 7, 10, 11, 20)
	if from, to := s.gap("c"); from != 8 || to != 9 {
		t.Fatalf("gap %d-%d, want 8-9", from, to)
	}
	add(8, 9)
	if from, to := s.gap("c"); from != 12 || to != 19 {
		t.Fatalf("gap %d-%d, want 12-19", from, to)
	}
	add(12, 13, 14, 15, 16, 17, 18, 19)
	if from, to := s.gap("c"); from != 21 || to != 20 {
		t.Fatalf("gap %d-%d, want none (21-20)", from, to)
	}
	s.addMessages([]*wirepb.Message{msg("c", 23, "bob", "", "x")}, true)
	if from, to := s.gap("c"); from != 21 || to != 22 {
		t.Fatalf("gap %d-%d, want 21-22", from, to)
	}
}

// BenchmarkStoreGap: the gap check every push makes, in a conversation
// that holds 10,000 messages without a hole.
func BenchmarkStoreGap(b *testing.B) {
	s := storeHolding(10000, "bob")
	for b.Loop() {
		s.gap("c")
	}
}

// storeHolding is the store of user "me" holding messages 1..n of
// conversation "c", all from sender.
func storeHolding(n uint64, sender string) *store {
	s := newStore(0)
	s.setUser("me")
	ms := make([]*wirepb.Message, 0, n)
	for seq := uint64(1); seq <= n; seq++ {
		ms = append(ms, msg("c", seq, sender, "", "x"))
	}
	s.addMessages(ms, true)
	return s
}

// A message at a seq held with another msg_id means the server's log was
// restored from an older backup: what is held from that seq on is dropped
// and the server's message taken. The same message again (or a gap,
// msg_id 0, at a seq held) changes nothing.
func TestStoreTakesARestoredLog(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	with := func(seq, id uint64, body string) *wirepb.Message {
		m := msg("d", seq, "bob", "", body)
		m.MsgId = id
		return m
	}
	s.addMessages([]*wirepb.Message{with(1, 11, "one"), with(2, 12, "two"), with(3, 13, "three")}, true)
	s.markedRead("d", 3)
	if added, _ := s.addMessages([]*wirepb.Message{with(2, 12, "two"), {Conv: "d", Seq: 3, Sender: "system", Kind: wirepb.MessageKind_SYSTEM}}, true); len(added) != 0 {
		t.Fatalf("the same message and a gap were taken as new: %+v", added)
	}
	added, _ := s.addMessages([]*wirepb.Message{with(2, 22, "two, again")}, true)
	if len(added) != 1 || string(added[0].Body) != "two, again" {
		t.Fatalf("the restored log's message: %+v", added)
	}
	ms := s.messages("d")
	if got := seqs(ms); len(got) != 2 || got[0] != 1 || got[1] != 2 || ms[1].MsgID != 22 || ms[0].MsgID != 11 {
		t.Fatalf("held after the restore: %+v", ms)
	}
	// The summary follows the server's log: seq 1 stays read, the new seq
	// 2 is unread, the lost seq 3 is gone from the count and the preview.
	c, _ := s.conversation("d")
	if c.LastSeq != 2 || c.ReadSeq != 1 || c.Unread != 1 || c.LastMessage == nil || c.LastMessage.MsgID != 22 {
		t.Fatalf("summary after the restore: %+v", c)
	}
}

// An edit gives its message the newest edit's text, whatever order they
// arrive in (a newest-first page brings edits before their message), an
// older edit never overwrites a newer one, and edits count no unread.
func TestStoreEdits(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	msg := func(seq, ref uint64, body string) *wirepb.Message {
		return &wirepb.Message{Conv: "c", Seq: seq, Sender: "bob", Body: []byte(body), RefSeq: ref}
	}
	// Newest first: the second edit, the first, then the message.
	s.addMessages([]*wirepb.Message{msg(3, 1, "v3"), msg(2, 1, "v2"), msg(1, 0, "v1")}, true)
	m := s.messages("c")[0]
	if string(m.Body) != "v3" || m.EditSeq != 3 {
		t.Fatalf("message after its edits arrived first: %q edit %d, want v3 from edit 3", m.Body, m.EditSeq)
	}
	if c, _ := s.conversation("c"); c.Unread != 1 {
		t.Fatalf("unread %d, want 1 (edits are none)", c.Unread)
	}
	// Live: a new message, then an edit of it: the last message's text
	// follows; an edit of an older message moves that one on.
	s.addMessages([]*wirepb.Message{msg(5, 0, "w1")}, true)
	s.addMessages([]*wirepb.Message{msg(6, 5, "w2"), msg(7, 1, "v4")}, true)
	c, _ := s.conversation("c")
	if c.LastMessage == nil || c.LastMessage.Seq != 5 || string(c.LastMessage.Body) != "w2" || c.Unread != 2 {
		t.Fatalf("summary %+v, want the last message #5 with text w2 and 2 unread", c)
	}
	if m := s.messages("c")[0]; string(m.Body) != "v4" || m.EditSeq != 7 {
		t.Fatalf("after a live edit: %q edit %d", m.Body, m.EditSeq)
	}
	// An older edit arriving late (seq 4, never held: a gap filled after
	// edit 7) changes nothing.
	s.addMessages([]*wirepb.Message{msg(4, 1, "v-old")}, false)
	if m := s.messages("c")[0]; string(m.Body) != "v4" || m.EditSeq != 7 {
		t.Fatalf("a late older edit overwrote the text: %q edit %d", m.Body, m.EditSeq)
	}
}

// A conversation holds its newest KeepMessages: the oldest are let go
// (with their edits and reactions) and not taken again as news, but never
// the last message below a gap, so what is still missing comes as news.
func TestStoreKeepsTheNewest(t *testing.T) {
	s := newStore(3)
	s.setUser("me")
	add := func(live bool, ms ...*wirepb.Message) []Message {
		added, _ := s.addMessages(ms, live)
		return added
	}
	for seq := uint64(1); seq <= 3; seq++ {
		add(true, msg("c", seq, "bob", "", "m"+strconv.FormatUint(seq, 10)))
	}
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 1 {
		t.Fatalf("exactly KeepMessages held: %v, want [1 2 3]", got)
	}
	add(true, msg("c", 4, "bob", "", "m4"))
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Fatalf("one past KeepMessages: %v, want [2 3 4]", got)
	}
	if added := add(false, msg("c", 1, "bob", "", "m1")); len(added) != 0 {
		t.Fatalf("a message let go came again as news: %v", seqs(added))
	}
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 2 {
		t.Fatalf("a message let go was held again: %v", got)
	}

	// A gap at 6: 5 is kept while 6 is missing, whatever KeepMessages says.
	add(true, msg("c", 5, "bob", "", "m5"))
	add(true, msg("c", 7, "bob", "", "m7"), msg("c", 8, "bob", "", "m8"), msg("c", 9, "bob", "", "m9"))
	if got := seqs(s.messages("c")); len(got) != 4 || got[0] != 5 {
		t.Fatalf("with a gap: %v, want [5 7 8 9]", got)
	}
	if from, to := s.gap("c"); from != 6 || to != 6 {
		t.Fatalf("gap %d-%d, want 6-6", from, to)
	}
	if len(s.convs["c"].msgs) > 6 {
		t.Fatal("more than twice KeepMessages held")
	}
	if added := add(true, msg("c", 6, "bob", "", "m6")); len(added) != 1 || added[0].Seq != 6 {
		t.Fatalf("the gap's message did not come as news: %v", seqs(added))
	}
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 7 {
		t.Fatalf("after the gap was filled: %v, want [7 8 9]", got)
	}
	if c, _ := s.conversation("c"); c.Unread != 9 || c.LastSeq != 9 {
		t.Fatalf("summary %+v, want 9 unread through seq 9: letting go changes no count", c)
	}

	// Edits and reactions of messages let go are not held; of held ones they are.
	add(true, &wirepb.Message{Conv: "c", Seq: 10, Sender: "bob", Body: []byte("m2 again"), RefSeq: 2},
		&wirepb.Message{Conv: "c", Seq: 11, Sender: "bob", Kind: wirepb.MessageKind_REACTION, RefSeq: 3, Body: []byte("👍")},
		&wirepb.Message{Conv: "c", Seq: 12, Sender: "bob", Kind: wirepb.MessageKind_REACTION, RefSeq: 12, Body: []byte("👍")})
	cs := s.convs["c"]
	if len(cs.edits) != 0 || len(cs.reactions) != 1 {
		t.Fatalf("held %d edits and %d reactions' messages, want 0 and 1 (only seq 12's)", len(cs.edits), len(cs.reactions))
	}
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 10 {
		t.Fatalf("after edits and reactions: %v, want [10 11 12]", got)
	}

	// A hole nobody fills (14) holds the message below it until the
	// conversation holds twice KeepMessages; then it is left for History.
	add(true, msg("c", 13, "bob", "", "m13"))
	for seq := uint64(15); seq <= 19; seq++ {
		add(true, msg("c", seq, "bob", "", "m"))
	}
	if got := seqs(s.messages("c")); len(got) != 6 || got[0] != 13 {
		t.Fatalf("below an unfilled hole: %v, want [13 15 16 17 18 19]", got)
	}
	add(true, msg("c", 20, "bob", "", "m20"))
	if got := seqs(s.messages("c")); len(got) != 3 || got[0] != 18 {
		t.Fatalf("past twice KeepMessages: %v, want [18 19 20]", got)
	}
	if from, to := s.gap("c"); from <= to {
		t.Fatalf("a hole left for History is still fetched: %d-%d", from, to)
	}
}

// Negative KeepMessages holds everything; 0 takes the default.
func TestKeepMessagesConfig(t *testing.T) {
	all := newStore(-1)
	for seq := uint64(1); seq <= 50; seq++ {
		all.addMessages([]*wirepb.Message{msg("c", seq, "bob", "", "m")}, true)
	}
	if n := len(all.messages("c")); n != 50 {
		t.Fatalf("KeepMessages -1 held %d of 50", n)
	}
	c := Config{Addr: "x:1", TLS: &tls.Config{}, Token: "t"}
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	if c.KeepMessages != 1000 {
		t.Fatalf("default KeepMessages %d, want 1000", c.KeepMessages)
	}
}

// A reaction to a message in a hole is let go with the hole.
func TestStoreLetsGoOfAHolesReactions(t *testing.T) {
	s := newStore(2)
	s.setUser("me")
	s.addMessages([]*wirepb.Message{msg("c", 1, "bob", "", "m1"), msg("c", 3, "bob", "", "m3"),
		{Conv: "c", Seq: 4, Sender: "bob", Kind: wirepb.MessageKind_REACTION, RefSeq: 2, Body: []byte("👍")},
		msg("c", 5, "bob", "", "m5")}, true)
	if n := len(s.convs["c"].reactions); n != 1 {
		t.Fatalf("%d reactions held before the hole was given up, want 1", n)
	}
	s.addMessages([]*wirepb.Message{msg("c", 6, "bob", "", "m6")}, true)
	if got := seqs(s.messages("c")); len(got) != 2 || got[0] != 5 {
		t.Fatalf("held %v, want [5 6]", got)
	}
	if n := len(s.convs["c"].reactions); n != 0 {
		t.Fatalf("%d reactions held for the hole given up, want 0", n)
	}
}

// The record of a call nobody answered is news to the callee, as on the
// server: it counts as unread; the other outcomes and other system notes
// do not.
func TestStoreMissedCallIsUnread(t *testing.T) {
	s := newStore(0)
	s.setUser("me")
	record := func(seq uint64, outcome string) *wirepb.Message {
		m := msg("d:bob:me", seq, "bob", "", `{"actor":"bob","call":"c`+strconv.FormatUint(seq, 10)+`","callee":"me","op":"call","outcome":"`+outcome+`","video":true}`)
		m.Kind = wirepb.MessageKind_SYSTEM
		return m
	}
	note := msg("d:bob:me", 5, "bob", "", `{"op":"add","actor":"bob"}`)
	note.Kind = wirepb.MessageKind_SYSTEM
	s.addMessages([]*wirepb.Message{record(1, "missed"), record(2, "ended"), record(3, "cancelled"), record(4, "declined"), note}, true)
	if c, _ := s.conversation("d:bob:me"); c.Unread != 2 {
		t.Fatalf("unread %d after a missed, an ended, a cancelled and a declined call and a note; want 2", c.Unread)
	}
	got := fromWire(record(1, "missed")).MissedCall()
	if got == nil || got.Caller != "bob" || got.Callee != "me" || !got.Video || got.Call != "c1" {
		t.Fatalf("missed call %+v", got)
	}
	if fromWire(record(2, "ended")).MissedCall() != nil || fromWire(record(2, "ended")).CallRecord().Outcome != "ended" || fromWire(note).CallRecord() != nil {
		t.Fatal("a call that was answered, or a note, read as missed")
	}
}
