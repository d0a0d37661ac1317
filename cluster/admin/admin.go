// Package admin is the admin HTTP API every node serves: cluster members,
// status, where a grain lives, drain, grain counts (JSON under /api/v1/,
// behind the admin token or scoped API keys), Prometheus /metrics and
// /healthz.
//
// A node answers for the others by asking them: each node runs an actor
// named "switchboard-admin" that reports its own grains, connections and
// uptime, and drains on request.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/admin/adminpb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/version"
)

const actorName = "switchboard-admin"

// Config configures the admin API.
type Config struct {
	// Addr is this node's admin HTTP address, reported to the others.
	Addr string
	// Token protects /api/v1/; requests carry "Authorization: Bearer <token>"
	// (or an API key, APIKeysFile). Empty: only API keys get in, and open
	// reads with OpenReadOnly.
	Token string
	// APIKeysFile, if set, names the file of API keys (ParseAPIKeys): each
	// a name, its scopes and the key's hash. It is read again while the
	// node serves, so keys are added and revoked without a restart.
	APIKeysFile string
	// OpenReadOnly serves the read-only endpoints (GET) without a token.
	OpenReadOnly bool
	// PeerTimeout bounds one question to another node (default 2 s).
	PeerTimeout time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Extra registers more handlers on the mux (e.g. a dashboard).
	Extra func(mux *http.ServeMux)
}

// Hooks connect the API to the connection layer; nil hooks report zero
// connections and drain by leaving the cluster only.
type Hooks struct {
	// Connections is the number of client connections on this node.
	Connections func() int
	// Drain tells this node's clients to reconnect elsewhere and stops
	// accepting new ones; it returns when they are gone or ctx ends.
	Drain func(ctx context.Context) error
	// StoreHealth, if set, says why the store refuses writes (nil: it
	// does not); /healthz answers 503 with that reason.
	StoreHealth func() error
	// Draining, if set, says whether the node stopped taking connections
	// (a drain, a shutdown): /readyz answers 503 then, so a load balancer
	// sends new clients elsewhere.
	Draining func() bool
	// Backup, if set, writes a consistent copy of this node's embedded
	// store while it serves and describes it (POST /api/v1/store/backup);
	// nil: the store is backed up outside the node (a CQL keyspace).
	Backup func(ctx context.Context) (any, error)
}

// Server is one node's admin API.
type Server struct {
	node     *boot.Node
	cfg      Config
	hooks    Hooks
	self     *actor.PID
	started  time.Time
	draining atomic.Bool
	log      *slog.Logger
	keys     *keyFile // nil: the admin token is the only credential
}

// New starts the node's admin actor and returns the API.
func New(node *boot.Node, cfg Config, hooks Hooks) (*Server, error) {
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{node: node, cfg: cfg, hooks: hooks, started: time.Now(), log: cfg.Logger}
	if cfg.APIKeysFile != "" {
		keys, err := openKeyFile(cfg.APIKeysFile, cfg.Logger)
		if err != nil {
			return nil, err
		}
		s.keys = keys
	}
	pid, err := node.System().Root.SpawnNamed(actor.PropsFromFunc(s.receive), actorName)
	if err != nil {
		return nil, fmt.Errorf("admin actor: %w", err)
	}
	s.self = pid
	return s, nil
}

// Draining reports whether this node was asked to drain.
func (s *Server) Draining() bool { return s.draining.Load() }

// receive answers other nodes' admin questions about this node.
func (s *Server) receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *adminpb.NodeInfoRequest:
		ctx.Respond(s.info())
	case *adminpb.DrainRequest:
		left := s.startDrain()
		ctx.Respond(&adminpb.DrainResponse{ConnectionsLeft: int64(left)})
	}
}

func (s *Server) info() *adminpb.NodeInfo {
	info := &adminpb.NodeInfo{
		Id: s.node.ID(), Address: s.node.Address(), MembershipAddr: s.node.MembershipAddr(), AdminAddr: s.cfg.Addr,
		Grains: s.node.GrainCounts(), Connections: int64(s.connections()), StartedMs: s.started.UnixMilli(),
		Draining: s.draining.Load(), Version: version.Get().Short(),
	}
	if err := s.node.Health(); err != nil {
		info.Health = err.Error()
	}
	return info
}

func (s *Server) connections() int {
	if s.hooks.Connections == nil {
		return 0
	}
	return s.hooks.Connections()
}

