package analytics

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/openhours"
	"github.com/switchboard-im/switchboard/storage"
)

// Desk steps as test messages.
func start(at int64, line string) msg {
	return msg{who: "sys", at: at, desk: DeskStep{Op: DeskStart}, line: line}
}
func assigned(at int64, agent string, waitMs int64) msg {
	return msg{who: "sys", at: at, desk: DeskStep{Op: DeskAssigned, Owner: agent, WaitMs: waitMs}}
}
func transfer(at int64, to string) msg { // to "" is a transfer to a queue
	return msg{who: "sys", at: at, desk: DeskStep{Op: DeskTransfer, Owner: to}}
}
func closed(at int64, abandoned bool) msg {
	return msg{who: "sys", at: at, desk: DeskStep{Op: DeskClose, Abandoned: abandoned}}
}
func rating(at int64, session string, score int, agent string) msg { // agent "": the robot's session
	return msg{who: "sys", at: at, desk: DeskStep{Op: DeskRating, Score: score, Agent: agent, Session: session}}
}

// The worked example of docs/METRICS.md, "Service desk": after a transfer
// the new agent owns the session and the questions still open, timed from
// the transfer.
func TestTransferMovesOwnership(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		start(0, "cars"),
		msg{who: "c", at: 1 * sec},     // queued: a1's to answer from 21 s
		assigned(21*sec, "a1", 20*sec), // waited 20 s
		msg{who: "a1", at: 31 * sec},   // 10 s
		msg{who: "c", at: 40 * sec},    // a1 does not answer…
		transfer(100*sec, "a2"),        // …and hands it over: a2's from 100 s
		msg{who: "c", at: 105 * sec},   // a follow-up: 100 s is still the span's start
		msg{who: "a2", at: 170 * sec},  // 70 s: not timely
		msg{who: "c", at: 180 * sec},   // a2's
		msg{who: "a1", at: 190 * sec},  // a1 speaks, but a2 owns: a2's reply, 10 s
		closed(200*sec, false)))
	a1, a2, all := only(t, e, time.Hour, "a1"), only(t, e, time.Hour, "a2"), only(t, e, time.Hour, "*")
	if got(a1) != (want{questions: 1, timely: 1, avgResp: 10000, msgQuestions: 1, msgTimely: 1, avgMsgResp: 10000}) ||
		a1.QueueWaits != 1 || a1.AvgQueueWaitMs != 20000 {
		t.Errorf("a1 %+v", a1)
	}
	// Spans 70 s and 10 s; questions 40 s → 70 s, 105 s → 65 s, 180 s → 10 s.
	// The session (1 s to 190 s, 7 messages, first response 30 s) is a2's.
	if g := got(a2); g != (want{questions: 2, timely: 1, avgResp: 40000, msgQuestions: 3, msgTimely: 1, avgMsgResp: 145000.0 / 3,
		sessions: 1, avgSession: 189000, avgSessMsgs: 7, avgFirstResp: 30000}) || a2.QueueWaits != 0 {
		t.Errorf("a2 %+v", g)
	}
	if all.Questions != 3 || all.MsgQuestions != 4 || all.Sessions != 1 || all.QueueWaits != 1 || all.Abandoned != 0 {
		t.Errorf("* %+v", all)
	}
	if cars := only(t, e, time.Hour, LineKey("cars")); cars.Questions != 3 || cars.QueueWaits != 1 || cars.Sessions != 1 {
		t.Errorf("line %+v", cars)
	}
	if s := e.OpenSessions("c1"); len(s) != 1 || s[0].Agent != "a2" {
		t.Errorf("open sessions %+v", s)
	}
}

// A transfer to a queue leaves the conversation without an owner: a
// question asked meanwhile waits for the next assignment, whose agent
// answers it from then; each assignment counts its own queue wait.
func TestTransferToQueueAndAbandoned(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		start(0, "homes"),
		assigned(5*sec, "a1", 5*sec),
		msg{who: "c", at: 6 * sec},
		transfer(8*sec, ""),
		msg{who: "c", at: 9 * sec},
		assigned(68*sec, "a3", 60*sec),
		msg{who: "a3", at: 78 * sec}, // span from 68 s: 10 s; both questions 10 s
	))
	feed(t, e, events("c2",
		start(10*sec, "homes"),
		msg{who: "c", at: 11 * sec},
		closed(40*sec, true))) // closed while waiting: abandoned
	if a3 := only(t, e, time.Hour, "a3"); a3.Questions != 1 || a3.AvgResponseMs != 10000 || a3.MsgQuestions != 2 ||
		a3.AvgMsgResponseMs != 10000 || a3.QueueWaits != 1 || a3.AvgQueueWaitMs != 60000 || a3.Sessions != 1 {
		t.Errorf("a3 %+v", a3)
	}
	if a1 := only(t, e, time.Hour, "a1"); a1.Questions != 0 || a1.QueueWaits != 1 || a1.AvgQueueWaitMs != 5000 || a1.Sessions != 0 || a1.Abandoned != 0 {
		t.Errorf("a1 %+v", a1)
	}
	for _, key := range []string{AllKey, LineKey("homes")} {
		if r := only(t, e, time.Hour, key); r.QueueWaits != 2 || r.AvgQueueWaitMs != 32500 || r.Abandoned != 1 || r.Sessions != 2 {
			t.Errorf("%s %+v", key, r)
		}
	}
	// Placed by the step's time: the abandoned close at 10:00:40, the
	// second assignment at 10:01:08.
	for _, r := range e.Rows(Query{Size: time.Minute, Key: AllKey}) {
		switch r.WindowStart {
		case base:
			if r.QueueWaits != 1 || r.Abandoned != 1 {
				t.Errorf("10:00 %+v", r)
			}
		case base.Add(time.Minute):
			if r.QueueWaits != 1 || r.Abandoned != 0 {
				t.Errorf("10:01 %+v", r)
			}
		}
	}
}

