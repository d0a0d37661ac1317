package export

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/export/exportpb"
	"github.com/switchboard-im/switchboard/storage"
)

// DeskStepRecord is one step of a service-desk session on TopicEvents
// (type "desk"), keyed by conversation. It is derived from the system
// message the desk writes into the conversation's log for every step
// (docs/DESK.md, "The system messages"), so it is exported like the
// messages: at-least-once, in log order with the conversation's other
// records, resumed from the checkpoint after a crash, with the stable id
// desk/CONV/SEQ.
type DeskStepRecord struct {
	EventID   string `json:"event_id"`
	Type      string `json:"type"` // always "desk"
	Op        string `json:"op"`   // opened, queued, assigned, transferred, requeued, handover, closed, rated
	Conv      string `json:"conv"`
	Seq       uint64 `json:"seq"`
	Session   string `json:"session,omitempty"`
	Actor     string `json:"actor,omitempty"`
	Line      string `json:"line,omitempty"`  // opened
	Scene     string `json:"scene,omitempty"` // opened
	Queue     string `json:"queue,omitempty"` // queued, assigned, transferred to a queue, closed while waiting
	Position  int64  `json:"position,omitempty"`
	Agent     string `json:"agent,omitempty"` // assigned, transferred to an agent, requeued (the agent who dropped), rated (the agent who had it)
	From      string `json:"from,omitempty"`  // transferred
	To        string `json:"to,omitempty"`    // transferred: user:ID or queue:SKILL
	WaitMs    *int64 `json:"wait_ms,omitempty"`
	Reason    string `json:"reason,omitempty"` // closed
	State     string `json:"state,omitempty"`  // closed: the state it was closed in
	Abandoned bool   `json:"abandoned,omitempty"`
	Score     uint32 `json:"score,omitempty"` // rated: the customer's score, 1-5
	// Detail is the system message's whole JSON body (the scene's data
	// included).
	Detail     json.RawMessage `json:"detail,omitempty"`
	ServerTsMs int64           `json:"server_ts_ms"`
}

// deskOps names the desk's steps in records.
var deskOps = map[string]string{
	"start": "opened", "queued": "queued", "assigned": "assigned", "transfer": "transferred",
	"requeue": "requeued", "handover": "handover", "close": "closed", "rating": "rated",
	"after_hours": "after_hours",
}

// DeskStepEventID is the stable id of the desk record of a log entry.
func DeskStepEventID(conv string, seq uint64) string {
	return "desk/" + conv + "/" + strconv.FormatUint(seq, 10)
}

// deskStepFor reads a desk step's system message; ok is false for any
// other message (membership changes and the like stay "membership").
func deskStepFor(m storage.Message) (DeskStepRecord, bool) {
	if m.Kind != storage.MsgSystem || len(m.Body) == 0 || m.Body[0] != '{' || !bytes.Contains(m.Body, []byte(`"desk"`)) {
		return DeskStepRecord{}, false
	}
	var b struct {
		Desk      string `json:"desk"`
		Session   string `json:"session"`
		Line      string `json:"line"`
		Scene     string `json:"scene"`
		Queue     string `json:"queue"`
		Position  int64  `json:"position"`
		Agent     string `json:"agent"`
		By        string `json:"by"`
		From      string `json:"from"`
		To        string `json:"to"`
		WaitMs    *int64 `json:"wait_ms"`
		Reason    string `json:"reason"`
		State     string `json:"state"`
		Abandoned bool   `json:"abandoned"`
		// Read apart, so that a score that is no small integer leaves it
		// out instead of turning the step into a membership record.
		Score json.RawMessage `json:"score"`
	}
	if json.Unmarshal(m.Body, &b) != nil || b.Desk == "" {
		return DeskStepRecord{}, false
	}
	op, known := deskOps[b.Desk]
	if !known {
		op = b.Desk // a step added later keeps its own name
	}
	r := DeskStepRecord{
		EventID: DeskStepEventID(m.ConvID, m.Seq), Type: "desk", Op: op, Conv: m.ConvID, Seq: m.Seq,
		Session: b.Session, Actor: m.Sender, Line: b.Line, Scene: b.Scene, Queue: b.Queue, Position: b.Position,
		Agent: b.Agent, From: b.From, To: b.To, WaitMs: b.WaitMs, Reason: b.Reason, State: b.State,
		Abandoned: b.Abandoned, Detail: json.RawMessage(m.Body), ServerTsMs: millis(m.ServerTS),
	}
	if score, err := strconv.ParseUint(string(b.Score), 10, 32); err == nil {
		r.Score = uint32(score)
	}
	if b.Desk == "transfer" {
		switch kind, arg, _ := strings.Cut(b.To, ":"); kind {
		case "user":
			r.Agent = arg
		case "queue":
			r.Queue = arg
		}
	}
	return r, true
}

func (r DeskStepRecord) proto() proto.Message {
	return &exportpb.Event{Kind: &exportpb.Event_Step{Step: &exportpb.DeskStepRecord{EventId: r.EventID, Type: r.Type, Op: r.Op,
		Conv: r.Conv, Seq: r.Seq, Session: r.Session, Actor: r.Actor, Line: r.Line, Scene: r.Scene, Queue: r.Queue,
		Position: r.Position, Agent: r.Agent, From: r.From, To: r.To, WaitMs: r.WaitMs, Reason: r.Reason, State: r.State,
		Abandoned: r.Abandoned, Score: r.Score, DetailJson: string(r.Detail), ServerTsMs: r.ServerTsMs}}}
}
