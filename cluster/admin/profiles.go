package admin

import (
	"net/http"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Users' profiles (actors/user_profile.go): a business copies its users'
// names and pictures from its own directory, so every app shows the same
// names from the first message, and a moderator clears an offensive one.

// Profile is a user's profile as the admin API reads and writes it.
type Profile struct {
	User      string `json:"user"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	UpdatedMs int64  `json:"updated_ms"` // 0: never set
}

// ProfileChange is the body of PUT /api/v1/users/{user}/profile: the
// fields present change (an empty string clears one), the others stay.
type ProfileChange struct {
	Name      *string `json:"name"`
	AvatarURL *string `json:"avatar_url"`
}

func profileOf(p *pb.UserProfile) Profile {
	return Profile{User: p.User, Name: p.Name, AvatarURL: p.AvatarUrl, UpdatedMs: p.UpdatedMs}
}

func (s *Server) userProfile(w http.ResponseWriter, r *http.Request) {
	p, err := s.node.Profile(r.Context(), r.PathValue("user"))
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, profileOf(p))
}

func (s *Server) setUserProfile(w http.ResponseWriter, r *http.Request) {
	var req ProfileChange
	if !readDeskBody(w, r, &req) {
		return
	}
	user := r.PathValue("user")
	p, err := s.node.SetProfile(r.Context(), user, &pb.SetProfile{Name: req.Name, AvatarUrl: req.AvatarURL})
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("profile set by the operator", "by", callerOf(r), "user", user)
	writeJSON(w, http.StatusOK, profileOf(p))
}
