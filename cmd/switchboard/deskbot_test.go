package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/transport/client"
)

// The example robot (examples/deskbot), built and run as its README says
// against a dev node: it answers a customer from its keyword table and,
// asked for a person, hands the session over to the sales queue, where an
// online agent gets it.
func TestDeskbotAnswersAndHandsOver(t *testing.T) {
	n := newDevNode(t)
	n.start()
	bot := filepath.Join(filepath.Dir(n.bin), "deskbot")
	if out, err := exec.Command("go", "build", "-o", bot, "../../examples/deskbot").CombinedOutput(); err != nil {
		t.Fatalf("go build deskbot: %v\n%s", err, out)
	}
	n.run("desk", "scene", "set", "--data-dir", n.dir, "--scene", "listing", "--line", "cars", "--route", "bot,queue:sales")
	n.run("desk", "agent", "--data-dir", n.dir, "--user", "a1", "--status", "online", "--capacity", "3", "--skills", "sales")

	token := strings.TrimSpace(string(n.run("token", "--data-dir", n.dir, "--user", "bot")))
	var botLog lockedBuffer
	cmd := exec.Command(bot, "--data-dir", n.dir, "--token", token)
	cmd.Stdout, cmd.Stderr = &botLog, &botLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("deskbot log:\n%s", botLog.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(botLog.String(), "deskbot connected") {
		if time.Now().After(deadline) {
			t.Fatal("deskbot did not connect")
		}
		time.Sleep(50 * time.Millisecond)
	}

	var entered desk.SessionInfo
	mustJSON(t, n.run("desk", "enter", "--data-dir", n.dir, "--user", "c1", "--scene", "listing/123", "--json"), &entered)
	conv := entered.Conv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	customer := n.dial(ctx, "c1", "phone")
	waitForText := func(text string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			page, err := customer.History(ctx, conv, client.HistoryOptions{Limit: 20})
			if err == nil && slices.ContainsFunc(page, func(m client.Message) bool {
				return m.Sender == "bot" && strings.Contains(string(m.Body), text)
			}) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no answer %q from the robot in %s (last error %v)", text, conv, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A question the table knows: the robot's answer arrives as a message.
	if _, err := customer.SendText(ctx, client.ToConv(conv), "How much is it?"); err != nil {
		t.Fatal(err)
	}
	waitForText("The price is on the listing")
	if s := session(t, n, conv); s.State != desk.StateBot {
		t.Fatalf("after a question the robot answers, the session is %s", s.State)
	}

	// Asked for a person, the robot hands over: the queue gives a1 the session.
	if _, err := customer.SendText(ctx, client.ToConv(conv), "Can I talk to an agent?"); err != nil {
		t.Fatal(err)
	}
	waitForText("getting you a colleague")
	deadline = time.Now().Add(10 * time.Second)
	for {
		s := session(t, n, conv)
		if s.State == desk.StateAssigned && s.Agent != nil && *s.Agent == "a1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session after the hand-over: %+v", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func session(t *testing.T, n *devNode, conv string) desk.SessionInfo {
	t.Helper()
	var s desk.SessionInfo
	mustJSON(t, n.run("desk", "session", "--data-dir", n.dir, "--conv", conv, "--json"), &s)
	return s
}
