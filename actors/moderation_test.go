package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestSuspendUser: an operator's suspension ends the user's online sessions
// with SUSPENDED and the reason, refuses their devices' connects while it
// holds (also after a node restart on the same store), leaves other users
// alone, and is lifted by Unsuspend.
func TestSuspendUser(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)

	phone, _ := connect(t, node, "mallory", "phone")
	tablet, _ := connect(t, node, "mallory", "tablet")
	bob, _ := connect(t, node, "bob", "phone")
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte("cheap watches")}); err != nil {
		t.Fatal(err)
	}

	res, err := node.Suspend(ctx, "mallory", time.Time{}, "selling counterfeit goods")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.EndedDevices, []string{"phone", "tablet"}) || res.Suspension == nil || res.Suspension.UntilMs != 0 {
		t.Fatalf("suspend answered %v", res)
	}
	for name, d := range map[string]*device{"phone": phone, "tablet": tablet} {
		eventually(t, func() error {
			if err := d.ended(); actors.CodeOf(err) != pb.Code_SUSPENDED || !strings.Contains(err.Error(), "counterfeit") {
				return fmt.Errorf("mallory's %s: ended with %v, want SUSPENDED with the reason", name, err)
			}
			return nil
		})
	}
	if err := bob.ended(); err != nil {
		t.Fatalf("bob's session was ended too: %v", err)
	}

	_, err = node.Connect(ctx, "mallory", "laptop", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "a suspended user's new device connects")
	if !strings.Contains(err.Error(), "counterfeit") || strings.Contains(err.Error(), " until ") {
		t.Fatalf("refusal does not say why, or names an end the suspension does not have: %v", err)
	}
	st, err := node.Suspension(ctx, "mallory")
	if err != nil || st.Suspension == nil || st.Suspension.Reason != "selling counterfeit goods" || len(st.OnlineDevices) != 0 {
		t.Fatalf("suspension read back %v, %v", st, err)
	}
	// Others may still write to them, and what they sent stays.
	if _, err := node.SendDirect(ctx, "mallory", &pb.SendMessage{Sender: "bob", ClientMsgId: "b1", Body: []byte("reported")}); err != nil {
		t.Fatalf("bob writes to a suspended user: %v", err)
	}

	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	ctx = tctx(t)
	_, err = node.Connect(ctx, "mallory", "phone", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "a suspended user connects after a node restart")

	if err := node.Unsuspend(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	connect(t, node, "mallory", "phone")
	st, err = node.Suspension(ctx, "mallory")
	if err != nil || st.Suspension != nil || !slices.Equal(st.OnlineDevices, []string{"phone"}) {
		t.Fatalf("after the lift: %v, %v", st, err)
	}
	if err := node.Unsuspend(ctx, "nobody-suspended"); err != nil {
		t.Fatalf("lifting a suspension that is not there: %v", err)
	}
}

// TestSuspensionExpires: a suspension with an end lets the user back in
// once it is over, without anyone lifting it.
func TestSuspensionExpires(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	until := time.Now().Add(500 * time.Millisecond)
	if _, err := node.Suspend(ctx, "carol", until, ""); err != nil {
		t.Fatal(err)
	}
	_, err := node.Connect(ctx, "carol", "phone", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "connect during a suspension")
	if !strings.Contains(err.Error(), "until "+until.UTC().Format(time.RFC3339)) {
		t.Fatalf("refusal does not say until when: %v", err)
	}
	time.Sleep(time.Until(until) + 50*time.Millisecond)
	connect(t, node, "carol", "phone")
	if st, err := node.Suspension(ctx, "carol"); err != nil || st.Suspension != nil {
		t.Fatalf("an expired suspension still reads %v, %v", st, err)
	}
}

// TestSuspensionInput: the reason's limit at its edge, an end in the past
// and a bad user id are refused INVALID.
func TestSuspensionInput(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxModerationReasonBytes: 10})[0]
	ctx := tctx(t)
	if _, err := node.Suspend(ctx, "dave", time.Time{}, strings.Repeat("r", 10)); err != nil {
		t.Fatalf("a reason at the limit: %v", err)
	}
	_, err := node.Suspend(ctx, "dave", time.Time{}, strings.Repeat("r", 11))
	wantCode(t, err, pb.Code_INVALID, "a reason over the limit")
	_, err = node.Suspend(ctx, "dave", time.Now().Add(-time.Minute), "")
	wantCode(t, err, pb.Code_INVALID, "an end in the past")
	_, err = node.Suspend(ctx, "not a user", time.Time{}, "")
	wantCode(t, err, pb.Code_INVALID, "a bad user id")
	_, err = node.Suspension(ctx, "")
	wantCode(t, err, pb.Code_INVALID, "reading an empty user id")
}

