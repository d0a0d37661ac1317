package admin

import (
	"context"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/analytics"
)

// route is one endpoint of the HTTP API: how it is served and what its
// OpenAPI description (openapi.go) says of it. Handler serves exactly
// this table and the description is built from it, so neither can name
// an endpoint the other lacks.
type route struct {
	pattern string // "METHOD /path/{param}", as http.ServeMux takes it
	access  access
	scope   Scope // the API key scope that may call it (scopeAdmin: only the admin token)
	handler http.HandlerFunc

	tag, summary string
	id           string  // the operation's id (empty: from the method and path)
	body         any     // a value of the JSON body's type (nil: no body)
	optionalBody bool    // the body may be left out
	answer       any     // a value of the JSON answer's type (nil: none, or text)
	status       int     // the answer's status (0: 200 OK)
	text         bool    // the answer is plain text, not JSON
	query        []param // the query parameters it reads
	also         []answer
}

// answer is a second successful answer of a route (a post that was a
// retry, a message scheduled instead of sent).
type answer struct {
	status int
	body   any
	about  string
}

// param is a query parameter; kind is its OpenAPI type.
type param struct {
	name, kind, about string
}

type access int

const (
	// token: the admin token, or an API key with the route's scope.
	token access = iota
	// openRead: as token, or anyone when Config.OpenReadOnly is set.
	openRead
	// public: anyone (probes, Prometheus, this description).
	public
)

func q(name, kind, about string) param { return param{name, kind, about} }

var pageQuery = []param{q("after", "string", "the page starts after this (the previous page's next)"), q("limit", "integer", "the page's size (default 200)")}

// routes is the whole API.
func (s *Server) routes() []route {
	var rs []route
	for _, part := range [][]route{s.probeRoutes(), s.clusterRoutes(), s.messageRoutes(), s.conversationRoutes(), s.userRoutes(),
		s.moderationRoutes(), s.deskRoutes(), s.debugRoutes()} {
		rs = append(rs, part...)
	}
	return rs
}

func (s *Server) probeRoutes() []route {
	return []route{
		{pattern: "GET /healthz", access: public, handler: s.healthz, tag: "probes", text: true,
			summary: "Liveness: 200 while the node is a working member whose store takes writes, else 503 and why"},
		{pattern: "GET /readyz", access: public, handler: s.readyz, tag: "probes", text: true,
			summary: "Readiness: as /healthz, and 503 while the node drains"},
		{pattern: "GET /metrics", id: "getPrometheusMetrics", access: public, handler: promhttp.Handler().ServeHTTP, tag: "probes", text: true,
			summary: "Prometheus metrics (docs/OPERATIONS.md, \"What to watch\")"},
		{pattern: "GET /api/v1/openapi.json", access: public, handler: s.openAPI, tag: "probes", answer: map[string]any{},
			summary: "This description of the API (OpenAPI 3)"},
	}
}

func (s *Server) clusterRoutes() []route {
	return []route{
		{pattern: "GET /api/v1/members", access: openRead, scope: ScopeStatus, handler: s.members, tag: "cluster", answer: MemberList{},
			summary: "The cluster's members: address, state, grains, connections, build"},
		{pattern: "GET /api/v1/status", access: openRead, scope: ScopeStatus, handler: s.status, tag: "cluster", answer: Status{},
			summary: "Cluster health, message rates and storage latency"},
		{pattern: "GET /api/v1/where/{kind}/{id...}", access: openRead, scope: ScopeStatus, handler: s.where, tag: "cluster", answer: Where{},
			summary: "Which node hosts a grain (kind user or conversation)"},
		{pattern: "GET /api/v1/grains", access: openRead, scope: ScopeStatus, handler: s.grains, tag: "cluster", answer: Grains{},
			query:   []param{q("node", "string", "only this member")},
			summary: "Active grains by kind, per node"},
		{pattern: "POST /api/v1/drain/{node}", scope: scopeAdmin, handler: s.drain, tag: "cluster", answer: Draining{}, status: http.StatusAccepted,
			summary: "Tell a node's clients to reconnect elsewhere; answers with the connections left"},
		{pattern: "GET /api/v1/metrics", access: openRead, scope: ScopeStatus, handler: s.metrics, tag: "metrics", answer: analytics.Report{},
			query: []param{q("window", "string", "the window's size, a Go duration (default 1h)"), q("slide", "string", "the windows' slide (default: tumbling)"),
				q("key", "string", "one agent or line"), q("from", "string", "RFC 3339"), q("to", "string", "RFC 3339"),
				q("recompute", "boolean", "recompute from the stored log instead of the live windows")},
			summary: "Service-quality metrics over event-time windows (docs/METRICS.md)"},
		{pattern: "POST /api/v1/store/backup", scope: scopeAdmin, handler: s.backup, tag: "store", answer: map[string]any{},
			summary: "Back the embedded store up while the node serves"},
		{pattern: "POST /api/v1/store/expire", scope: scopeAdmin, handler: s.expire, tag: "store", answer: RetentionSweep{},
			summary: "Run a retention sweep now"},
	}
}

