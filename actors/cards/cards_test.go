package cards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/cards"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

var secret = []byte("0123456789abcdef-test-secret")

// business is the card webhook under test's control: per action id, how
// it behaves. It verifies the node's signature and signs its answers.
type business struct {
	mu       sync.Mutex
	attempts map[string]int    // by action
	keys     map[string]string // idempotency key by action
	badSig   int               // requests whose signature did not verify
}

func (b *business) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !cards.Verify(secret, body, r.Header.Get(cards.SignatureHeader)) {
		b.mu.Lock()
		b.badSig++
		b.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var req cards.Request
	if err := json.Unmarshal(body, &req); err != nil || r.Header.Get("Idempotency-Key") != req.IdempotencyKey {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.attempts[req.Action]++
	n := b.attempts[req.Action]
	b.keys[req.Action] = req.IdempotencyKey
	b.mu.Unlock()
	answer := func(key []byte, a cards.Answer) {
		out, _ := json.Marshal(a)
		w.Header().Set(cards.SignatureHeader, cards.Sign(key, out))
		_, _ = w.Write(out)
	}
	updated := func() json.RawMessage {
		var p map[string]string
		_ = json.Unmarshal(req.Payload, &p)
		return json.RawMessage(fmt.Sprintf(`{"title":"Viewing booked","fields":[{"label":"when","value":%q},{"label":"by","value":%q}]}`, p["slot"], req.User))
	}
	switch req.Action {
	case "book":
		answer(secret, cards.Answer{Mode: "update", Card: updated()})
	case "flaky": // fails twice, then answers
		if n <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		answer(secret, cards.Answer{Mode: "new", Text: "booked after a hiccup"})
	case "slow": // the first attempt outlasts the node's timeout
		if n == 1 {
			time.Sleep(600 * time.Millisecond)
		}
		answer(secret, cards.Answer{Mode: "new", Text: "slow but booked"})
	case "down":
		http.Error(w, "down", http.StatusInternalServerError)
	case "refuse":
		http.Error(w, "no such slot", http.StatusBadRequest)
	case "forged": // an answer not signed with the shared secret
		answer([]byte("someone-else-entirely-0000"), cards.Answer{Mode: "new", Text: "pay here: evil.example"})
	case "badcard":
		answer(secret, cards.Answer{Mode: "update", Card: json.RawMessage(`{"title":"x","colour":"red"}`)})
	case "nothing":
		answer(secret, cards.Answer{Mode: "none"})
	}
}

func startNode(t *testing.T, webhook string, key []byte) *boot.Node {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "cards-test",
		Actors: actors.Config{MaxCardActions: 8},
		Cards:  cards.Config{URL: webhook, Secret: key, Timeout: 300 * time.Millisecond, Retries: 3, Backoff: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(true) })
	return n
}

func card(actions ...string) []byte {
	var as []string
	for _, a := range actions {
		as = append(as, fmt.Sprintf(`{"id":%q,"label":"%s","payload":{"slot":"Fri 10:00"}}`, a, a))
	}
	return []byte(`{"title":"2019 Volvo V60","fields":[{"label":"price","value":"€18,900"}],"image_url":"https://img.example/v60.jpg","actions":[` + strings.Join(as, ",") + `]}`)
}

