package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/export"
)

// --cql-replication is checked at its edge: 1 is the least factor a
// keyspace can have, below it serve refuses to start.
func TestCQLReplicationFlag(t *testing.T) {
	if got, err := cqlReplication(1); err != nil || got != "{'class': 'SimpleStrategy', 'replication_factor': 1}" {
		t.Fatalf("cqlReplication(1) = %q, %v", got, err)
	}
	if got, err := cqlReplication(3); err != nil || !strings.Contains(got, "'replication_factor': 3") {
		t.Fatalf("cqlReplication(3) = %q, %v", got, err)
	}
	for _, rf := range []string{"0", "-1"} {
		out, err := runCmd("serve", "--store", "cql", "--cql-hosts", "127.0.0.1:1", "--cql-replication", rf,
			"--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "--cql-replication "+rf) {
			t.Fatalf("serve --cql-replication %s: err %v, output %s", rf, err, out)
		}
	}
}

// --grain-request-timeout must be positive: 0 is refused, the least
// positive value is taken as given.
func TestGrainRequestTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		val  string
		ok   bool
		want time.Duration
	}{{"0s", false, 0}, {"-1s", false, 0}, {"1ns", true, time.Nanosecond}, {"20s", true, 20 * time.Second}} {
		cfg, err := applyTuningFlags(t, "--grain-request-timeout", tc.val)
		if (err == nil) != tc.ok {
			t.Fatalf("--grain-request-timeout %s: err %v, want ok=%v", tc.val, err, tc.ok)
		}
		if tc.ok && cfg.Actors.RequestTimeout != tc.want {
			t.Fatalf("--grain-request-timeout %s: RequestTimeout %s", tc.val, cfg.Actors.RequestTimeout)
		}
	}
}

// --metrics-zone takes IANA names; an unknown name or "Local" is refused.
func TestMetricsZoneFlag(t *testing.T) {
	for _, tc := range []struct {
		val string
		ok  bool
	}{{"UTC", true}, {"Asia/Shanghai", true}, {"America/New_York", true}, {"Mars/Olympus", false}, {"Local", false}, {"", false}} {
		cfg, err := applyTuningFlags(t, "--metrics-zone", tc.val)
		if (err == nil) != tc.ok {
			t.Fatalf("--metrics-zone %q: err %v, want ok=%v", tc.val, err, tc.ok)
		}
		if tc.ok && cfg.Metrics.Engine.Location.String() != tc.val {
			t.Fatalf("--metrics-zone %q: location %v", tc.val, cfg.Metrics.Engine.Location)
		}
	}
}

// --kafka-format: json (default) or protobuf; anything else is refused.
func TestKafkaFormatFlag(t *testing.T) {
	for val, want := range map[string]export.Format{"json": export.FormatJSON, "protobuf": export.FormatProtobuf, "xml": "", "proto": ""} {
		var k kafkaOptions
		f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		k.register(f)
		if err := f.Parse([]string{"--kafka-format", val}); err != nil {
			t.Fatal(err)
		}
		cfg, err := k.config()
		if (err == nil) != (want != "") || (err == nil && cfg.Format != want) {
			t.Errorf("--kafka-format %s: format %q, err %v", val, cfg.Format, err)
		}
	}
}

// --remote-dial-wait reaches the node's configuration; its default is the
// node's, and a negative value (one attempt) is passed on as such.
func TestRemoteDialWaitFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{{nil, boot.DefaultRemoteDialWait}, {[]string{"--remote-dial-wait", "5s"}, 5 * time.Second}, {[]string{"--remote-dial-wait", "-1s"}, -time.Second}} {
		cfg, err := applyTuningFlags(t, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RemoteDialWait != tc.want {
			t.Fatalf("%v: RemoteDialWait %s, want %s", tc.args, cfg.RemoteDialWait, tc.want)
		}
	}
}

// --log-level sets the least severe level written; a level that is not
// one of slog's is refused before anything starts.
func TestLogLevelFlag(t *testing.T) {
	var b strings.Builder
	log, err := newLogger(&b, false, "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("quiet")
	log.Warn("loud")
	if s := b.String(); strings.Contains(s, "quiet") || !strings.Contains(s, "loud") {
		t.Fatalf("at warn the log holds %q", s)
	}
	b.Reset()
	if log, err = newLogger(&b, true, "DEBUG"); err != nil {
		t.Fatal(err)
	}
	log.Debug("detail")
	if !strings.Contains(b.String(), `"msg":"detail"`) {
		t.Fatalf("at debug (JSON) the log holds %q", b.String())
	}
	out, err := runCmd("serve", "--dev", "--log-level", "chatty", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), `--log-level "chatty"`) {
		t.Fatalf("serve --log-level chatty: err %v, output %s", err, out)
	}
}