// Messages and members from and for the business's own servers, which
// speak HTTP, not the client protocol: a marketplace's backend posts "your
// order shipped" into the buyer's conversation as its shop account, a
// school's enrols students in a class group as its teacher, a help desk
// copies a conversation into its ticket. A post or a membership change is
// the named user's request through the actors API, held to every rule a
// client's is (membership and role, blocks, mutes, rate limits, the content
// policy, a first contact's budget); the transcript and the member list
// are the operator's reads.
func (s *Server) messageRoutes() []route {
	return []route{
		{pattern: "POST /api/v1/messages", scope: ScopeMessages, handler: s.postMessage, tag: "messages", body: PostMessageRequest{},
			answer: PostedMessage{}, status: http.StatusCreated,
			also: []answer{{http.StatusOK, PostedMessage{}, "a retry of an earlier post (same client_msg_id): its answer"},
				{http.StatusAccepted, ScheduledPost{}, "scheduled (send_at)"}},
			summary: "Post a message as a user, held to every rule a client's send is"},
		{pattern: "GET /api/v1/users/{user}/scheduled", scope: ScopeMessages, handler: s.listScheduled, tag: "messages", answer: ScheduledPosts{},
			summary: "A user's scheduled messages"},
		{pattern: "DELETE /api/v1/users/{user}/scheduled/{id}", scope: ScopeMessages, handler: s.cancelScheduled, tag: "messages", status: http.StatusNoContent,
			summary: "Cancel a scheduled message"},
		{pattern: "GET /api/v1/users/{user}/conversations", scope: ScopeMessages, handler: s.userConversations, tag: "messages", answer: UserConversations{},
			query:   append([]param{q("archived", "boolean", "the archived list"), q("topic", "string", "only direct conversations about it")}, pageQuery...),
			summary: "A page of a user's conversation list"},
		{pattern: "GET /api/v1/conversations/{conv}/messages", scope: ScopeMessages, handler: s.transcript, tag: "messages", answer: Transcript{},
			query:   []param{q("after", "integer", "the page starts after this seq"), q("limit", "integer", "the page's size (default 200)")},
			summary: "A page of a conversation's log, oldest first (a transcript)"},
		{pattern: "GET /api/v1/conversations/{conv}/polls/{seq}", scope: ScopeMessages, handler: s.pollResults, tag: "messages", answer: PollResults{},
			query:   []param{q("voters", "integer", "list at most this many voters per option")},
			summary: "A poll's results"},
	}
}

