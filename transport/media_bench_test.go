package transport_test

import (
	"crypto/rand"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
)

// BenchmarkMediaUpload uploads and attaches a 4 MiB file b.N times over
// QUIC to one node on the embedded store, while another user's texts go
// through the same node one after another: it reports the upload's
// throughput and the texts' ack latency beside it (p50, p99), e.g.
//
//	go test ./transport/ -run '^$' -bench MediaUpload -benchtime 10x
func BenchmarkMediaUpload(b *testing.B) {
	const size = 4 << 20
	e := newEnv(b, envOptions{actors: actors.Config{SendRate: 1e6, SendBurst: 1 << 20}})
	ctx := tctx(b)
	up, chat := e.dial("uploader", "phone"), e.dial("chatter", "phone")
	e.dial("peer", "phone")
	first, err := up.SendText(ctx, client.ToUser("peer"), "files follow")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)

	// The texts alone first, for comparison.
	var alone []time.Duration
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		start := time.Now()
		if _, err := chat.SendText(ctx, client.ToUser("peer"), "hello"); err != nil {
			b.Fatal(err)
		}
		alone = append(alone, time.Since(start))
	}

	stop := make(chan struct{})
	lat := make(chan []time.Duration, 1)
	go func() {
		var ds []time.Duration
		for {
			select {
			case <-stop:
				lat <- ds
				return
			default:
			}
			start := time.Now()
			if _, err := chat.SendText(ctx, client.ToUser("peer"), "hello"); err != nil {
				lat <- ds
				return
			}
			ds = append(ds, time.Since(start))
		}
	}()
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		if _, err := up.SendFile(ctx, first.Conv, "video.mp4", "video/mp4", data, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	report(b, "text-alone", alone) // after the timer's reset, which drops reported metrics
	report(b, "text", <-lat)
}

// report reports the p50 and p99 of ds as name-p50-ms and name-p99-ms.
func report(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, name+"-p99-ms")
}
