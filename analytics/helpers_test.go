package analytics

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// base is an hour boundary, so window starts are easy to read.
var base = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

const (
	sec = int64(1000)
	mn  = 60 * sec
)

// msg is a test message: who sends at event time at (ms after base). The
// server time is at+srv (srv defaults to 0; client time equals the event
// time unless noClient).
type msg struct {
	who      string // "c" customer, "sys" system, "?" unspecified, else an agent id
	at       int64
	srv      int64
	noClient bool
	desk     DeskStep // a desk step (who "sys"): server time at, no client time
	line     string
}

// events turns messages into one conversation's events with seqs 1, 2, …
func events(conv string, msgs ...msg) []Event {
	out := make([]Event, 0, len(msgs))
	for i, m := range msgs {
		ev := Event{Conv: conv, Seq: uint64(i + 1), Sender: m.who}
		switch m.who {
		case "c":
			ev.Role, ev.Sender = storage.SenderCustomer, "cust-"+conv
		case "sys":
			ev.Role = storage.SenderSystem
		case "?":
			ev.Role = storage.SenderUnspecified
		default:
			ev.Role = storage.SenderAgent
		}
		ev.ServerTS = base.Add(time.Duration(m.at+m.srv) * time.Millisecond)
		ev.Desk, ev.Line = m.desk, m.line
		if !m.noClient && m.desk.Op == "" {
			ev.ClientTS = base.Add(time.Duration(m.at) * time.Millisecond)
		}
		out = append(out, ev)
	}
	return out
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func feed(t testing.TB, e *Engine, evs []Event) {
	t.Helper()
	for _, ev := range evs {
		if err := e.Process(ev); err != nil {
			t.Fatalf("process %+v: %v", ev, err)
		}
	}
}

// only returns the single row of key in windows of the given size; a zero
// Row if there is none.
func only(t *testing.T, e *Engine, size time.Duration, key string) Row {
	t.Helper()
	rows := e.Rows(Query{Size: size, Key: key})
	switch len(rows) {
	case 0:
		return Row{}
	case 1:
		return rows[0]
	}
	t.Fatalf("%d rows for %s %v, want at most 1: %+v", len(rows), key, size, rows)
	return Row{}
}
