package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

// Reports: a user reports a message to the operator's moderators (a scam
// offer, harassment). Runtime.Report checks that the user can read the
// message, as history does, and hands a snapshot of it to the one reports
// grain of the cluster, which keeps the open reports, oldest first, as one
// stored list (a checkpoint) until a moderator resolves them through the
// admin API. Reports are rare next to messages, so rewriting the list at
// each change is cheap; MaxOpenReports bounds it. Nobody in the
// conversation is told.

const (
	// KindReports is the reports grain's kind; reportsID its one identity.
	KindReports = "reports"
	reportsID   = "open"
	reportsKey  = "moderation/reports"
	// reportBodyBytes is how much of the reported message a report keeps.
	reportBodyBytes = 500
	// maxReportsPage caps one page of ListReports.
	maxReportsPage = 500
)

var (
	reportsFiled = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_reports_filed_total",
		Help: "Reports of messages filed by users for the moderators (duplicates not counted).",
	})
	autoSuspensions = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_auto_suspensions_total",
		Help: "Users suspended by the node because enough different users reported their messages (--auto-suspend-reports).",
	})
)

// reportsKind registers the reports grain.
func (n *Runtime) reportsKind() *cluster.Kind {
	return placement.NewKind(KindReports, func() actor.Actor { return &reportsGrain{rt: n} })
}

// reportsGrain holds the open reports. It fences the stored list as the
// desk grains do (a checkpoint fence where the store has them): a second
// activation (a partition, a move) takes the fence before it loads, so
// every save of the older one is either in what it loaded or refused, and
// no acknowledged report is lost.
type reportsGrain struct {
	rt     *Runtime
	open   []*pb.Report
	fence  uint64
	broken bool // the list could not be read or saved: the grain stops and answers RETRY meanwhile
}

func (g *reportsGrain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if g.load(); g.broken {
			// Answer what is queued RETRY, and read again at the next
			// request: a store that failed once may answer then.
			ctx.Poison(ctx.Self())
		}
	case *pb.FileReport:
		respond(ctx, ctx.Sender(), g.file(ctx, m.Report))
	case *pb.ListReports:
		respond(ctx, ctx.Sender(), g.list(m))
	case *pb.ResolveReport:
		respond(ctx, ctx.Sender(), g.resolve(ctx, m))
	case *pb.GetReport:
		respond(ctx, ctx.Sender(), g.get(m.Id))
	}
}

func (g *reportsGrain) load() {
	if f := storage.FencesOf(g.rt.store); f != nil {
		epoch, err := f.AcquireCheckpointFence(context.Background(), reportsKey)
		if err != nil {
			g.rt.log.Error("reports: cannot fence the open reports", "err", err)
			g.broken = true
			return
		}
		g.fence = epoch
	}
	cp, err := g.rt.store.LoadCheckpoint(context.Background(), reportsKey)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return
	case err != nil:
		g.rt.log.Error("reports: cannot read the open reports", "err", err)
		g.broken = true
		return
	}
	var list pb.ReportList
	if err := proto.Unmarshal(cp.State, &list); err != nil {
		g.rt.log.Error("reports: the stored list does not decode", "err", err)
		g.broken = true
		return
	}
	g.open = list.Open
}

func (g *reportsGrain) brokenErr() *pb.Error {
	return pbErr(pb.Code_RETRY, "the reports grain is restarting; see the node's log if this persists")
}

// save stores the open list. On failure the grain stops, so that its next
// activation starts from the store (this copy holds a change the store
// may not), and the caller is answered RETRY.
func (g *reportsGrain) save(ctx actor.Context) *pb.Error {
	blob, err := proto.Marshal(&pb.ReportList{Open: g.open})
	if err == nil {
		cp := storage.Checkpoint{Key: reportsKey, State: blob, At: time.Now()}
		if g.fence > 0 {
			err = storage.FencesOf(g.rt.store).SaveCheckpointFenced(context.Background(), cp, g.fence)
		} else {
			err = g.rt.store.SaveCheckpoint(context.Background(), cp)
		}
	}
	if err != nil {
		g.rt.log.Warn("reports: the open reports were not saved; the grain restarts", "err", err)
		g.broken = true
		ctx.Poison(ctx.Self())
		return pbErr(pb.Code_RETRY, "report not stored: %v", err)
	}
	return nil
}

