package metricsactor

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
)

// The desk's queue counts reach Prometheus from the last final window,
// per agent, line and "*".
func TestQueueGauges(t *testing.T) {
	win := exportAfter(t, []analytics.Event{
		sys("g1", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "cars"),
		sys("g1", 2, time.Minute, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "qa1", WaitMs: 30000}, ""),
		sys("g2", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "cars"),
		sys("g2", 2, 2*time.Minute, analytics.DeskStep{Op: analytics.DeskClose, Abandoned: true}, ""),
		// Hours later: the 10:00 hour is final.
		{Conv: "g3", Seq: 1, Role: storage.SenderCustomer, Sender: "c", ServerTS: gaugeBase.Add(3 * time.Hour)},
	})
	if got := value(t, avgQueueWait.WithLabelValues("qa1", win)); got != 30 {
		t.Errorf("qa1 average queue wait %v s, want 30", got)
	}
	if got := value(t, avgQueueWait.WithLabelValues("line:cars", win)); got != 30 {
		t.Errorf("line average queue wait %v s, want 30", got)
	}
	if got := value(t, abandonedSessions.WithLabelValues("line:cars", win)); got != 1 {
		t.Errorf("line abandoned %v, want 1", got)
	}
}

// Ratings reach Prometheus from the last final window, per agent, line
// and "*": the count, the average score and the CSAT rate.
func TestRatingGauges(t *testing.T) {
	win := exportAfter(t, []analytics.Event{
		sys("r1", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "homes"),
		sys("r1", 2, time.Minute, analytics.DeskStep{Op: analytics.DeskRating, Score: 5, Agent: "ra1", Session: "r1/1"}, ""),
		sys("r2", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "homes"),
		sys("r2", 2, 2*time.Minute, analytics.DeskStep{Op: analytics.DeskRating, Score: 2, Session: "r2/1"}, ""), // the robot's
		// Hours later: the 10:00 hour is final.
		{Conv: "r3", Seq: 1, Role: storage.SenderCustomer, Sender: "c", ServerTS: gaugeBase.Add(3 * time.Hour)},
	})
	for _, tc := range []struct {
		key                  string
		n, avg, satisfaction float64
	}{{"ra1", 1, 5, 1}, {"line:homes", 2, 3.5, 0.5}} {
		if n, avg, csat := value(t, ratings.WithLabelValues(tc.key, win)), value(t, avgRating.WithLabelValues(tc.key, win)),
			value(t, csatRate.WithLabelValues(tc.key, win)); n != tc.n || avg != tc.avg || csat != tc.satisfaction {
			t.Errorf("%s: %v ratings, average %v, csat %v; want %v, %v, %v", tc.key, n, avg, csat, tc.n, tc.avg, tc.satisfaction)
		}
	}
}

// Desk sessions' first responses reach Prometheus from the last final
// window, per agent, line and "*": the average and the timely share.
func TestDeskFirstResponseGauges(t *testing.T) {
	win := exportAfter(t, []analytics.Event{
		sys("f1", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "boats"),
		sys("f1", 2, time.Second, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "fa1", WaitMs: 1000}, ""),
		{Conv: "f1", Seq: 3, Role: storage.SenderAgent, Sender: "fa1", ServerTS: gaugeBase.Add(30 * time.Second)},
		sys("f2", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "boats"),
		sys("f2", 2, time.Second, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "fa2", WaitMs: 1000}, ""),
		{Conv: "f2", Seq: 3, Role: storage.SenderAgent, Sender: "fa2", ServerTS: gaugeBase.Add(10 * time.Minute)},
		// Hours later: the 10:00 hour is final.
		{Conv: "f3", Seq: 1, Role: storage.SenderCustomer, Sender: "c", ServerTS: gaugeBase.Add(3 * time.Hour)},
	})
	for _, tc := range []struct {
		key         string
		avg, timely float64
	}{{"fa1", 30, 1}, {"fa2", 600, 0}, {"line:boats", 315, 0.5}} {
		if avg, timely := value(t, avgDeskFirstResponse.WithLabelValues(tc.key, win)), value(t, deskFirstTimelyRate.WithLabelValues(tc.key, win)); avg != tc.avg || timely != tc.timely {
			t.Errorf("%s: average %v s, timely %v; want %v s, %v", tc.key, avg, timely, tc.avg, tc.timely)
		}
	}
}