// TestSuspensionReregisterBackstop: a session that missed the grain's
// request to end it (here: the test device ignores it) is ended by its
// next re-registration, which the suspended user's grain refuses.
func TestSuspensionReregisterBackstop(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: 200 * time.Millisecond})[0]
	ctx := tctx(t)
	d, _ := connect(t, node, "erin", "phone")
	if _, err := node.Suspend(ctx, "erin", time.Time{}, "spam"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if n := d.ends.Load(); n < 2 {
			return fmt.Errorf("session ended %d times, want the grain's request and the re-registration's", n)
		}
		if err := d.ended(); actors.CodeOf(err) != pb.Code_SUSPENDED {
			return fmt.Errorf("ended with %v", err)
		}
		return nil
	})
}

// TestRecallAsOperator: a moderator recalls a message in a direct
// conversation (where no member may recall another's), long after the
// sender's recall window; every member's device learns of it; the event
// names the operator; a second recall, a missing seq and a system
// message are refused.
func TestRecallAsOperator(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{RecallWindow: time.Millisecond})[0]
	ctx := tctx(t)
	bob, _ := connect(t, node, "bob", "phone")
	scam, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte("pay me by gift card")})
	if err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("bob", "mallory")
	time.Sleep(5 * time.Millisecond) // past the sender's recall window
	_, err = node.Recall(ctx, conv, "bob", scam.Seq)
	wantCode(t, err, pb.Code_FORBIDDEN, "the other member recalls")

	ev, err := node.RecallAsOperator(ctx, conv, scam.Seq)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		for _, m := range bob.messages() {
			if m.Kind == pb.MessageKind_RECALL && m.RefSeq == scam.Seq && m.Seq == ev {
				if m.Sender != actors.OperatorSender {
					return fmt.Errorf("recall event sent by %q, want %q", m.Sender, actors.OperatorSender)
				}
				return nil
			}
		}
		return fmt.Errorf("bob's device has no recall event %d of %d", ev, scam.Seq)
	})
	hist, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Seq == scam.Seq && (!m.Recalled || len(m.Body) != 0) {
			t.Fatalf("the recalled message still reads %q (recalled %v)", m.Body, m.Recalled)
		}
	}
	_, err = node.RecallAsOperator(ctx, conv, scam.Seq)
	wantCode(t, err, pb.Code_INVALID, "a second recall")
	_, err = node.RecallAsOperator(ctx, conv, 999)
	wantCode(t, err, pb.Code_NOT_FOUND, "a seq past the end")
	_, err = node.RecallAsOperator(ctx, conv, ev)
	wantCode(t, err, pb.Code_INVALID, "recalling the recall event")
	_, err = node.RecallAsOperator(ctx, "no namespace", 1)
	wantCode(t, err, pb.Code_INVALID, "a bad conversation id")
}