func (s *Server) conversationRoutes() []route {
	return []route{
		{pattern: "POST /api/v1/conversations", scope: ScopeMembers, handler: s.createConversation, tag: "conversations",
			body: CreateConversationRequest{}, answer: CreatedConversation{}, status: http.StatusCreated,
			summary: "Create a group or channel as a user"},
		{pattern: "GET /api/v1/conversations/{conv}", scope: ScopeMembers, handler: s.conversation, tag: "conversations", answer: Conversation{},
			summary: "A conversation: kind, title, members, settings"},
		{pattern: "POST /api/v1/conversations/{conv}/members", scope: ScopeMembers, handler: s.changeMembers, tag: "conversations",
			body: MembersRequest{}, answer: MembershipChanged{},
			summary: "Change membership as a user (add, remove, leave, set_role, mute, unmute, disband, approve, decline)"},
		{pattern: "GET /api/v1/conversations/{conv}/members", scope: ScopeMembers, handler: s.listMembers, tag: "conversations", answer: Members{},
			query: pageQuery, summary: "A page of a conversation's members"},
		{pattern: "POST /api/v1/conversations/{conv}/settings", scope: ScopeMembers, handler: s.groupSettings, tag: "conversations",
			body: SettingsRequest{}, answer: Settings{},
			summary: "Read or change a group's settings as one of its owners or admins"},
		{pattern: "POST /api/v1/conversations/{conv}/invites", scope: ScopeMembers, handler: s.groupInvites, tag: "conversations",
			body: InvitesRequest{}, answer: Invites{},
			summary: "A group's invite links and join requests"},
		{pattern: "GET /api/v1/conversations/{conv}/meta", scope: ScopeMembers, handler: s.conversationMeta, tag: "conversations", answer: ConversationMeta{},
			summary: "The app's own data about a conversation"},
		{pattern: "PUT /api/v1/conversations/{conv}/meta", scope: ScopeMembers, handler: s.setConversationMeta, tag: "conversations",
			body: MetaChange{}, answer: ConversationMeta{},
			summary: "Replace the app's own data about a conversation"},
		{pattern: "GET /api/v1/conversations/{conv}/disappearing", scope: ScopeMembers, handler: s.conversationTimer, tag: "conversations", answer: Disappearing{},
			summary: "A conversation's disappearing-messages timer"},
		{pattern: "PUT /api/v1/conversations/{conv}/disappearing", scope: ScopeMembers, handler: s.setConversationTimer, tag: "conversations",
			body: DisappearingChange{}, answer: Disappearing{},
			summary: "Set or clear a conversation's disappearing-messages timer"},
		{pattern: "GET /api/v1/conversations/{conv}/freeze", scope: ScopeMembers, handler: s.conversationFreeze, tag: "conversations", answer: Freeze{},
			summary: "Whether a conversation is frozen (closed to new messages)"},
		{pattern: "PUT /api/v1/conversations/{conv}/freeze", scope: ScopeMembers, handler: s.setConversationFreeze, tag: "conversations",
			body: FreezeChange{}, answer: Freeze{},
			summary: "Freeze or reopen a conversation"},
	}
}

func (s *Server) userRoutes() []route {
	return []route{
		{pattern: "GET /api/v1/users/{user}/profile", scope: ScopeMembers, handler: s.userProfile, tag: "users", answer: Profile{},
			summary: "A user's profile"},
		{pattern: "PUT /api/v1/users/{user}/profile", scope: ScopeMembers, handler: s.setUserProfile, tag: "users", body: ProfileChange{}, answer: Profile{},
			summary: "Change a user's profile"},
		{pattern: "GET /api/v1/users/{user}/away", scope: ScopeMembers, handler: s.userAway, tag: "users", answer: Away{},
			summary: "A user's away message"},
		{pattern: "PUT /api/v1/users/{user}/away", scope: ScopeMembers, handler: s.setUserAway, tag: "users", body: AwayChange{}, answer: Away{},
			summary: "Set or clear a user's away message"},
		{pattern: "GET /api/v1/users/{user}/quiet", scope: ScopeMembers, handler: s.userQuiet, tag: "users", answer: Quiet{},
			summary: "A user's quiet hours"},
		{pattern: "PUT /api/v1/users/{user}/quiet", scope: ScopeMembers, handler: s.setUserQuiet, tag: "users", body: Quiet{}, answer: Quiet{},
			summary: "Set a user's quiet hours"},
		{pattern: "DELETE /api/v1/users/{user}/quiet", scope: ScopeMembers, handler: s.clearUserQuiet, tag: "users", answer: Quiet{},
			summary: "Clear a user's quiet hours"},
		{pattern: "POST /api/v1/users/{user}/conversations/{conv}/labels", scope: ScopeMembers, handler: s.setUserLabels, tag: "users",
			body: LabelsChange{}, answer: Labels{},
			summary: "Add and take away a user's labels on a conversation"},
	}
}