// Without desk steps nothing changes: the replying agent answers and the
// first agent who spoke owns the session (TestTransferBetweenAgents).
// A requeue or a close clears the owner: a later reply counts for the
// agent who sent it.
func TestOwnerClearedByRequeueAndClose(t *testing.T) {
	for _, clear := range []msg{{who: "sys", at: 20 * sec, desk: DeskStep{Op: DeskRequeue}}, closed(20*sec, false)} {
		e := newEngine(t, DefaultConfig())
		feed(t, e, events("c1", assigned(0, "a1", 0), msg{who: "c", at: 10 * sec}, clear, msg{who: "a2", at: 50 * sec}))
		if a2 := only(t, e, time.Hour, "a2"); a2.Questions != 1 || a2.AvgResponseMs != 30000 || a2.Sessions != 0 {
			t.Errorf("after %s: a2 %+v", clear.desk.Op, a2)
		}
		// The session is still a1's: its last owner, at the question.
		if a1 := only(t, e, time.Hour, "a1"); a1.Questions != 0 || a1.Sessions != 1 || a1.QueueWaits != 1 {
			t.Errorf("after %s: a1 %+v", clear.desk.Op, a1)
		}
	}
}

func TestDeskOf(t *testing.T) {
	sys := func(body string) storage.Message {
		return storage.Message{Kind: storage.MsgSystem, SenderRole: storage.SenderSystem, Body: []byte(body)}
	}
	for _, tc := range []struct {
		body string
		want DeskStep
	}{
		{`{"desk":"start","session":"s/1","line":"cars","scene":"listing","data":""}`, DeskStep{Op: DeskStart}},
		{`{"desk":"start","session":"s/2","line":"cars","scene":"listing","data":"","reopened_by":17}`, DeskStep{Op: DeskStart, Reopened: true}},
		{`{"desk":"start","session":"s/3","line":"cars","scene":"listing","data":"","outbound":true,"by":"a1"}`, DeskStep{Op: DeskStart, Outbound: true}},
		{`{"desk":"start","session":"s/3","line":"cars","outbound":true,"reopened_by":17}`, DeskStep{}},
		{`{"desk":"transfer","session":"s/3","from":"","to":"user:a1","by":"a1","outbound":true}`, DeskStep{Op: DeskTransfer, Owner: "a1"}},
		{`{"desk":"start","session":"s/1","line":"cars","first_response_target_ms":120000}`, DeskStep{Op: DeskStart, TargetMs: 120000}},
		{`{"desk":"start","session":"s/1","line":"cars","first_response_target_ms":-1}`, DeskStep{}},
		// Hours without their message; hours that do not parse are none.
		{`{"desk":"start","session":"s/1","line":"cars","hours":{"tz":"UTC","week":{"mon":"09:00-17:00"},"message":"From 9."}}`,
			DeskStep{Op: DeskStart, Hours: `{"tz":"UTC","week":{"mon":"09:00-17:00"}}`}},
		// Hours that do not parse are kept: the engine counts them as none.
		{`{"desk":"start","session":"s/1","line":"cars","hours":{"tz":"Mars/Olympus","week":{}}}`,
			DeskStep{Op: DeskStart, Hours: `{"tz":"Mars/Olympus","week":{}}`}},
		// Hours longer than maxHoursLen are none.
		{`{"desk":"start","session":"s/1","hours":{"tz":"UTC","week":{},"closed_dates":["` + strings.Repeat("x", maxHoursLen) + `"]}}`,
			DeskStep{Op: DeskStart}},
		{`{"desk":"start","session":"s/1","line":"cars","hours":"always"}`, DeskStep{}},
		{`{"desk":"start","session":"s/1","line":"cars","first_response_target_ms":"2m"}`, DeskStep{}},
		{`{"desk":"handover","session":"s/1","by":"bot"}`, DeskStep{Op: DeskHandover}},
		{`{"desk":"after_hours","session":"s/1","opens_at_ms":1709280000000,"message":"We answer from 9."}`, DeskStep{Op: DeskAfterHours, OpensAtMs: 1709280000000}},
		{`{"desk":"after_hours","session":"s/1"}`, DeskStep{Op: DeskAfterHours}},
		{`{"desk":"after_hours","session":"s/1","opens_at_ms":"soon"}`, DeskStep{}},
		{`{"desk":"after_hours","session":"s/1","opens_at_ms":1125899906842625}`, DeskStep{}},
		{`{"desk":"assigned","session":"s/1","queue":"sales","agent":"a1","wait_ms":1234}`, DeskStep{Op: DeskAssigned, Owner: "a1", WaitMs: 1234}},
		// A line with opening hours: the wait in them is the queue wait.
		{`{"desk":"assigned","session":"s/1","queue":"sales","agent":"a1","wait_ms":50000000,"open_wait_ms":600000}`, DeskStep{Op: DeskAssigned, Owner: "a1", WaitMs: 600000}},
		{`{"desk":"assigned","session":"s/1","queue":"sales","agent":"a1","wait_ms":50000000,"open_wait_ms":0}`, DeskStep{Op: DeskAssigned, Owner: "a1"}},
		{`{"desk":"assigned","agent":"a1","wait_ms":5,"open_wait_ms":-1}`, DeskStep{}},
		{`{"desk":"assigned","agent":"a1","wait_ms":5,"open_wait_ms":"1"}`, DeskStep{}},
		{`{"desk":"transfer","session":"s/1","from":"a1","to":"user:a2"}`, DeskStep{Op: DeskTransfer, Owner: "a2"}},
		{`{"desk":"transfer","session":"s/1","from":"a1","to":"queue:sales"}`, DeskStep{Op: DeskTransfer}},
		{`{"desk":"requeue","session":"s/1","agent":"a1"}`, DeskStep{Op: DeskRequeue}},
		{`{"desk":"requeue","session":"s/1","agent":"a1","reason":"unanswered","answer_timeout_ms":60000}`, DeskStep{Op: DeskRequeue, Missed: true}},
		{`{"desk":"requeue","session":"s/1","agent":"a1","reason":"dropped"}`, DeskStep{Op: DeskRequeue}},
		{`{"desk":"close","session":"s/1","by":"c1","reason":"resolved","state":"queued","abandoned":true,"queue":"sales"}`,
			DeskStep{Op: DeskClose, Abandoned: true}},
		{`{"desk":"close","session":"s/1","by":"a1","reason":"resolved","state":"assigned"}`, DeskStep{Op: DeskClose}},
		{`{"desk":"overflow","session":"s/1","queue":"care","to":"queue:sales","after_ms":60000}`, DeskStep{Op: DeskOverflow}},
		{`{"desk":"rating","session":"s/1","score":4,"comment":"quick and kind","agent":"a1"}`,
			DeskStep{Op: DeskRating, Score: 4, Agent: "a1", Session: "s/1"}},
		{`{"desk":"rating","session":"s/2","score":1,"bot":"bot"}`, DeskStep{Op: DeskRating, Score: 1, Session: "s/2"}},
		{`{"desk":"rating","session":"s/1","score":5.0,"agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":0,"agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":6,"agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":4.5,"agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":"4","agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":4,"agent":"*"}`, DeskStep{}},
		{`{"desk":"rating","session":"s/1","score":4,"agent":"line:cars"}`, DeskStep{}},
		{`{"desk":"rating","score":4,"agent":"a1"}`, DeskStep{}},
		{`{"desk":"rating","session":"` + strings.Repeat("s", maxSessionLen+1) + `","score":4}`, DeskStep{}},
		// Steps the metrics do not read, and bodies that are no step.
		{`{"desk":"queued","session":"s/1","queue":"sales","position":2}`, DeskStep{}},
		{`{"op":"add","actor":"a","users":["b"]}`, DeskStep{}},
		{`{"desk":"assigned","agent":"*","wait_ms":1}`, DeskStep{}},
		{`{"desk":"assigned","agent":"line:cars"}`, DeskStep{}},
		{`{"desk":"assigned","wait_ms":1}`, DeskStep{}},
		{`{"desk":"assigned","agent":"a1","wait_ms":-5}`, DeskStep{}},
		{`{"desk":"transfer","to":"user:"}`, DeskStep{}},
		{`{"desk":"transfer","to":"a2"}`, DeskStep{}},
		{`{"desk":"assigned","agent":"a1"`, DeskStep{}},
		{`{"desk":7}`, DeskStep{}},
	} {
		if got := DeskOf(sys(tc.body)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.body, got, tc.want)
		}
	}
	m := sys(`{"desk":"assigned","agent":"a1","wait_ms":5}`)
	m.Kind = storage.MsgNormal
	if got := DeskOf(m); got != (DeskStep{}) {
		t.Errorf("a normal message's body read as a step: %+v", got)
	}
	if ev := EventFromMessage(sys(`{"desk":"assigned","agent":"a1","wait_ms":5}`)); ev.Desk.Owner != "a1" || ev.Desk.WaitMs != 5 {
		t.Errorf("EventFromMessage %+v", ev)
	}
}

