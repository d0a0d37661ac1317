package transport

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors/session"
)

// A desk session reaches the wire with its queue place, the queue's wait
// estimate, the first-response fields and the answer-by time.
func TestWireDeskSession(t *testing.T) {
	w := wireDeskSession(session.DeskSessionInfo{Conv: "s:l:c:1", State: "queued", QueuePosition: 2, QueueWaitMs: 90000, Queue: "care",
		FirstResponseTargetMs: 60000, FirstResponseDueMs: 5, StartedMs: 4, AnswerByMs: 7})
	if w.Conv != "s:l:c:1" || w.State != "queued" || w.QueuePosition != 2 || w.QueueWaitMs != 90000 || w.Queue != "care" ||
		w.FirstResponseTargetMs != 60000 || w.FirstResponseDueMs != 5 || w.StartedMs != 4 || w.AnswerByMs != 7 {
		t.Errorf("%+v", w)
	}
}