// The agents' handling reaches Prometheus from the last final window, per
// agent, line and "*": the average time held and the sessions resolved.
func TestHandleGauges(t *testing.T) {
	win := exportAfter(t, []analytics.Event{
		sys("h1", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "bikes"),
		sys("h1", 2, time.Minute, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "ha1", WaitMs: 1000}, ""),
		sys("h1", 3, 3*time.Minute, analytics.DeskStep{Op: analytics.DeskTransfer, Owner: "ha2"}, ""),
		sys("h1", 4, 7*time.Minute, analytics.DeskStep{Op: analytics.DeskClose}, ""),
		// Hours later: the 10:00 hour is final.
		{Conv: "h2", Seq: 1, Role: storage.SenderCustomer, Sender: "c", ServerTS: gaugeBase.Add(3 * time.Hour)},
	})
	for _, tc := range []struct {
		key           string
		avg, resolved float64
	}{{"ha1", 120, 0}, {"ha2", 240, 1}, {"line:bikes", 180, 1}} {
		if avg, resolved := value(t, avgHandle.WithLabelValues(tc.key, win)), value(t, deskResolved.WithLabelValues(tc.key, win)); avg != tc.avg || resolved != tc.resolved {
			t.Errorf("%s: average %v s, resolved %v; want %v s, %v", tc.key, avg, resolved, tc.avg, tc.resolved)
		}
	}
}

// The sessions an agent missed (taken back unanswered) reach Prometheus
// from the last final window, per agent, line and "*".
func TestMissedGauges(t *testing.T) {
	win := exportAfter(t, []analytics.Event{
		sys("m1", 1, 0, analytics.DeskStep{Op: analytics.DeskStart}, "boats"),
		sys("m1", 2, time.Minute, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "ma1", WaitMs: 1000}, ""),
		sys("m1", 3, 3*time.Minute, analytics.DeskStep{Op: analytics.DeskRequeue, Missed: true}, ""),
		sys("m1", 4, 4*time.Minute, analytics.DeskStep{Op: analytics.DeskAssigned, Owner: "ma2", WaitMs: 1000}, ""),
		// Hours later: the 10:00 hour is final.
		{Conv: "m2", Seq: 1, Role: storage.SenderCustomer, Sender: "c", ServerTS: gaugeBase.Add(3 * time.Hour)},
	})
	for _, tc := range []struct {
		key    string
		missed float64
	}{{"ma1", 1}, {"ma2", 0}, {"line:boats", 1}} {
		if got := value(t, deskMissed.WithLabelValues(tc.key, win)); got != tc.missed {
			t.Errorf("%s: missed %v, want %v", tc.key, got, tc.missed)
		}
	}
}

// gaugeBase is an hour boundary the gauge tests' events start at.
var gaugeBase = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// sys is a desk step of conv at gaugeBase+at.
func sys(conv string, seq uint64, at time.Duration, d analytics.DeskStep, line string) analytics.Event {
	return analytics.Event{Conv: conv, Seq: seq, Role: storage.SenderSystem, ServerTS: gaugeBase.Add(at), Desk: d, Line: line}
}

// exportAfter feeds evs to a fresh engine, exports its gauges and returns
// the label of the window family they describe.
func exportAfter(t *testing.T, evs []analytics.Event) string {
	t.Helper()
	e, err := analytics.New(analytics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := e.Process(ev); err != nil {
			t.Fatal(err)
		}
	}
	exportGauges(e)
	return analytics.Tumbling(time.Hour).String()
}

func value(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
