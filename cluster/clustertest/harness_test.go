package clustertest

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/switchboard-im/switchboard/storage/cql/cqlenv"
	"github.com/switchboard-im/switchboard/storage/cql/cqltest"
	"github.com/switchboard-im/switchboard/transport"
)

// The binary under test, built once per run.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "switchboard-clustertest-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "switchboard")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/switchboard-im/switchboard/cmd/switchboard").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cqlHosts returns SWITCHBOARD_CQL_HOSTS; without it the test skips,
// except under CI=true, where a skip would hide an untested cluster.
func cqlHosts(t *testing.T) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process cluster test")
	}
	return cqltest.Hosts(t)
}

// cluster is a set of serve processes sharing one keyspace and one set of
// credentials, with a UDP front per node that clients connect through.
type cluster struct {
	t          *testing.T
	bin        string
	dir        string
	cqlHosts   []string // as the nodes reach Cassandra
	keyspace   string
	certFile   string
	keyFile    string
	secretFile string
	tokenFile  string
	resetKey   []byte
	secret     []byte
	adminToken string
	roots      *x509.CertPool
	nodes      []*node
	fronts     []*front
	http       *http.Client
	clog       *syncBuffer
	serveArgs  []string // more flags for every node's serve
	// requestTimeout of the clients' requests (default 3 s).
	requestTimeout time.Duration
	// startWithin bounds a node's start, to /healthz (default 60 s).
	startWithin time.Duration
	// sendTimeout of the clients' sends (default 1 min).
	sendTimeout time.Duration
}

// newCluster prepares credentials and a fresh keyspace (dropped at cleanup)
// for nodes at the given hosts; certHosts are the extra addresses the
// certificate must name.
func newCluster(t *testing.T, cqlHostsForNodes []string, certHosts ...string) *cluster {
	t.Helper()
	hosts := cqlHosts(t)
	if cqlHostsForNodes == nil {
		cqlHostsForNodes = hosts
	}
	return newClusterOn(t, hosts, cqlHostsForNodes, certHosts...)
}

// newClusterOn is newCluster on the Cassandra the test reaches at hosts.
func newClusterOn(t *testing.T, hosts, cqlHostsForNodes []string, certHosts ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: binary(t), dir: t.TempDir(), cqlHosts: cqlHostsForNodes,
		keyspace: cqlenv.Keyspace(t, hosts, "sbcluster"), http: &http.Client{Timeout: 10 * time.Second}, clog: &syncBuffer{}}
	certPEM, keyPEM, err := transport.SelfSignedCert(certHosts...)
	if err != nil {
		t.Fatal(err)
	}
	c.roots = x509.NewCertPool()
	c.roots.AppendCertsFromPEM(certPEM)
	c.secret = []byte(randHex(t, 32))
	c.adminToken = randHex(t, 24)
	// One stateless reset key for every node, as behind a real QUIC load
	// balancer: a client whose packets land on another node after a
	// failover is reset at once instead of waiting for its idle timeout.
	c.resetKey = []byte(randHex(t, 32))
	c.certFile, c.keyFile = filepath.Join(c.dir, "cert.pem"), filepath.Join(c.dir, "key.pem")
	c.secretFile, c.tokenFile = filepath.Join(c.dir, "secret"), filepath.Join(c.dir, "admin-token")
	for f, b := range map[string][]byte{c.certFile: certPEM, c.keyFile: keyPEM, c.secretFile: c.secret, c.tokenFile: []byte(c.adminToken)} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			keepLog(t, "clients", []byte(c.clog.String()))
		}
	})
	return c
}