// Moderation: an operator works the users' reports of messages, suspends
// a user (a scammer on a marketplace) and lifts it, recalls any message,
// and answers a user's request for their data or to be erased
// (userdata.go). The grains own the rules (actors/reports.go,
// actors/user_suspension.go, actors/conv_recall.go, actors/user_erase.go); these endpoints only
// name the report, user or message and the terms. All need the token,
// reads too: reports and suspension reasons are private.
func (s *Server) moderationRoutes() []route {
	return []route{
		{pattern: "GET /api/v1/users/{user}", scope: ScopeModeration, handler: s.userStatus, tag: "moderation", answer: UserStatus{},
			summary: "A user's suspension and devices"},
		{pattern: "POST /api/v1/users/{user}/suspend", scope: ScopeModeration, handler: s.userSuspend, tag: "moderation", body: SuspendRequest{}, answer: UserStatus{},
			summary: "Suspend a user, for a time or until lifted"},
		{pattern: "POST /api/v1/users/{user}/unsuspend", scope: ScopeModeration, handler: s.userUnsuspend, tag: "moderation", answer: UserStatus{},
			summary: "Lift a user's suspension"},
		{pattern: "POST /api/v1/users/{user}/erase", scope: ScopeModeration, handler: s.userErase, tag: "moderation",
			body: EraseRequest{}, optionalBody: true, answer: Erasure{},
			summary: "Erase a user's messages with their account (resumable: call again until done)"},
		{pattern: "GET /api/v1/users/{user}/messages", scope: ScopeModeration, handler: s.userMessages, tag: "moderation", answer: SentMessages{},
			query: []param{q("after_conv", "string", "the page starts after this conversation…"), q("after_seq", "integer", "…and this seq (the previous page's last)"),
				q("limit", "integer", "the page's size")},
			summary: "A page of the messages a user sent (a data export)"},
		{pattern: "POST /api/v1/conversations/{conv}/messages/{seq}/recall", scope: ScopeModeration, handler: s.operatorRecall, tag: "moderation", answer: Recalled{},
			summary: "Recall a message as the operator"},
		{pattern: "GET /api/v1/reports", scope: ScopeModeration, handler: s.reports, tag: "moderation", answer: Reports{},
			query:   []param{q("after", "string", "the page starts after this report id"), q("limit", "integer", "the page's size")},
			summary: "Open reports, oldest first"},
		{pattern: "POST /api/v1/reports/{id}/resolve", scope: ScopeModeration, handler: s.resolveReport, tag: "moderation",
			body: ResolveRequest{}, optionalBody: true, answer: Report{},
			summary: "Resolve a report, with what was done"},
		{pattern: "GET /api/v1/reports/{id}/context", scope: ScopeModeration, handler: s.reportContext, tag: "moderation", answer: ReportContext{},
			query:   []param{q("around", "integer", "messages before and after the reported one")},
			summary: "The conversation around a reported message (each read is logged)"},
		// The content policy's word lists (blocked and monitor-only), replaced
		// at run time: PUT stores them and every node takes them within
		// actors.Config.WordListReload.
		{pattern: "GET /api/v1/policy/words", scope: ScopeModeration, handler: s.words, tag: "moderation", answer: actors.WordLists{},
			summary: "The content policy's word lists"},
		{pattern: "PUT /api/v1/policy/words", scope: ScopeModeration, handler: s.setWords, tag: "moderation", body: actors.WordLists{}, answer: actors.WordLists{},
			summary: "Replace the content policy's word lists (every node takes them)"},
	}
}

