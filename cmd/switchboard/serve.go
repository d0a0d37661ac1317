package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/cluster/admin"
	"github.com/switchboard-im/switchboard/cluster/admin/dashboard"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/certfile"
	"github.com/switchboard-im/switchboard/internal/ice"
	"github.com/switchboard-im/switchboard/internal/version"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql"
	"github.com/switchboard-im/switchboard/storage/instrumented"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

type serveOptions struct {
	dataDir       string
	listen        string
	admin         string
	store         string
	cqlHosts      []string
	cqlKeyspace   string
	tlsCert       string
	tlsKey        string
	authSecret    string
	authPublicKey []string
	authPrevious  []string
	// An identity provider's ID tokens (transport.ProviderConfig).
	authJWKS, authIssuer, authAudience, authUserClaim string
	// iceServers, turnSecret, turnTTL: what calls connect through.
	iceServers []string
	turnSecret string
	turnTTL    time.Duration
	authLeeway time.Duration
	// tokenProfile: a token's name and picture claims set the profile.
	tokenProfile  bool
	join          []string
	gossip        string
	clusterAddr   string
	advertiseHost string
	policyWords   []string
	policyMode    string
	blockedWords  []string
	monitorWords  []string
	wordReload    time.Duration
	drainTimeout  time.Duration
	rejoinAfter   time.Duration
	dev           bool
	logJSON       bool
	logLevel      string
	maxConnsAddr  int
	// connRate, connBurst, userRate, userBurst: transport.Config's
	// request rates (0: its defaults).
	connRate, userRate   float64
	connBurst, userBurst int
	maxQueueWait         time.Duration
	maxLaneWait          time.Duration
	udpSockets           int
	requests             transport.RequestLimits
	// conns: transport.Config's per-connection timeouts and bounds.
	conns connFlags

	adminTokenFile  string
	apiKeysFile     string
	adminOpenRead   bool
	cqlStartTimeout time.Duration
	cqlReplication  int
	cqlConns        int
	storeMinFree    int64
	storeVerify     string
	storeSync       time.Duration
	backupDir       string
	backupEvery     time.Duration
	backupKeep      int
	tuning          tuning
	kafka           kafkaOptions
	web             webOptions
	strayEnv        []string // SWITCHBOARD_ variables that set nothing (logged)
	tlsReload       time.Duration
	check           bool
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node",
		Long: `Run a Switchboard node: the grains on the chosen store, the QUIC client
server (--listen) and the admin HTTP server (--admin: /metrics, /healthz).
A single node is a cluster of one; --join adds it to a cluster.

--dev needs nothing else: a self-signed certificate and a token secret are
generated into <data-dir>/dev (kept across restarts), with server.json
telling the other commands where the node listens, so that

  switchboard serve --dev --data-dir D
  switchboard send --data-dir D --user alice --to user:bob --text hi

work without further flags.

Every flag can also be set with an environment variable SWITCHBOARD_<FLAG>
(upper case, dashes as underscores), e.g. SWITCHBOARD_DATA_DIR=/var/lib/switchboard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.strayEnv = strayEnv(cmd.Flags(), os.Environ())
			return runServe(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", "./data", "directory for the embedded store and dev credentials")
	f.StringVar(&o.listen, "listen", "127.0.0.1:4433", "QUIC address for clients (UDP host:port)")
	f.DurationVar(&o.maxQueueWait, "max-queue-wait", transport.DefaultConfig().MaxQueueWait, "a request that waited longer than this for its turn on its connection is answered BUSY instead of run late")
	f.IntVar(&o.udpSockets, "udp-sockets", transport.DefaultConfig().Sockets, "UDP sockets serving the QUIC port (Linux SO_REUSEPORT; more kernel buffer and readers for very large groups; a client whose NAT rebinds may land on another socket and reconnect)")
	f.DurationVar(&o.maxLaneWait, "max-lane-wait", transport.DefaultConfig().MaxLaneWait, "a send that waited longer than this at the node (behind earlier sends to its conversation included) is answered BUSY instead of run late")
	f.IntVar(&o.maxConnsAddr, "max-conns-per-addr", 0, "connections from one source IP (0: no cap; carrier NAT shares addresses)")
	f.Float64Var(&o.connRate, "conn-rate", 0, "requests/s one connection may make (0: 50); a file's chunks are requests")
	f.IntVar(&o.connBurst, "conn-burst", 0, "burst above --conn-rate (0: 100)")
	f.Float64Var(&o.userRate, "user-rate", 0, "requests/s one user may make across their connections to this node (0: 100)")
	f.IntVar(&o.userBurst, "user-burst", 0, "burst above --user-rate (0: 200)")
	o.conns.register(f)
	rl := transport.DefaultRequestLimits()
	f.IntVar(&o.requests.MaxListUsers, "max-request-users", rl.MaxListUsers, "most users one create-group or membership request names")
	f.IntVar(&o.requests.MaxTitle, "max-title-bytes", rl.MaxTitle, "longest group title")
	f.IntVar(&o.requests.MaxAckSeqs, "max-ack-seqs", rl.MaxAckSeqs, "most inbox seqs one ack names")
	f.IntVar(&o.requests.MaxClientMsgID, "max-client-msg-id-bytes", rl.MaxClientMsgID, "longest client_msg_id (the idempotency key of a send)")
	f.StringVar(&o.admin, "admin", "127.0.0.1:8080", "admin HTTP address (/metrics, /healthz, /readyz, /api/v1/, dashboard at /)")
	f.StringVar(&o.store, "store", "pebble", "storage backend: pebble (embedded) or cql (ScyllaDB/Cassandra)")
	f.StringSliceVar(&o.cqlHosts, "cql-hosts", []string{"127.0.0.1:9042"}, "CQL contact points (host:port)")
	f.StringVar(&o.cqlKeyspace, "cql-keyspace", "switchboard", "CQL keyspace")
	f.DurationVar(&o.cqlStartTimeout, "cql-start-timeout", time.Minute, "how long to keep retrying to open the CQL store at start")
	f.IntVar(&o.cqlConns, "cql-conns", cql.DefaultConfig().NumConns, "CQL connections per database host (requests to one host share them; fewer connections carry more requests per network read and write)")
	f.IntVar(&o.cqlReplication, "cql-replication", 1, "replication factor (SimpleStrategy) of the CQL keyspace when serve creates it; an existing keyspace keeps its own. 3 for production (LOCAL_QUORUM then survives one replica down)")
	f.Int64Var(&o.storeMinFree, "store-min-free", 0, "embedded store: free bytes below which writes are refused (STORAGE_UNAVAILABLE) until space is back; 0 = 2× the memtable (128 MiB), -1 = off")
	f.DurationVar(&o.storeSync, "store-sync-interval", pebblestore.DefaultConfig("").SyncInterval, "embedded store: shortest time between two WAL fsyncs; writes that arrive meanwhile share the next one (fewer fsyncs under load, at most this much added to an ack); 0 = sync as soon as asked")
	f.StringVar(&o.backupDir, "backup-dir", "", "embedded store: where `switchboard store backup` (POST /api/v1/store/backup) writes, one directory per backup (default <data-dir>/backups); on the store's file system its tables are hard-linked, not copied")
	f.DurationVar(&o.backupEvery, "backup-every", 0, "embedded store: take a backup this often (0: only when asked); a failed one is logged and counted in switchboard_store_backups_total")
	f.IntVar(&o.backupKeep, "backup-keep", 0, "embedded store: keep the newest this many backups in --backup-dir, removing older ones after each backup (0: keep all)")
	f.StringVar(&o.storeVerify, "store-verify", "auto", "embedded store: checks at start: full (also every table's checksums), files, or auto (full up to 256 MiB of tables)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate chain (PEM); --dev generates one")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&o.authSecret, "auth-secret-file", "", "file holding the HS256 token secret (at least 32 bytes); --dev generates one")
	f.StringSliceVar(&o.authPublicKey, "auth-public-key", nil, "Ed25519 public keys (PEM files) verifying EdDSA tokens: several during a rotation, a token of any of them is taken")
	f.StringVar(&o.authIssuer, "auth-issuer", "", "your identity provider (an OpenID Connect issuer URL; Firebase: https://securetoken.google.com/PROJECT): users connect with the ID tokens it signs (RS256, ES256, …), which must carry this iss; its key set is found in its /.well-known/openid-configuration; needs --auth-audience")
	f.StringVar(&o.authAudience, "auth-audience", "", "with --auth-issuer: the aud the provider's tokens must carry (your app's client id; Firebase: the project id)")
	f.StringVar(&o.authJWKS, "auth-jwks-url", "", "with --auth-issuer: the provider's key set, where its OpenID configuration is not published (default: that configuration's jwks_uri)")
	f.StringVar(&o.authUserClaim, "auth-user-claim", "sub", "with --auth-issuer: the claim of the provider's tokens holding the user id")
	f.StringSliceVar(&o.authPrevious, "auth-previous-secret-file", nil, "files of HS256 secrets also accepted while the token servers move to --auth-secret-file's (a rotation; remove it after the longest token's lifetime)")
	f.StringSliceVar(&o.iceServers, "ice-servers", nil, "STUN and TURN servers handed to calling devices (stun:host:3478, turn:host:3478?transport=udp, turns:host:5349); none: devices connect directly or not at all")
	f.StringVar(&o.turnSecret, "turn-secret-file", "", "file holding the secret the TURN server shares with the node (coturn's static-auth-secret): devices get credentials signed with it")
	f.DurationVar(&o.turnTTL, "turn-credential-ttl", ice.DefaultTTL, "how long the TURN credentials handed to a device are good for")
	f.BoolVar(&o.tokenProfile, "profile-from-token", true, "a token's OpenID Connect name and picture claims, when present, set the user's profile at each connect")
	f.DurationVar(&o.authLeeway, "auth-leeway", transport.DefaultLeeway, "clock-skew leeway on token exp/nbf: a token is honoured until exp plus this (0: none)")
	f.StringSliceVar(&o.join, "join", nil, "memberlist addresses (host:port) of cluster members to join")
	f.StringVar(&o.gossip, "gossip", "", "memberlist bind address (default 127.0.0.1:0 with --dev, else 0.0.0.0:7946)")
	f.StringVar(&o.clusterAddr, "cluster-addr", "127.0.0.1:0", "actor remoting address between nodes (host:port, port 0 = any)")
	f.StringVar(&o.advertiseHost, "advertise-host", "", "host other nodes dial for actor remoting, when not the --cluster-addr host")
	f.StringSliceVar(&o.policyWords, "policy-words", nil, "content policy: words matched in message bodies")
	f.StringVar(&o.policyMode, "policy-mode", "off", "content policy mode: off, block or flag")
	f.StringSliceVar(&o.blockedWords, "policy-blocked-words", nil, "content policy: sends with these words are refused (REJECTED_POLICY); `switchboard policy words` replaces the list at run time")
	f.StringSliceVar(&o.monitorWords, "policy-monitor-words", nil, "content policy: sends with these words are delivered flagged, counted and logged")
	f.DurationVar(&o.wordReload, "policy-reload", actors.DefaultConfig().WordListReload, "how often every node reloads the word lists changed through the admin API")
	f.DurationVar(&o.drainTimeout, "drain-timeout", 10*time.Second, "on shutdown, how long clients get to reconnect elsewhere")
	f.DurationVar(&o.rejoinAfter, "rejoin-after", 2*time.Second, "a member cut off from a cluster that is reachable again (the others will not take its member id back) restarts in process with a new id after this long; 0 = never (/healthz answers 503 until restarted)")
	f.StringVar(&o.adminTokenFile, "admin-token-file", "", "file holding the admin API token (--dev generates one)")
	f.StringVar(&o.apiKeysFile, "api-keys-file", "", "file of API keys: scoped admin API credentials for your servers (switchboard apikey new); read again while serving")
	f.BoolVar(&o.adminOpenRead, "admin-open-read", false, "serve the read-only admin endpoints without a token")
	f.BoolVar(&o.dev, "dev", false, "development mode: zero configuration, everything local")
	f.DurationVar(&o.tlsReload, "tls-reload-interval", 30*time.Second, "look at --tls-cert and --tls-key again at most this often, from the handshakes: a renewed certificate is served without a restart (0: never)")
	f.BoolVar(&o.check, "check", false, "check the settings (flags, SWITCHBOARD_ variables, the credential files they name) and exit: 0 and \"settings are good\", or 1 and what is wrong; opens no store and binds no port")
	f.BoolVar(&o.logJSON, "log-json", false, "log as JSON lines")
	f.StringVar(&o.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	o.tuning.register(f)
	o.kafka.register(f)
	o.web.register(f)
	return cmd
}

// newLogger is the node's logger: text or JSON lines to w, at level
// (debug, info, warn or error) and above.
func newLogger(w io.Writer, asJSON bool, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// flagsFromEnv sets every flag not given on the command line from
// SWITCHBOARD_<FLAG>.
func flagsFromEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Annotations[noEnvAnnotation] != nil {
			return
		}
		env := "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", env, err))
			}
		}
	})
	return errors.Join(errs...)
}

// noEnvAnnotation marks a flag that SWITCHBOARD_<FLAG> does not set: an
// action whose name is also a setting of serve's.
const noEnvAnnotation = "switchboard-no-env"

// noEnv keeps the environment from setting the named flags of fs.
func noEnv(fs *pflag.FlagSet, names ...string) {
	for _, name := range names {
		if err := fs.SetAnnotation(name, noEnvAnnotation, []string{"true"}); err != nil {
			panic(err) // a flag this binary does not define: a programming error
		}
	}
}

// strayEnv is the SWITCHBOARD_ variables of environ that name no flag of
// fs nor a secret the node reads from the environment: a misspelt
// setting, which would otherwise be ignored without a word.
func strayEnv(fs *pflag.FlagSet, environ []string) []string {
	var stray []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, "SWITCHBOARD_")
		if !ok || strings.HasSuffix(rest, "_SECRET") || rest == "ADMIN_TOKEN" {
			continue
		}
		if fs.Lookup(strings.ToLower(strings.ReplaceAll(rest, "_", "-"))) == nil {
			stray = append(stray, name)
		}
	}
	slices.Sort(stray)
	return stray
}

func runServe(ctx context.Context, o serveOptions) error {
	log, err := newLogger(os.Stderr, o.logJSON, o.logLevel)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if len(o.strayEnv) > 0 {
		log.Warn("environment variables that name no flag of serve, ignored (a misspelling?)", "variables", o.strayEnv)
	}

	// Bad flags fail before anything is opened.
	if _, err := cqlReplication(o.cqlReplication); err != nil {
		return err
	}
	tlsConf, auth, err := serverCredentials(o)
	if err != nil {
		return err
	}
	defer auth.Close()
	if err := o.conns.checkFrame(); err != nil {
		return err
	}
	if err := o.tuning.checkBodyLimit(o.conns.maxFrame); err != nil {
		return err
	}
	nodeCfg, err := nodeConfig(o, log)
	if err != nil {
		return err
	}
	iceCfg, err := o.ice()
	if err != nil {
		return err
	}
	adminToken, err := loadAdminToken(o)
	if err != nil {
		return err
	}
	if o.apiKeysFile != "" {
		b, err := os.ReadFile(o.apiKeysFile)
		if err == nil {
			_, err = admin.ParseAPIKeys(b)
		}
		if err != nil {
			return fmt.Errorf("--api-keys-file: %w", err)
		}
	}
	if o.check {
		if len(o.strayEnv) > 0 {
			return fmt.Errorf("environment variables that name no flag of serve: %s", strings.Join(o.strayEnv, ", "))
		}
		fmt.Println("settings are good")
		return nil
	}
	rawStore, err := openStore(ctx, o, log)
	if err != nil {
		return err
	}
	store := instrumented.Wrap(rawStore) // switchboard_store_op_seconds
	defer store.Close()
	bk := storeBackups(rawStore, o, log)
	if bk != nil && o.backupEvery > 0 {
		bctx, stopBackups := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); bk.run(bctx, o.backupEvery) }()
		defer func() { stopBackups(); <-done }() // before the store closes
	} else if o.backupEvery > 0 {
		log.Warn("--backup-every is for the embedded store; back a CQL keyspace up with its snapshots")
	}

	// The admin server outlives the cluster member: a member restarted in
	// process (see member.serve) swaps in its handler.
	ln, err := net.Listen("tcp", o.admin)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", o.admin, err)
	}
	var adminHandler atomic.Pointer[http.Handler]
	adminSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := adminHandler.Load()
		if h == nil {
			http.Error(w, "restarting the cluster member", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	})}
	// Served from the first member's start on: before it, /healthz has
	// nothing true to say.
	serveAdmin := sync.OnceFunc(func() { go func() { _ = adminSrv.Serve(ln) }() })
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = adminSrv.Shutdown(shutdownCtx)
	}()

	join := o.join
	for {
		m := member{nodeCfg: nodeCfg, ice: iceCfg, store: store, rawStore: rawStore, backups: bk, tls: tlsConf, auth: auth, adminAddr: ln.Addr().String(),
			adminToken: adminToken, handler: &adminHandler, ready: serveAdmin, log: log}
		peers, err := m.serve(ctx, o, join)
		if err != nil || peers == nil {
			return err
		}
		// Seeds: the configured ones and every peer seen, so a node that
		// formed the cluster (no --join) finds it again too.
		join = append(slices.Clone(o.join), peers...)
		slices.Sort(join)
		join = slices.Compact(join)
		log.Warn("cut off from the cluster: restarting the cluster member in process with a new id", "join", join)
	}
}

// member is what the cluster members of one process share.
type member struct {
	nodeCfg               boot.NodeConfig // all but the store and the seeds
	ice                   ice.Config
	store, rawStore       storage.Store
	backups               *backups // nil: not an embedded store
	tls                   *tls.Config
	auth                  *transport.Authenticator
	adminAddr, adminToken string
	handler               *atomic.Pointer[http.Handler]
	ready                 func() // starts serving the admin API (once)
	log                   *slog.Logger
}

// serve runs one cluster member with its QUIC server and admin API
// until ctx ends (it returns nil, nil after draining) or the member finds
// itself cut off from a cluster that is reachable again and will not take
// it back (it returns the peers to join). Then it closes the client
// connections (the clients reconnect and resync), leaves, and the caller
// starts a new member with a new id: the others admit that one.
func (m member) serve(ctx context.Context, o serveOptions, join []string) ([]string, error) {
	store, rawStore, adminAddr, adminToken, handler, log := m.store, m.rawStore, m.adminAddr, m.adminToken, m.handler, m.log
	cfg := m.nodeCfg
	cfg.Store, cfg.Membership.Seeds = store, join
	node, err := boot.StartNode(cfg)
	if err != nil {
		return nil, err
	}
	left := false
	defer func() {
		if !left {
			node.Stop(true)
		}
	}()

	resetKey, err := loadResetKey(o.dataDir)
	if err != nil {
		return nil, fmt.Errorf("stateless reset key: %w", err)
	}
	tcfg := transport.Config{Addr: o.listen, TLS: m.tls, Auth: m.auth, StatelessResetKey: resetKey, Logger: log, ICE: m.ice,
		MaxConnsPerAddr: o.maxConnsAddr, MaxQueueWait: o.maxQueueWait, MaxLaneWait: o.maxLaneWait, Sockets: o.udpSockets,
		Requests: o.requests, ConnRate: o.connRate, ConnBurst: o.connBurst, UserRate: o.userRate, UserBurst: o.userBurst,
		IgnoreTokenProfile: !o.tokenProfile}
	o.conns.apply(&tcfg)
	srv, err := transport.Listen(node.Runtime, tcfg)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	// The browser carriers feed this member's server; a member restarted
	// in process starts them again.
	webSrv, webAddr, stopWeb, err := startWeb(o.web, o.dev, srv, m.tls, log)
	if err != nil {
		return nil, err
	}
	defer stopWeb()
	mergeVisitor := func(ctx context.Context, visitor, account string) error {
		_, err := node.Desk.Merge(ctx, visitor, account)
		return err
	}
	if err := serveVisitors(o.web, o.tuning.desk.VisitorScenes, webSrv, m.auth, mergeVisitor); err != nil {
		return nil, err
	}

	adminAPI, err := admin.New(node, admin.Config{
		Addr: adminAddr, Token: adminToken, APIKeysFile: o.apiKeysFile, OpenReadOnly: o.adminOpenRead, Logger: log, Extra: dashboard.Register,
	}, admin.Hooks{
		Connections: srv.Connections,
		Drain: func(ctx context.Context) error {
			srv.Drain(ctx, "")
			return nil
		},
		StoreHealth: storeHealth(rawStore),
		Draining:    srv.Draining,
		Backup:      backupHook(m.backups),
	})
	if err != nil {
		return nil, err
	}
	h := adminAPI.Handler()
	handler.Store(&h)
	defer handler.Store(nil)
	if o.dev && webSrv != nil {
		secret, err := readSecret(devSecretPath(o.dataDir))
		if err != nil {
			return nil, err
		}
		mountDevWeb(webSrv, secret, h, adminToken)
	}
	m.ready()

	if o.dev {
		if err := writeDevServerInfo(o.dataDir, devServerInfo{Addr: dialable(srv.Addr().String()), Admin: dialable(adminAddr),
			CA: devCertPath(o.dataDir), Web: dialable(webAddr)}); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(devAdmin{URL: "http://" + dialable(adminAddr), Token: adminToken})
		if err := writeFileAtomic(devAdminPath(o.dataDir), b, 0o600); err != nil {
			return nil, err
		}
	}
	log.Info("node started", "version", version.Get().Short(), "store", o.store, "data_dir", o.dataDir, "listen", srv.Addr().String(),
		"admin", adminAddr, "membership", node.MembershipAddr(), "member", node.ID(), "dev", o.dev)

	cutOff := make(chan []string, 1)
	if o.rejoinAfter > 0 {
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		node.WatchCutOff(watchCtx, o.rejoinAfter, func(peers []string) { cutOff <- peers })
	}
	select {
	case <-ctx.Done():
	case peers := <-cutOff:
		// Leave first: the sessions the transport then closes make no
		// more grain requests on their way out.
		handler.Store(nil)
		left = true
		node.Leave()
		_ = srv.Close()
		return peers, nil
	}
	log.Info("shutting down: draining clients", "timeout", o.drainTimeout)
	drainCtx, cancel := context.WithTimeout(context.Background(), o.drainTimeout)
	defer cancel()
	srv.Drain(drainCtx, "")
	return nil, nil
}

// loadAdminToken reads --admin-token-file; with --dev a token is generated
// into the data dir once and kept.
func loadAdminToken(o serveOptions) (string, error) {
	path := o.adminTokenFile
	if path == "" && o.dev {
		path = filepath.Join(devDir(o.dataDir), "admin-token")
		if ok, err := fileExists(path); err != nil {
			return "", err
		} else if !ok {
			var b [24]byte
			if _, err := rand.Read(b[:]); err != nil {
				return "", err
			}
			if err := writeFileAtomic(path, []byte(hex.EncodeToString(b[:])+"\n"), 0o600); err != nil {
				return "", err
			}
		}
	}
	if path == "" {
		return "", nil // the API answers 401 (read-only endpoints only with --admin-open-read)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return "", fmt.Errorf("admin token in %s is shorter than 16 characters", path)
	}
	return tok, nil
}

// serverCredentials loads the TLS certificate and the token verifier,
// generating dev ones into the data dir with --dev.
func serverCredentials(o serveOptions) (*tls.Config, *transport.Authenticator, error) {
	certFile, keyFile, secretFile := o.tlsCert, o.tlsKey, o.authSecret
	if o.dev {
		if err := ensureDevCredentials(o.dataDir); err != nil {
			return nil, nil, err
		}
		if certFile == "" {
			certFile, keyFile = devCertPath(o.dataDir), devKeyPath(o.dataDir)
		}
		if secretFile == "" && len(o.authPublicKey) == 0 {
			secretFile = devSecretPath(o.dataDir)
		}
	}
	if certFile == "" || keyFile == "" {
		return nil, nil, errors.New("no TLS certificate: give --tls-cert and --tls-key (or --dev)")
	}
	if o.tlsReload < 0 {
		return nil, nil, fmt.Errorf("--tls-reload-interval %v is negative", o.tlsReload)
	}
	certs, err := certfile.New(certFile, keyFile, o.tlsReload, slog.Default())
	if err != nil {
		return nil, nil, fmt.Errorf("TLS certificate: %w", err)
	}
	ac := transport.AuthConfig{Leeway: o.authLeeway}
	switch {
	case o.authLeeway == 0:
		ac.Leeway = transport.NoLeeway
	case o.authLeeway < 0:
		return nil, nil, fmt.Errorf("--auth-leeway %v is negative", o.authLeeway)
	}
	if secretFile != "" {
		if ac.Secret, err = readSecret(secretFile); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range o.authPrevious {
		s, err := readSecret(f)
		if err != nil {
			return nil, nil, fmt.Errorf("--auth-previous-secret-file: %w", err)
		}
		ac.PreviousSecrets = append(ac.PreviousSecrets, s)
	}
	for _, f := range o.authPublicKey {
		pk, err := transport.ReadEd25519PublicKey(f)
		if err != nil {
			return nil, nil, err
		}
		ac.PublicKeys = append(ac.PublicKeys, pk)
	}
	switch {
	case o.authIssuer != "" || o.authJWKS != "":
		// The provider's checks say what is missing (the issuer, the
		// audience).
		ac.Provider = &transport.ProviderConfig{JWKSURL: o.authJWKS, Issuer: o.authIssuer, Audience: o.authAudience,
			UserClaim: o.authUserClaim, Log: slog.Default()}
	case o.authAudience != "":
		return nil, nil, errors.New("--auth-audience goes with --auth-issuer (your identity provider)")
	}
	if ac.Secret == nil && ac.PublicKeys == nil && ac.Provider == nil {
		return nil, nil, errors.New("no token verification: give --auth-secret-file, --auth-public-key and/or --auth-issuer (or --dev)")
	}
	auth, err := transport.NewAuthenticator(ac)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{GetCertificate: certs.GetCertificate}, auth, nil
}

// nodeConfig builds the node's configuration from the flags, all but the
// store: every setting is checked here, before anything is opened.
func nodeConfig(o serveOptions, log *slog.Logger) (boot.NodeConfig, error) {
	host, port, err := splitHostPort(o.clusterAddr)
	if err != nil {
		return boot.NodeConfig{}, fmt.Errorf("--cluster-addr: %w", err)
	}
	gossip := o.gossip
	if gossip == "" {
		gossip = "0.0.0.0:7946"
		if o.dev {
			gossip = "127.0.0.1:0"
		}
	}
	ghost, gport, err := splitHostPort(gossip)
	if err != nil {
		return boot.NodeConfig{}, fmt.Errorf("--gossip: %w", err)
	}
	cfg := boot.NodeConfig{Host: host, Port: port, AdvertisedHost: o.advertiseHost, Logger: log,
		Actors: actors.Config{PolicyWords: o.policyWords, PolicyMode: actors.PolicyMode(o.policyMode),
			BlockedWords: o.blockedWords, MonitorWords: o.monitorWords, WordListReload: o.wordReload}}
	cfg.Membership.BindAddr, cfg.Membership.BindPort, cfg.Membership.Seeds = ghost, gport, o.join
	if err := o.tuning.apply(&cfg); err != nil {
		return cfg, err
	}
	cfg.Actors.MaxTitleBytes = o.requests.MaxTitle // one flag: the wire's early check and the grain's
	if cfg.Export, err = o.kafka.config(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return h, port, nil
}

// storeHealth returns the store's write health check if it has one (the
// embedded store: disk full, WAL failure).
func storeHealth(st storage.Store) func() error {
	if h, ok := st.(interface{ Health() error }); ok {
		return h.Health
	}
	return nil
}

// storeBackups is the embedded store's backups (nil for a CQL store).
func storeBackups(st storage.Store, o serveOptions, log *slog.Logger) *backups {
	p, ok := st.(*pebblestore.Store)
	if !ok {
		return nil
	}
	dir := o.backupDir
	if dir == "" {
		dir = filepath.Join(o.dataDir, "backups")
	}
	return &backups{store: p, dir: dir, keep: o.backupKeep, log: log}
}

// backupHook is the admin API's backup, nil without an embedded store.
func backupHook(b *backups) func(ctx context.Context) (any, error) {
	if b == nil {
		return nil
	}
	return func(ctx context.Context) (any, error) { return b.take(ctx) }
}

// cqlReplication is the replication map of --cql-replication rf.
func cqlReplication(rf int) (string, error) {
	if rf < 1 {
		return "", fmt.Errorf("--cql-replication %d: the replication factor must be at least 1", rf)
	}
	return cql.SimpleStrategy(rf), nil
}

func openStore(ctx context.Context, o serveOptions, log *slog.Logger) (storage.Store, error) {
	switch o.store {
	case "pebble":
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
		cfg := pebblestore.DefaultConfig(o.dataDir + "/store")
		cfg.Logger = log
		cfg.Limits = o.tuning.storeLimits()
		cfg.MinFreeBytes = o.storeMinFree
		cfg.Verify = pebblestore.Verify(o.storeVerify)
		cfg.SyncInterval = o.storeSync
		if o.storeSync <= 0 {
			cfg.SyncInterval = -1 // the flag's 0: no wait between syncs
		}
		return pebblestore.Open(cfg)
	case "cql":
		cfg := cql.DefaultConfig()
		cfg.Hosts = o.cqlHosts
		cfg.Keyspace = o.cqlKeyspace
		cfg.NumConns = o.cqlConns
		repl, err := cqlReplication(o.cqlReplication)
		if err != nil {
			return nil, err
		}
		cfg.Replication = repl
		cfg.Logger = log
		cfg.Limits = o.tuning.storeLimits()
		// A node may start while the database is busy or still starting
		// (a rolling restart under load, a cluster booting together):
		// retry for a while before giving up.
		wait := time.Second
		deadline := time.Now().Add(o.cqlStartTimeout)
		for {
			st, err := cql.Open(ctx, cfg)
			if err == nil {
				return st, nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, err
			}
			log.Warn("database not ready; retrying", "err", err, "in", wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			wait = min(2*wait, 10*time.Second)
		}
	}
	return nil, fmt.Errorf("unknown store %q (want pebble or cql)", o.store)
}

// connFlags are serve's flags for each client connection's timeouts and
// bounds (transport.Config).
type connFlags struct {
	idle, handshake, hello, request, write, keepAlive time.Duration
	coalesce                                          time.Duration
	maxFrame, maxInflight, pushQueue, pendingAcks     int
	maxRejected                                       int
	signalRate                                        float64
}

func (c *connFlags) register(f *pflag.FlagSet) {
	d := transport.DefaultConfig()
	f.DurationVar(&c.idle, "conn-idle-timeout", d.IdleTimeout, "a QUIC client connection silent this long (no packet, not even its keep-alive) is closed")
	f.DurationVar(&c.handshake, "handshake-timeout", d.HandshakeTimeout, "longest QUIC handshake of a client connection")
	f.DurationVar(&c.hello, "hello-timeout", d.HelloTimeout, "a connection whose hello has not arrived this long after its handshake is closed with TIMEOUT")
	f.DurationVar(&c.request, "request-timeout", d.RequestTimeout, "longest a client request may take at the node (reading its frame and the cluster's answer)")
	f.DurationVar(&c.write, "write-timeout", d.WriteTimeout, "a connection whose client accepts nothing the node writes for this long is closed with SLOW_CONSUMER (a client that stopped reading)")
	f.DurationVar(&c.keepAlive, "quic-keep-alive", d.KeepAlive, "the node's own QUIC keep-alive period (0: none; the clients send theirs every 15 s)")
	f.IntVar(&c.maxFrame, "max-frame", d.MaxFrame, fmt.Sprintf("largest frame a client connection may send or be sent, bytes (%d to %d; told to the client in Welcome); bounds --max-body-bytes and one page of history or sync", transport.MinMaxFrame, wirepb.MaxMaxFrame))
	f.IntVar(&c.maxInflight, "max-inflight", d.MaxInflight, "requests one connection may have unanswered at once (told to the client in Welcome); past it a request is refused BUSY")
	f.IntVar(&c.pushQueue, "conn-push-queue", d.PushQueue, "pushes waiting to be written to one client connection; past it they are dropped and the client told to resync")
	f.IntVar(&c.pendingAcks, "conn-unacked-pushes", d.PendingAcks, "pushes written to one client connection and not yet acknowledged; past it the same as past --conn-push-queue")
	f.IntVar(&c.maxRejected, "max-rejected", d.MaxRejected, "a connection that makes this many rate-limited requests without an accepted one is closed")
	f.Float64Var(&c.signalRate, "signal-rate", d.SignalRate, "typing signals per second one connection may send (as datagrams or requests; burst twice as many)")
	f.DurationVar(&c.coalesce, "coalesce-delay", d.CoalesceDelay, "a frame nobody waits on (an ack's answer, a DELIVERED signal) waits this long at most for another frame to its connection, to share its packet (negative, e.g. -1s: sent at once)")
}

// checkFrame refuses a frame size the transport would not take, before
// anything is opened.
func (c *connFlags) checkFrame() error {
	if c.maxFrame < transport.MinMaxFrame || c.maxFrame > wirepb.MaxMaxFrame {
		return fmt.Errorf("--max-frame %d: want %d (a %d-byte media chunk and its envelope) to %d",
			c.maxFrame, transport.MinMaxFrame, storage.MediaChunkBytes, wirepb.MaxMaxFrame)
	}
	return nil
}

// apply sets cfg's connection fields from the flags.
func (c *connFlags) apply(cfg *transport.Config) {
	cfg.MaxFrame = c.maxFrame
	cfg.IdleTimeout, cfg.HandshakeTimeout, cfg.HelloTimeout = c.idle, c.handshake, c.hello
	cfg.RequestTimeout, cfg.WriteTimeout, cfg.KeepAlive = c.request, c.write, c.keepAlive
	cfg.MaxInflight, cfg.PushQueue, cfg.PendingAcks, cfg.MaxRejected = c.maxInflight, c.pushQueue, c.pendingAcks, c.maxRejected
	cfg.SignalRate, cfg.CoalesceDelay = c.signalRate, c.coalesce
}

// ice is the STUN and TURN servers calls are handed, with the TURN secret
// read from its file (surrounding white space dropped, as an editor
// leaves a newline).
func (o *serveOptions) ice() (ice.Config, error) {
	c := ice.Config{URLs: o.iceServers, TTL: o.turnTTL}
	if o.turnSecret != "" {
		b, err := os.ReadFile(o.turnSecret)
		if err != nil {
			return c, fmt.Errorf("turn secret: %w", err)
		}
		if c.Secret = bytes.TrimSpace(b); len(c.Secret) == 0 {
			return c, fmt.Errorf("turn secret: %s is empty", o.turnSecret)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("--ice-servers, --turn-secret-file: %w", err)
	}
	return c, nil
}