// startDrain begins draining this node (once) and returns the connections
// still open.
func (s *Server) startDrain() int {
	if s.draining.CompareAndSwap(false, true) {
		s.log.Info("draining: clients are told to reconnect elsewhere")
		go func() {
			if s.hooks.Drain != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				if err := s.hooks.Drain(ctx); err != nil {
					s.log.Warn("drain", "err", err)
				}
			}
		}()
	}
	return s.connections()
}

// ask sends a question to the admin actor of the member at addr.
func (s *Server) ask(addr string, msg any) (any, error) {
	pid := actor.NewPID(addr, actorName)
	return s.node.System().Root.RequestFuture(pid, msg, s.cfg.PeerTimeout).Result()
}

// healthy is nil when the node is a working member whose store takes
// writes (/healthz).
func (s *Server) healthy() error {
	if err := s.node.Health(); err != nil {
		return err
	}
	if s.hooks.StoreHealth != nil {
		if err := s.hooks.StoreHealth(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// Handler serves the API (routes.go): /healthz, /readyz, /metrics and
// /api/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, s.serve(rt))
	}
	if s.cfg.Extra != nil {
		s.cfg.Extra(mux)
	}
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if err := s.healthy(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// readyz is readiness for load balancers: healthy and taking new
// connections.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	err := s.healthy()
	if err == nil && (s.draining.Load() || s.hooks.Draining != nil && s.hooks.Draining()) {
		err = errors.New("draining: clients are sent to the other nodes")
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// backup backs this node's store up (Hooks.Backup).
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.hooks.Backup == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "this node's store is not embedded: back up the Cassandra/ScyllaDB keyspace (snapshots)"})
		return
	}
	info, err := s.hooks.Backup(r.Context())
	if err != nil {
		s.log.Error("backup failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// RetentionSweep is the answer of POST /api/v1/store/expire.
type RetentionSweep struct {
	Conversations int     `json:"conversations"` // conversations that had expired content
	Expired       int     `json:"expired"`       // rows whose content was taken out
	Failed        int     `json:"failed"`        // conversations left for the next sweep after an error (in the node's log)
	TookSecs      float64 `json:"took_secs"`
}

// expire runs a retention sweep now, whenever the last one ran
// (docs/OPERATIONS.md, "Retention"): 409 when retention is off.
func (s *Server) expire(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	res, err := s.node.SweepRetention(r.Context(), true)
	if errors.Is(err, actors.ErrRetentionOff) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "retention is off on this node (serve --retention)", "code": "INVALID"})
		return
	}
	if err != nil {
		s.log.Error("retention sweep failed", "err", err, "expired", res.Expired)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	s.log.Info("retention sweep run by the operator", "by", callerOf(r), "conversations", res.Conversations, "expired", res.Expired)
	writeJSON(w, http.StatusOK, RetentionSweep{Conversations: res.Conversations, Expired: res.Expired, Failed: res.Failed,
		TookSecs: time.Since(start).Seconds()})
}

// auth lets a request through with the admin token, or with an API key
// holding scope (scopeAdmin: the admin token only); the caller's name is
// in the request's context for the logs (callerOf).
func (s *Server) auth(scope Scope, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || got == "" {
			unauthorized(w, "admin token or API key required")
			return
		}
		if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1 {
			s.audited(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, "admin")), h)
			return
		}
		if s.keys == nil {
			unauthorized(w, "admin token required")
			return
		}
		k, found := s.keys.lookup(got)
		if !found {
			unauthorized(w, "admin token or API key required")
			return
		}
		if k.expired(time.Now()) {
			s.log.Warn("api key refused: expired", "key", k.Name, "expired", k.Expires, "method", r.Method, "path", r.URL.Path)
			unauthorized(w, "API key "+k.Name+" expired at "+k.Expires.UTC().Format(time.RFC3339))
			return
		}
		if scope == scopeAdmin || !slices.Contains(k.Scopes, scope) {
			need := "the admin token"
			if scope != scopeAdmin {
				need = "a key with scope " + string(scope)
			}
			s.log.Warn("api key refused: out of its scopes", "key", k.Name, "method", r.Method, "path", r.URL.Path)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "API key " + k.Name + " may not do this: it needs " + need, "code": "FORBIDDEN"})
			return
		}
		if ok, wait := s.keys.allow(k, time.Now()); !ok {
			keyRateLimited.WithLabelValues(k.Name).Inc()
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999)))) // whole seconds, rounded up
			writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": fmt.Sprintf("API key %s is over its rate of %d requests a second", k.Name, k.Rate), "code": "RATE_LIMITED"})
			return
		}
		s.audited(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, "key:"+k.Name)), h)
	}
}