func TestDeskStepRejected(t *testing.T) {
	at := base.Add(time.Second)
	for _, ev := range []Event{
		{Conv: "c", Seq: 1, Role: storage.SenderCustomer, ServerTS: at, Desk: DeskStep{Op: DeskClose}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: "queued"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned, Owner: "*"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned, Owner: "a", WaitMs: -1}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned, Owner: "a", WaitMs: maxWaitMs + 1}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRequeue, Owner: "a"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskTransfer, Abandoned: true}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskTransfer, Outbound: true}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskStart, Outbound: true, Reopened: true}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{WaitMs: 3}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRating, Session: "s/1"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRating, Score: 6, Session: "s/1"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRating, Score: 3}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRating, Score: 3, Session: "s/1", Agent: "*"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskRating, Score: 3, Session: "s/1", Owner: "a"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskClose, Score: 3}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned, Owner: "a", Agent: "a"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskClose, Session: "s/1"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskClose, Reopened: true}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskStart, OpensAtMs: 5}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAfterHours, OpensAtMs: maxAbsMillis + 1}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskHandover, Owner: "a"}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskAssigned, Owner: "a", TargetMs: 5}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskStart, TargetMs: maxWaitMs + 1}},
		{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at, Desk: DeskStep{Op: DeskClose, Hours: `{"tz":"UTC"}`}},
	} {
		e := newEngine(t, DefaultConfig())
		if err := e.Process(ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%+v: %v", ev.Desk, err)
		}
		if e.ConvSeq("c") != 0 {
			t.Errorf("%+v consumed its seq", ev.Desk)
		}
	}
	// At the edge: the longest wait and the longest hours are accepted,
	// a byte more of hours is not.
	e := newEngine(t, DefaultConfig())
	if err := e.Process(Event{Conv: "c", Seq: 1, Role: storage.SenderSystem, ServerTS: at,
		Desk: DeskStep{Op: DeskAssigned, Owner: "a", WaitMs: maxWaitMs}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Process(Event{Conv: "c", Seq: 2, Role: storage.SenderSystem, ServerTS: at,
		Desk: DeskStep{Op: DeskStart, Hours: strings.Repeat("h", maxHoursLen)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Process(Event{Conv: "c", Seq: 3, Role: storage.SenderSystem, ServerTS: at,
		Desk: DeskStep{Op: DeskStart, Hours: strings.Repeat("h", maxHoursLen+1)}}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("hours of %d bytes: %v", maxHoursLen+1, err)
	}
}

// A rating counts, by its time, for the agent who had the session, the
// line and "*"; a robot session's rating for the line and "*" only.
func TestRatingCounts(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		start(0, "cars"),
		assigned(sec, "a1", 0),
		msg{who: "c", at: 2 * sec},
		msg{who: "a1", at: 5 * sec},
		closed(60*sec, false),
		rating(5*mn, "c1/1", 4, "a1")))
	feed(t, e, events("c2", start(0, "cars"), assigned(sec, "a1", 0), closed(60*sec, false), rating(6*mn, "c2/1", 2, "a1")))
	feed(t, e, events("c3", start(0, "cars"), closed(60*sec, false), rating(7*mn, "c3/1", 5, ""))) // the robot's
	if a1 := only(t, e, time.Hour, "a1"); a1.Ratings != 2 || a1.AvgRating != 3 || a1.Satisfied != 1 || a1.CSATRate != 0.5 {
		t.Errorf("a1 %+v", a1)
	}
	for _, key := range []string{AllKey, LineKey("cars")} {
		if r := only(t, e, time.Hour, key); r.Ratings != 3 || r.AvgRating != 11.0/3 || r.Satisfied != 2 || r.CSATRate != 2.0/3 {
			t.Errorf("%s %+v", key, r)
		}
	}
	// Placed by the rating's time, not the session's.
	for _, r := range e.Rows(Query{Size: time.Minute, Key: AllKey}) {
		want := uint64(0)
		if m := r.WindowStart.Sub(base); m >= 5*time.Minute && m <= 7*time.Minute {
			want = 1
		}
		if r.Ratings != want {
			t.Errorf("minute %v: %d ratings, want %d", r.WindowStart.Sub(base), r.Ratings, want)
		}
	}
	if r := only(t, e, time.Hour, "bot"); r != (Row{}) {
		t.Errorf("a robot has a row: %+v", r)
	}
}

// A rating moves no owner and restarts no clock: the question asked
// before it is still a1's, timed from its own time.
func TestRatingKeepsOwner(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		assigned(0, "a1", 0),
		msg{who: "c", at: 10 * sec},
		rating(20*sec, "c1/0", 5, "a2"),
		msg{who: "a2", at: 30 * sec}))
	if a1 := only(t, e, time.Hour, "a1"); a1.Questions != 1 || a1.AvgResponseMs != 20000 || a1.Ratings != 0 {
		t.Errorf("a1 %+v", a1)
	}
	if a2 := only(t, e, time.Hour, "a2"); a2.Questions != 0 || a2.Ratings != 1 {
		t.Errorf("a2 %+v", a2)
	}
}

