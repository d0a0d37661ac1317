package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// DeskRequest is the body of POST /api/v1/desk/{enter,reach,handover,transfer,close,note,tag,rate}.
type DeskRequest struct {
	User     string `json:"user"`
	Scene    string `json:"scene,omitempty"`    // enter, reach
	Customer string `json:"customer,omitempty"` // reach: whom the agent (User) writes to first
	Conv     string `json:"conv,omitempty"`     // handover, transfer, close, note, tag
	To       string `json:"to,omitempty"`       // transfer: user:ID or queue:SKILL
	Note     string `json:"note,omitempty"`     // transfer, note: an internal note
	Reason   string `json:"reason,omitempty"`   // close
	// rate: the customer's score (1-5) and comment
	Score   int    `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
	// tag: the session's tags to add and to remove (contact reasons)
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

const maxDeskBody = 64 << 10

func readDeskBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return readDeskBodyUpTo(w, r, v, maxDeskBody)
}

func readDeskBodyUpTo(w http.ResponseWriter, r *http.Request, v any, limit int) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err == nil && len(b) > limit {
		err = fmt.Errorf("body over %d bytes", limit)
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request body: " + err.Error()})
		return false
	}
	return true
}

// deskAnswer writes v, or err with the status its code maps to.
func deskAnswer(w http.ResponseWriter, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status := http.StatusServiceUnavailable
	switch actors.CodeOf(err) {
	case pb.Code_INVALID:
		status = http.StatusBadRequest
	case pb.Code_NOT_FOUND:
		status = http.StatusNotFound
	case pb.Code_FORBIDDEN, pb.Code_NOT_MEMBER:
		status = http.StatusForbidden
	case pb.Code_BUSY, pb.Code_TOO_MANY, pb.Code_EXISTS, pb.Code_FROZEN:
		status = http.StatusConflict
	case pb.Code_TOO_LARGE:
		status = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, status, map[string]string{"error": err.Error(), "code": actors.CodeOf(err).String()})
}

func deskCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}

// Scenes answers GET /api/v1/desk/scenes.
type Scenes struct {
	Scenes []desk.Scene `json:"scenes"`
}

func (s *Server) deskScenes(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	scenes, err := s.node.Desk.Scenes(ctx)
	deskAnswer(w, Scenes{Scenes: scenes}, err)
}

func (s *Server) deskSetScene(w http.ResponseWriter, r *http.Request) {
	var sc desk.Scene
	if !readDeskBody(w, r, &sc) {
		return
	}
	sc.Name = r.PathValue("scene")
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.SetScene(ctx, sc)
	deskAnswer(w, out, err)
}

// LineHours is the answer of /api/v1/desk/lines/{line}/hours; Hours is
// null for a line that is always open.
type LineHours struct {
	Line  string      `json:"line"`
	Hours *desk.Hours `json:"hours"`
}

// lineSetting serves one setting of a business line (its hours, its
// targets): GET reads it, PUT sets it, DELETE clears it; every answer is
// the line with the setting as it stands after (null: none).
func lineSetting[T any](get func(context.Context, string) (*T, error), set func(context.Context, string, *T) (*T, error),
	answer func(line string, v *T) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var v *T
		if r.Method == http.MethodPut {
			v = new(T)
			if !readDeskBody(w, r, v) {
				return
			}
		}
		ctx, cancel := deskCtx(r)
		defer cancel()
		line := r.PathValue("line")
		var err error
		if r.Method == http.MethodGet {
			v, err = get(ctx, line)
		} else {
			v, err = set(ctx, line, v)
		}
		deskAnswer(w, answer(line, v), err)
	}
}

// LineTargets is the answer of /api/v1/desk/lines/{line}/targets;
// Targets is null for a line without targets.
type LineTargets struct {
	Line    string        `json:"line"`
	Targets *desk.Targets `json:"targets"`
}

// LineReplies is the body of PUT and the answer of
// /api/v1/desk/lines/{line}/replies: the whole list, in order.
type LineReplies struct {
	Line    string            `json:"line"`
	Replies []desk.SavedReply `json:"replies"`
}

func (s *Server) deskReplies(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	line := r.PathValue("line")
	list, err := s.node.Desk.SavedReplies(ctx, line)
	deskAnswer(w, LineReplies{Line: line, Replies: list}, err)
}

// deskSetReplies replaces a line's saved replies ([] removes them).
func (s *Server) deskSetReplies(w http.ResponseWriter, r *http.Request) {
	// Room for the desk's own limits, each text escaped at worst (\u00XX:
	// six bytes a byte); the desk checks the list itself.
	cfg := s.node.Desk.Config()
	var in LineReplies
	if !readDeskBodyUpTo(w, r, &in, cfg.MaxSavedReplies*(6*cfg.MaxSavedReplyBytes+128)+1024) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	line := r.PathValue("line")
	list, err := s.node.Desk.SetSavedReplies(ctx, line, in.Replies)
	deskAnswer(w, LineReplies{Line: line, Replies: list}, err)
}

func (s *Server) deskAgent(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Agent(ctx, r.PathValue("user"))
	deskAnswer(w, out, err)
}

func (s *Server) deskSetAgent(w http.ResponseWriter, r *http.Request) {
	var u desk.AgentUpdate
	if !readDeskBody(w, r, &u) {
		return
	}
	u.User, u.By = r.PathValue("user"), desk.ByAdmin
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.SetAgent(ctx, u)
	deskAnswer(w, out, err)
}

// deskReasons answers a line's contact reasons over ?from= and ?to= (days
// in the line's zone, YYYY-MM-DD, both included); by default the week to
// today.
func (s *Server) deskReasons(w http.ResponseWriter, r *http.Request) {
	var to, from time.Time
	for _, p := range []struct {
		name string
		at   *time.Time
	}{{"to", &to}, {"from", &from}} {
		v := r.URL.Query().Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("bad %s %q (want YYYY-MM-DD)", p.name, v)})
			return
		}
		*p.at = t
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Reasons(ctx, r.PathValue("line"), from, to)
	deskAnswer(w, out, err)
}

func (s *Server) deskQueue(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Queue(ctx, r.PathValue("skill"))
	deskAnswer(w, out, err)
}

func (s *Server) deskSession(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Session(ctx, r.URL.Query().Get("user"), r.PathValue("conv"))
	deskAnswer(w, out, err)
}

func (s *Server) deskEnter(w http.ResponseWriter, r *http.Request) {
	var req DeskRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Enter(ctx, req.User, req.Scene)
	deskAnswer(w, out, err)
}

// deskReach starts an outbound session: the agent req.User writes to
// req.Customer first (a CRM's "contact the customer" button).
func (s *Server) deskReach(w http.ResponseWriter, r *http.Request) {
	var req DeskRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Reach(ctx, req.User, req.Customer, req.Scene)
	deskAnswer(w, out, err)
}

// CustomerPriority is the body and the answer of POST /api/v1/desk/priority.
type CustomerPriority struct {
	Line     string `json:"line"`
	Customer string `json:"customer"`
	Priority int    `json:"priority"`
}

// deskPriority sets a customer's priority in a line, for the business's
// back end (a premium plan): the line's queues serve it first.
func (s *Server) deskPriority(w http.ResponseWriter, r *http.Request) {
	var req CustomerPriority
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	p, err := s.node.Desk.SetPriority(ctx, req.Line, req.Customer, req.Priority)
	req.Priority = p
	deskAnswer(w, req, err)
}

func (s *Server) deskStep(w http.ResponseWriter, r *http.Request, op string) {
	var req DeskRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	var out desk.SessionInfo
	var err error
	switch op {
	case "handover":
		out, err = s.node.Desk.Handover(ctx, req.User, req.Conv)
	case "transfer":
		out, err = s.node.Desk.Transfer(ctx, req.User, req.Conv, req.To, req.Note)
	case "close":
		out, err = s.node.Desk.Close(ctx, req.User, req.Conv, req.Reason)
	case "note":
		out, err = s.node.Desk.Note(ctx, req.User, req.Conv, req.Note)
	case "tag":
		out, err = s.node.Desk.Tag(ctx, req.User, req.Conv, req.Add, req.Remove)
	}
	deskAnswer(w, out, err)
}

// deskRate records a customer's rating of a closed session, for a
// customer whose app rates through its own back end.
func (s *Server) deskRate(w http.ResponseWriter, r *http.Request) {
	var req DeskRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Rate(ctx, req.User, req.Conv, req.Score, req.Comment)
	deskAnswer(w, out, err)
}

// MergeRequest is the body of POST /api/v1/desk/merge.
type MergeRequest struct {
	From string `json:"from"` // the anonymous identity
	To   string `json:"to"`   // the account it is merged into
}

// deskMerge merges an identity and answers its record once done (phase
// "done"), or with phase "moving" when it takes longer than the request's
// time; the merge then goes on and GET /api/v1/desk/merges/{from} follows it.
func (s *Server) deskMerge(w http.ResponseWriter, r *http.Request) {
	var req MergeRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.Merge(ctx, req.From, req.To)
	deskAnswer(w, out, err)
}

func (s *Server) deskMergeStatus(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.Desk.MergeStatus(ctx, r.PathValue("from"))
	deskAnswer(w, out, err)
}
