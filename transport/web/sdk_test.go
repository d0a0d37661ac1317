package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestTypeScriptSDK runs the TypeScript SDK's integration test
// (sdk/ts/test/integration.test.ts, built by `npm test` in sdk/ts) with
// node against a real node over WebSocket. Without node or the built SDK
// it is skipped, except under CI=true, where it fails.
func TestTypeScriptSDK(t *testing.T) {
	script, err := filepath.Abs("../../sdk/ts/dist/test/integration.test.js")
	if err != nil {
		t.Fatal(err)
	}
	node, lookErr := exec.LookPath("node")
	_, statErr := os.Stat(script)
	if lookErr != nil || statErr != nil {
		testenv.Missing(t, fmt.Sprintf("node (%v) or the built SDK (%v) missing: run npm ci && npm test in sdk/ts (.ci/run does)", lookErr, statErr))
	}
	// A minute's CloseLinger: the SDK must close a connection the server
	// ends by itself ("a connection the server ends" case).
	// Contact details masked in groups: the SDK shows its own copy as
	// stored (the group settings case).
	// A frame four times the default, and bodies to match: the SDK must
	// follow the frame its Welcome tells (the "larger than the default
	// frame" case).
	const frame = 4 * wirepb.DefaultMaxFrame
	auth, err := transport.NewAuthenticator(transport.AuthConfig{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	n := newActorNode(t, actors.Config{ContactDetails: actors.PolicyMask, ContactDetailsIn: []string{"group"}, MaxBodyBytes: frame - transport.FrameEnvelope,
		MinDisappearAfter: time.Second},
		transport.Config{CloseLinger: time.Minute, MaxFrame: frame, Auth: auth}, web.Config{})
	// Anonymous visitors (the "anonymous visitor" case).
	if err := n.web.ServeVisitors(web.VisitorConfig{Auth: auth, Claim: func(ctx context.Context, visitor, account string) error {
		_, err := n.boot.Desk.Merge(ctx, visitor, account)
		return err
	}}); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SWITCHBOARD_WEB_URL="+n.http.URL)
	// A node that takes one pending send at a time and refuses the others
	// BUSY with a short retry-after: the SDK's pipeline must resend them
	// in order (the "pipelined sends" case). Not under the race detector:
	// two nodes in one process race inside protoactor-go (each remote sets
	// grpc's global logger), as in actors' multi-node tests; the normal
	// pass runs it.
	if !raceEnabled {
		busy := newActorNode(t, actors.Config{MaxPendingSends: 1, MinPendingSends: 1, BusyRetryAfter: 40 * time.Millisecond,
			MaxBusyRetryAfter: 200 * time.Millisecond, SendRate: 1e6, SendBurst: 1e6}, transport.Config{}, web.Config{})
		env = append(env, "SWITCHBOARD_BUSY_WEB_URL="+busy.http.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The service desk case: a scene straight to the sales queue, one
	// registered agent, offline, and a supervisor; c1 (with an attribute)
	// and eve are plain users.
	if _, err := n.boot.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	offline, one, sales := desk.Offline, 1, []string{"sales"}
	if _, err := n.boot.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: &offline, Capacity: &one, Skills: &sales}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := n.boot.Desk.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: &yes}); err != nil {
		t.Fatal(err)
	}
	// What the business told the desk about c1, for its agent.
	if _, err := n.boot.SetUserAttributes(ctx, "c1", map[string]string{"plan": "premium"}); err != nil {
		t.Fatal(err)
	}
	// The group settings case: alice owns g:ts-class, bob is a member.
	if _, err := n.boot.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:ts-class", Kind: pb.ConvKind_GROUP, Creator: "alice",
		Members: []*pb.Member{{User: "bob", Role: pb.Role_MEMBER}}}); err != nil {
		t.Fatal(err)
	}
	// The suspension case: mallory is suspended before the SDK connects.
	if _, err := n.boot.Suspend(ctx, "mallory", time.Time{}, "counterfeit goods"); err != nil {
		t.Fatal(err)
	}
	tokens, _ := json.Marshal(map[string]string{"mallory": token(t, "mallory", "ts1"), "alice": token(t, "alice", "ts1"), "bob": token(t, "bob", "ts1"),
		"c1": token(t, "c1", "ts1"), "a1": token(t, "a1", "ts1"), "eve": token(t, "eve", "ts1"), "sup": token(t, "sup", "ts1"), "twin": token(t, "twin", "ts1"),
		"buyer": token(t, "buyer", "ts1"), "eve-tablet": token(t, "eve", "ts2"), "pupil": token(t, "pupil", "ts1"), "partner": token(t, "partner", "ts1"),
		"ann": token(t, "ann", "ts1"), "teacher": token(t, "teacher", "ts1"), "teacher-phone": token(t, "teacher", "ts2"),
		"coach": token(t, "coach", "ts1"), "player": token(t, "player", "ts1"), "rookie": token(t, "rookie", "ts1"),
		"ts-pupil": token(t, "ts-pupil", "ts1"), "ts-stranger": token(t, "ts-stranger", "ts1"),
		"ts-seller": token(t, "ts-seller", "ts1"), "ts-organizer": token(t, "ts-organizer", "ts1"), "ts-buyer": token(t, "ts-buyer", "ts1"),
		"ts-caller": token(t, "ts-caller", "ts1"), "ts-callee": token(t, "ts-callee", "ts1"), "ts-callee-tablet": token(t, "ts-callee", "ts2"),
		"ts-nodev": token(t, "ts-nodev", ""), "ts-claimer": token(t, "ts-claimer", "ts1")})
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--test", script)
	cmd.Env = append(env, "SWITCHBOARD_TOKENS="+string(tokens))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	// Every integration case must have run (each skips itself when its
	// node or tokens are missing); under -race the busy node is not started.
	wantSkipped := "# skipped 0"
	if raceEnabled {
		wantSkipped = "# skipped 1"
	}
	if !strings.Contains(string(out), wantSkipped) {
		t.Fatalf("node --test: want %q: a case did not run", wantSkipped)
	}
}
