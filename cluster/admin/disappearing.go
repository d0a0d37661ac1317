package admin

import (
	"net/http"
)

// Disappearing is a conversation's timer for disappearing messages, as
// GET and PUT /api/v1/conversations/{conv}/disappearing read and set it:
// every message sent after a change disappears AfterMs after it was sent
// (0: off; docs/PROTOCOL.md, "Disappearing messages").
type Disappearing struct {
	Conv    string `json:"conv"`
	AfterMs int64  `json:"after_ms"`
	// Seq: the system message recording a change (0: none).
	Seq uint64 `json:"seq,omitempty"`
}

func (s *Server) conversationTimer(w http.ResponseWriter, r *http.Request) {
	conv := r.PathValue("conv")
	after, _, err := s.node.DisappearingAsOperator(r.Context(), conv, nil)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, Disappearing{Conv: conv, AfterMs: after.Milliseconds()})
}

// setConversationTimer sets the timer as the operator (a school keeping
// its class chats a week): a direct conversation or a group, recorded as
// the operator's change; a service conversation keeps its record (403).
func (s *Server) setConversationTimer(w http.ResponseWriter, r *http.Request) {
	var req DisappearingChange
	if !readDeskBody(w, r, &req) {
		return
	}
	if req.AfterMs == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "after_ms: the timer in ms (0: off)", "code": "INVALID"})
		return
	}
	conv := r.PathValue("conv")
	after, seq, err := s.node.DisappearingAsOperator(r.Context(), conv, req.AfterMs)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("disappearing timer set by the operator", "by", callerOf(r), "conv", conv, "after_ms", after.Milliseconds())
	writeJSON(w, http.StatusOK, Disappearing{Conv: conv, AfterMs: after.Milliseconds(), Seq: seq})
}

// DisappearingChange is the body of PUT
// /api/v1/conversations/{conv}/disappearing: messages disappear this long
// after they are sent (0: never).
type DisappearingChange struct {
	AfterMs *int64 `json:"after_ms"`
}
