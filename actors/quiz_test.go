package actors_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Quizzes: the answer is checked with the quiz and kept out of the log;
// a member answers once and cannot take it back; the right option and
// the explanation reach whoever answered, the author, everyone once it
// closed, and the operator; the answer survives a restart.
func TestQuiz(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxQuizExplanationBytes: 20}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "ann", "ben", "cat")
	post := func(body string) (*pb.SendResponse, error) {
		return node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "teacher", Kind: pb.MessageKind_POLL, Body: []byte(body)})
	}
	vote := func(user string, seq uint64, body string) error {
		_, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Kind: pb.MessageKind_VOTE, RefSeq: seq, Body: []byte(body)})
		return err
	}
	results := func(user string, seq uint64) *pb.PollResultsResponse {
		t.Helper()
		r, err := node.PollResults(ctx, user, g, seq, 10)
		if err != nil {
			t.Fatalf("%s reads the results: %v", user, err)
		}
		return r
	}

	for _, bad := range []string{
		`{"question":"2+2?","options":["3","4"],"quiz":true}`,                                                             // no right option
		`{"question":"2+2?","options":["3","4"],"quiz":true,"correct":2}`,                                                 // out of range
		`{"question":"2+2?","options":["3","4"],"quiz":true,"correct":1,"multiple":true}`,                                 // several answers
		`{"question":"2+2?","options":["3","4"],"correct":1}`,                                                             // not a quiz
		`{"question":"2+2?","options":["3","4"],"quiz":true,"correct":1,"explanation":"` + strings.Repeat("x", 21) + `"}`, // one past the bound
	} {
		_, err := post(bad)
		wantCode(t, err, pb.Code_INVALID, bad)
	}
	res, err := post(`{"question":"2+2?","options":["3","4","5"],"quiz":true,"correct":1,"explanation":"` + strings.Repeat("x", 20) + `"}`)
	if err != nil {
		t.Fatalf("a quiz at the explanation's bound: %v", err)
	}
	if string(res.StoredBody) != `{"question":"2+2?","options":["3","4","5"],"quiz":true}` {
		t.Fatalf("the author is told the body as stored: %s", res.StoredBody)
	}
	quiz := res.Seq
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "ann", FromSeq: quiz, ToSeq: quiz, Limit: 1})
	if err != nil || len(msgs) != 1 || strings.Contains(string(msgs[0].Body), "correct") || strings.Contains(string(msgs[0].Body), "xxx") {
		t.Fatalf("the log holds no answer: %v %v", msgs, err)
	}

	// Before answering, a member learns nothing of the answer; the author does.
	if r := results("ann", quiz); !r.Quiz || r.Correct != nil || r.Explanation != "" {
		t.Fatalf("ann before answering: %v", r)
	}
	if r := results("teacher", quiz); r.Correct == nil || *r.Correct != 1 {
		t.Fatalf("the author sees the answer: %v", r)
	}
	wantCode(t, vote("ann", quiz, "[0,1]"), pb.Code_INVALID, "two answers to a quiz")
	if err := vote("ann", quiz, "[0]"); err != nil {
		t.Fatal(err)
	}
	if r := results("ann", quiz); r.Correct == nil || *r.Correct != 1 || r.Explanation != strings.Repeat("x", 20) || fmt.Sprint(r.Mine) != "[0]" {
		t.Fatalf("ann after a wrong answer: %v", r)
	}
	wantCode(t, vote("ann", quiz, "[1]"), pb.Code_INVALID, "a second answer")
	wantCode(t, vote("ann", quiz, ""), pb.Code_INVALID, "an answer taken back")
	if r := results("ben", quiz); r.Correct != nil {
		t.Fatalf("ben, who has not answered, after ann did: %v", r)
	}

	// A plain poll is none of this: votes change and go.
	plain, err := post(`{"question":"Trip?","options":["yes","no"]}`)
	if err != nil || len(plain.StoredBody) != 0 {
		t.Fatalf("a plain poll: %v %v", plain, err)
	}
	for _, b := range []string{"[0]", "[1]", ""} {
		if err := vote("ann", plain.Seq, b); err != nil {
			t.Fatalf("a plain poll's vote %q: %v", b, err)
		}
	}
	if r := results("ann", plain.Seq); r.Quiz || r.Correct != nil {
		t.Fatalf("a plain poll's results: %v", r)
	}

	// After a restart the answer is still kept; closed, everyone sees it.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if r := results("ann", quiz); r.Correct == nil || *r.Correct != 1 {
		t.Fatalf("ann's view after a restart: %v", r)
	}
	if r := results("cat", quiz); r.Correct != nil {
		t.Fatalf("cat before the close: %v", r)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "teacher", Kind: pb.MessageKind_POLL, RefSeq: quiz}); err != nil {
		t.Fatalf("the teacher closes the quiz: %v", err)
	}
	if r := results("cat", quiz); r.Correct == nil || *r.Correct != 1 || r.Voters != 1 {
		t.Fatalf("cat after the close: %v", r)
	}
	if r, err := node.PollResultsAsOperator(ctx, g, quiz, 10); err != nil || r.Correct == nil {
		t.Fatalf("the operator's view: %v %v", r, err)
	}
}
