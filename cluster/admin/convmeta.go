package admin

import "net/http"

// ConversationMeta is the app's own data about a conversation, as GET and
// PUT /api/v1/conversations/{conv}/meta read and replace it: a
// marketplace's listing title, price and picture beside the chat about it
// (docs/PROTOCOL.md, "Meta"). Every member's app reads it in its
// conversation list; nobody is shown it.
type ConversationMeta struct {
	Conv string            `json:"conv"`
	Meta map[string]string `json:"meta"`
}

func (s *Server) conversationMeta(w http.ResponseWriter, r *http.Request) {
	conv := r.PathValue("conv")
	meta, err := s.node.ConversationMetaAsOperator(r.Context(), conv)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, ConversationMeta{Conv: conv, Meta: orEmpty(meta)})
}

// setConversationMeta replaces the meta ({"meta": {}} takes it away) of a
// direct conversation or a group; a service conversation's data is the
// desk's (403).
func (s *Server) setConversationMeta(w http.ResponseWriter, r *http.Request) {
	var req MetaChange
	if !readDeskBody(w, r, &req) {
		return
	}
	if req.Meta == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "meta: the whole meta, {} to take it away", "code": "INVALID"})
		return
	}
	conv := r.PathValue("conv")
	meta, err := s.node.SetConversationMetaAsOperator(r.Context(), conv, *req.Meta)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, ConversationMeta{Conv: conv, Meta: orEmpty(meta)})
}

// orEmpty is m, or an empty map for none: JSON {} rather than null.
func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// MetaChange is the body of PUT /api/v1/conversations/{conv}/meta: the
// conversation's whole meta (an empty object clears it).
type MetaChange struct {
	Meta *map[string]string `json:"meta"`
}
