package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// clientLog collects the clients' debug logs, shown when a test fails.
type clientLog = testenv.Buffer

// These tests run the real binary, built once per test run.

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the binary built for the run (77 MB a run otherwise).
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "switchboard-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "switchboard")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// devNode is a `switchboard serve --dev` process.
type devNode struct {
	t      *testing.T
	bin    string
	dir    string
	listen string
	admin  string
	cmd    *exec.Cmd
	log    *lockedBuffer
	clog   clientLog
	extra  []string // more serve flags
}

func newDevNode(t *testing.T) *devNode {
	n := &devNode{t: t, bin: binary(t), dir: t.TempDir(),
		listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), admin: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}
	t.Cleanup(func() {
		if n.cmd != nil && n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		}
		if t.Failed() && n.log != nil {
			t.Logf("server log:\n%s", n.log.String())
			t.Logf("client log:\n%s", n.clog.String())
		}
	})
	return n
}

func (n *devNode) start() {
	n.t.Helper()
	// The ports were free when picked, not held: another process may take
	// one before the node binds it (the dev node's own memberlist binds an
	// ephemeral TCP and UDP port before its QUIC listener). Then the node
	// exits saying so, and it starts again on new ports.
	for attempt := 1; !n.startOnce(attempt < 3); attempt++ {
		n.t.Logf("a port was taken before the node bound it; new ports:\n%s", n.log.String())
		n.listen = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(n.t))
		n.admin = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(n.t))
	}
}

// startOnce starts the node and waits until it serves; false when it
// exited because an address was in use and retry is set.
func (n *devNode) startOnce(retry bool) bool {
	n.t.Helper()
	n.log = &lockedBuffer{}
	n.cmd = exec.Command(n.bin, append([]string{"serve", "--dev", "--data-dir", n.dir, "--listen", n.listen, "--admin", n.admin}, n.extra...)...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if retry && strings.Contains(n.log.String(), "address already in use") {
			_ = n.cmd.Wait()
			return false
		}
		res, err := http.Get("http://" + n.admin + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if _, err := os.Stat(devServerPath(n.dir)); err == nil {
					return true
				}
			}
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("node did not start:\n%s", n.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *devNode) kill() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		n.t.Fatal(err)
	}
	_ = n.cmd.Wait()
}

// roots trusts the node's dev certificate.
func (n *devNode) roots() *x509.CertPool {
	n.t.Helper()
	pemBytes, err := os.ReadFile(devCertPath(n.dir))
	if err != nil {
		n.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return pool
}

// clientConfig connects like a local command: the dev CA and secret.
func (n *devNode) clientConfig(user, device string) client.Config {
	n.t.Helper()
	pool := n.roots()
	secret, err := readSecret(devSecretPath(n.dir))
	if err != nil {
		n.t.Fatal(err)
	}
	return client.Config{Addr: n.listen, TLS: &tls.Config{RootCAs: pool},
		TokenSource: func(context.Context) (string, error) {
			return transport.MintHS256(secret, user, device, time.Hour, "")
		},
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, SendTimeout: time.Minute,
		// A killed server sends nothing: find out fast.
		IdleTimeout: 3 * time.Second, KeepAlive: time.Second, RequestTimeout: 3 * time.Second, Logger: slog.New(slog.NewTextHandler(&n.clog, &slog.HandlerOptions{Level: slog.LevelDebug})).With("user", user, "device", device)}
}

// dial connects user's device to the node; the client closes with the test.
func (n *devNode) dial(ctx context.Context, user, device string) *client.Client {
	n.t.Helper()
	c, err := client.Dial(ctx, n.clientConfig(user, device))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { _ = c.Close() })
	return c
}