// The client commands log only warnings unless --verbose: their output is
// their result, not the connection's routine events.
func TestClientCommandsLogWarningsUnlessVerbose(t *testing.T) {
	ctx := context.Background()
	var o clientOptions
	if o.logger().Enabled(ctx, slog.LevelInfo) || !o.logger().Enabled(ctx, slog.LevelWarn) {
		t.Fatal("by default the client logs info, or no warnings")
	}
	o.verbose = true
	if !o.logger().Enabled(ctx, slog.LevelDebug) {
		t.Fatal("--verbose does not log the client's debug events")
	}
}

// The contact-details flags reach the grains' configuration (which
// refuses bad values: actors.TestContactDetailsBlockAndFlag).
func TestContactDetailsFlags(t *testing.T) {
	cfg, err := applyTuningFlags(t, "--contact-details", "mask", "--contact-details-in", "direct,group", "--contact-min-digits", "9", "--contact-number-words", "null=0,eins=1",
		"--contact-links", "--contact-links-allow", "shop.example,help.shop.example")
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.Actors; a.ContactDetails != actors.PolicyMask || strings.Join(a.ContactDetailsIn, ",") != "direct,group" || a.ContactMinDigits != 9 || strings.Join(a.ContactNumberWords, ",") != "null=0,eins=1" ||
		!a.ContactLinks || strings.Join(a.ContactLinksAllow, ",") != "shop.example,help.shop.example" {
		t.Fatalf("config %q %q %d %q %v %q", a.ContactDetails, a.ContactDetailsIn, a.ContactMinDigits, a.ContactNumberWords, a.ContactLinks, a.ContactLinksAllow)
	}
	var def tuning
	def.register(pflag.NewFlagSet("serve", pflag.ContinueOnError))
	if def.actors.ContactDetails != actors.PolicyOff || def.actors.ContactLinks {
		t.Fatalf("default %q, links %v; want off", def.actors.ContactDetails, def.actors.ContactLinks)
	}
}

// --sched-latency-target reaches the grains' configuration: its default,
// a value, and a negative one that turns the CPU signal off (a duration
// flag needs its unit; actors.TestAdmissionCPUBound tests the signal).
func TestSchedLatencyTargetFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{{nil, actors.DefaultConfig().SchedLatencyTarget}, {[]string{"--sched-latency-target", "80ms"}, 80 * time.Millisecond}, {[]string{"--sched-latency-target", "-1s"}, -time.Second}} {
		cfg, err := applyTuningFlags(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Actors.SchedLatencyTarget; got != c.want {
			t.Errorf("%v: SchedLatencyTarget %s, want %s", c.args, got, c.want)
		}
	}
	if d := actors.DefaultConfig().SchedLatencyTarget; d != 50*time.Millisecond {
		t.Errorf("default %s, want 50ms", d)
	}
}

// applyTuningFlags parses serve's tuning flags from args (a parse error
// fails the test) and applies them to a node configuration, returning
// apply's error.
func applyTuningFlags(t *testing.T, args ...string) (boot.NodeConfig, error) {
	t.Helper()
	var tu tuning
	f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	tu.register(f)
	if err := f.Parse(args); err != nil {
		t.Fatal(err)
	}
	var cfg boot.NodeConfig
	err := tu.apply(&cfg)
	return cfg, err
}

// serve's --direct-from and --group-add-from: the words map to the
// defaults of users who never chose, and any other word is refused.
func TestWhoMayFlags(t *testing.T) {
	cfg, err := applyTuningFlags(t)
	if err != nil || cfg.Actors.DirectFrom != pb.DirectFrom_DIRECT_FROM_EVERYONE || cfg.Actors.GroupAddFrom != pb.GroupAddFrom_GROUP_ADD_FROM_EVERYONE {
		t.Fatalf("the defaults: %v %v %v", cfg.Actors.DirectFrom, cfg.Actors.GroupAddFrom, err)
	}
	cfg, err = applyTuningFlags(t, "--direct-from", "nobody", "--group-add-from", "groups")
	if err != nil || cfg.Actors.DirectFrom != pb.DirectFrom_DIRECT_FROM_NOBODY || cfg.Actors.GroupAddFrom != pb.GroupAddFrom_GROUP_ADD_FROM_GROUPS {
		t.Fatalf("--direct-from nobody --group-add-from groups: %v %v %v", cfg.Actors.DirectFrom, cfg.Actors.GroupAddFrom, err)
	}
	for _, args := range [][]string{{"--direct-from", "default"}, {"--group-add-from", "friends"}} {
		if _, err := applyTuningFlags(t, args...); err == nil || !strings.Contains(err.Error(), "want everyone, groups or nobody") {
			t.Errorf("%v: %v, want refused", args, err)
		}
	}
}
