package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// kafkaBrokers returns the test broker (scripts/with-kafka.sh or make kafka)
// or skips.
func kafkaBrokers(t *testing.T) string {
	t.Helper()
	b := testenv.List(t, "SWITCHBOARD_TEST_KAFKA_BROKERS or SWITCHBOARD_KAFKA_BROKERS not set (make kafka, or make test starts one)",
		"SWITCHBOARD_TEST_KAFKA_BROKERS", "SWITCHBOARD_KAFKA_BROKERS")
	return strings.Join(b, ",")
}

// kafkaScript runs scripts/kafka.sh with a sub-command against the test
// broker's run dir (SWITCHBOARD_KAFKA_DIR, as with-kafka.sh exports it).
func kafkaScript(t *testing.T, sub string) {
	t.Helper()
	script := os.Getenv("SWITCHBOARD_KAFKA_SCRIPT")
	if script == "" {
		script = filepath.Join("..", "..", "scripts", "kafka.sh")
	}
	cmd := exec.Command("bash", script, sub)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kafka.sh %s: %v\n%s", sub, err, out.String())
	}
}

// A node under load exports every durable message exactly as stored, through
// a SIGKILL of the node and a stop and restart of Kafka, and no send fails
// while Kafka is down.
func TestExportToKafkaEndToEnd(t *testing.T) {
	brokers := kafkaBrokers(t)
	if exportRace {
		t.Skip("runs in the normal pass only")
	}
	if os.Getenv("SWITCHBOARD_KAFKA_SCRIPT") == "" && os.Getenv("SWITCHBOARD_KAFKA_DIR") == "" {
		// make kafka's default run dir; kafka.sh status tells if it is ours.
		if err := exec.Command("bash", filepath.Join("..", "..", "scripts", "kafka.sh"), "status").Run(); err != nil {
			testenv.Missing(t, "the broker was not started by scripts/kafka.sh (make test starts it so): cannot stop and restart it")
		}
	}
	n := newDevNode(t)
	n.extra = []string{"--kafka-brokers", brokers, "--kafka-checkpoint-interval", "200ms"}
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// Unique names: the topics outlive test runs.
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, bob, carol := "alice"+run, "bob"+run, "carol"+run
	dial := func(user, device string) *client.Client {
		c, err := client.Dial(ctx, n.clientConfig(user, device))
		if err != nil {
			t.Fatalf("dial %s: %v", user, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ca, cc := dial(alice, "phone"), dial(carol, "phone")
	dial(bob, "phone")
	group, err := ca.CreateGroup(ctx, "g:export"+run, "export", []string{bob, carol})
	if err != nil {
		t.Fatal(err)
	}
	convs := []string{wirepb.DirectConvID(alice, bob), wirepb.DirectConvID(bob, carol), group}

	var mu sync.Mutex
	acks := 0
	var sent sync.WaitGroup
	stop := make(chan struct{})
	sender := func(c *client.Client, target client.Target, name string) {
		defer sent.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("%s-%d", name, i)
			// Mixed bodies: text, and bytes that are not UTF-8 (exported as body).
			body := []byte("hello " + id)
			if i%7 == 3 {
				body = []byte{0xff, 0xfe, byte(i)}
			}
			p, err := c.Send(target, body, id)
			if err != nil {
				t.Errorf("send %s: %v", id, err)
				return
			}
			if _, err := p.Wait(ctx); err != nil {
				t.Errorf("send %s: %v", id, err)
				return
			}
			mu.Lock()
			acks++
			mu.Unlock()
		}
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return acks }
	waitCount := func(min int) {
		t.Helper()
		for count() < min {
			if ctx.Err() != nil || t.Failed() {
				t.Fatalf("only %d sends acknowledged (want %d)", count(), min)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	startSenders := func() {
		stop = make(chan struct{})
		sent.Add(3)
		go sender(ca, client.ToUser(bob), "a2b")
		go sender(cc, client.ToUser(bob), "c2b")
		go sender(ca, client.ToConv(group), "a2g")
	}
	startSenders()
	waitCount(100)

	// 1. SIGKILL under load, restart.
	n.kill()
	before := count()
	n.start()
	waitCount(before + 100)

	// 2. Kafka stops: sends go on and are acknowledged; the lag shows it.
	kafkaScript(t, "pause")
	resumed := false
	t.Cleanup(func() {
		if !resumed { // the broker is shared with the other tests
			kafkaScript(t, "resume")
		}
	})
	before = count()
	waitCount(before + 200)
	if lag := scrapeGauge(t, n.admin, "switchboard_export_lag_messages"); lag <= 0 {
		t.Errorf("export lag with Kafka down = %v, want > 0", lag)
	}
	kafkaScript(t, "resume")
	resumed = true
	before = count()
	waitCount(before + 100)
	close(stop)
	sent.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d sends acknowledged", count())

	// Consume until every conversation's last seq has arrived.
	last := map[string]uint64{}
	reader := dial(bob, "audit")
	for _, c := range convs {
		page, err := reader.History(ctx, c, client.HistoryOptions{Limit: 1})
		if err != nil || len(page) == 0 {
			t.Fatalf("history %s: %v", c, err)
		}
		last[c] = page[0].Seq
	}
	got := consumeUntil(t, ctx, brokers, last)

	// The node goes; compare with the log exactly as stored.
	n.kill()
	cfg := pebblestore.DefaultConfig(filepath.Join(n.dir, "store"))
	st, err := pebblestore.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	total := 0
	for _, c := range convs {
		msgs, err := st.ListMessages(ctx, c, 1, math.MaxUint64, storage.OldestFirst, 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			want := export.NewMessageRecord(m)
			recs := got[want.EventID]
			if len(recs) == 0 {
				t.Fatalf("%s seq %d was never exported", c, m.Seq)
			}
			for _, r := range recs {
				if !sameRecord(r, want) {
					t.Fatalf("%s seq %d exported as %+v, stored as %+v", c, m.Seq, r, want)
				}
			}
			total++
		}
	}
	dups := 0
	for _, recs := range got {
		dups += len(recs) - 1
	}
	t.Logf("%d stored messages all exported as stored; %d duplicate deliveries (same event id)", total, dups)
}

func sameRecord(a, b export.MessageRecord) bool {
	return a.EventID == b.EventID && a.Conv == b.Conv && a.Seq == b.Seq && a.MsgID == b.MsgID && a.From == b.From &&
		a.Kind == b.Kind && a.Text == b.Text && bytes.Equal(a.Body, b.Body) && a.ServerTsMs == b.ServerTsMs && a.ClientTsMs == b.ClientTsMs
}

// consumeUntil reads switchboard.messages from the start until every
// conversation in last has its last seq, and returns the records of those
// conversations by event id.
func consumeUntil(t *testing.T, ctx context.Context, brokers string, last map[string]uint64) map[string][]export.MessageRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ConsumeTopics(export.TopicMessages), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string][]export.MessageRecord{}
	have := map[string]uint64{}
	done := func() bool {
		for c, s := range last {
			if have[c] < s {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("consumed up to %v, want %v", have, last)
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := last[string(r.Key)]; !ok {
				return
			}
			var rec export.MessageRecord
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatalf("record %s: %v", r.Value, err)
			}
			if rec.Conv != string(r.Key) {
				t.Fatalf("record of %s keyed %s", rec.Conv, r.Key)
			}
			got[rec.EventID] = append(got[rec.EventID], rec)
			if rec.Seq > have[rec.Conv] {
				have[rec.Conv] = rec.Seq
			}
		})
	}
	return got
}

// scrapeGauge reads one unlabelled gauge from the node's /metrics.
func scrapeGauge(t *testing.T, admin, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}