// audited runs an authorized request. A change (any method but GET and
// HEAD) is logged once, by whom and how it ended, whatever the handler
// logs itself: the audit trail of what operators and their servers did.
func (s *Server) audited(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		h(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	h(rec, r)
	s.log.Info("admin change", "by", callerOf(r), "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"took", time.Since(start).Round(time.Microsecond))
}

// statusRecorder remembers the status a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// openRead is auth, except that with --admin-open-read anyone may call it
// (a read that reveals nothing private: status, the desk's configuration).
func (s *Server) openRead(scope Scope, h http.HandlerFunc) http.HandlerFunc {
	checked := s.auth(scope, h)
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.OpenReadOnly {
			h(w, r)
			return
		}
		checked(w, r)
	}
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard-admin"`)
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": msg})
}

type callerKey struct{}

// callerOf names who made an authorized request, for the logs: "admin",
// "key:NAME", or "anyone" (an open read).
func callerOf(r *http.Request) string {
	if c, ok := r.Context().Value(callerKey{}).(string); ok {
		return c
	}
	return "anyone"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Member is one row of GET /api/v1/members.
type Member struct {
	ID             string           `json:"id"`
	Address        string           `json:"address"`
	MembershipAddr string           `json:"membership_addr,omitempty"`
	AdminAddr      string           `json:"admin_addr,omitempty"`
	State          string           `json:"state"` // alive, draining, unreachable
	Grains         map[string]int64 `json:"grains"`
	Connections    int64            `json:"connections"`
	UptimeSeconds  float64          `json:"uptime_s"`
	Health         string           `json:"health,omitempty"`
	Self           bool             `json:"self,omitempty"`
	Version        string           `json:"version,omitempty"` // its build: version and commit
}

func (s *Server) memberRows() []Member {
	members := s.node.ClusterMemberInfo()
	rows := make([]Member, len(members))
	done := make(chan struct{}, len(members))
	for i, m := range members {
		go func() {
			defer func() { done <- struct{}{} }()
			row := Member{ID: m.ID, Address: m.Address, State: "unreachable", Grains: map[string]int64{}, Self: m.Address == s.node.Address()}
			var info *adminpb.NodeInfo
			if row.Self {
				info = s.info()
			} else if res, err := s.ask(m.Address, &adminpb.NodeInfoRequest{}); err == nil {
				info, _ = res.(*adminpb.NodeInfo)
			}
			if info != nil {
				row.State = "alive"
				if info.Draining {
					row.State = "draining"
				}
				row.MembershipAddr, row.AdminAddr, row.Grains = info.MembershipAddr, info.AdminAddr, info.Grains
				row.Connections, row.Health, row.Version = info.Connections, info.Health, info.Version
				row.UptimeSeconds = time.Since(time.UnixMilli(info.StartedMs)).Round(time.Second).Seconds()
			}
			rows[i] = row
		}()
	}
	for range members {
		<-done
	}
	return rows
}

// MemberList answers GET /api/v1/members.
type MemberList struct {
	Members []Member `json:"members"`
}

func (s *Server) members(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, MemberList{Members: s.memberRows()})
}

// Where answers GET /api/v1/where/{kind}/{id}: the member hosting the
// grain.
type Where struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Address string `json:"address"`
	Node    string `json:"node,omitempty"`
}