// The same session's rating written twice (a desk crash) counts once; a
// later session's rating counts again.
func TestRatingOncePerSession(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		start(0, "cars"), assigned(sec, "a1", 0), closed(10*sec, false),
		rating(20*sec, "c1/1", 5, "a1"),
		rating(21*sec, "c1/1", 5, "a1"),
		start(30*sec, "cars"), assigned(31*sec, "a1", 0), closed(40*sec, false),
		rating(50*sec, "c1/2", 1, "a1"),
		rating(51*sec, "c1/2", 1, "a1")))
	for _, key := range []string{"a1", AllKey, LineKey("cars")} {
		if r := only(t, e, time.Hour, key); r.Ratings != 2 || r.AvgRating != 3 || r.Satisfied != 1 || r.CSATRate != 0.5 {
			t.Errorf("%s %+v", key, r)
		}
	}
}

// A body that is not a valid rating only consumes its seq.
func TestInvalidRatingConsumesSeq(t *testing.T) {
	for _, body := range []string{
		`{"desk":"rating","session":"c1/1","score":0,"agent":"a1"}`,
		`{"desk":"rating","session":"c1/1","score":6,"agent":"a1"}`,
		`{"desk":"rating","session":"c1/1","agent":"a1"}`,
		`{"desk":"rating","session":"c1/1","score":4.5,"agent":"a1"}`,
		`{"desk":"rating","session":"c1/1","score":"4","agent":"a1"}`,
	} {
		e := newEngine(t, DefaultConfig())
		m := storage.Message{ConvID: "c1", Seq: 1, Sender: "cust", SenderRole: storage.SenderCustomer, Kind: storage.MsgSystem,
			Body: []byte(body), ServerTS: base}
		if err := e.Process(EventFromMessage(m)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if e.ConvSeq("c1") != 1 || len(e.Rows(Query{})) != 0 {
			t.Errorf("%s: seq %d, rows %+v", body, e.ConvSeq("c1"), e.Rows(Query{}))
		}
		// The valid body counts.
		m.Seq, m.Body = 2, []byte(`{"desk":"rating","session":"c1/1","score":4,"agent":"a1"}`)
		if err := e.Process(EventFromMessage(m)); err != nil {
			t.Fatal(err)
		}
		if r := only(t, e, time.Hour, "a1"); r.Ratings != 1 || r.AvgRating != 4 {
			t.Errorf("after %s: a1 %+v", body, r)
		}
	}
}

// deskFirst sums a key's desk-session first responses over its hour
// rows: how many, how many timely, and their total in ms.
func deskFirst(e *Engine, key string) (n, timely uint64, totalMs float64) {
	for _, r := range e.Rows(Query{Size: time.Hour, Key: key}) {
		n += r.DeskFirstResponses
		timely += r.DeskFirstTimely
		totalMs += r.AvgDeskFirstResponseMs * float64(r.DeskFirstResponses)
	}
	return n, timely, totalMs
}

// A desk session's first response is timed from the customer's asking to
// the first agent message, across any gap: a question left overnight is
// 15 hours, where the activity sessions it splits into have no first
// response at all (docs/METRICS.md, "First response of a desk session").
func TestDeskFirstResponseAcrossTheNight(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	night := 15 * 60 * mn
	feed(t, e, events("c1",
		start(8*60*mn, "cars"), // 18:00
		msg{who: "c", at: 8*60*mn + 5*sec},
		assigned(night+8*60*mn, "a1", night),
		msg{who: "a1", at: night + 8*60*mn + 30*sec}, // 09:00:30 the next day
		msg{who: "c", at: night + 8*60*mn + mn},
		msg{who: "a1", at: night + 8*60*mn + 2*mn}, // not the first: not counted again
	))
	for _, key := range []string{"a1", AllKey, LineKey("cars")} {
		if n, timely, total := deskFirst(e, key); n != 1 || timely != 0 || total != float64(night+30*sec) {
			t.Errorf("%s: %d first responses (%d timely), %v ms in all; want 1 (0) of %d ms", key, n, timely, total, night+30*sec)
		}
	}
	var frt uint64
	for _, r := range e.Rows(Query{Size: time.Hour, Key: AllKey}) {
		if r.AvgFirstResponseMs != 0 {
			frt++
		}
	}
	if frt != 0 {
		t.Errorf("the activity sessions have %d first responses; the night splits them and leaves none", frt)
	}
}

// An agent who reaches out first answers nobody: an outbound session has
// no desk first response, neither for the agent's opening message nor for
// the reply to the customer's answer; the session after it has its own.
func TestOutboundSessionHasNoFirstResponse(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		msg{who: "sys", at: mn, desk: DeskStep{Op: DeskStart, Outbound: true}, line: "cars"},
		transfer(mn, "a1"),
		msg{who: "a1", at: mn + sec},      // "your car is ready"
		msg{who: "c", at: 2 * mn},         // "thanks, when can I pick it up?"
		msg{who: "a1", at: 2*mn + 30*sec}, // a reply, not a desk first response
		closed(3*mn, false),
		start(10*mn, "cars"),
		assigned(10*mn+5*sec, "a1", 5*sec),
		msg{who: "a1", at: 10*mn + 20*sec},
	))
	for _, key := range []string{"a1", AllKey, LineKey("cars")} {
		if n, _, total := deskFirst(e, key); n != 1 || total != float64(20*sec) {
			t.Errorf("%s: %d desk first responses, %v ms in all; want only the entered session's, 20 s", key, n, total)
		}
	}
}

