package clustertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"github.com/switchboard-im/switchboard/internal/testenv"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// netlab is a bridge in the root namespace with one network namespace per
// node attached by a veth pair: 10.200.S.1 is the root side (clients and
// fronts), 10.200.S.2 a second root address where a TCP proxy forwards to
// Cassandra, and node i is 10.200.S.(10+i). A partition is a set of
// blackhole routes inside the namespaces; nothing leaves the subnet the
// test created.
type netlab struct {
	t      *testing.T
	id     string
	subnet string // "10.200.S"
	bridge string
	ns     []string
	proxy  net.Listener
	mu     sync.Mutex
	routes map[string]bool // "ns|dest" blackholes in place
}

func needNetns(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		why = fmt.Sprintf("`ip netns` unavailable (apt install iproute2): %v %s", err, out)
	}
	if why == "" {
		return
	}
	testenv.Missing(t, "partition tests need root and Linux network namespaces: "+why)
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newNetlab(t *testing.T, nodes int, cassandra string) *netlab {
	t.Helper()
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%x", b[:2])
	lab := &netlab{t: t, id: id, subnet: fmt.Sprintf("10.200.%d", 1+int(b[2])%250), bridge: "sbbr" + id, routes: map[string]bool{}}
	t.Cleanup(lab.teardown)
	ip(t, "link", "add", lab.bridge, "type", "bridge")
	ip(t, "addr", "add", lab.subnet+".1/24", "dev", lab.bridge)
	ip(t, "addr", "add", lab.subnet+".2/24", "dev", lab.bridge)
	ip(t, "link", "set", lab.bridge, "up")
	for i := range nodes {
		ns := fmt.Sprintf("sb%s-%d", id, i)
		host, peer := fmt.Sprintf("sbh%s%d", id, i), fmt.Sprintf("sbn%s%d", id, i)
		ip(t, "netns", "add", ns)
		lab.ns = append(lab.ns, ns)
		ip(t, "link", "add", host, "type", "veth", "peer", "name", peer)
		ip(t, "link", "set", peer, "netns", ns)
		ip(t, "link", "set", host, "master", lab.bridge, "up")
		ip(t, "-n", ns, "addr", "add", lab.nodeAddr(i)+"/24", "dev", peer)
		ip(t, "-n", ns, "link", "set", peer, "up")
		ip(t, "-n", ns, "link", "set", "lo", "up")
	}
	// Cassandra listens on loopback in the root namespace: reach it
	// through a proxy on the bridge.
	var err error
	if lab.proxy, err = net.Listen("tcp", lab.cassandraAddr()); err != nil {
		t.Fatal(err)
	}
	go lab.serveProxy(cassandra)
	return lab
}

func (l *netlab) nodeAddr(i int) string          { return fmt.Sprintf("%s.%d", l.subnet, 10+i) }
func (l *netlab) cassandraIP() string            { return l.subnet + ".2" }
func (l *netlab) cassandraAddr() string          { return l.cassandraIP() + ":9042" }
func (l *netlab) routeKey(ns, dst string) string { return ns + "|" + dst }

func (l *netlab) serveProxy(target string) {
	for {
		in, err := l.proxy.Accept()
		if err != nil {
			return
		}
		go func() {
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				in.Close()
				return
			}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			_, _ = io.Copy(in, out)
			in.Close()
		}()
	}
}

func (l *netlab) blackhole(ns, dst string) {
	l.t.Helper()
	ip(l.t, "-n", ns, "route", "add", "blackhole", dst+"/32")
	l.mu.Lock()
	l.routes[l.routeKey(ns, dst)] = true
	l.mu.Unlock()
}

// isolate cuts node i off from the other nodes, and from Cassandra too
// when cassandra is set. Clients (the root side) still reach it.
func (l *netlab) isolate(i int, cassandra bool) {
	for j := range l.ns {
		if j != i {
			l.blackhole(l.ns[i], l.nodeAddr(j))
			l.blackhole(l.ns[j], l.nodeAddr(i))
		}
	}
	if cassandra {
		l.blackhole(l.ns[i], l.cassandraIP())
	}
}

// heal removes every blackhole.
func (l *netlab) heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.routes {
		ns, dst, _ := strings.Cut(k, "|")
		if out, err := exec.Command("ip", "-n", ns, "route", "del", "blackhole", dst+"/32").CombinedOutput(); err != nil {
			l.t.Errorf("heal: ip -n %s route del blackhole %s: %v %s", ns, dst, err, out)
		}
		delete(l.routes, k)
	}
}

func (l *netlab) teardown() {
	if l.proxy != nil {
		l.proxy.Close()
	}
	for _, ns := range l.ns {
		_ = exec.Command("ip", "netns", "del", ns).Run() // takes its veth pair along
	}
	_ = exec.Command("ip", "link", "del", l.bridge).Run()
}

