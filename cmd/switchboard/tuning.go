package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster"
	"github.com/switchboard-im/switchboard/metrics"
)

// tuning holds serve's limits and service-metrics definitions: every limit
// and every metrics default is a flag (and so an environment variable).
type tuning struct {
	actors  actors.Config
	metrics metrics.Config
	windows []string
	desk    desk.Config
}

func (t *tuning) register(f *pflag.FlagSet) {
	a, m := actors.DefaultConfig(), metrics.DefaultConfig()
	f.IntVar(&t.actors.MaxBodyBytes, "max-body-bytes", a.MaxBodyBytes, "largest message body")
	f.IntVar(&t.actors.MaxGroupMembers, "max-group-members", a.MaxGroupMembers, "largest group")
	f.IntVar(&t.actors.FanoutThreshold, "fanout-threshold", a.FanoutThreshold, "conversations with more members use read fan-out (no per-member inbox entry per message)")
	f.Float64Var(&t.actors.SendRate, "send-rate", a.SendRate, "messages/s each sender may send into one conversation")
	f.IntVar(&t.actors.SendBurst, "send-burst", a.SendBurst, "burst above --send-rate")
	f.DurationVar(&t.actors.RecallWindow, "recall-window", a.RecallWindow, "how long a sender may recall its message")
	f.DurationVar(&t.actors.IdleTimeout, "idle-timeout", a.IdleTimeout, "passivate grains idle this long")
	f.IntVar(&t.actors.DedupeWindow, "dedupe-window", a.DedupeWindow, "recent messages per conversation whose client ids are remembered")

	f.DurationVar(&t.metrics.ReplyThreshold, "metrics-reply-threshold", m.ReplyThreshold, "a reply within this is timely")
	f.DurationVar(&t.metrics.SessionGap, "metrics-session-gap", m.SessionGap, "messages at most this far apart belong to one session")
	f.DurationVar(&t.metrics.OutOfOrderness, "metrics-out-of-order", m.OutOfOrderness, "bounded out-of-orderness of event times (watermark lag)")
	f.DurationVar(&t.metrics.AllowedLateness, "metrics-lateness", m.AllowedLateness, "allowed lateness beyond the out-of-orderness")
	f.DurationVar(&t.metrics.FutureBound, "metrics-future-bound", m.FutureBound, "events further ahead of server time are rejected")
	var def []string
	for _, w := range m.Windows {
		def = append(def, windowFlag(w))
	}
	f.StringSliceVar(&t.windows, "metrics-windows", def, "window families: SIZE (tumbling) or SIZE/SLIDE (sliding), e.g. 1m,1h,30s/15s")
	registerDeskFlags(f, &t.desk)
}

func windowFlag(w metrics.WindowSpec) string {
	if w.IsTumbling() {
		return w.Size.String()
	}
	return w.Size.String() + "/" + w.Slide.String()
}

// apply puts the flags into a node's configuration, validating them.
func (t *tuning) apply(cfg *cluster.NodeConfig) error {
	pm, pw := cfg.Actors.PolicyMode, cfg.Actors.PolicyWords
	cfg.Actors = t.actors
	cfg.Actors.PolicyMode, cfg.Actors.PolicyWords = pm, pw
	m := t.metrics
	m.Windows = nil
	for _, s := range t.windows {
		size, slide, sliding := strings.Cut(s, "/")
		d, err := time.ParseDuration(size)
		if err != nil {
			return fmt.Errorf("--metrics-windows %q: %w", s, err)
		}
		w := metrics.Tumbling(d)
		if sliding {
			sl, err := time.ParseDuration(slide)
			if err != nil {
				return fmt.Errorf("--metrics-windows %q: %w", s, err)
			}
			w = metrics.Sliding(d, sl)
		}
		m.Windows = append(m.Windows, w)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("metrics flags: %w", err)
	}
	cfg.Metrics.Engine = m
	cfg.Desk = t.desk
	return nil
}
