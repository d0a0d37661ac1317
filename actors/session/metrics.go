package session

import (
	"context"
	"time"
)

// MetricsSession is implemented by sessions that answer service metrics
// (the my_metrics request).
type MetricsSession interface {
	// MyMetrics returns the newest limit rows of window ("1h", "30s/15s")
	// of key, newest first: "" is the session's user; another key (an
	// agent, "*", "line:NAME") needs a supervisor.
	MyMetrics(ctx context.Context, key, window string, limit int) ([]MetricsRow, error)
}

// MetricsRow is one window of one user's metrics, as the metrics engine
// (package analytics) reports it; averages in milliseconds.
type MetricsRow struct {
	WindowStart, WindowEnd time.Time
	Questions              uint64
	Timely                 uint64
	TimelyRate             float64
	AvgResponseMs          float64
	MsgQuestions           uint64
	MsgTimely              uint64
	MsgTimelyRate          float64
	AvgMsgResponseMs       float64
	Sessions               uint64
	AvgSessionMs           float64
	AvgSessionMessages     float64
	AvgFirstResponseMs     float64
	QueueWaits             uint64
	AvgQueueWaitMs         float64
	Abandoned              uint64
	Ratings                uint64
	AvgRating              float64
	Satisfied              uint64
	CSATRate               float64
	DeskFirstResponses     uint64
	DeskFirstTimely        uint64
	DeskFirstTimelyRate    float64
	AvgDeskFirstResponseMs float64
	DeskHandled            uint64
	DeskResolved           uint64
	AvgHandleMs            float64
	DeskMissed             uint64
	Final                  bool
}