// Nodes in their own network namespaces; one at a time is cut off from
// the others (still reaching Cassandra, then also cut from Cassandra)
// under load, and healed, several times. Both sides keep taking writes to
// the same conversations, so protoactor runs two activations of a
// conversation at once: the CQL epoch fence must keep every ack true. At
// the end no seq was acked to two messages and every acked message is
// stored at its seq.
func TestPartitionFencing(t *testing.T) {
	needNetns(t)
	hosts := cqlHosts(t)
	lab := newNetlab(t, 3, hosts[0])
	c := newCluster(t, []string{lab.cassandraAddr()})
	for i := range 3 {
		c.addNode(lab.nodeAddr(i), lab.ns[i])
	}
	c.startAll()
	t.Logf("3 nodes in namespaces %v at %s.10-12, Cassandra through %s", lab.ns, lab.subnet, lab.cassandraAddr())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l := newLoad(t, ctx)
	w := startWorkload(t, ctx, c, l, 100*time.Millisecond)
	rd := startReads(ctx, c, w, 300*time.Millisecond)
	l.waitMore(100, 30*time.Second)

	const hold = 6 * time.Second // longer than failure detection: both sides take over
	cycles := []struct {
		node      int
		cassandra bool
	}{{0, false}, {1, true}, {2, false}}
	for _, cy := range cycles {
		n := c.nodes[cy.node]
		before := l.count()
		fenced0 := c.fencedTotal()
		lab.isolate(cy.node, cy.cassandra)
		what := "the other nodes"
		if cy.cassandra {
			what += " and Cassandra"
		}
		time.Sleep(hold)
		lab.heal()
		during := l.count() - before
		healed := time.Now()
		// No operator: the cut-off node sees the others alive again, finds
		// they will not take its member id back and restarts its cluster
		// member in process with a new id.
		ok := c.tryWaitMembers(rejoinBound, c.nodes...)
		t.Logf("cut %s from %s for %s: %d acks meanwhile; cluster whole again: %v after %s; conversation fences so far: %.0f (+%.0f)",
			n.name, what, hold, during, ok, time.Since(healed).Round(time.Millisecond), c.fencedTotal(), c.fencedTotal()-fenced0)
		if !ok {
			for _, m := range c.nodes {
				ms, err := c.members(m)
				t.Logf("  %s sees %s %v", m.name, memberSummary(c, ms), err)
			}
			t.Fatalf("%s did not rejoin within %s of the heal", n.name, rejoinBound)
		}
		for _, m := range c.nodes {
			if err := c.healthz(m); err != nil {
				t.Errorf("%s after the heal: /healthz %v", m.name, err)
			}
			// What an operator's dashboard shows: every node sees them all
			// (the gauge follows the topology event, a moment after).
			seen := c.counter(m, "switchboard_cluster_members")
			for deadline := time.Now().Add(5 * time.Second); seen != float64(len(c.nodes)) && time.Now().Before(deadline); {
				time.Sleep(100 * time.Millisecond)
				seen = c.counter(m, "switchboard_cluster_members")
			}
			if seen != float64(len(c.nodes)) {
				t.Errorf("%s after the heal: switchboard_cluster_members %v, want %d", m.name, seen, len(c.nodes))
			}
		}
		t.Logf("%s's rejoins so far: %.0f", n.name, c.counter(n, "switchboard_cluster_rejoins_total"))
		l.waitMore(50, 60*time.Second)
	}
	l.halt()
	checkLinearizable(t, l, rd)
	w.check(t, ctx, l, func(*tclient) string { return " (its user grain moved during a partition)" })
}

// rejoinBound is how soon after a partition heals a node that was cut off
// must be a member of the whole cluster again, by itself.
const rejoinBound = 15 * time.Second

// healthz returns nil when n's /healthz answers 200.
func (c *cluster) healthz(n *node) error {
	res, err := c.http.Get("http://" + n.admin + "/healthz")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(b)))
	}
	return nil
}

// tryWaitMembers is waitMembers without failing.
func (c *cluster) tryWaitMembers(within time.Duration, alive ...*node) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range alive {
			ms, err := c.members(n)
			if err != nil || len(ms) != len(alive) {
				ok = false
				break
			}
			for _, m := range ms {
				if m.State == "unreachable" {
					ok = false
				}
			}
		}
		if ok {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// fencedTotal sums switchboard_conversation_fenced_total over the nodes
// that answer.
func (c *cluster) fencedTotal() float64 {
	var sum float64
	for _, n := range c.nodes {
		sum += max(c.counter(n, "switchboard_conversation_fenced_total"), 0)
	}
	return sum
}

// counter is n's value of a switchboard_* counter or gauge, as its status
// reports it (-1 when n does not answer).
func (c *cluster) counter(n *node, name string) float64 {
	var st struct {
		Counters map[string]float64 `json:"counters"`
	}
	if err := c.api("GET", n, "/api/v1/status", &st); err != nil {
		return -1
	}
	return st.Counters[name]
}

func memberSummary(c *cluster, ms []member) string {
	var out []string
	for _, m := range ms {
		name := m.Address
		for _, n := range c.nodes {
			if n.remote == m.Address {
				name = n.name
			}
		}
		out = append(out, name+":"+m.State)
	}
	return fmt.Sprint(out)
}
