package export

import (
	"strconv"

	"github.com/switchboard-im/switchboard/actors"
)

// ModerationRecord is one moderation step on TopicEvents (type
// "moderation"), keyed by the user it is about: a report of their message
// filed or resolved, their suspension set or lifted, their erasure (a
// consumer that keeps copies of messages erases the user's too;
// docs/OPERATIONS.md, "Moderation"). Like reads they travel the DeskSink's at-most-once path:
// the steps are stored (the open reports, the suspension), but not as a log
// the exporter re-reads. Ids are stable per step, so a consumer dedupes
// what a retry sends twice.
type ModerationRecord struct {
	EventID  string `json:"event_id"`
	Type     string `json:"type"` // always "moderation"
	Op       string `json:"op"`   // report, resolve, suspend, unsuspend, erase
	User     string `json:"user"`
	Conv     string `json:"conv,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
	Reporter string `json:"reporter,omitempty"`
	Report   string `json:"report,omitempty"`
	Reason   string `json:"reason,omitempty"`
	UntilMs  int64  `json:"until_ms,omitempty"` // suspend: 0 until lifted
	AtMs     int64  `json:"at_ms"`
}

// OnModeration is the hook for actors.Config.OnModeration.
func (s *DeskSink) OnModeration(e actors.ModerationEvent) {
	rec := ModerationRecord{Type: "moderation", Op: e.Op, User: e.User, Conv: e.Conv, Seq: e.Seq, Reporter: e.Reporter,
		Report: e.Report, Reason: e.Reason, AtMs: e.Since.UnixMilli()}
	if !e.Until.IsZero() {
		rec.UntilMs = e.Until.UnixMilli()
	}
	switch e.Op {
	case "report", "resolve":
		rec.EventID = "moderation/" + e.Op + "/" + e.Report
	default:
		rec.EventID = "moderation/" + e.Op + "/" + e.User + "/" + strconv.FormatInt(rec.AtMs, 10)
	}
	b, err := encode(s.format, rec)
	if err != nil {
		deskDropped.Inc()
		return
	}
	s.send(e.User, b)
}