// run runs a command of the binary and returns its stdout.
func (n *devNode) run(args ...string) []byte {
	n.t.Helper()
	cmd := exec.Command(n.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		n.t.Fatalf("switchboard %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// A node killed with SIGKILL while clients send: after a restart every
// acknowledged message is there exactly once, in seq order, and a client
// that lived through it resyncs with no gap.
func TestCrashKeepsAckedMessages(t *testing.T) {
	n := newDevNode(t)
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dial := func(user, device string) *client.Client {
		c, err := client.Dial(ctx, n.clientConfig(user, device))
		if err != nil {
			t.Fatalf("dial %s: %v", user, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	bob := dial("bob", "phone")
	alice, carol := dial("alice", "phone"), dial("carol", "phone")
	group, err := alice.CreateGroup(ctx, "g:crash", "crash", []string{"bob", "carol"})
	if err != nil {
		t.Fatal(err)
	}

	type acked struct {
		conv, id string
		seq      uint64
	}
	var mu sync.Mutex
	var acks []acked
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
			p, err := c.Send(target, []byte(id), id)
			if err != nil {
				t.Error(err)
				return
			}
			m, err := p.Wait(ctx)
			if err != nil {
				t.Errorf("send %s: %v", id, err)
				return
			}
			mu.Lock()
			acks = append(acks, acked{m.Conv, id, m.Seq})
			mu.Unlock()
		}
	}
	sent.Add(3)
	go sender(alice, client.ToUser("bob"), "a2b")
	go sender(carol, client.ToUser("bob"), "c2b")
	go sender(alice, client.ToConv(group), "a2g")

	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	waitCount := func(min int) {
		for count() < min {
			if ctx.Err() != nil {
				t.Fatalf("only %d sends acknowledged", count())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCount(60)
	n.kill()
	before := count()
	time.Sleep(300 * time.Millisecond)
	n.start()
	waitCount(before + 60)
	close(stop)
	sent.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d sends acknowledged, %d before the kill", count(), before)

	// Every acknowledged message is stored once, at its seq, in order.
	reader := dial("bob", "audit")
	for _, conv := range []string{wirepb.DirectConvID("alice", "bob"), wirepb.DirectConvID("bob", "carol"), group} {
		var all []client.Message
		for from := uint64(1); ; {
			page, err := reader.History(ctx, conv, client.HistoryOptions{FromSeq: from, OldestFirst: true, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			all = append(all, page...)
			from = page[len(page)-1].Seq + 1
		}
		seen := map[string]uint64{}
		for i, m := range all {
			if m.Seq != uint64(i+1) {
				t.Fatalf("%s: seq %d at position %d (gap or disorder)", conv, m.Seq, i)
			}
			if m.ClientMsgID == "" {
				continue
			}
			if s, dup := seen[m.ClientMsgID]; dup {
				t.Fatalf("%s: %s stored twice, at %d and %d", conv, m.ClientMsgID, s, m.Seq)
			}
			seen[m.ClientMsgID] = m.Seq
		}
		mu.Lock()
		for _, a := range acks {
			if a.conv != conv {
				continue
			}
			if s, ok := seen[a.id]; !ok || s != a.seq {
				t.Fatalf("%s: acknowledged %s at seq %d, stored at %d (present %v)", conv, a.id, a.seq, s, ok)
			}
		}
		mu.Unlock()
		// Bob's phone lived through the crash: it ends with the same list.
		want := len(all)
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := bob.Messages(conv)
			ok := len(got) == want
			for i := 0; ok && i < len(got); i++ {
				ok = got[i].Seq == uint64(i+1)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: bob holds %d messages, the log %d", conv, len(got), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// The commands an operator types against a dev node, with --json.
func TestCommandsAgainstDevNode(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	var sent struct {
		Conv  string `json:"conv"`
		Seq   uint64 `json:"seq"`
		MsgID uint64 `json:"msg_id,string"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "hi", "--json"), &sent)
	if sent.Conv != "d:alice:bob" || sent.Seq != 1 || sent.MsgID == 0 {
		t.Fatalf("send: %+v", sent)
	}
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "again")

	var sync struct {
		Cursor        uint64 `json:"cursor"`
		Conversations []struct {
			Conv    string `json:"conv"`
			LastSeq uint64 `json:"last_seq"`
			Unread  uint64 `json:"unread"`
			ReadSeq uint64 `json:"read_seq"`
		} `json:"conversations"`
	}
	mustJSON(t, n.run("sync", "--data-dir", d, "--user", "bob", "--device", "phone", "--json"), &sync)
	if sync.Cursor == 0 || len(sync.Conversations) != 1 || sync.Conversations[0].LastSeq != 2 || sync.Conversations[0].Unread != 2 {
		t.Fatalf("sync: %+v", sync)
	}
	var hist []struct {
		Seq  uint64 `json:"seq"`
		From string `json:"from"`
		Text string `json:"text"`
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "bob", "--conv", sent.Conv, "--json"), &hist)
	if len(hist) != 2 || hist[0].Seq != 1 || hist[0].From != "alice" || hist[0].Text != "hi" || hist[1].Text != "again" {
		t.Fatalf("history: %+v", hist)
	}
	n.run("read", "--data-dir", d, "--user", "bob", "--device", "phone", "--conv", sent.Conv, "--seq", "2")
	mustJSON(t, n.run("sync", "--data-dir", d, "--user", "bob", "--device", "phone", "--json"), &sync)
	if c := sync.Conversations[0]; c.Unread != 0 || c.ReadSeq != 2 {
		t.Fatalf("sync after read: %+v", sync)
	}
	var group struct {
		Conv string `json:"conv"`
	}
	mustJSON(t, n.run("group", "create", "--data-dir", d, "--user", "alice", "--id", "g:cli", "--members", "bob", "--json"), &group)
	n.run("group", "add", "--data-dir", d, "--user", "alice", "--conv", "g:cli", "--users", "carol")
	var members []map[string]any
	mustJSON(t, n.run("group", "members", "--data-dir", d, "--user", "carol", "--conv", "g:cli", "--json"), &members)
	if len(members) != 3 {
		t.Fatalf("members: %v", members)
	}
	n.run("group", "mute", "--data-dir", d, "--user", "alice", "--conv", "g:cli", "--users", "carol", "--for", "1h")
	mustJSON(t, n.run("group", "members", "--data-dir", d, "--user", "bob", "--conv", "g:cli", "--json"), &members)
	for _, m := range members {
		if until, _ := m["muted_until_ms"].(float64); m["user"] == "carol" && (m["muted"] != true || time.Until(time.UnixMilli(int64(until))) < 59*time.Minute) {
			t.Fatalf("carol muted for an hour is listed %v", m)
		}
	}
	if out := n.run("group", "members", "--data-dir", d, "--user", "bob", "--conv", "g:cli"); !strings.Contains(string(out), "muted until") {
		t.Fatalf("members as text:\n%s\nwant carol's mute's end", out)
	}
	n.run("group", "unmute", "--data-dir", d, "--user", "alice", "--conv", "g:cli", "--users", "carol")
	mustJSON(t, n.run("group", "members", "--data-dir", d, "--user", "bob", "--conv", "g:cli", "--json"), &members)
	for _, m := range members {
		if m["user"] == "carol" && m["muted"] != false {
			t.Fatalf("carol unmuted is listed %v", m)
		}
	}
	n.run("group", "leave", "--data-dir", d, "--user", "carol", "--conv", "g:cli")
	var edit struct {
		Seq    uint64 `json:"seq"`
		RefSeq uint64 `json:"ref_seq"`
		Text   string `json:"text"`
	}
	mustJSON(t, n.run("edit", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--seq", "1", "--text", "hello", "--json"), &edit)
	if edit.Seq != 3 || edit.RefSeq != 1 || edit.Text != "hello" {
		t.Fatalf("edit: %+v, want seq 3 editing 1 with the new text", edit)
	}
	n.run("send", "--data-dir", d, "--user", "bob", "--conv", sent.Conv, "--reply-to", "1", "--text", "hello to you")
	var replies []struct {
		Text    string `json:"text"`
		ReplyTo uint64 `json:"reply_to"`
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--json"), &replies)
	if last := replies[len(replies)-1]; last.Text != "hello to you" || last.ReplyTo != 1 {
		t.Fatalf("the reply in the history: %+v, want it answering #1", last)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "alice", "--conv", sent.Conv)); !strings.Contains(out, "bob: (to #1) hello to you") {
		t.Fatalf("the reply printed: %s", out)
	}
	var readBy struct{ Read, Unread []string }
	mustJSON(t, n.run("read-by", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--seq", "1", "--json"), &readBy)
	if !slices.Equal(readBy.Read, []string{"bob"}) || len(readBy.Unread) != 0 {
		t.Fatalf("read-by: %+v, want read by bob", readBy)
	}
	if out := string(n.run("search", "--data-dir", d, "--user", "bob", "--conv", sent.Conv, "--query", "HELLO TO")); !strings.Contains(out, "bob: (to #1) hello to you") || strings.Contains(out, "edited") {
		t.Fatalf("search: %q", out)
	}
	if out := string(n.run("search", "--data-dir", d, "--user", "bob", "--query", "hello to")); !strings.Contains(out, sent.Conv+" #") || !strings.Contains(out, "hello to you") {
		t.Fatalf("search everywhere: %q", out)
	}
	var thread struct {
		Messages []struct {
			Text    string `json:"text"`
			ReplyTo uint64 `json:"reply_to"`
		} `json:"messages"`
	}
	mustJSON(t, n.run("search", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--thread", "1", "--json"), &thread)
	if len(thread.Messages) != 1 || thread.Messages[0].Text != "hello to you" {
		t.Fatalf("the thread of #1: %+v, want bob's reply alone", thread)
	}
	if out := string(n.run("search", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--sender", "alice")); !strings.Contains(out, "alice: hello") || strings.Contains(out, "bob:") {
		t.Fatalf("alice's own messages: %q", out)
	}
	var pins struct {
		PinnedSeqs []uint64 `json:"pinned_seqs"`
	}
	mustJSON(t, n.run("group", "settings", "--data-dir", d, "--user", "bob", "--conv", sent.Conv, "--pin", "1", "--json"), &pins)
	if !slices.Equal(pins.PinnedSeqs, []uint64{1}) {
		t.Fatalf("a pin in a direct conversation: %+v", pins)
	}
	// bob's CLI connections have ended (the node hears of the last one a
	// moment later): alice sees when he was last seen.
	for deadline := time.Now().Add(10 * time.Second); ; {
		out := string(n.run("presence", "--data-dir", d, "--user", "alice", "--of", "bob"))
		if strings.Contains(out, "bob is offline, last seen ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, err := exec.Command(n.bin, "presence", "--data-dir", d, "--user", "alice", "--of", "zed").CombinedOutput(); err == nil || !strings.Contains(string(res), "FORBIDDEN") {
		t.Fatalf("presence of a stranger: %v %s", err, res)
	}
	// Quiet hours: set in alice's zone, read back, taken away.
	var quiet struct {
		Zone string            `json:"zone"`
		Week map[string]string `json:"week"`
	}
	mustJSON(t, n.run("quiet", "--data-dir", d, "--user", "alice", "--from", "22:00", "--to", "07:00", "--days", "mon,tue", "--zone", "Europe/Berlin", "--json"), &quiet)
	if quiet.Zone != "Europe/Berlin" || len(quiet.Week) != 2 || quiet.Week["tue"] != "00:00-07:00,22:00-24:00" {
		t.Fatalf("quiet hours set: %+v", quiet)
	}
	if out := string(n.run("quiet", "--data-dir", d, "--user", "alice")); !strings.Contains(out, "quiet hours (Europe/Berlin):\n  mon 00:00-07:00, 22:00-24:00\n  tue") {
		t.Fatalf("quiet hours read: %q", out)
	}
	if out := string(n.run("quiet", "--data-dir", d, "--user", "alice", "--off")); !strings.Contains(out, "no quiet hours") {
		t.Fatalf("quiet hours taken away: %q", out)
	}
	if res, err := exec.Command(n.bin, "quiet", "--data-dir", d, "--user", "alice", "--from", "22:00", "--to", "07:00", "--zone", "Nowhere/Else").CombinedOutput(); err == nil || !strings.Contains(string(res), "unknown time zone") {
		t.Fatalf("an unknown zone: %v %s", err, res)
	}
	// Several at once: one request, the stranger left out.
	var several []struct {
		User     string `json:"user"`
		Online   bool   `json:"online"`
		LastSeen string `json:"last_seen"`
	}
	mustJSON(t, n.run("presence", "--data-dir", d, "--user", "alice", "--of", "zed,bob", "--json"), &several)
	if len(several) != 1 || several[0].User != "bob" || several[0].Online || several[0].LastSeen == "" {
		t.Fatalf("presence of zed and bob: %+v, want bob alone, last seen", several)
	}
	// bob stops sharing: alice sees him offline, and not when.
	n.run("presence", "--data-dir", d, "--user", "bob", "--share", "nobody")
	if out := string(n.run("presence", "--data-dir", d, "--user", "alice", "--of", "bob")); !strings.Contains(out, "bob is offline (last seen: never, or not shared)") {
		t.Fatalf("presence of bob, who shares nothing: %q", out)
	}
	if res, err := exec.Command(n.bin, "presence", "--data-dir", d, "--user", "bob", "--share", "friends").CombinedOutput(); err == nil || !strings.Contains(string(res), "want everyone, online-only or nobody") {
		t.Fatalf("--share friends: %v %s", err, res)
	}
	// bob hides his read receipts too; the privacy command shows both.
	if out := string(n.run("privacy", "--data-dir", d, "--user", "bob", "--read-receipts=false", "--previews=false")); out != "bob shares presence with: nobody; read receipts: off; notification previews: off; new chats from: default; added to groups by: default\n" {
		t.Fatalf("privacy --read-receipts=false --previews=false: %q", out)
	}
	var priv struct {
		Share        string `json:"share"`
		ReadReceipts bool   `json:"read_receipts"`
		Previews     bool   `json:"previews"`
	}
	mustJSON(t, n.run("privacy", "--data-dir", d, "--user", "bob", "--share", "online-only", "--read-receipts", "--json"), &priv)
	if priv.Share != "online-only" || !priv.ReadReceipts || priv.Previews {
		t.Fatalf("privacy --share online-only --read-receipts: %+v", priv)
	}
	// A link preview: the node does not read its own network by default.
	if res, err := exec.Command(n.bin, "preview", "--data-dir", d, "--user", "carol", "--url", "http://127.0.0.1:1/admin").CombinedOutput(); err == nil || !strings.Contains(string(res), "FORBIDDEN") {
		t.Fatalf("a preview of a loopback address: %v %s", err, res)
	}
	// carol takes no new chats: a stranger's first message is refused.
	var from struct {
		DirectFrom string `json:"direct_from"`
	}
	mustJSON(t, n.run("privacy", "--data-dir", d, "--user", "carol", "--direct-from", "nobody", "--json"), &from)
	if from.DirectFrom != "nobody" {
		t.Fatalf("privacy --direct-from nobody: %+v", from)
	}
	if res, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "zed", "--to", "user:carol", "--text", "hi").CombinedOutput(); err == nil || !strings.Contains(string(res), "FORBIDDEN") {
		t.Fatalf("a first message to carol, who takes none: %v %s", err, res)
	}
	// carol and zed's chat gets a timer: a message sent then carries its end.
	n.run("send", "--data-dir", d, "--user", "carol", "--to", "user:zed", "--text", "hi zed")
	cz := "d:carol:zed"
	if out := string(n.run("disappear", "--data-dir", d, "--user", "zed", "--conv", cz, "--after", "24h")); out != cz+": messages disappear 24h0m0s after they are sent\n" {
		t.Fatalf("disappear --after 24h: %q", out)
	}
	var timer struct {
		AfterMs int64 `json:"after_ms"`
	}
	mustJSON(t, n.run("disappear", "--data-dir", d, "--user", "carol", "--conv", cz, "--json"), &timer)
	if timer.AfterMs != 86_400_000 {
		t.Fatalf("disappear, read by carol: %+v", timer)
	}
	if res, err := exec.Command(n.bin, "disappear", "--data-dir", d, "--user", "zed", "--conv", cz, "--after", "1ms").CombinedOutput(); err == nil || !strings.Contains(string(res), "INVALID") {
		t.Fatalf("disappear --after 1ms: %v %s", err, res)
	}
	if out := string(n.run("disappear", "--data-dir", d, "--user", "zed", "--conv", cz, "--off")); out != cz+": messages stay\n" {
		t.Fatalf("disappear --off: %q", out)
	}
	// carol may be added to groups by nobody: zed's group with her is refused.
	var addFrom struct {
		GroupAddFrom string `json:"group_add_from"`
	}
	mustJSON(t, n.run("privacy", "--data-dir", d, "--user", "carol", "--group-add-from", "nobody", "--json"), &addFrom)
	if addFrom.GroupAddFrom != "nobody" {
		t.Fatalf("privacy --group-add-from nobody: %+v", addFrom)
	}
	if res, err := exec.Command(n.bin, "group", "create", "--data-dir", d, "--user", "zed", "--members", "carol").CombinedOutput(); err == nil || !strings.Contains(string(res), "carol may be added to groups by nobody") {
		t.Fatalf("zed's group with carol, who takes no adds: %v %s", err, res)
	}
	if res, err := exec.Command(n.bin, "privacy", "--data-dir", d, "--user", "carol", "--group-add-from", "friends").CombinedOutput(); err == nil || !strings.Contains(string(res), "want everyone, groups, nobody or default") {
		t.Fatalf("--group-add-from friends: %v %s", err, res)
	}
	// The timer from the interactive chat.
	chat := exec.Command(n.bin, "chat", "--data-dir", d, "--user", "carol", "--with", "zed")
	chat.Stdin = strings.NewReader("/disappear 1h\n/disappear\nwe meet at 5\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || strings.Count(string(out), "messages here disappear 1h0m0s after they are sent") != 2 {
		t.Fatalf("chat /disappear: %v\n%s", err, out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "zed", "--conv", cz)); !strings.Contains(out, "carol: we meet at 5 (disappears ") {
		t.Fatalf("a message sent under the chat's timer, in the history: %s", out)
	}
	// Off, in a chat of its own: a send queued in the chat above could
	// reach the node after a request typed later.
	chat = exec.Command(n.bin, "chat", "--data-dir", d, "--user", "carol", "--with", "zed")
	chat.Stdin = strings.NewReader("/disappear off\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "messages here stay") {
		t.Fatalf("chat /disappear off: %v\n%s", err, out)
	}
	// Jump to a date: from the start of the chat, and from after its end.
	if out := string(n.run("history", "--data-dir", d, "--user", "zed", "--conv", cz, "--since", "2020-01-01T00:00:00Z", "--limit", "1")); !strings.Contains(out, "#1 ") || !strings.Contains(out, "carol: hi zed") {
		t.Fatalf("history --since before the chat: %q", out)
	}
	if out := string(n.run("history", "--data-dir", d, "--user", "zed", "--conv", cz, "--since", time.Now().Add(time.Hour).Format(time.RFC3339))); out != "" {
		t.Fatalf("history --since an hour ahead: %q", out)
	}
	n.run("presence", "--data-dir", d, "--user", "bob", "--share", "nobody")
	// The same from the interactive chat.
	chat = exec.Command(n.bin, "chat", "--data-dir", d, "--user", "alice", "--with", "bob")
	chat.Stdin = strings.NewReader("/reply 1 and hello again\n/readby 1\n/quit\n")
	if out, err := chat.CombinedOutput(); err != nil || !strings.Contains(string(out), "#1 read by 1: bob; not yet by 0") {
		t.Fatalf("chat /reply and /readby: %v\n%s", err, out)
	}
	mustJSON(t, n.run("history", "--data-dir", d, "--user", "bob", "--conv", sent.Conv, "--json"), &replies)
	if last := replies[len(replies)-1]; last.Text != "and hello again" || last.ReplyTo != 1 {
		t.Fatalf("the chat's reply in the history: %+v", last)
	}
	// A mention: stored with the message, shown in the history.
	n.run("send", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--mention", "bob", "--text", "@bob are you there?")
	if out := string(n.run("history", "--data-dir", d, "--user", "bob", "--conv", sent.Conv)); !strings.Contains(out, "alice: (@bob) @bob are you there?") {
		t.Fatalf("the mention printed: %s", out)
	}
	if out := string(n.run("search", "--data-dir", d, "--user", "bob", "--mentions")); !strings.Contains(out, "@bob are you there?") || strings.Contains(out, "hello again") {
		t.Fatalf("bob's mentions: %s", out)
	}
	n.run("recall", "--data-dir", d, "--user", "alice", "--conv", sent.Conv, "--seq", "2")
	var convs []map[string]any
	mustJSON(t, n.run("convs", "--data-dir", d, "--user", "bob", "--json"), &convs)
	if len(convs) != 2 {
		t.Fatalf("convs: %v", convs)
	}
	tok := bytes.TrimSpace(n.run("token", "--data-dir", d, "--user", "dave", "--device", "x"))
	if len(bytes.Split(tok, []byte("."))) != 3 {
		t.Fatalf("token %q", tok)
	}
	// Against "a deployment": explicit server, CA and token, no data dir.
	out := n.run("convs", "--data-dir", t.TempDir(), "--server", n.listen, "--ca", devCertPath(d), "--token", string(tok), "--json")
	if string(bytes.TrimSpace(out)) != "[]" {
		t.Fatalf("dave's conversations: %s", out)
	}
	// Flags also come from the environment.
	cmd := exec.Command(n.bin, "history", "--conv", sent.Conv, "--json")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_DATA_DIR="+d, "SWITCHBOARD_USER=alice")
	if out, err := cmd.Output(); err != nil || !bytes.Contains(out, []byte(`"text":"hi"`)) {
		t.Fatalf("env flags: %s %v", out, err)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

// lockedBuffer collects a process's output: the exec package writes it
// from its own goroutines while a test may read it.
// lockedBuffer is a node's log.
type lockedBuffer = testenv.Buffer

// TestDevNodeStartsOnNewPortsWhenOneIsTaken: the harness's answer to a
// port taken between picking and binding (start, above).
func TestDevNodeStartsOnNewPortsWhenOneIsTaken(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	n := newDevNode(t)
	n.listen = taken.LocalAddr().String()
	n.start()
	if n.listen == taken.LocalAddr().String() {
		t.Fatalf("the node serves, but on the taken port %s", n.listen)
	}
}

// eventually polls cond until it holds, for what a node does a moment
// after it answers (a notice, a delivery), failing after 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}