// Status is GET /api/v1/status.
type Status struct {
	Health      string           `json:"health"` // ok, degraded
	Members     int              `json:"members"`
	Unreachable int              `json:"unreachable"`
	Grains      map[string]int64 `json:"grains"`
	Connections int64            `json:"connections"`
	// Builds counts the members answering by the build they run: more
	// than one while a rolling upgrade is under way.
	Builds   map[string]int     `json:"builds"`
	Counters map[string]float64 `json:"counters"` // switchboard_* counters and gauges of this node
	Latency  map[string]float64 `json:"latency_ms,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	st := Status{Health: "ok", Grains: map[string]int64{}, Builds: map[string]int{}, Counters: map[string]float64{}, Latency: map[string]float64{}}
	for _, m := range s.memberRows() {
		st.Members++
		if m.State == "unreachable" || m.Health != "" {
			st.Unreachable++
			st.Health = "degraded"
		}
		for k, v := range m.Grains {
			st.Grains[k] += v
		}
		st.Connections += m.Connections
		if m.Version != "" {
			st.Builds[m.Version]++
		}
	}
	gatherInto(&st)
	writeJSON(w, http.StatusOK, st)
}

// gatherInto copies this node's switchboard_* counters and gauges, and the
// mean of its histograms (storage latency among them), into st.
func gatherInto(st *Status) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "switchboard_") {
			continue
		}
		var sum float64
		var count uint64
		for _, m := range mf.GetMetric() {
			// Of the service-metrics gauges labelled by agent (rates and
			// averages per agent, per business line and "*"), only "*" is
			// the team-wide value: a sum of them means nothing.
			perAgent := false
			for _, l := range m.GetLabel() {
				perAgent = perAgent || (l.GetName() == "agent" && l.GetValue() != "*")
			}
			switch {
			case m.GetCounter() != nil:
				st.Counters[name] += m.GetCounter().GetValue()
			case m.GetGauge() != nil && !perAgent:
				st.Counters[name] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				// The mean over every series: sums and counts add up.
				sum += m.GetHistogram().GetSampleSum()
				count += m.GetHistogram().GetSampleCount()
			}
		}
		if count > 0 {
			st.Latency[name] = sum / float64(count) * 1000
		}
	}
}

func (s *Server) where(w http.ResponseWriter, r *http.Request) {
	kind, id := r.PathValue("kind"), r.PathValue("id")
	addr := s.node.Where(kind, id)
	if addr == "" {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no member hosts kind %q", kind)})
		return
	}
	res := Where{Kind: kind, ID: id, Address: addr}
	for _, m := range s.node.ClusterMemberInfo() {
		if m.Address == addr {
			res.Node = m.ID
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// Grains answers GET /api/v1/grains: active grains by kind, by node id.
type Grains struct {
	Grains map[string]map[string]int64 `json:"grains"`
}

func (s *Server) grains(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("node")
	out := map[string]map[string]int64{}
	for _, m := range s.memberRows() {
		if want == "" || want == m.ID || want == m.Address {
			out[m.ID] = m.Grains
		}
	}
	if want != "" && len(out) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such node: " + want})
		return
	}
	writeJSON(w, http.StatusOK, Grains{Grains: out})
}

// Draining answers POST /api/v1/drain/{node}.
type Draining struct {
	Node            string `json:"node"`
	Draining        bool   `json:"draining"`
	ConnectionsLeft int64  `json:"connections_left"`
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	target := r.PathValue("node")
	for _, m := range s.node.ClusterMemberInfo() {
		if m.ID != target && m.Address != target {
			continue
		}
		var left int64
		if m.Address == s.node.Address() {
			left = int64(s.startDrain())
		} else {
			res, err := s.ask(m.Address, &adminpb.DrainRequest{})
			if err != nil {
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": fmt.Sprintf("node %s: %v", target, err)})
				return
			}
			dr, _ := res.(*adminpb.DrainResponse)
			if dr == nil {
				writeJSON(w, http.StatusBadGateway, map[string]string{"error": "bad answer"})
				return
			}
			if dr.Error != "" {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": dr.Error})
				return
			}
			left = dr.ConnectionsLeft
		}
		writeJSON(w, http.StatusAccepted, Draining{Node: m.ID, Draining: true, ConnectionsLeft: left})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such node: " + target})
}

// metrics answers GET /api/v1/metrics?window=1h[&slide=15s][&key=AGENT]
// [&from=RFC3339&to=RFC3339][&recompute=1] with a metrics.Report.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mq := &pb.MetricsQuery{Key: q.Get("key"), Recompute: q.Get("recompute") == "1" || q.Get("recompute") == "true"}
	parseDur := func(name string, def time.Duration) (time.Duration, bool) {
		v := q.Get(name)
		if v == "" {
			return def, true
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("bad %s %q", name, v)})
			return 0, false
		}
		return d, true
	}
	parseTime := func(name string) (int64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, true
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("bad %s %q (want RFC 3339)", name, v)})
			return 0, false
		}
		return t.UnixMilli(), true
	}
	size, ok := parseDur("window", time.Hour)
	if !ok {
		return
	}
	slide, ok := parseDur("slide", 0)
	if !ok {
		return
	}
	if mq.FromMs, ok = parseTime("from"); !ok {
		return
	}
	if mq.ToMs, ok = parseTime("to"); !ok {
		return
	}
	mq.SizeMs, mq.SlideMs = size.Milliseconds(), slide.Milliseconds()
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	rep, err := s.node.Metrics(ctx, mq)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	if rep.Rows == nil {
		rep.Rows = []analytics.Row{}
	}
	writeJSON(w, http.StatusOK, rep)
}