// Where the clock starts: a session that starts while its line is closed
// is timed from the opening; time with the robot is not the agents'; an
// entry is the asking even before the customer writes; a reopened session
// from the customer's message after the close; a close ends the wait.
func TestDeskFirstResponseClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		msgs []msg
		want int64 // -1: no first response
	}{
		{"after hours", []msg{
			start(0, "cars"),
			{who: "sys", at: 100 * sec, desk: DeskStep{Op: DeskAfterHours, OpensAtMs: base.Add(60 * time.Minute).UnixMilli()}},
			msg{who: "c", at: 200 * sec},
			assigned(60*mn, "a1", 60*mn),
			msg{who: "a1", at: 65 * mn},
		}, 5 * mn},
		{"answered before the line opens", []msg{
			start(0, "cars"),
			{who: "sys", at: sec, desk: DeskStep{Op: DeskAfterHours, OpensAtMs: base.Add(60 * time.Minute).UnixMilli()}},
			assigned(10*sec, "a1", 10*sec),
			msg{who: "a1", at: 20 * sec},
		}, 0},
		{"a line that never opens again", []msg{
			start(0, "cars"),
			{who: "sys", at: sec, desk: DeskStep{Op: DeskAfterHours}},
			assigned(10*sec, "a1", 10*sec),
			msg{who: "a1", at: 20 * sec},
		}, 20 * sec},
		{"the robot first", []msg{
			start(0, "cars"),
			msg{who: "c", at: 5 * sec},
			msg{who: "?", at: 6 * sec}, // the robot answers: not an agent
			{who: "sys", at: 5 * mn, desk: DeskStep{Op: DeskHandover}},
			assigned(5*mn+sec, "a1", sec),
			msg{who: "a1", at: 6 * mn},
		}, mn},
		{"an agent greets first", []msg{
			start(0, "cars"),
			assigned(2*sec, "a1", 2*sec),
			msg{who: "a1", at: 10 * sec},
			msg{who: "c", at: 20 * sec},
		}, 10 * sec},
		{"reopened", []msg{
			start(0, "cars"),
			assigned(sec, "a1", sec),
			msg{who: "a1", at: 2 * sec},
			closed(mn, false),
			msg{who: "c", at: 30 * mn},
			msg{who: "c", at: 30*mn - 3*sec, srv: 4 * sec}, // sent before, arrived after: the earliest asked
			{who: "sys", at: 31 * mn, desk: DeskStep{Op: DeskStart, Reopened: true}},
			assigned(31*mn+sec, "a1", sec),
			msg{who: "a1", at: 33 * mn},
		}, -2}, // two first responses: 2 s and 3 min 3 s
		{"started anew after a close", []msg{
			start(0, "cars"),
			closed(mn, true),
			msg{who: "c", at: 30 * mn}, // not a reopen: the entry at 40 min asks
			start(40*mn, ""),
			assigned(41*mn, "a1", mn),
			msg{who: "a1", at: 42 * mn},
		}, 2 * mn},
		{"closed unanswered", []msg{
			start(0, "cars"),
			msg{who: "c", at: sec},
			closed(mn, true),
			msg{who: "a1", at: 2 * mn}, // after the close: no session to answer
		}, -1},
		{"no desk", []msg{
			msg{who: "c", at: 0},
			msg{who: "a1", at: 10 * sec},
		}, -1},
	} {
		e := newEngine(t, DefaultConfig())
		feed(t, e, events("c1", tc.msgs...))
		n, _, total := deskFirst(e, AllKey)
		switch {
		case tc.want == -1 && n != 0:
			t.Errorf("%s: %d first responses (%v ms), want none", tc.name, n, total)
		case tc.want == -2 && (n != 2 || total != float64(2*sec+3*mn+3*sec)):
			t.Errorf("%s: %d first responses, %v ms in all; want 2 of 2 s and 3 min 3 s", tc.name, n, total)
		case tc.want >= 0 && (n != 1 || total != float64(tc.want)):
			t.Errorf("%s: %d first responses, %v ms in all; want 1 of %d ms", tc.name, n, total, tc.want)
		}
	}
}

