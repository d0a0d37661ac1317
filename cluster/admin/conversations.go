package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// CreateConversationRequest is the body of POST /api/v1/conversations: the
// node itself creates a group or service conversation, under a named id in
// the kind's namespace (operators, trace replays, a business system opening
// service sessions). Users cannot name service ids; the node can.
type CreateConversationRequest struct {
	Conv    string         `json:"conv"` // empty: a fresh id
	Kind    string         `json:"kind"` // "group" or "service"
	Title   string         `json:"title"`
	Members []MemberInRole `json:"members"`
}

// MemberInRole is a user with a role: member, admin or owner (groups;
// an owner sets roles and disbands), customer or agent (service).
type MemberInRole struct {
	User string `json:"user"`
	Role string `json:"role"`
}

var roleNames = map[string]pb.Role{"": pb.Role_MEMBER, "member": pb.Role_MEMBER, "admin": pb.Role_ADMIN, "owner": pb.Role_OWNER,
	"customer": pb.Role_CUSTOMER, "agent": pb.Role_AGENT}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request) {
	var req CreateConversationRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		return
	}
	kind := map[string]pb.ConvKind{"group": pb.ConvKind_GROUP, "service": pb.ConvKind_SERVICE}[req.Kind]
	if kind == pb.ConvKind_CONV_KIND_UNSPECIFIED {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "kind must be group or service"})
		return
	}
	creq := &pb.CreateConversation{Conv: req.Conv, Kind: kind, Title: req.Title}
	for _, m := range req.Members {
		role, ok := roleNames[m.Role]
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown role " + m.Role})
			return
		}
		creq.Members = append(creq.Members, &pb.Member{User: m.User, Role: role})
	}
	res, err := s.node.CreateConversation(r.Context(), creq)
	var ae *actors.Error
	switch {
	case err == nil:
		writeJSON(w, http.StatusCreated, CreatedConversation{Conv: res.Conv, LastSeq: res.LastSeq})
	case errors.As(err, &ae):
		status := map[pb.Code]int{pb.Code_EXISTS: http.StatusConflict, pb.Code_FORBIDDEN: http.StatusForbidden}[ae.Code]
		if status == 0 {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, map[string]string{"error": ae.Error(), "code": ae.Code.String()})
	default:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	}
}

// CreatedConversation answers POST /api/v1/conversations.
type CreatedConversation struct {
	Conv    string `json:"conv"`
	LastSeq uint64 `json:"last_seq"`
}