func (g *reportsGrain) file(ctx actor.Context, r *pb.Report) *pb.FileReportResponse {
	if g.broken {
		return &pb.FileReportResponse{Error: g.brokenErr()}
	}
	if r == nil {
		return &pb.FileReportResponse{Error: pbErr(pb.Code_INVALID, "no report")}
	}
	mine := 0
	for _, o := range g.open {
		if o.Reporter != r.Reporter {
			continue
		}
		if o.Conv == r.Conv && o.Seq == r.Seq {
			return &pb.FileReportResponse{Id: o.Id, Duplicate: true}
		}
		mine++
	}
	if mine >= g.rt.cfg.MaxOpenReportsPerReporter {
		return &pb.FileReportResponse{Error: pbErr(pb.Code_TOO_MANY, "%s has %d reports waiting for the moderators, limit %d: try again later", r.Reporter, mine, g.rt.cfg.MaxOpenReportsPerReporter)}
	}
	if len(g.open) >= g.rt.cfg.MaxOpenReports {
		return &pb.FileReportResponse{Error: pbErr(pb.Code_TOO_MANY, "%d reports are waiting for the moderators, limit %d: try again later", len(g.open), g.rt.cfg.MaxOpenReports)}
	}
	now := time.Now()
	r.Id, r.ReportedMs = strconv.FormatUint(g.rt.ids.next(now), 10), now.UnixMilli()
	g.open = append(g.open, r)
	if e := g.save(ctx); e != nil {
		return &pb.FileReportResponse{Error: e}
	}
	reportsFiled.Inc()
	g.rt.moderated(ModerationEvent{Op: "report", User: r.Sender, Conv: r.Conv, Seq: r.Seq, Reporter: r.Reporter, Report: r.Id,
		Reason: r.Reason, Since: time.UnixMilli(r.ReportedMs)})
	g.rt.log.Info("message reported", "report", r.Id, "conv", r.Conv, "seq", r.Seq, "reporter", r.Reporter, "sender", r.Sender)
	if k := g.rt.cfg.AutoSuspendReports; k > 0 && r.Sender != OperatorSender {
		if reporters := g.reportersOf(r.Sender); reporters >= k {
			go g.rt.autoSuspend(r.Sender, reporters) // beside the mailbox: it asks the user's grain
		}
	}
	return &pb.FileReportResponse{Id: r.Id}
}

// reportersOf counts the different users with open reports of user's
// messages.
func (g *reportsGrain) reportersOf(user string) int {
	seen := map[string]bool{}
	for _, o := range g.open {
		if o.Sender == user {
			seen[o.Reporter] = true
		}
	}
	return len(seen)
}

// autoSuspend suspends user, reported by that many users, until a
// moderator lifts it (Config.AutoSuspendReports), unless a suspension
// holds already (a moderator's own, or this one from an earlier report).
func (n *Runtime) autoSuspend(user string, reporters int) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	st, err := n.Suspension(ctx, user)
	if err != nil {
		n.log.Warn("automatic suspension: the user's state not read", "user", user, "err", err)
		return
	}
	if st.Suspension != nil {
		return
	}
	reason := fmt.Sprintf("reported by %d users: waiting for a moderator", reporters)
	if _, err := n.Suspend(ctx, user, time.Time{}, reason); err != nil {
		n.log.Warn("automatic suspension failed", "user", user, "err", err)
		return
	}
	autoSuspensions.Inc()
	n.log.Info("user suspended automatically", "user", user, "reporters", reporters)
}

