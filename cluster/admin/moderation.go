package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Report is one user's report of a message, as the report endpoints show it.
type Report struct {
	ID         string    `json:"id"`
	Conv       string    `json:"conv"`
	Seq        uint64    `json:"seq"`
	Reporter   string    `json:"reporter"`
	Sender     string    `json:"sender"`
	Reason     string    `json:"reason,omitempty"`
	Kind       string    `json:"kind"` // normal (text) or card
	Body       string    `json:"body"` // the message when reported (its first 500 bytes)
	SentAt     time.Time `json:"sent_at"`
	ReportedAt time.Time `json:"reported_at"`
}

func reportOf(r *pb.Report) Report {
	return Report{ID: r.Id, Conv: r.Conv, Seq: r.Seq, Reporter: r.Reporter, Sender: r.Sender, Reason: r.Reason,
		Kind: strings.ToLower(r.Kind.String()), Body: string(r.Body),
		SentAt: time.UnixMilli(r.MessageTsMs).UTC(), ReportedAt: time.UnixMilli(r.ReportedMs).UTC()}
}

// Reports answers GET /api/v1/reports[?after=ID][&limit=N]: the open
// reports, oldest first.
type Reports struct {
	Reports []Report `json:"reports"`
	Total   int      `json:"total"` // open reports in all
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit: want 1–500, got " + v})
			return
		}
		limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rs, total, err := s.node.Reports(ctx, r.URL.Query().Get("after"), limit)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := Reports{Reports: make([]Report, len(rs)), Total: total}
	for i, rp := range rs {
		out.Reports[i] = reportOf(rp)
	}
	writeJSON(w, http.StatusOK, out)
}

// ReportContext answers GET /api/v1/reports/{id}/context[?around=N]: an
// open report and the messages around the one it reports, oldest first.
type ReportContext struct {
	Report   Report           `json:"report"`
	Messages []ContextMessage `json:"messages"`
}

// ContextMessage is one message of a report's context.
type ContextMessage struct {
	Seq      uint64    `json:"seq"`
	Sender   string    `json:"sender"`
	Kind     string    `json:"kind"`           // normal, card, system, recall
	Body     string    `json:"body,omitempty"` // empty once recalled
	Recalled bool      `json:"recalled,omitempty"`
	SentAt   time.Time `json:"sent_at"`
	Reported bool      `json:"reported,omitempty"` // the reported message
}

// reportContext shows a moderator the conversation around a reported
// message, and nothing else of it; each read is logged.
func (s *Server) reportContext(w http.ResponseWriter, r *http.Request) {
	around := 0
	if v := r.URL.Query().Get("around"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "around: want a number, got " + v})
			return
		}
		around = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rp, msgs, err := s.node.ReportContext(ctx, r.PathValue("id"), around)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	out := ReportContext{Report: reportOf(rp), Messages: make([]ContextMessage, len(msgs))}
	for i, m := range msgs {
		out.Messages[i] = ContextMessage{Seq: m.Seq, Sender: m.Sender, Kind: strings.ToLower(m.Kind.String()), Body: string(m.Body),
			Recalled: m.Recalled, SentAt: time.UnixMilli(m.ServerTsMs).UTC(), Reported: m.Seq == rp.Seq}
	}
	s.log.Info("report context read", "by", callerOf(r), "report", rp.Id, "conv", rp.Conv, "seq", rp.Seq, "messages", len(msgs))
	writeJSON(w, http.StatusOK, out)
}

// ResolveRequest is the body of POST /api/v1/reports/{id}/resolve.
type ResolveRequest struct {
	Resolution string `json:"resolution,omitempty"` // what was done, for the log
}

func (s *Server) resolveReport(w http.ResponseWriter, r *http.Request) {
	var req ResolveRequest
	if r.ContentLength != 0 && !readDeskBody(w, r, &req) { // the body is optional
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rp, err := s.node.ResolveReport(ctx, r.PathValue("id"), req.Resolution)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, reportOf(rp))
}

// Recalled answers POST …/messages/{seq}/recall: the seq of the recall's
// event.
type Recalled struct {
	Conv      string `json:"conv"`
	Seq       uint64 `json:"seq"`
	RecallSeq uint64 `json:"recall_seq"`
}

