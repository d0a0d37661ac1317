package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// ConnectReport is the connect scenario's result.
type ConnectReport struct {
	Target    int         `json:"target"`
	Connected int         `json:"connected"`
	Failed    int64       `json:"failed"`
	Dropped   int64       `json:"dropped_while_held"`
	RatePerS  float64     `json:"connect_rate_per_s"`
	ConnectMs Percentiles `json:"connect_ms"`
	// Server memory: RSS before the first connect and after the hold,
	// divided by the connections up (each also activates its user grain).
	ServerRSSBefore    float64 `json:"server_rss_before"`
	ServerRSSAfter     float64 `json:"server_rss_after"`
	ServerBytesPerConn float64 `json:"server_bytes_per_conn"`
	BenchBytesPerConn  float64 `json:"bench_bytes_per_conn"`
}

// runConnect ramps to Conns authenticated connections over Ramp (an
// open-loop schedule of connects; connect time is taken from each one's
// intended start), holds them for Duration and measures the server's
// memory per connection.
func runConnect(ctx context.Context, p *pool, o Options, res *Result) ([]*client.Client, error) {
	res.Params["conns"], res.Params["ramp_s"], res.Params["hold_s"], res.Params["dial_concurrency"] = o.Conns, o.Ramp.Seconds(), o.Duration.Seconds(), o.DialConcurrency
	errs := newErrCount()
	cr := &ConnectReport{Target: o.Conns}
	res.Connect = cr
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if p.t.AdminURL != "" {
		if s, err := scrape(ctx, p.t.AdminURL); err == nil {
			cr.ServerRSSBefore = s.rss
		}
	}
	lat := newLatency()
	var up, dropped atomic.Int64
	clients := make([]*client.Client, o.Conns)
	smp := newSampler("connect", o.Progress, p.t.AdminURL, nil, nil, nil, errs)
	smp.conns = up.Load
	smp.begin(ctx)
	start := time.Now()
	sem := make(chan struct{}, o.DialConcurrency)
	var wg sync.WaitGroup
	var lastUp atomic.Int64
	for i := range o.Conns {
		at := time.Duration(float64(i) / float64(o.Conns) * float64(o.Ramp))
		if d := time.Until(start.Add(at)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			user := fmt.Sprintf("%s-c%d", o.RunID, i)
			c, err := p.dial(ctx, user, "bench", func(e client.Event) {
				if e.Kind == client.EventDisconnected {
					dropped.Add(1)
				}
			})
			if err != nil {
				errs.addErr(err)
				return
			}
			lat.record(i, time.Since(start)-at)
			clients[i] = c
			up.Add(1)
			lastUp.Store(int64(time.Since(start)))
		}()
	}
	wg.Wait()
	rampTook := time.Duration(lastUp.Load())
	if ctx.Err() == nil {
		select {
		case <-time.After(o.Duration):
		case <-ctx.Done():
		}
	}
	elapsed := time.Since(start)
	smp.end(context.WithoutCancel(ctx))
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	n := 0
	for _, c := range clients {
		if c != nil && c.Connected() {
			n++
		}
	}
	cr.Connected, cr.Dropped = n, dropped.Load()
	cr.Failed = int64(o.Conns) - up.Load()
	if rampTook > 0 {
		cr.RatePerS = float64(up.Load()) / rampTook.Seconds()
	}
	cr.ConnectMs = percentiles(lat.total())
	res.ConnectSpectrum = spectrum(lat.total())
	if s := smp.srv; s.ok {
		cr.ServerRSSAfter = s.rssEnd
		if n > 0 {
			cr.ServerBytesPerConn = (s.rssEnd - cr.ServerRSSBefore) / float64(n)
		}
	}
	if n > 0 {
		cr.BenchBytesPerConn = float64(int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc)) / float64(n)
	}
	fillCommon(res, smp, elapsed, errs)
	return clients, ctx.Err()
}