// TestReports: a user reports a message they can read, sent by someone
// else; the moderators list the open reports with the message as it was
// (its first 500 bytes, cut at a rune), oldest first, page by page, after
// a node restart too; resolving closes one. Reports of one's own message,
// of a message one cannot read, of a missing, recalled or system message,
// with a reason over the limit, past the reporter's MaxOpenReportsPerReporter
// or past MaxOpenReports are refused.
func TestReports(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxOpenReports: 3, MaxOpenReportsPerReporter: 1, MaxModerationReasonBytes: 20}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	long := strings.Repeat("a", 499) + "é and more" // é straddles byte 500
	scam, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte(long)})
	if err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("bob", "mallory")

	id, dup, err := node.Report(ctx, "bob", conv, scam.Seq, "gift cards")
	if err != nil || id == "" || dup {
		t.Fatalf("report: %q %v %v", id, dup, err)
	}
	again, dup, err := node.Report(ctx, "bob", conv, scam.Seq, "again")
	if err != nil || again != id || !dup {
		t.Fatalf("the same report again: %q %v %v, want %q duplicate", again, dup, err, id)
	}
	_, _, err = node.Report(ctx, "mallory", conv, scam.Seq, "")
	wantCode(t, err, pb.Code_INVALID, "reporting one's own message")
	_, _, err = node.Report(ctx, "carol", conv, scam.Seq, "")
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger reports")
	_, _, err = node.Report(ctx, "bob", conv, 99, "")
	wantCode(t, err, pb.Code_NOT_FOUND, "a seq past the end")
	_, _, err = node.Report(ctx, "bob", conv, scam.Seq, strings.Repeat("r", 21))
	wantCode(t, err, pb.Code_INVALID, "a reason over the limit")
	mustCreateGroup(t, node, "g:market", "olga", "bob", "mallory")
	sys, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: "g:market", Actor: "olga", Op: pb.MembershipChange_ADD, Users: []string{"dave", "erin"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = node.Report(ctx, "bob", "g:market", sys, "")
	wantCode(t, err, pb.Code_INVALID, "reporting a system message")
	gone, err := node.Send(ctx, &pb.SendMessage{Conv: "g:market", Sender: "mallory", ClientMsgId: "m2", Body: []byte("oops")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.RecallAsOperator(ctx, "g:market", gone.Seq); err != nil {
		t.Fatal(err)
	}
	_, _, err = node.Report(ctx, "bob", "g:market", gone.Seq, "")
	wantCode(t, err, pb.Code_NOT_FOUND, "reporting a recalled message")

	second, err := node.Send(ctx, &pb.SendMessage{Conv: "g:market", Sender: "mallory", ClientMsgId: "m3", Body: []byte("dm me")})
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := node.Report(ctx, "olga", "g:market", second.Seq, strings.Repeat("r", 20))
	if err != nil {
		t.Fatalf("a second report, reason at the limit: %v", err)
	}
	_, _, err = node.Report(ctx, "bob", "g:market", second.Seq, "")
	wantCode(t, err, pb.Code_TOO_MANY, "bob's second open report")
	if !strings.Contains(err.Error(), "bob has 1 reports") {
		t.Fatalf("the refusal does not name the reporter's cap: %v", err)
	}
	if _, _, err := node.Report(ctx, "dave", "g:market", second.Seq, ""); err != nil {
		t.Fatalf("a third report, the list's last place: %v", err)
	}
	_, _, err = node.Report(ctx, "erin", "g:market", second.Seq, "")
	wantCode(t, err, pb.Code_TOO_MANY, "a report past MaxOpenReports")

	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	ctx = tctx(t)
	open, total, err := node.Reports(ctx, "", 1)
	if err != nil || total != 3 || len(open) != 1 || open[0].Id != id {
		t.Fatalf("first page after a restart: %v, %d, %v", open, total, err)
	}
	r := open[0]
	if r.Reporter != "bob" || r.Sender != "mallory" || r.Reason != "gift cards" || r.Conv != conv || r.Seq != scam.Seq {
		t.Fatalf("report reads %v", r)
	}
	if want := strings.Repeat("a", 499); string(r.Body) != want {
		t.Fatalf("snapshot %q (%d bytes), want the first 499 (é would cross 500)", r.Body, len(r.Body))
	}
	if open, _, err = node.Reports(ctx, id, 10); err != nil || len(open) != 2 || open[0].Id != id2 {
		t.Fatalf("the page after %s: %v, %v", id, open, err)
	}
	if _, err := node.ResolveReport(ctx, id, "suspended mallory"); err != nil {
		t.Fatal(err)
	}
	_, err = node.ResolveReport(ctx, id, "")
	wantCode(t, err, pb.Code_NOT_FOUND, "resolving a closed report")
	if open, total, err = node.Reports(ctx, "", 0); err != nil || total != 2 || open[0].Id != id2 {
		t.Fatalf("after resolving: %v, %d, %v", open, total, err)
	}
	if _, _, err := node.Report(ctx, "bob", "g:market", second.Seq, ""); err != nil {
		t.Fatalf("bob's report once his first was resolved: %v", err)
	}
}

// flakyReports fails the reports list's first loads and saves.
type flakyReports struct {
	storage.Store
	loads, saves atomic.Int32 // failures still to come
}

func (s *flakyReports) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if key == "moderation/reports" && s.loads.Add(-1) >= 0 {
		return storage.Checkpoint{}, errors.New("injected read failure")
	}
	return s.Store.LoadCheckpoint(ctx, key)
}

func (s *flakyReports) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
	if cp.Key == "moderation/reports" && s.saves.Add(-1) >= 0 {
		return errors.New("injected write failure")
	}
	return s.Store.SaveCheckpoint(ctx, cp)
}