func (g *reportsGrain) list(m *pb.ListReports) *pb.ListReportsResponse {
	if g.broken {
		return &pb.ListReportsResponse{Error: g.brokenErr()}
	}
	from := 0
	if m.AfterId != "" {
		from = len(g.open) // an id no longer open: nothing after it is known
		for i, r := range g.open {
			if r.Id == m.AfterId {
				from = i + 1
				break
			}
		}
	}
	limit := int(m.Limit)
	if limit <= 0 || limit > maxReportsPage {
		limit = maxReportsPage
	}
	page := g.open[from:min(len(g.open), from+limit)]
	return &pb.ListReportsResponse{Reports: slices.Clone(page), Total: uint32(len(g.open))}
}

func (g *reportsGrain) get(id string) *pb.ReportResponse {
	if g.broken {
		return &pb.ReportResponse{Error: g.brokenErr()}
	}
	i := slices.IndexFunc(g.open, func(r *pb.Report) bool { return r.Id == id })
	if i < 0 {
		return &pb.ReportResponse{Error: pbErr(pb.Code_NOT_FOUND, "no open report %q", id)}
	}
	return &pb.ReportResponse{Report: g.open[i]}
}

func (g *reportsGrain) resolve(ctx actor.Context, m *pb.ResolveReport) *pb.ReportResponse {
	if g.broken {
		return &pb.ReportResponse{Error: g.brokenErr()}
	}
	i := slices.IndexFunc(g.open, func(r *pb.Report) bool { return r.Id == m.Id })
	if i < 0 {
		return &pb.ReportResponse{Error: pbErr(pb.Code_NOT_FOUND, "no open report %q", m.Id)}
	}
	r := g.open[i]
	g.open = slices.Delete(g.open, i, i+1)
	if e := g.save(ctx); e != nil {
		return &pb.ReportResponse{Error: e}
	}
	g.rt.moderated(ModerationEvent{Op: "resolve", User: r.Sender, Conv: r.Conv, Seq: r.Seq, Reporter: r.Reporter, Report: r.Id,
		Reason: m.Resolution, Since: time.Now()})
	g.rt.log.Info("report resolved", "report", r.Id, "conv", r.Conv, "seq", r.Seq, "resolution", m.Resolution)
	return &pb.ReportResponse{Report: r}
}

// ModerationEvent is one stored moderation step, for Config.OnModeration.
type ModerationEvent struct {
	Op       string // report, resolve, suspend, unsuspend or erase
	User     string // whom it is about: the reported message's sender, the (un)suspended user
	Conv     string // report, resolve: the reported message
	Seq      uint64
	Reporter string // report, resolve
	Report   string // report, resolve: the report's id
	Reason   string // report: the reporter's; resolve: the resolution; suspend: the operator's
	Since    time.Time
	Until    time.Time // suspend: zero until lifted
}

func (n *Runtime) moderated(e ModerationEvent) {
	if n.cfg.OnModeration != nil {
		n.cfg.OnModeration(e)
	}
}

// ---- the API ----------------------------------------------------------------

