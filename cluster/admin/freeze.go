package admin

import (
	"net/http"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// FrozenState says why, by whom and since when a conversation is closed
// to new messages (docs/PROTOCOL.md, "Frozen conversations").
type FrozenState struct {
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by"` // a group's owner or admin, or "system": the operator
	At     time.Time `json:"at"`
	Until  time.Time `json:"until,omitzero"` // a cool-down: open again by itself then
}

func frozenState(f *pb.Frozen) *FrozenState {
	if f == nil {
		return nil
	}
	out := &FrozenState{Reason: f.Reason, By: f.By, At: time.UnixMilli(f.AtMs).UTC()}
	if f.UntilMs != 0 {
		out.Until = time.UnixMilli(f.UntilMs).UTC()
	}
	return out
}

// Freeze is a conversation's freeze as GET and PUT
// /api/v1/conversations/{conv}/freeze read and set it.
type Freeze struct {
	Conv   string `json:"conv"`
	Frozen bool   `json:"frozen"`
	*FrozenState
	// Seq: the system message recording a change (0: none).
	Seq uint64 `json:"seq,omitempty"`
}

func (s *Server) conversationFreeze(w http.ResponseWriter, r *http.Request) {
	conv := r.PathValue("conv")
	f, _, err := s.node.FreezeAsOperator(r.Context(), conv, nil, "", time.Time{})
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, Freeze{Conv: conv, Frozen: f != nil, FrozenState: frozenState(f)})
}

// setConversationFreeze freezes a conversation as the operator (the
// chats about a listing that sold, a dispute settled) or opens it again:
// a direct conversation or a group, recorded as the operator's change; a
// service conversation is the desk's (403).
func (s *Server) setConversationFreeze(w http.ResponseWriter, r *http.Request) {
	var req FreezeChange
	if !readDeskBody(w, r, &req) {
		return
	}
	if req.Frozen == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "frozen: true to freeze, false to open it again", "code": "INVALID"})
		return
	}
	until, ok := untilOf(w, req.For, req.Until)
	if !ok {
		return
	}
	conv := r.PathValue("conv")
	f, seq, err := s.node.FreezeAsOperator(r.Context(), conv, req.Frozen, req.Reason, until)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("conversation frozen by the operator", "by", callerOf(r), "conv", conv, "frozen", f != nil, "reason", req.Reason)
	writeJSON(w, http.StatusOK, Freeze{Conv: conv, Frozen: f != nil, FrozenState: frozenState(f), Seq: seq})
}

// FreezeChange is the body of PUT /api/v1/conversations/{conv}/freeze.
type FreezeChange struct {
	Frozen *bool  `json:"frozen"`
	Reason string `json:"reason"`
	// A cool-down: it ends by itself after for ("1h") or at until.
	For   string    `json:"for"`
	Until time.Time `json:"until"`
}