// TestReportsStoreFailures: a reports grain whose list could not be read,
// or whose save failed, answers RETRY and starts again from the store at
// the next request; no report is lost or stored twice.
func TestReportsStoreFailures(t *testing.T) {
	store := &flakyReports{Store: openStore(t)}
	store.loads.Store(1)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	var seqs []uint64
	for i := range 2 {
		r, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: fmt.Sprint(i), Body: []byte("scam")})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, r.Seq)
	}
	conv := actors.DirectConvID("bob", "mallory")
	report := func(seq uint64) {
		t.Helper()
		eventually(t, func() error {
			_, _, err := node.Report(ctx, "bob", conv, seq, "")
			if err != nil && actors.CodeOf(err) != pb.Code_RETRY {
				t.Fatalf("report: %v, want success or RETRY", err)
			}
			return err
		})
	}
	report(seqs[0]) // the first activation could not read the list
	store.saves.Store(1)
	report(seqs[1]) // the first save failed
	if store.loads.Load() >= 0 || store.saves.Load() >= 0 {
		t.Fatalf("failures left unused: loads %d, saves %d", store.loads.Load()+1, store.saves.Load()+1)
	}
	open, total, err := node.Reports(ctx, "", 0)
	if err != nil || total != 2 || open[0].Seq != seqs[0] || open[1].Seq != seqs[1] {
		t.Fatalf("open reports %v, %d, %v; want one per message", open, total, err)
	}
}

// TestReportContext: a moderator reads the messages around a reported
// one, within the bound, and only for an open report.
func TestReportContext(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("bob", "mallory")
	var seqs []uint64
	for i := range 8 {
		from, to := "mallory", "bob"
		if i%2 == 1 {
			from, to = "bob", "mallory"
		}
		r, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, ClientMsgId: fmt.Sprint(i), Body: []byte(fmt.Sprint("m", i))})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, r.Seq)
	}
	id, _, err := node.Report(ctx, "bob", conv, seqs[2], "threat")
	if err != nil {
		t.Fatal(err)
	}
	r, msgs, err := node.ReportContext(ctx, id, 2)
	if err != nil || r.Id != id {
		t.Fatalf("context: %v, %v", r, err)
	}
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, string(m.Body))
	}
	if !slices.Equal(bodies, []string{"m0", "m1", "m2", "m3", "m4"}) {
		t.Fatalf("context %v, want m0..m4 (two on either side of m2)", bodies)
	}
	if _, msgs, err = node.ReportContext(ctx, id, 0); err != nil || len(msgs) != 8 {
		t.Fatalf("the default context: %d messages, %v; want all 8 (5 on either side)", len(msgs), err)
	}
	_, _, err = node.ReportContext(ctx, id, 21)
	wantCode(t, err, pb.Code_INVALID, "a context over the bound")
	if _, _, err := node.ReportContext(ctx, id, 20); err != nil {
		t.Fatalf("a context at the bound: %v", err)
	}
	if _, err := node.ResolveReport(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	_, _, err = node.ReportContext(ctx, id, 0)
	wantCode(t, err, pb.Code_NOT_FOUND, "the context of a resolved report")
}

// TestAutoSuspendOnReports: with --auto-suspend-reports 2, a scammer whose
// messages two different users reported is suspended until a moderator
// lifts it; one user's two reports count once; a moderator's own
// suspension is left as it is.
func TestAutoSuspendOnReports(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{AutoSuspendReports: 2})[0]
	ctx := tctx(t)
	pitch := func(to string) (string, uint64) {
		t.Helper()
		res, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: "mallory", Body: []byte("cheap watches, pay by gift card")})
		if err != nil {
			t.Fatal(err)
		}
		return actors.DirectConvID("mallory", to), res.Seq
	}
	suspension := func(user string) *pb.Suspension {
		t.Helper()
		st, err := node.Suspension(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return st.Suspension
	}
	conv, seq := pitch("ann")
	again, seq2 := pitch("ann")
	if _, _, err := node.Report(ctx, "ann", conv, seq, "scam"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.Report(ctx, "ann", again, seq2, "scam again"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // an automatic suspension would have come by now
	if s := suspension("mallory"); s != nil {
		t.Fatalf("one reporter suspended mallory: %v", s)
	}
	conv, seq = pitch("bob")
	if _, _, err := node.Report(ctx, "bob", conv, seq, "scam"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if s := suspension("mallory"); s == nil || !strings.Contains(s.Reason, "reported by 2 users") || s.UntilMs != 0 {
			return fmt.Errorf("mallory after a second reporter: %v", s)
		}
		return nil
	})
	// A moderator's own suspension stays as it is when more reports come.
	if err := node.Unsuspend(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Suspend(ctx, "mallory", time.Now().Add(time.Hour), "a week off, by the team"); err != nil {
		t.Fatal(err)
	}
	conv, seq = pitch("cid")
	if _, _, err := node.Report(ctx, "cid", conv, seq, "scam"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if s := suspension("mallory"); s == nil || s.Reason != "a week off, by the team" {
		t.Fatalf("the moderator's suspension after a third report: %v", s)
	}
}