// Report files reporter's report of message seq of conv for the
// moderators: a message reporter can read (history's rule), sent by
// someone else, a text or a card not recalled. It answers the report's
// id; duplicate when reporter had reported it already (the first report
// stands).
func (n *Runtime) Report(ctx context.Context, reporter, conv string, seq uint64, reason string) (id string, duplicate bool, err error) {
	if err := errors.Join(checkUser(reporter), checkConv(conv)); err != nil {
		return "", false, err
	}
	if len(reason) > n.cfg.MaxModerationReasonBytes {
		return "", false, invalid("reason of %d bytes, limit %d", len(reason), n.cfg.MaxModerationReasonBytes)
	}
	mem, err := n.authorize(ctx, conv, reporter, ActReport)
	if err != nil {
		return "", false, err
	}
	if seq == 0 || !mem.Sees(seq) {
		return "", false, &Error{Code: pb.Code_NOT_FOUND, Message: "no message " + strconv.FormatUint(seq, 10) + " in " + conv}
	}
	msg, err := n.store.GetMessage(ctx, conv, seq)
	if err != nil {
		return "", false, fromPB(storeErr(err))
	}
	switch {
	case !msg.Kind.Content():
		return "", false, invalid("message %d is not a user's message", seq)
	case msg.Recalled():
		return "", false, &Error{Code: pb.Code_NOT_FOUND, Message: "message " + strconv.FormatUint(seq, 10) + " was recalled"}
	case expiredAt(&msg, n.contentClock(conv)):
		// Its content is gone for readers: a report must not bring it back.
		return "", false, &Error{Code: pb.Code_NOT_FOUND, Message: "message " + strconv.FormatUint(seq, 10) + " expired"}
	case msg.Sender == reporter:
		return "", false, invalid("one cannot report one's own message")
	}
	r := &pb.Report{Conv: conv, Seq: seq, Reporter: reporter, Sender: msg.Sender, Reason: reason,
		Body: slices.Clone(cutUTF8(msg.Body, reportBodyBytes)), Kind: pb.MessageKind(msg.Kind), MessageTsMs: msg.ServerTS.UnixMilli()}
	res, err := n.request(ctx, KindReports, reportsID, &pb.FileReport{Report: r})
	if err != nil {
		return "", false, err
	}
	fr := res.(*pb.FileReportResponse)
	return fr.Id, fr.Duplicate, fromPB(fr.Error)
}

// Reports lists the open reports, oldest first: limit (0 or over 500: 500)
// after the report afterID ("": from the oldest), and how many are open.
func (n *Runtime) Reports(ctx context.Context, afterID string, limit int) ([]*pb.Report, int, error) {
	res, err := n.request(ctx, KindReports, reportsID, &pb.ListReports{AfterId: afterID, Limit: uint32(max(0, min(limit, maxReportsPage)))})
	if err != nil {
		return nil, 0, err
	}
	r := res.(*pb.ListReportsResponse)
	return r.Reports, int(r.Total), fromPB(r.Error)
}

// ResolveReport closes the open report id, with a resolution for the log,
// and returns it.
func (n *Runtime) ResolveReport(ctx context.Context, id, resolution string) (*pb.Report, error) {
	if len(resolution) > n.cfg.MaxModerationReasonBytes {
		return nil, invalid("resolution of %d bytes, limit %d", len(resolution), n.cfg.MaxModerationReasonBytes)
	}
	res, err := n.request(ctx, KindReports, reportsID, &pb.ResolveReport{Id: id, Resolution: resolution})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.ReportResponse)
	return r.Report, fromPB(r.Error)
}

// maxReportContext bounds the messages ReportContext reads on either side
// of the reported one.
const maxReportContext = 20

// ReportContext reads the open report id and the messages around the one
// it reports: around (0: 5; at most 20) before and after it, oldest first,
// as stored (recalled ones without their bodies). It is the moderators'
// view of the conversation, limited to what was reported.
func (n *Runtime) ReportContext(ctx context.Context, id string, around int) (*pb.Report, []*pb.Message, error) {
	if around == 0 {
		around = 5
	}
	if around < 0 || around > maxReportContext {
		return nil, nil, invalid("around %d: want 1–%d", around, maxReportContext)
	}
	res, err := n.request(ctx, KindReports, reportsID, &pb.GetReport{Id: id})
	if err != nil {
		return nil, nil, err
	}
	rr := res.(*pb.ReportResponse)
	if err := fromPB(rr.Error); err != nil {
		return nil, nil, err
	}
	r := rr.Report
	from := max(r.Seq, uint64(around)+1) - uint64(around)
	msgs, err := n.store.ListMessages(ctx, r.Conv, from, r.Seq+uint64(around), storage.OldestFirst, 2*around+1)
	if err != nil {
		return nil, nil, fromPB(storeErr(err))
	}
	out := make([]*pb.Message, len(msgs))
	clock := n.contentClock(r.Conv)
	for i := range msgs {
		out[i] = readable(&msgs[i], clock)
	}
	return r, out, nil
}
