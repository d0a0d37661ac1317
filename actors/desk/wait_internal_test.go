package desk

import (
	"encoding/json"
	"testing"
	"time"
)

// A queue estimates a waiting session's wait from its pace: the time from
// the oldest of its latest assignments to now over their number, times
// the position; too few assignments, no position, or an estimate past
// MaxWaitEstimate is no estimate.
func TestWaitEstimate(t *testing.T) {
	const now = int64(1_000_000)
	min := int64(time.Minute / time.Millisecond)
	q := &queueGrain{}
	for _, c := range []struct {
		name     string
		assigned []int64
		pos      int
		want     time.Duration
	}{
		{"no assignment seen", nil, 1, 0},
		{"two: too few", []int64{now - 2*min, now - min}, 1, 0},
		{"three in six minutes: one every two", []int64{now - 6*min, now - 4*min, now - 2*min}, 1, 2 * time.Minute},
		{"third in line", []int64{now - 6*min, now - 4*min, now - 2*min}, 3, 6 * time.Minute},
		{"the pace slows once assignments stop", []int64{now - 30*min, now - 29*min, now - 28*min}, 1, 10 * time.Minute},
		{"no position", []int64{now - 6*min, now - 4*min, now - 2*min}, 0, 0},
		{"past the bound", []int64{now - 12*60*min, now - 11*60*min, now - 10*60*min}, 7, 0},
		{"at the bound", []int64{now - 12*60*min, now - 11*60*min, now - 10*60*min}, 6, MaxWaitEstimate},
	} {
		q.AssignedAt = c.assigned
		if got := q.waitEstimate(c.pos, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The estimate looks at the latest waitSamples assignments only: at the
// bound the oldest is the first kept, past it the first goes.
func TestWaitSamplesBound(t *testing.T) {
	q := &queueGrain{}
	for i := range waitSamples {
		q.noteAssigned(int64(i))
	}
	if len(q.AssignedAt) != waitSamples || q.AssignedAt[0] != 0 {
		t.Fatalf("at the bound: %d kept, oldest %d", len(q.AssignedAt), q.AssignedAt[0])
	}
	q.noteAssigned(waitSamples)
	if len(q.AssignedAt) != waitSamples || q.AssignedAt[0] != 1 || q.AssignedAt[waitSamples-1] != waitSamples {
		t.Fatalf("past the bound: %d kept, oldest %d, newest %d", len(q.AssignedAt), q.AssignedAt[0], q.AssignedAt[waitSamples-1])
	}
}

// A queue of an earlier version answers an enqueue with the bare
// position; the thread takes it, without a wait (it asks for the spot).
func TestSpotOfAnEarlierVersion(t *testing.T) {
	for _, c := range []struct {
		answer string
		want   queueSpot
	}{
		{`3`, queueSpot{Position: 3, WaitMs: -1}},
		{`{"position":2,"wait_ms":40}`, queueSpot{Position: 2, WaitMs: 40}},
		{`{"position":1,"wait_ms":0}`, queueSpot{Position: 1}},
	} {
		var got queueSpot
		if err := json.Unmarshal([]byte(c.answer), &got); err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.answer, got, err, c.want)
		}
	}
	if err := json.Unmarshal([]byte(`"x"`), new(queueSpot)); err == nil {
		t.Error("a string taken for a spot")
	}
}