// keepLog saves a failed test's log in $SWITCHBOARD_ARTIFACTS, or else in
// a directory of the system's temp dir that outlives the test, and names
// the file. The logs are not printed: CI shows the end of a failing
// test's output, and that is where its failure message must stay.
func keepLog(t *testing.T, what string, b []byte) {
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "switchboard-cluster-logs")
	}
	name := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+what+".log")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("keep the %s log: %v", what, err)
		return
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Logf("keep the %s log: %v", what, err)
		return
	}
	t.Logf("%s log: %s", what, name)
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// node is one `switchboard serve` process (restartable).
type node struct {
	c       *cluster
	name    string
	netns   string // run inside this network namespace, when set
	host    string
	listen  string // QUIC, UDP
	admin   string // HTTP
	gossip  string // memberlist
	remote  string // actor remoting
	dataDir string
	logFile string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// addNode defines a node on host (loopback ports are picked free; in a
// namespace the fixed ports of its own port space are used).
func (c *cluster) addNode(host, netns string) *node {
	c.t.Helper()
	n := &node{c: c, name: fmt.Sprintf("n%d", len(c.nodes)), netns: netns, host: host}
	var pl, pa, pg, pr int
	if netns == "" {
		pl, pa, pg, pr = testenv.FreePort(c.t), testenv.FreePort(c.t), testenv.FreePort(c.t), testenv.FreePort(c.t)
	} else {
		pl, pa, pg, pr = 4433, 8080, 7946, 9090
	}
	n.listen = net.JoinHostPort(host, fmt.Sprint(pl))
	n.admin = net.JoinHostPort(host, fmt.Sprint(pa))
	n.gossip = net.JoinHostPort(host, fmt.Sprint(pg))
	n.remote = net.JoinHostPort(host, fmt.Sprint(pr))
	n.dataDir = filepath.Join(c.dir, n.name)
	n.logFile = filepath.Join(c.dir, n.name+".log")
	if err := os.MkdirAll(n.dataDir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.dataDir, "quic-reset.key"), c.resetKey, 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.nodes = append(c.nodes, n)
	f := newFront(c.t, n.listen)
	c.fronts = append(c.fronts, f)
	c.t.Cleanup(func() {
		n.stopNow()
		if c.t.Failed() {
			b, _ := os.ReadFile(n.logFile)
			keepLog(c.t, n.name, b)
		}
	})
	return n
}

// start runs the process and waits until its admin API answers.
func (n *node) start(join ...string) {
	t := n.c.t
	t.Helper()
	args := []string{"serve", "--store", "cql", "--cql-hosts", strings.Join(n.c.cqlHosts, ","),
		"--cql-keyspace", n.c.keyspace, "--data-dir", n.dataDir,
		"--listen", n.listen, "--admin", n.admin, "--gossip", n.gossip, "--cluster-addr", n.remote,
		"--tls-cert", n.c.certFile, "--tls-key", n.c.keyFile, "--auth-secret-file", n.c.secretFile,
		"--admin-token-file", n.c.tokenFile, "--drain-timeout", "4s"}
	args = append(args, n.c.serveArgs...)
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	name, argv := n.c.bin, args
	if n.netns != "" {
		name, argv = "ip", append([]string{"netns", "exec", n.netns, n.c.bin}, args...)
	}
	logf, err := os.OpenFile(n.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "==== start %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(name, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	// Own process group: cleanup kills whatever the node started too; and
	// the node dies with the test binary should it panic past the cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()

	within := cmp.Or(n.c.startWithin, 60*time.Second)
	deadline := time.Now().Add(within)
	for {
		res, err := n.c.http.Get("http://" + n.admin + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(n.logFile)
			t.Fatalf("%s exited at start:\n%s", n.name, tail(string(b), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start within %s", n.name, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd := n.cmd
	n.mu.Unlock()
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
	}
}

func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exited == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill stops the node with SIGKILL (a crash).
func (n *node) kill() {
	n.signal(syscall.SIGKILL)
	n.wait(10 * time.Second)
}

// term stops the node with SIGTERM (drain, leave) and waits for the exit.
func (n *node) term() {
	n.signal(syscall.SIGTERM)
	if !n.wait(30 * time.Second) {
		n.c.t.Errorf("%s did not exit within 30 s of SIGTERM", n.name)
		n.kill()
	}
}

func (n *node) wait(d time.Duration) bool {
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	if exited == nil {
		return true
	}
	select {
	case <-exited:
		return true
	case <-time.After(d):
		return false
	}
}

func (n *node) stopNow() {
	if n.running() {
		n.kill()
	}
}

// startAll starts node 0, then the others joining it.
func (c *cluster) startAll() {
	c.t.Helper()
	c.nodes[0].start()
	var wg sync.WaitGroup
	for _, n := range c.nodes[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); n.start(c.nodes[0].gossip) }()
	}
	wg.Wait()
	c.waitMembers(c.nodes...)
}

// waitMembers waits until every node of alive sees exactly alive as the
// cluster, every member reachable (alive or draining).
func (c *cluster) waitMembers(alive ...*node) {
	c.t.Helper()
	want := make([]string, len(alive))
	for i, n := range alive {
		want[i] = n.remote
	}
	slices.Sort(want)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		var last []member
		for _, n := range alive {
			ms, err := c.members(n)
			last = ms
			if err != nil || len(ms) != len(want) {
				ok = false
				break
			}
			got := make([]string, len(ms))
			for i, m := range ms {
				got[i] = m.Address
				if m.State == "unreachable" { // "draining" is a live member
					ok = false
				}
			}
			slices.Sort(got)
			ok = ok && slices.Equal(got, want)
			if !ok {
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster did not converge on %v; last answer %+v", want, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// member is a row of GET /api/v1/members.
type member struct {
	ID          string `json:"id"`
	Address     string `json:"address"`
	State       string `json:"state"`
	Connections int64  `json:"connections"`
}

func (c *cluster) api(method string, n *node, path string, out any) error {
	req, err := http.NewRequest(method, "http://"+n.admin+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.adminToken)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

func (c *cluster) members(n *node) ([]member, error) {
	var r struct {
		Members []member `json:"members"`
	}
	err := c.api("GET", n, "/api/v1/members", &r)
	return r.Members, err
}

// where asks n which node hosts a grain.
func (c *cluster) where(n *node, kind, id string) *node {
	c.t.Helper()
	var r struct {
		Address string `json:"address"`
	}
	if err := c.api("GET", n, "/api/v1/where/"+kind+"/"+id, &r); err != nil {
		c.t.Fatal(err)
	}
	for _, m := range c.nodes {
		if m.remote == r.Address {
			return m
		}
	}
	c.t.Fatalf("where %s/%s: unknown address %q", kind, id, r.Address)
	return nil
}

type syncBuffer = testenv.Buffer

func tail(s string, lines int) string {
	var all []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		all = append(all, sc.Text())
	}
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