// The service desk's endpoints (docs/DESK.md). They act for the user named
// in the request, so every one that changes something needs the token.
func (s *Server) deskRoutes() []route {
	// The desk is read at each request, as the other handlers do.
	hours := lineSetting(func(ctx context.Context, line string) (*desk.Hours, error) { return s.node.Desk.LineHours(ctx, line) },
		func(ctx context.Context, line string, h *desk.Hours) (*desk.Hours, error) {
			return s.node.Desk.SetHours(ctx, line, h)
		},
		func(line string, h *desk.Hours) any { return LineHours{Line: line, Hours: h} })
	targets := lineSetting(func(ctx context.Context, line string) (*desk.Targets, error) {
		return s.node.Desk.LineTargets(ctx, line)
	},
		func(ctx context.Context, line string, t *desk.Targets) (*desk.Targets, error) {
			return s.node.Desk.SetTargets(ctx, line, t)
		},
		func(line string, t *desk.Targets) any { return LineTargets{Line: line, Targets: t} })
	rs := []route{
		{pattern: "GET /api/v1/desk/scenes", access: openRead, scope: ScopeDesk, handler: s.deskScenes, tag: "desk", answer: Scenes{},
			summary: "The entry points customers come in by"},
		{pattern: "PUT /api/v1/desk/scenes/{scene}", scope: ScopeDesk, handler: s.deskSetScene, tag: "desk", body: desk.Scene{}, answer: desk.Scene{},
			summary: "Create or change an entry point"},
		{pattern: "GET /api/v1/desk/lines/{line}/hours", access: openRead, scope: ScopeDesk, handler: hours, tag: "desk", answer: LineHours{},
			summary: "A line's opening hours"},
		{pattern: "PUT /api/v1/desk/lines/{line}/hours", scope: ScopeDesk, handler: hours, tag: "desk", body: desk.Hours{}, answer: LineHours{},
			summary: "Set a line's opening hours"},
		{pattern: "DELETE /api/v1/desk/lines/{line}/hours", scope: ScopeDesk, handler: hours, tag: "desk", answer: LineHours{},
			summary: "Clear a line's opening hours (always open)"},
		{pattern: "GET /api/v1/desk/lines/{line}/targets", access: openRead, scope: ScopeDesk, handler: targets, tag: "desk", answer: LineTargets{},
			summary: "A line's service targets"},
		{pattern: "PUT /api/v1/desk/lines/{line}/targets", scope: ScopeDesk, handler: targets, tag: "desk", body: desk.Targets{}, answer: LineTargets{},
			summary: "Set a line's service targets"},
		{pattern: "DELETE /api/v1/desk/lines/{line}/targets", scope: ScopeDesk, handler: targets, tag: "desk", answer: LineTargets{},
			summary: "Clear a line's service targets"},
		{pattern: "GET /api/v1/desk/lines/{line}/replies", access: openRead, scope: ScopeDesk, handler: s.deskReplies, tag: "desk", answer: LineReplies{},
			summary: "A line's saved replies"},
		{pattern: "PUT /api/v1/desk/lines/{line}/replies", scope: ScopeDesk, handler: s.deskSetReplies, tag: "desk", body: LineReplies{}, answer: LineReplies{},
			summary: "Replace a line's saved replies"},
		{pattern: "GET /api/v1/desk/lines/{line}/reasons", access: openRead, scope: ScopeDesk, handler: s.deskReasons, tag: "desk", answer: desk.Reasons{},
			query:   []param{q("from", "string", "RFC 3339"), q("to", "string", "RFC 3339")},
			summary: "Why customers came: a line's contact reasons over a time range"},
		{pattern: "GET /api/v1/desk/agents/{user}", access: openRead, scope: ScopeDesk, handler: s.deskAgent, tag: "desk", answer: desk.AgentInfo{},
			summary: "An agent: status, skills, capacity, sessions"},
		{pattern: "POST /api/v1/desk/agents/{user}", scope: ScopeDesk, handler: s.deskSetAgent, tag: "desk", body: desk.AgentUpdate{}, answer: desk.AgentInfo{},
			summary: "Change an agent's status, skills or capacity"},
		{pattern: "GET /api/v1/desk/queues/{skill}", access: openRead, scope: ScopeDesk, handler: s.deskQueue, tag: "desk", answer: desk.QueueInfo{},
			summary: "A queue: who waits, for how long, which agents are free"},
		{pattern: "GET /api/v1/desk/sessions/{conv}", scope: ScopeDesk, handler: s.deskSession, tag: "desk", answer: desk.SessionInfo{},
			query:   []param{q("user", "string", "the agent or customer asking")},
			summary: "A desk session: its customer, agent, state and tags"},
		{pattern: "POST /api/v1/desk/enter", scope: ScopeDesk, handler: s.deskEnter, tag: "desk", body: DeskRequest{}, answer: desk.SessionInfo{},
			summary: "A customer enters the desk by a scene (user, scene)"},
		{pattern: "POST /api/v1/desk/reach", scope: ScopeDesk, handler: s.deskReach, tag: "desk", body: DeskRequest{}, answer: desk.SessionInfo{},
			summary: "An agent writes to a customer first (user, customer, scene)"},
		{pattern: "POST /api/v1/desk/priority", scope: ScopeDesk, handler: s.deskPriority, tag: "desk", body: CustomerPriority{}, answer: CustomerPriority{},
			summary: "Set a customer's priority in a line's queue"},
		{pattern: "GET /api/v1/desk/customers/{customer}/attributes", scope: ScopeDesk, handler: s.customerAttributes, tag: "desk", answer: CustomerAttributes{},
			summary: "What the business knows of a customer, shown to agents"},
		{pattern: "PUT /api/v1/desk/customers/{customer}/attributes", scope: ScopeDesk, handler: s.setCustomerAttributes, tag: "desk",
			body: CustomerAttributes{}, answer: CustomerAttributes{},
			summary: "Replace a customer's attributes"},
		{pattern: "POST /api/v1/desk/merge", scope: ScopeDesk, handler: s.deskMerge, tag: "desk", body: MergeRequest{}, answer: desk.MergeInfo{},
			summary: "Merge one customer's history into another's"},
		{pattern: "GET /api/v1/desk/merges/{from}", scope: ScopeDesk, handler: s.deskMergeStatus, tag: "desk", answer: desk.MergeInfo{},
			summary: "How far a merge is"},
		{pattern: "POST /api/v1/desk/rate", scope: ScopeDesk, handler: s.deskRate, tag: "desk", body: DeskRequest{}, answer: desk.RatingInfo{},
			summary: "The customer rates a session (user, conv, score, comment)"},
	}
	for _, step := range []struct{ op, summary string }{
		{"handover", "An agent takes a session over (user, conv)"},
		{"transfer", "Transfer a session to an agent or a queue (user, conv, to, note)"},
		{"close", "Close a session (user, conv, reason)"},
		{"note", "Add an internal note to a session (user, conv, note)"},
		{"tag", "Add and take away a session's tags (user, conv, add, remove)"},
	} {
		op := step.op
		rs = append(rs, route{pattern: "POST /api/v1/desk/" + op, scope: ScopeDesk, tag: "desk", body: DeskRequest{}, answer: desk.SessionInfo{},
			handler: func(w http.ResponseWriter, r *http.Request) { s.deskStep(w, r, op) }, summary: step.summary})
	}
	return rs
}

