package metricsactor

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/analytics"
)

// Prometheus export: the rates and averages of the last final window of
// the largest tumbling family, per agent key ("*" = everyone).
var (
	timelyRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_timely_reply_rate",
		Help: "Timely-reply rate (conversation model) of the last final window, per agent.",
	}, []string{"agent", "window"})
	avgResponse = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_response_seconds",
		Help: "Average response time (conversation model) of the last final window, per agent.",
	}, []string{"agent", "window"})
	avgFirstResponse = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_first_response_seconds",
		Help: "Average first response time of the sessions of the last final window, per agent.",
	}, []string{"agent", "window"})
	sessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_sessions",
		Help: "Sessions started in the last final window, per agent.",
	}, []string{"agent", "window"})
	avgQueueWait = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_queue_wait_seconds",
		Help: "Average queue wait of the desk's assignments in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	abandonedSessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_abandoned_sessions",
		Help: "Desk sessions closed while waiting in a queue in the last final window, per line and *.",
	}, []string{"agent", "window"})
	ratings = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_ratings",
		Help: "Customers' ratings of desk sessions in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	avgRating = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_rating",
		Help: "Average rating score (1-5) of the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	csatRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_csat_rate",
		Help: "Share of ratings of 4 or 5 (CSAT) in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	avgDeskFirstResponse = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_desk_first_response_seconds",
		Help: "Average time from a customer's asking to the first agent message of the desk sessions answered in the last final window, across any gap, per agent, line and *.",
	}, []string{"agent", "window"})
	deskFirstTimelyRate = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_desk_first_timely_rate",
		Help: "Share of the desk sessions' first responses within their line's target (else the reply threshold) in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	avgHandle = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_avg_handle_seconds",
		Help: "Average time an agent held a desk session, from its assignment or transfer to the close, transfer or requeue that ended it, over the spans ended in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	deskResolved = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_desk_resolved",
		Help: "Desk sessions closed while an agent held them in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	deskMissed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchboard_metrics_desk_missed",
		Help: "Desk sessions taken back from an agent who did not answer them within the answer timeout in the last final window, per agent, line and *.",
	}, []string{"agent", "window"})
	lateEvents = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_metrics_late_events",
		Help: "Events excluded as later than the allowed lateness.",
	})
	futureEvents = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_metrics_future_events",
		Help: "Events excluded as too far in the future.",
	})
	responseSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_metrics_response_seconds",
		Help:    "Response time of each answered question span (conversation model), per agent it counts for (the desk owner, else the replying agent).",
		Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
	}, []string{"agent"})
	lagSeconds = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_metrics_watermark_lag_seconds",
		Help: "Wall-clock time minus the metrics watermark: how far the pipeline trails.",
	})
)

func init() {
	prometheus.MustRegister(timelyRate, avgResponse, avgFirstResponse, sessions, avgQueueWait, abandonedSessions,
		ratings, avgRating, csatRate, avgDeskFirstResponse, deskFirstTimelyRate, avgHandle, deskResolved, deskMissed, lateEvents, futureEvents, lagSeconds, responseSeconds)
}

func exportGauges(e *analytics.Engine) {
	lateEvents.Set(float64(e.LateEvents()))
	futureEvents.Set(float64(e.FutureEvents()))
	if wm, ok := e.Watermark(); ok {
		lagSeconds.Set(time.Since(wm).Seconds())
	}
	var family analytics.WindowSpec
	for _, w := range e.Config().Windows {
		if w.IsTumbling() && w.Size > family.Size {
			family = w
		}
	}
	if family.Size == 0 {
		return
	}
	last := map[string]analytics.Row{}
	for _, r := range e.Rows(analytics.Query{Size: family.Size, Slide: family.Slide}) {
		if r.Final && r.WindowStart.After(last[r.Key].WindowStart) {
			last[r.Key] = r
		}
	}
	win := family.String()
	for key, r := range last {
		timelyRate.WithLabelValues(key, win).Set(r.TimelyRate)
		avgResponse.WithLabelValues(key, win).Set(r.AvgResponseMs / 1000)
		avgFirstResponse.WithLabelValues(key, win).Set(r.AvgFirstResponseMs / 1000)
		sessions.WithLabelValues(key, win).Set(float64(r.Sessions))
		avgQueueWait.WithLabelValues(key, win).Set(r.AvgQueueWaitMs / 1000)
		abandonedSessions.WithLabelValues(key, win).Set(float64(r.Abandoned))
		ratings.WithLabelValues(key, win).Set(float64(r.Ratings))
		avgRating.WithLabelValues(key, win).Set(r.AvgRating)
		csatRate.WithLabelValues(key, win).Set(r.CSATRate)
		avgDeskFirstResponse.WithLabelValues(key, win).Set(r.AvgDeskFirstResponseMs / 1000)
		deskFirstTimelyRate.WithLabelValues(key, win).Set(r.DeskFirstTimelyRate)
		avgHandle.WithLabelValues(key, win).Set(r.AvgHandleMs / 1000)
		deskResolved.WithLabelValues(key, win).Set(float64(r.DeskResolved))
		deskMissed.WithLabelValues(key, win).Set(float64(r.DeskMissed))
	}
}

// observeSpan feeds the response-time histogram.
func observeSpan(agent string, response time.Duration) {
	responseSeconds.WithLabelValues(agent).Observe(response.Seconds())
}