// A session whose start names its line's first-response target is timely
// against it; one without, against the reply threshold.
func TestDeskFirstResponseTarget(t *testing.T) {
	target := func(at int64, ms int64) msg {
		return msg{who: "sys", at: at, desk: DeskStep{Op: DeskStart, TargetMs: ms}, line: "cars"}
	}
	thr := DefaultConfig().ReplyThreshold.Milliseconds()
	for _, tc := range []struct {
		name   string
		start  msg
		answer int64 // ms after the start
		timely uint64
	}{
		{"within the target", target(0, 2*mn), 2 * mn, 1},
		{"past the target", target(0, 2*mn), 2*mn + 1, 0},
		{"a target above the threshold", target(0, thr+mn), thr + mn, 1},
		{"no target: the threshold", start(0, "cars"), thr, 1},
		{"no target: past the threshold", start(0, "cars"), thr + 1, 0},
	} {
		e := newEngine(t, DefaultConfig())
		feed(t, e, events("c1", tc.start, assigned(sec, "a1", sec), msg{who: "a1", at: tc.answer}))
		if n, timely, _ := deskFirst(e, LineKey("cars")); n != 1 || timely != tc.timely {
			t.Errorf("%s: %d first responses, %d timely; want 1, %d", tc.name, n, timely, tc.timely)
		}
	}
}

