package admin

import (
	"net/http"
	"time"

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
	// Meta: your own data about the user ("verified": "true"), which every
	// app that reads their profile gets and the user cannot set.
	Meta map[string]string `json:"meta,omitempty"`
}

// ProfileChange is the body of PUT /api/v1/users/{user}/profile: the
// fields present change (an empty string clears one, {} the meta), the
// others stay.
type ProfileChange struct {
	Name      *string            `json:"name"`
	AvatarURL *string            `json:"avatar_url"`
	Meta      *map[string]string `json:"meta"`
}

func profileOf(p *pb.UserProfile) Profile {
	return Profile{User: p.User, Name: p.Name, AvatarURL: p.AvatarUrl, UpdatedMs: p.UpdatedMs, Meta: p.Meta}
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
	if req.Meta != nil {
		// First, alone: a meta out of bounds changes nothing else.
		if _, err := s.node.SetProfileMeta(r.Context(), user, *req.Meta); err != nil {
			deskAnswer(w, nil, err)
			return
		}
	}
	p, err := s.node.SetProfile(r.Context(), user, &pb.SetProfile{Name: req.Name, AvatarUrl: req.AvatarURL})
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("profile set by the operator", "by", callerOf(r), "user", user)
	writeJSON(w, http.StatusOK, profileOf(p))
}

// Away is a user's away message as the admin API reads and writes it
// (actors/user_away.go): a marketplace's seller dashboard sets
// "vacation mode" for its sellers.
type Away struct {
	User  string    `json:"user"`
	Text  string    `json:"text"`           // empty: none
	Since time.Time `json:"since,omitzero"` // when it was set
	Until time.Time `json:"until,omitzero"` // it ends then (zero: until cleared)
}

// AwayChange is the body of PUT /api/v1/users/{user}/away: text (empty:
// clear) and when it ends, as a time (until) or a duration from now
// (for, "72h"), or neither (until cleared).
type AwayChange struct {
	Text  string    `json:"text"`
	Until time.Time `json:"until,omitzero"`
	For   string    `json:"for,omitempty"`
}

// LabelsChange is the body of POST
// /api/v1/users/{user}/conversations/{conv}/labels: the labels to take
// away, then to add, of the user's own labels of conv (a marketplace's
// server labels a seller's chat "paid" when the payment clears).
type LabelsChange struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// Labels is a user's labels of a conversation, ascending.
type Labels struct {
	User   string   `json:"user"`
	Conv   string   `json:"conv"`
	Labels []string `json:"labels"`
}

func (s *Server) setUserLabels(w http.ResponseWriter, r *http.Request) {
	var req LabelsChange
	if !readDeskBody(w, r, &req) {
		return
	}
	user, conv := r.PathValue("user"), r.PathValue("conv")
	labels, err := s.node.SetLabels(r.Context(), user, conv, req.Add, req.Remove)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("labels set by the operator", "by", callerOf(r), "user", user, "conv", conv, "labels", labels)
	writeJSON(w, http.StatusOK, Labels{User: user, Conv: conv, Labels: append([]string{}, labels...)})
}

// Quiet is a user's quiet hours, the body of PUT
// /api/v1/users/{user}/quiet and its answer: the hours of the week their
// offline notifications pause, in their zone (a school's nights for its
// pupils). Week maps "sun".."sat" to "HH:MM-HH:MM" intervals; none: no
// quiet hours.
type Quiet struct {
	User string            `json:"user,omitempty"`
	Zone string            `json:"zone,omitempty"`
	Week map[string]string `json:"week"`
}

func quietOf(user string, q *pb.QuietHours) Quiet {
	out := Quiet{User: user, Zone: q.GetZone(), Week: q.GetWeek()}
	if out.Week == nil {
		out.Week = map[string]string{}
	}
	return out
}

func (s *Server) userQuiet(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	q, err := s.node.SetQuietHours(r.Context(), user, nil, false)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, quietOf(user, q))
}

func (s *Server) setUserQuiet(w http.ResponseWriter, r *http.Request) {
	var req Quiet
	if !readDeskBody(w, r, &req) {
		return
	}
	user := r.PathValue("user")
	q, err := s.node.SetQuietHours(r.Context(), user, &pb.QuietHours{Zone: req.Zone, Week: req.Week}, false)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("quiet hours set by the operator", "by", callerOf(r), "user", user, "zone", req.Zone)
	writeJSON(w, http.StatusOK, quietOf(user, q))
}

func (s *Server) clearUserQuiet(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	if _, err := s.node.SetQuietHours(r.Context(), user, nil, true); err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("quiet hours taken away by the operator", "by", callerOf(r), "user", user)
	writeJSON(w, http.StatusOK, quietOf(user, nil))
}

func awayOf(user string, a *pb.AwayMessage) Away {
	out := Away{User: user, Text: a.GetText()}
	if a.GetSinceMs() != 0 {
		out.Since = time.UnixMilli(a.SinceMs).UTC()
	}
	if a.GetUntilMs() != 0 {
		out.Until = time.UnixMilli(a.UntilMs).UTC()
	}
	return out
}

func (s *Server) userAway(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	a, err := s.node.SetAway(r.Context(), user, nil, time.Time{})
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, awayOf(user, a))
}

func (s *Server) setUserAway(w http.ResponseWriter, r *http.Request) {
	var req AwayChange
	if !readDeskBody(w, r, &req) {
		return
	}
	until, ok := untilOf(w, req.For, req.Until)
	if !ok {
		return
	}
	user := r.PathValue("user")
	a, err := s.node.SetAway(r.Context(), user, &req.Text, until)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("away message set by the operator", "by", callerOf(r), "user", user, "cleared", req.Text == "")
	writeJSON(w, http.StatusOK, awayOf(user, a))
}
