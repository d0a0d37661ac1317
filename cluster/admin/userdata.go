package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/storage"
)

// A user's data: the messages they sent, for their request to see it
// (GET /api/v1/users/{user}/messages), and erasing them with the account
// (POST /api/v1/users/{user}/erase). Both walk the user's conversations'
// logs (actors/user_sent.go), so both are paged by time or rows read.

// walkBudget bounds one erase or messages request, below the CLI's 90 s:
// a user with much history is erased over several requests (Erasure.Done).
const walkBudget = 60 * time.Second

// EraseRequest is the optional body of POST /api/v1/users/{user}/erase:
// where the request before stopped (its Next), to go on from there.
type EraseRequest struct {
	After *SentCursor `json:"after,omitempty"`
}

// Erasure answers POST /api/v1/users/{user}/erase. Counts are this
// request's.
type Erasure struct {
	User          string      `json:"user"`
	Done          bool        `json:"done"`           // false: the time ran out; post again with after = next
	Next          *SentCursor `json:"next,omitempty"` // not done: where it stopped
	Conversations int         `json:"conversations"`
	Recalled      int         `json:"recalled"`   // the user's messages (texts and cards) recalled by this request
	DeskSteps     int         `json:"desk_steps"` // desk steps of theirs whose words (a rating's comment, a close's reason) were taken out
	PushTokens    int         `json:"push_tokens"`
	EndedDevices  []string    `json:"ended_devices,omitempty"`
}

func (s *Server) userErase(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	var req EraseRequest
	if r.ContentLength != 0 && !readDeskBody(w, r, &req) { // the body is optional
		return
	}
	var from actors.SentCursor
	if req.After != nil {
		from = actors.SentCursor{Conv: req.After.Conv, Seq: req.After.Seq}
	}
	ctx, cancel := context.WithTimeout(r.Context(), walkBudget)
	defer cancel()
	res, err := s.node.EraseUser(ctx, user, from)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := Erasure{User: user, Done: res.Done, Conversations: res.Conversations, Recalled: res.Recalled,
		DeskSteps: res.DeskSteps, PushTokens: res.PushTokens, EndedDevices: res.EndedDevices}
	if !res.Done {
		out.Next = &SentCursor{Conv: res.Next.Conv, Seq: res.Next.Seq}
	}
	writeJSON(w, http.StatusOK, out)
}

// sentScanRows bounds the log rows one messages request reads.
const sentScanRows = 50_000

// SentMessage is one message a user sent, as GET
// /api/v1/users/{user}/messages shows it.
type SentMessage struct {
	Conv     string    `json:"conv"`
	Seq      uint64    `json:"seq"`
	Kind     string    `json:"kind"`               // text, edit (of ref_seq), card or desk_step (a service desk step of theirs, with their words)
	RefSeq   uint64    `json:"ref_seq,omitempty"`  // edit, card update: the message it replaces
	ReplyTo  uint64    `json:"reply_to,omitempty"` // a reply: the message it answers
	Body     string    `json:"body,omitempty"`     // empty once recalled
	Recalled bool      `json:"recalled,omitempty"`
	SentAt   time.Time `json:"sent_at"`
}

// SentMessages answers GET /api/v1/users/{user}/messages
// [?after_conv=C&after_seq=N][&limit=N]: a page of what the user sent, in
// conversation id and seq order. Next is where the next page starts; it
// is absent once Done. A page may hold fewer than limit messages, even
// none, and not be the last: it reads at most 50,000 log rows.
type SentMessages struct {
	User     string        `json:"user"`
	Messages []SentMessage `json:"messages"`
	Done     bool          `json:"done"`
	Next     *SentCursor   `json:"next,omitempty"`
}

// SentCursor is where a page of SentMessages ends.
type SentCursor struct {
	Conv string `json:"conv"`
	Seq  uint64 `json:"seq"`
}

func (s *Server) userMessages(w http.ResponseWriter, r *http.Request) {
	user, q := r.PathValue("user"), r.URL.Query()
	from := actors.SentCursor{Conv: q.Get("after_conv")}
	if v := q.Get("after_seq"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "after_seq: want a seq, got " + v})
			return
		}
		from.Seq = n
	}
	limit := 500
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > actors.MaxSentPage {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want 1 to " + strconv.Itoa(actors.MaxSentPage) + ", got " + v})
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), walkBudget)
	defer cancel()
	msgs, next, done, err := s.node.SentMessages(ctx, user, from, limit, sentScanRows)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := SentMessages{User: user, Messages: make([]SentMessage, len(msgs)), Done: done}
	for i, m := range msgs {
		out.Messages[i] = sentMessageOf(m)
	}
	if !done {
		out.Next = &SentCursor{Conv: next.Conv, Seq: next.Seq}
	}
	s.log.Info("user's messages read", "by", callerOf(r), "user", user, "messages", len(msgs), "done", done)
	writeJSON(w, http.StatusOK, out)
}

func sentMessageOf(m storage.Message) SentMessage {
	out := SentMessage{Conv: m.ConvID, Seq: m.Seq, Kind: kindName(m.Kind, m.RefSeq), RefSeq: m.RefSeq, ReplyTo: m.ReplyTo, Body: string(m.Body),
		Recalled: m.Recalled(), SentAt: m.ServerTS.UTC()}
	if m.Kind == storage.MsgSystem {
		out.Kind = "desk_step" // the only system messages a user's own (actors.walkSent)
	}
	return out
}