// Profiles for the performance work (docs/PERFORMANCE.md); they reveal
// internals, so they always need the admin token.
func (s *Server) debugRoutes() []route {
	pp := func(path string, h http.HandlerFunc, summary string, query ...param) route {
		return route{pattern: "GET " + path, scope: scopeAdmin, handler: h, tag: "debug", text: true, summary: summary, query: query}
	}
	seconds := q("seconds", "integer", "how long to record (default 30)")
	named := pp("/debug/pprof/{profile...}", pprof.Index, "A Go runtime profile by name (heap, goroutine, allocs, …; none: the index; net/http/pprof)",
		q("debug", "integer", "1 or 2: text instead of the binary profile"))
	named.id = "getDebugPprofByName" // {profile} would name it as /debug/pprof/profile
	return []route{
		named,
		pp("/debug/pprof/cmdline", pprof.Cmdline, "The node's command line"),
		pp("/debug/pprof/profile", pprof.Profile, "A CPU profile", seconds),
		pp("/debug/pprof/symbol", pprof.Symbol, "Symbols for program counters"),
		pp("/debug/pprof/trace", pprof.Trace, "An execution trace", seconds),
	}
}

// serve wraps a route's handler in its access check.
func (s *Server) serve(rt route) http.HandlerFunc {
	switch rt.access {
	case public:
		return rt.handler
	case openRead:
		return s.openRead(rt.scope, rt.handler)
	default:
		return s.auth(rt.scope, rt.handler)
	}
}