// operatorRecall withdraws any user message (a scam link in a direct
// conversation, where nobody else could): POST
// /api/v1/conversations/{conv}/messages/{seq}/recall.
func (s *Server) operatorRecall(w http.ResponseWriter, r *http.Request) {
	conv := r.PathValue("conv")
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "seq: want a message seq (1 or more), got " + r.PathValue("seq")})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ev, err := s.node.RecallAsOperator(ctx, conv, seq)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("message recalled by the operator", "by", callerOf(r), "conv", conv, "seq", seq, "event_seq", ev)
	writeJSON(w, http.StatusOK, Recalled{Conv: conv, Seq: seq, RecallSeq: ev})
}

// SuspendRequest is the body of POST /api/v1/users/{user}/suspend. At most
// one of For and Until; neither: until lifted.
type SuspendRequest struct {
	Reason string    `json:"reason,omitempty"` // shown to the user's clients
	For    string    `json:"for,omitempty"`    // a Go duration: "24h", "30m"
	Until  time.Time `json:"until,omitzero"`   // RFC 3339
}

// UserStatus answers the user endpoints.
type UserStatus struct {
	User string `json:"user"`
	// Name and AvatarURL: the user's profile (GET), what others see them
	// by: a moderator clears an offensive one with PUT
	// /api/v1/users/{user}/profile.
	Name          string    `json:"name,omitempty"`
	AvatarURL     string    `json:"avatar_url,omitempty"`
	Suspended     bool      `json:"suspended"`
	Since         time.Time `json:"since,omitzero"`
	Until         time.Time `json:"until,omitzero"` // zero while suspended: until lifted
	Reason        string    `json:"reason,omitempty"`
	EndedDevices  []string  `json:"ended_devices,omitempty"`  // suspend: the devices disconnected
	OnlineDevices []string  `json:"online_devices,omitempty"` // GET: the devices online now
}

func userStatusOf(user string, r *pb.SuspensionResponse) UserStatus {
	st := UserStatus{User: user, EndedDevices: r.EndedDevices, OnlineDevices: r.OnlineDevices}
	if sp := r.Suspension; sp != nil {
		st.Suspended, st.Reason = true, sp.Reason
		st.Since = time.UnixMilli(sp.SinceMs).UTC()
		if sp.UntilMs > 0 {
			st.Until = time.UnixMilli(sp.UntilMs).UTC()
		}
	}
	return st
}

func (s *Server) userStatus(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := s.node.Suspension(ctx, user)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	p, err := s.node.Profile(ctx, user)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	st := userStatusOf(user, res)
	st.Name, st.AvatarURL = p.Name, p.AvatarUrl
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) userSuspend(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	var req SuspendRequest
	if !readDeskBody(w, r, &req) {
		return
	}
	until, ok := untilOf(w, req.For, req.Until)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := s.node.Suspend(ctx, user, until, req.Reason)
	if err != nil {
		deskAnswer(w, nil, err)
		return
	}
	st := userStatusOf(user, res)
	s.log.Info("user suspended", "by", callerOf(r), "user", user, "until", st.Until, "reason", req.Reason, "ended_devices", len(st.EndedDevices))
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) userUnsuspend(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := s.node.Unsuspend(ctx, user); err != nil {
		deskAnswer(w, nil, err)
		return
	}
	s.log.Info("user suspension lifted", "by", callerOf(r), "user", user)
	writeJSON(w, http.StatusOK, UserStatus{User: user})
}

// untilOf reads an end given as a duration from now (forText, "72h") or
// a time (until), or neither (zero); a malformed duration, or both, is
// answered 400 and ok is false.
func untilOf(w http.ResponseWriter, forText string, until time.Time) (_ time.Time, ok bool) {
	if forText == "" {
		return until, true
	}
	d, err := time.ParseDuration(forText)
	switch {
	case err != nil || d <= 0:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "for: want a positive duration such as 72h, got " + strconv.Quote(forText), "code": "INVALID"})
		return time.Time{}, false
	case !until.IsZero():
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "give for or until, not both", "code": "INVALID"})
		return time.Time{}, false
	}
	return time.Now().Add(d), true
}
