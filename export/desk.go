package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// DeskRecord is one service-desk decision on TopicEvents (type
// "desk_decision"), keyed by the session's conversation (by the agent for
// an agent's own hold/release without a session): agent hold/release,
// queue enqueue/offer/dequeue, thread assign/unassign. These are the
// grains' internal decisions, for diagnostics; the session's steps
// themselves (opened, assigned, transferred, closed…) are DeskStepRecords,
// exported from the log at-least-once.
type DeskRecord struct {
	EventID  string `json:"event_id"`
	Type     string `json:"type"` // always "desk_decision"
	Op       string `json:"op"`
	Session  string `json:"session,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Agent    string `json:"agent,omitempty"`
	SinceMs  int64  `json:"since_ms,omitempty"` // enqueue: when the wait started
	Load     int    `json:"load,omitempty"`
	Capacity int    `json:"capacity,omitempty"`
	AtMs     int64  `json:"at_ms"`
}

// ReadRecord is a read-cursor move on TopicEvents (type "read"), keyed by
// conversation. Its id is deterministic (user, conversation, seq).
type ReadRecord struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"` // always "read"
	Conv    string `json:"conv"`
	User    string `json:"user"`
	Seq     uint64 `json:"seq"`
	AtMs    int64  `json:"at_ms"`
}

// NoteRecord is a desk session's internal note on TopicEvents (type
// "desk_note"), keyed by conversation, for a CRM or ticket system that
// keeps the agents' notes beside the transcript. Its id is the session's
// and the note's index, so a repeat dedupes.
type NoteRecord struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"` // always "desk_note"
	Conv    string `json:"conv"`
	Session string `json:"session"`
	Index   int    `json:"index"`
	By      string `json:"by"`
	Text    string `json:"text"`
	AtMs    int64  `json:"at_ms"`
}

// TagsRecord is a desk session's tags after a change on TopicEvents
// (type "desk_tags"), keyed by conversation: the agents' contact reasons,
// for a CRM or BI tool that counts them. Each record carries the whole
// list; its id is the session's and the change's version, so a repeat
// dedupes and the highest version is the session's list.
type TagsRecord struct {
	EventID string   `json:"event_id"`
	Type    string   `json:"type"` // always "desk_tags"
	Conv    string   `json:"conv"`
	Session string   `json:"session"`
	Version int      `json:"version"`
	By      string   `json:"by"`
	Tags    []string `json:"tags"`
	AtMs    int64    `json:"at_ms"`
}

var deskDropped = newCounter("switchboard_export_desk_dropped_total",
	"Desk and read events not exported: more than MaxBuffered waiting for Kafka, or Kafka refused them.")

// DeskSink publishes a node's desk decisions and read-cursor moves as they
// are made. Unlike messages and desk steps they are not in a log the
// exporter re-reads: a read cursor is one stored value per (user,
// conversation) that each move overwrites, and the decisions are not
// stored at all. So this path is at-most-once: bounded by MaxBuffered
// records waiting for Kafka, past which an event is dropped and counted,
// never blocking a desk grain or a read; a crash loses what the client had
// not delivered. Ids are stable where the event is (a read: user,
// conversation, seq), so a repeated read of the same seq dedupes.
type DeskSink struct {
	cl     producer
	format Format
	prefix string
	n      atomic.Uint64
}

// NewDeskSink starts a producer for this node's desk events.
func NewDeskSink(cfg Config) (*DeskSink, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	cl, err := newProducer(cfg, cfg.MaxBuffered)
	if err != nil {
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	// Event ids: a per-process random prefix and a counter (a decision is
	// made once, and is not stored: there is nothing stable to derive).
	return &DeskSink{cl: cl, format: cfg.Format, prefix: "desk_decision/" + hex.EncodeToString(b[:]) + "/"}, nil
}

// OnEvent is the hook for desk.Config.OnEvent.
func (s *DeskSink) OnEvent(e desk.Event) {
	rec := DeskRecord{EventID: s.prefix + strconv.FormatUint(s.n.Add(1), 10), Type: "desk_decision", Op: e.Kind,
		Session: e.Session, Queue: e.Queue, Agent: e.Agent, SinceMs: e.Since, Load: e.Load, Capacity: e.Capacity,
		AtMs: time.Now().UnixMilli()}
	b, err := encode(s.format, rec)
	if err != nil {
		deskDropped.Inc()
		return
	}
	// A session id is CONV/N: its records go with the conversation's.
	key := e.Session
	if i := strings.LastIndexByte(key, '/'); i > 0 {
		key = key[:i]
	}
	if key == "" {
		key = e.Agent
	}
	s.send(key, b)
}

// OnNote is the hook for desk.Config.OnNote.
func (s *DeskSink) OnNote(e desk.NoteEvent) {
	b, err := encode(s.format, NoteRecord{EventID: "desk_note/" + e.Session + "/" + strconv.Itoa(e.Index), Type: "desk_note",
		Conv: e.Conv, Session: e.Session, Index: e.Index, By: e.By, Text: e.Text, AtMs: e.AtMs})
	if err != nil {
		deskDropped.Inc()
		return
	}
	s.send(e.Conv, b)
}

// OnTags is the hook for desk.Config.OnTags.
func (s *DeskSink) OnTags(e desk.TagsEvent) {
	tags := e.Tags
	if tags == nil {
		tags = []string{} // every tag removed: an empty list, not null
	}
	b, err := encode(s.format, TagsRecord{EventID: "desk_tags/" + e.Session + "/" + strconv.Itoa(e.Version), Type: "desk_tags",
		Conv: e.Conv, Session: e.Session, Version: e.Version, By: e.By, Tags: tags, AtMs: e.AtMs})
	if err != nil {
		deskDropped.Inc()
		return
	}
	s.send(e.Conv, b)
}

// OnRead is the hook for actors.Config.OnRead.
func (s *DeskSink) OnRead(user, conv string, seq uint64) {
	b, err := encode(s.format, ReadRecord{EventID: "read/" + user + "/" + conv + "/" + strconv.FormatUint(seq, 10), Type: "read",
		Conv: conv, User: user, Seq: seq, AtMs: time.Now().UnixMilli()})
	if err != nil {
		deskDropped.Inc()
		return
	}
	s.send(conv, b)
}

func (s *DeskSink) send(key string, b []byte) {
	s.cl.TryProduce(context.Background(), &kgo.Record{Topic: TopicEvents, Key: []byte(key), Value: b}, func(_ *kgo.Record, err error) {
		if err != nil {
			deskDropped.Inc()
			return
		}
		recordsTotal.WithLabelValues(TopicEvents).Inc()
	})
}

// Close flushes for up to timeout and closes the producer.
func (s *DeskSink) Close(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = s.cl.Flush(ctx)
	s.cl.Close()
}