func TestCardRoundTrip(t *testing.T) {
	biz := &business{attempts: map[string]int{}, keys: map[string]string{}}
	hs := httptest.NewServer(biz)
	defer hs.Close()
	n := startNode(t, hs.URL, secret)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const g = "g:cards"
	if _, err := n.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "biz",
		Members: []*pb.Member{{User: "c1"}}}); err != nil {
		t.Fatal(err)
	}
	sent := 0
	send := func(kind pb.MessageKind, body []byte) (*pb.SendResponse, error) {
		sent++
		return n.Send(ctx, &pb.SendMessage{Conv: g, Sender: "biz", ClientMsgId: fmt.Sprint("s", sent), Kind: kind, Body: body})
	}

	// Malformed and unknown cards are refused with a clear error.
	for _, bad := range []string{
		`{"title":"x","colour":"red"}`, // unknown field
		`{"fields":[]}`,                // no title
		`not json`,
		`{"title":"x","image_url":"javascript:alert(1)"}`,
		`{"title":"x","actions":[{"id":"a","label":"A"},{"id":"a","label":"B"}]}`, // duplicate id
		`{"title":"x","actions":[{"id":"has space","label":"A"}]}`,
		`{"title":"x"} {"title":"y"}`,
	} {
		if _, err := send(pb.MessageKind_CARD, []byte(bad)); actors.CodeOf(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "bad card") {
			t.Errorf("card %s: %v, want INVALID bad card", bad, err)
		}
	}
	if _, err := send(pb.MessageKind_SYSTEM, []byte(`{"op":"fake"}`)); actors.CodeOf(err) != pb.Code_INVALID {
		t.Errorf("a client's system message: %v", err)
	}
	// The action limit at its edge: 8 fine, 9 refused.
	if _, err := send(pb.MessageKind_CARD, card("a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9")); actors.CodeOf(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "limit 8") {
		t.Errorf("9 actions: %v", err)
	}
	fields := func(n int) []byte {
		var fs []string
		for i := range n {
			fs = append(fs, fmt.Sprintf(`{"label":"f%d","value":"v"}`, i))
		}
		return []byte(`{"title":"t","fields":[` + strings.Join(fs, ",") + `]}`)
	}
	if _, err := send(pb.MessageKind_CARD, fields(16)); err != nil {
		t.Errorf("16 fields (the default limit): %v", err)
	}
	if _, err := send(pb.MessageKind_CARD, fields(17)); actors.CodeOf(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "limit 16") {
		t.Errorf("17 fields: %v", err)
	}
	r, err := send(pb.MessageKind_CARD, card("book", "flaky", "slow", "down", "refuse", "forged", "badcard", "nothing"))
	if err != nil {
		t.Fatal(err)
	}
	seq := r.Seq

	click := func(user, action string) (cards.Result, error) {
		return n.Cards.Click(ctx, user, g, seq, action)
	}
	history := func() []*pb.Message {
		msgs, err := n.History(ctx, &pb.GetHistory{Conv: g, User: "c1", FromSeq: seq + 1, OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}

	// A click becomes a card update by the card's sender.
	res, err := click("c1", "book")
	if err != nil || res.Mode != "update" || res.Attempts != 1 {
		t.Fatalf("book: %+v, %v", res, err)
	}
	msgs := history()
	if len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_CARD || msgs[0].RefSeq != seq || msgs[0].Sender != "biz" ||
		!strings.Contains(string(msgs[0].Body), `"Fri 10:00"`) || !strings.Contains(string(msgs[0].Body), `"c1"`) {
		t.Fatalf("after book: %v", msgs)
	}
	// Clicking again reaches the webhook with the same idempotency key and
	// posts nothing new.
	key := biz.keys["book"]
	res, err = click("c1", "book")
	if err != nil || !res.Duplicate || res.Seq != msgs[0].Seq || biz.keys["book"] != key || len(history()) != 1 {
		t.Fatalf("second book: %+v, %v (key %s → %s)", res, err, key, biz.keys["book"])
	}

	// A failing business system: retried with backoff until it answers.
	res, err = click("c1", "flaky")
	if err != nil || res.Attempts != 3 || biz.attempts["flaky"] != 3 {
		t.Fatalf("flaky: %+v, %v, server saw %d", res, err, biz.attempts["flaky"])
	}
	// A slow one: the first attempt times out, the retry succeeds.
	res, err = click("c1", "slow")
	if err != nil || res.Attempts != 2 {
		t.Fatalf("slow: %+v, %v", res, err)
	}
	before := len(history())
	// Down for good: every attempt, then UPSTREAM_FAILED; nothing posted.
	res, err = click("c1", "down")
	if actors.CodeOf(err) != pb.Code_UPSTREAM_FAILED || res.Attempts != 4 || biz.attempts["down"] != 4 {
		t.Fatalf("down: %+v, %v, server saw %d", res, err, biz.attempts["down"])
	}
	// A 4xx is final: one attempt.
	res, err = click("c1", "refuse")
	if actors.CodeOf(err) != pb.Code_UPSTREAM_FAILED || res.Attempts != 1 || !strings.Contains(err.Error(), "400") {
		t.Fatalf("refuse: %+v, %v", res, err)
	}
	// A forged answer is refused and not retried.
	res, err = click("c1", "forged")
	if actors.CodeOf(err) != pb.Code_UPSTREAM_FAILED || res.Attempts != 1 || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("forged: %+v, %v", res, err)
	}
	// An answer with a malformed card.
	if _, err = click("c1", "badcard"); actors.CodeOf(err) != pb.Code_UPSTREAM_FAILED || !strings.Contains(err.Error(), "bad card") {
		t.Fatalf("badcard: %v", err)
	}
	if res, err = click("c1", "nothing"); err != nil || res.Mode != "none" {
		t.Fatalf("nothing: %+v, %v", res, err)
	}
	if got := len(history()); got != before {
		t.Fatalf("failed clicks posted %d messages", got-before)
	}
	// Clicks the node refuses before calling anybody.
	if _, err := click("c1", "nosuch"); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("unknown action: %v", err)
	}
	if _, err := click("stranger", "book"); err == nil {
		t.Fatal("a non-member clicked")
	}
	if _, err := n.Cards.Click(ctx, "c1", g, msgs[0].Seq+100, "book"); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("no card there: %v", err)
	}
	// Updates are the card sender's only.
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: g, Sender: "c1", Kind: pb.MessageKind_CARD, RefSeq: seq, Body: card()}); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("c1 updates biz's card: %v", err)
	}
	if biz.badSig != 0 {
		t.Fatalf("%d node requests failed the signature check", biz.badSig)
	}
}

// A node with the wrong secret: the business refuses its requests (401,
// final) and nothing is posted.
func TestCardForgedRequestRefused(t *testing.T) {
	biz := &business{attempts: map[string]int{}, keys: map[string]string{}}
	hs := httptest.NewServer(biz)
	defer hs.Close()
	n := startNode(t, hs.URL, []byte("not-the-shared-secret-at-all"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:c", Kind: pb.ConvKind_GROUP, Creator: "biz", Members: []*pb.Member{{User: "c1"}}}); err != nil {
		t.Fatal(err)
	}
	r, err := n.Send(ctx, &pb.SendMessage{Conv: "g:c", Sender: "biz", Kind: pb.MessageKind_CARD, Body: card("book")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := n.Cards.Click(ctx, "c1", "g:c", r.Seq, "book")
	if actors.CodeOf(err) != pb.Code_UPSTREAM_FAILED || res.Attempts != 1 || biz.badSig != 1 || biz.attempts["book"] != 0 {
		t.Fatalf("forged request: %+v, %v; server: %d bad signatures, %d accepted", res, err, biz.badSig, biz.attempts["book"])
	}
}