// Where the start records its line's opening hours, the first response
// counts them only: a question asked five minutes before Friday's close
// and answered five minutes after Monday's opening took ten minutes of
// the desk's time; a session without hours (or with hours that do not
// parse) counts the whole weekend.
func TestDeskFirstResponseInOpeningHours(t *testing.T) {
	hours, err := hoursKey(openhours.Hours{TZ: "Europe/Berlin", Week: map[string]string{"mon": "09:00-18:00", "fri": "09:00-18:00"}})
	if err != nil {
		t.Fatal(err)
	}
	// base is Friday 2024-03-01 10:00 UTC, 11:00 in Berlin: Friday's close
	// is 17:00 UTC, 7 h on; Monday's opening 08:00 UTC, 70 h on.
	asked := 7*60*mn - 5*mn
	answered := 70*60*mn + 5*mn
	for _, tc := range []struct {
		hours string
		want  int64
	}{{hours, 10 * mn}, {"", answered - asked}, {`{"tz":"Mars/Olympus"}`, answered - asked}} {
		e := newEngine(t, DefaultConfig())
		feed(t, e, events("c1",
			msg{who: "sys", at: asked, desk: DeskStep{Op: DeskStart, Hours: tc.hours}, line: "cars"},
			assigned(asked+sec, "a1", sec),
			msg{who: "a1", at: answered}))
		if n, _, total := deskFirst(e, "a1"); n != 1 || total != float64(tc.want) {
			t.Errorf("hours %q: %d first responses, %v ms; want 1 of %d ms", tc.hours, n, total, tc.want)
		}
	}
}

// The engine keeps at most maxSchedules parsed opening hours: past the
// bound it starts again and still answers every key.
func TestScheduleCacheBound(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	key := func(i int) string {
		return fmt.Sprintf(`{"tz":"UTC","week":{"mon":"09:00-17:00"},"closed_dates":["%d-01-01"]}`, 3000+i)
	}
	for i := range maxSchedules + 1 {
		if e.schedule(key(i)) == nil {
			t.Fatalf("hours %d did not parse", i)
		}
		if len(e.schedules) > maxSchedules {
			t.Fatalf("%d hours cached, bound %d", len(e.schedules), maxSchedules)
		}
	}
	if len(e.schedules) != 1 {
		t.Fatalf("%d hours cached after the bound, want the newest only", len(e.schedules))
	}
}

