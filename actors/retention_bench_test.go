package actors_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql/cqltest"
)

// BenchmarkRetentionSweep measures a retention sweep on the embedded
// store: "expire" takes b.N expired rows out (64 per grain request, 100
// rows per conversation), "idle" walks b.N conversations with nothing
// expired (two store reads each, no grain asked).
func BenchmarkRetentionSweep(b *testing.B) {
	benchmarkRetentionSweep(b, func(b *testing.B) storage.Store { return openStore(b) })
}

// BenchmarkRetentionSweepCQL is the same on Cassandra. Needs
// SWITCHBOARD_CQL_HOSTS.
func BenchmarkRetentionSweepCQL(b *testing.B) {
	benchmarkRetentionSweep(b, func(b *testing.B) storage.Store {
		s, _ := cqltest.Open(b, "sbactors", testLogger())
		return s
	})
}

func benchmarkRetentionSweep(b *testing.B, open func(*testing.B) storage.Store) {
	for _, bc := range []struct {
		name    string
		expired bool
	}{{"expire", true}, {"idle", false}} {
		b.Run(bc.name, func(b *testing.B) {
			clock, set := testenv.SettableClock()
			node := startCluster(b, 1, open(b), actors.Config{Retention: time.Hour, Now: clock, SendRate: 1e9, SendBurst: 1 << 30, NewDirectPerHour: -1})[0]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			const perConv = 100
			convs := b.N
			if bc.expired {
				convs = (b.N + perConv - 1) / perConv
			}
			var last int64
			for i := range b.N {
				to := fmt.Sprint("u", i)
				if bc.expired {
					to = fmt.Sprint("u", i/perConv)
				}
				res, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: "shop", ClientMsgId: fmt.Sprint(i), Body: []byte("hi")})
				if err != nil {
					b.Fatal(err)
				}
				last = res.ServerTsMs
			}
			if bc.expired {
				set(time.UnixMilli(last).Add(time.Hour + time.Millisecond))
			}
			b.ResetTimer()
			res, err := node.SweepRetention(ctx, true)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if want := map[bool]int{true: b.N, false: 0}[bc.expired]; res.Expired != want {
				b.Fatalf("expired %d rows, want %d (%d conversations)", res.Expired, want, convs)
			}
		})
	}
}
