package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/export"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

// replayErr runs `switchboard export replay` with args and an environment
// without any SWITCHBOARD_ variable, and returns its output and error.
func replayErr(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"export", "replay"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// `switchboard export replay` end to end: a dev node stores direct
// messages and a desk session, then stops; replaying a time range from
// its data dir publishes exactly the stored messages of that range (and
// their desk events) with the live export's ids, and replaying again
// only repeats them with the same ids and bytes. Bad flags are refused
// with a clear error before anything is published.
func TestExportReplayCommand(t *testing.T) {
	brokers := kafkaBrokers(t)
	n := newDevNode(t)
	n.start()
	d := n.dir
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	alice, bob, cust := "al"+run, "bo"+run, "cu"+run
	for _, text := range []string{"one", "two", "three"} {
		n.run("send", "--data-dir", d, "--user", alice, "--to", "user:"+bob, "--text", text)
	}
	time.Sleep(50 * time.Millisecond)
	mid := time.Now()
	time.Sleep(50 * time.Millisecond)
	n.run("send", "--data-dir", d, "--user", bob, "--to", "user:"+alice, "--text", "four")
	n.run("desk", "scene", "set", "--data-dir", d, "--scene", "listing", "--line", "cars", "--route", "queue:sales")
	var s struct {
		Conv string `json:"conv"`
	}
	mustJSON(t, n.run("desk", "enter", "--data-dir", d, "--user", cust, "--scene", "listing/7", "--json"), &s)
	n.run("send", "--data-dir", d, "--user", cust, "--conv", s.Conv, "--text", "anyone?")
	n.run("desk", "close", "--data-dir", d, "--user", cust, "--conv", s.Conv) // no agent online: abandoned
	n.kill()
	bin := n.bin

	// Refused flags: nothing is opened or published.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-dir", d, "--from", "1h"}, "--kafka-brokers is required"},
		{[]string{"--data-dir", d, "--kafka-brokers", brokers}, `"from" not set`},
		{[]string{"--data-dir", d, "--kafka-brokers", brokers, "--from", "yesterday"}, "--from"},
		{[]string{"--data-dir", d, "--kafka-brokers", brokers, "--from", "1h", "--to", "2h"}, "is not before"},
		{[]string{"--data-dir", d, "--kafka-brokers", brokers, "--from", "1h", "--kafka-format", "avro"}, "--kafka-format"},
	} {
		out, err := replayErr(t, bin, tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("replay %v: %v, output %q; want an error with %q", tc.args, err, out, tc.want)
		}
	}

	// What the store holds from mid on, by event id.
	want := map[string]storage.Message{}
	convs := map[string]bool{}
	store, err := pebblestore.Open(pebblestore.DefaultConfig(d + "/store"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	desks := 0
	for _, c := range []string{"d:" + alice + ":" + bob, s.Conv} {
		msgs, err := store.ListMessages(ctx, c, 1, math.MaxUint64, storage.OldestFirst, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if !m.ServerTS.Before(mid) {
				want[export.MessageEventID(c, m.Seq)] = m
				convs[c] = true
				if m.Kind == storage.MsgSystem && strings.Contains(string(m.Body), `"desk"`) {
					desks++
				}
			}
		}
	}
	store.Close()
	if len(convs) != 2 || desks < 3 { // opened, queued, closed
		t.Fatalf("stored from mid: %d messages in %v, %d desk steps", len(want), convs, desks)
	}

	for pass := 1; pass <= 2; pass++ {
		out, err := replayErr(t, bin, "--data-dir", d, "--kafka-brokers", brokers, "--from", mid.Format(time.RFC3339Nano))
		if err != nil || strings.TrimSpace(out) != "re-published "+strconv.Itoa(len(want))+" messages" {
			t.Fatalf("replay pass %d: %v\n%s", pass, err, out)
		}
	}

	// Both passes on the topics: the same ids, the same bytes, nothing
	// outside the range.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ConsumeTopics(export.TopicMessages, export.TopicEvents), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	msgs := map[string][]string{}
	steps := map[string][]string{}
	for len(msgs) < len(want) || minCopies(msgs) < 2 || len(steps) < desks || minCopies(steps) < 2 {
		if ctx.Err() != nil {
			t.Fatalf("consumed %d message ids (want %d, twice) and %d desk ids (want %d, twice)", len(msgs), len(want), len(steps), desks)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if !convs[string(r.Key)] {
				return
			}
			var rec struct {
				EventID string `json:"event_id"`
				Type    string `json:"type"`
				Conv    string `json:"conv"`
				Seq     uint64 `json:"seq"`
				Text    string `json:"text"`
			}
			if err := json.Unmarshal(r.Value, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Conv != string(r.Key) {
				t.Fatalf("record of %s keyed %s", rec.Conv, r.Key)
			}
			switch {
			case r.Topic == export.TopicMessages:
				m, ok := want[rec.EventID]
				if !ok || rec.Seq != m.Seq || rec.Text != string(m.Body) {
					t.Fatalf("replayed %s, not a stored message of the range", r.Value)
				}
				msgs[rec.EventID] = append(msgs[rec.EventID], string(r.Value))
			case rec.Type == "desk":
				if _, ok := want[export.MessageEventID(rec.Conv, rec.Seq)]; !ok || rec.EventID != export.DeskStepEventID(rec.Conv, rec.Seq) {
					t.Fatalf("desk record %s", r.Value)
				}
				steps[rec.EventID] = append(steps[rec.EventID], string(r.Value))
			}
		})
		pcancel()
	}
	for _, copies := range []map[string][]string{msgs, steps} {
		for id, vs := range copies {
			for _, v := range vs[1:] {
				if v != vs[0] {
					t.Errorf("%s replayed with different bytes:\n%s\n%s", id, vs[0], v)
				}
			}
		}
	}
}

func minCopies(m map[string][]string) int {
	least := math.MaxInt
	for _, v := range m {
		least = min(least, len(v))
	}
	if least == math.MaxInt {
		return 0
	}
	return least
}