// An owner's handling of a session runs from its assignment (or the
// transfer to it) to the step that ends it: a transfer or a requeue hands
// it on, the close resolves it. Each counts for the owner, the line and
// "*", placed by its end; the same assignment written again after a crash
// neither ends nor restarts the handling nor counts its queue wait again,
// and a close without an owner
// (abandoned while waiting) handles nothing.
func TestDeskHandleTime(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	requeue := func(at int64) msg { return msg{who: "sys", at: at, desk: DeskStep{Op: DeskRequeue}} }
	feed(t, e, events("c1",
		start(0, "cars"),
		assigned(10*sec, "a1", 10*sec),
		assigned(40*sec, "a1", 10*sec), // written again: a1 holds it from 10 s
		msg{who: "a1", at: 50 * sec},
		transfer(70*sec, "a2"), // a1: 60 s, handed on
		requeue(100*sec),       // a2: 30 s, handed on
		assigned(130*sec, "a1", 30*sec),
		closed(330*sec, false))) // a1: 200 s, resolved
	feed(t, e, events("c2",
		start(0, "cars"),
		closed(20*sec, true))) // abandoned: nobody held it
	for _, c := range []struct {
		key               string
		handled, resolved uint64
		avgHandleMs       float64
	}{
		{"a1", 2, 1, 130000},
		{"a2", 1, 0, 30000},
		{LineKey("cars"), 3, 1, 290000.0 / 3},
		{"*", 3, 1, 290000.0 / 3},
	} {
		r := only(t, e, time.Hour, c.key)
		if r.DeskHandled != c.handled || r.DeskResolved != c.resolved || r.AvgHandleMs != c.avgHandleMs {
			t.Errorf("%s: handled %d, resolved %d, avg %v ms; want %d, %d, %v", c.key, r.DeskHandled, r.DeskResolved, r.AvgHandleMs, c.handled, c.resolved, c.avgHandleMs)
		}
	}
	// Nor does it count a second queue wait: a1 waited for twice.
	if r := only(t, e, time.Hour, "a1"); r.QueueWaits != 2 || r.AvgQueueWaitMs != 20000 {
		t.Errorf("a1: %d queue waits, avg %v ms; want 2, 20000", r.QueueWaits, r.AvgQueueWaitMs)
	}
}

// TestDeskCutAssignment: a thread that recorded an assignment and
// crashed before it took effect leaves the session waiting; the log
// then holds the assignment followed by an abandoning close or an
// overflow (docs/DESK.md, "Not yet"). Before, the agent of that
// assignment was counted as having handled the session (and resolved
// it, at the abandoning close) though they never had it.
func TestDeskCutAssignment(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	overflow := func(at int64) msg { return msg{who: "sys", at: at, desk: DeskStep{Op: DeskOverflow}} }
	feed(t, e, events("c1",
		start(0, "cars"),
		assigned(10*sec, "a1", 10*sec), // cut by a crash
		closed(40*sec, true)))          // the customer left while waiting
	feed(t, e, events("c2",
		start(0, "cars"),
		assigned(10*sec, "a1", 10*sec), // cut by a crash
		overflow(30*sec),               // the session moved on along its route
		assigned(50*sec, "a2", 20*sec),
		closed(80*sec, false))) // a2: 30 s, resolved
	for _, c := range []struct {
		key               string
		handled, resolved uint64
	}{
		{"a1", 0, 0},
		{"a2", 1, 1},
		{"*", 1, 1},
	} {
		if r := only(t, e, time.Hour, c.key); r.DeskHandled != c.handled || r.DeskResolved != c.resolved {
			t.Errorf("%s: handled %d, resolved %d; want %d, %d", c.key, r.DeskHandled, r.DeskResolved, c.handled, c.resolved)
		}
	}
	if r := only(t, e, time.Hour, "a2"); r.AvgHandleMs != 30000 {
		t.Errorf("a2: avg handle %v ms, want 30000", r.AvgHandleMs)
	}
	if r := only(t, e, time.Hour, "*"); r.Abandoned != 1 {
		t.Errorf("*: %d abandoned, want 1", r.Abandoned)
	}
}

// TestDeskMissed: a session the desk took back unanswered counts as
// missed for the agent who had it, its line and "*"; a requeue for any
// other reason, and the same requeue written again, count nothing.
func TestDeskMissed(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	missed := func(at int64) msg { return msg{who: "sys", at: at, desk: DeskStep{Op: DeskRequeue, Missed: true}} }
	feed(t, e, events("c1",
		start(0, "cars"),
		assigned(10*sec, "a1", 10*sec),
		missed(70*sec), // a1 missed it
		missed(71*sec), // written again after a crash: nobody holds it
		assigned(80*sec, "a2", 70*sec),
		msg{who: "a2", at: 90 * sec},
		closed(120*sec, false)))
	feed(t, e, events("c2",
		start(0, "homes"),
		assigned(5*sec, "a2", 5*sec),
		msg{who: "sys", at: 30 * sec, desk: DeskStep{Op: DeskRequeue}}, // a2 went offline
		assigned(40*sec, "a1", 40*sec),
		missed(100*sec))) // a1 again
	for _, c := range []struct {
		key    string
		missed uint64
	}{{"a1", 2}, {"a2", 0}, {LineKey("cars"), 1}, {LineKey("homes"), 1}, {"*", 2}} {
		if r := only(t, e, time.Hour, c.key); r.DeskMissed != c.missed {
			t.Errorf("%s: missed %d, want %d", c.key, r.DeskMissed, c.missed)
		}
	}
}
