package desk

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Scene is an entry point (a listing, "book a viewing") of a business line
// and the route its customers take.
type Scene struct {
	Name  string   `json:"scene"`
	Line  string   `json:"line"`
	Route []string `json:"route"`
}

// Route steps, in the order a session takes them:
//
//	bot          the robot (Config.BotUser) answers first; Handover moves on
//	bot:ID       a named robot
//	queue:SKILL  the skill group's queue
//	agent:ID     straight to an owner agent (its own queue, "@ID")
//
// A queue or agent step may end in "/DURATION" (queue:vip/2m): a session
// still waiting there after that long overflows to the next step.
const maxRouteSteps = 8

// The bounds of a route step's wait before it overflows.
const (
	MinStepWait = time.Second
	MaxStepWait = 24 * time.Hour
)

// parseRoute checks a route like "bot,queue:sales" and returns its steps.
func parseRoute(route []string) ([]string, error) {
	if len(route) == 0 || len(route) > maxRouteSteps {
		return nil, invalid("a route has 1..%d steps, not %d", maxRouteSteps, len(route))
	}
	out := make([]string, 0, len(route))
	queues := map[string]bool{}
	for i, s := range route {
		s = strings.TrimSpace(s)
		kind, arg, _ := strings.Cut(s, ":")
		switch {
		case kind == "bot" && (arg == "" || actors.ValidUserID(arg)):
			if i == len(route)-1 && len(route) > 1 {
				return nil, invalid("route step %q: a robot hands over to a later step, so it comes first", s)
			}
		case kind == "queue" || kind == "agent":
			name, wait, limited := strings.Cut(arg, "/")
			if kind == "queue" && !validName(name) || kind == "agent" && !actors.ValidUserID(name) {
				return nil, invalid("bad route step %q (want bot, bot:ID, queue:SKILL or agent:ID)", s)
			}
			// A session keeps its entry (and its wait) as it overflows:
			// coming back to a queue it left, it would be taken for the
			// entry that left, which the queue and thread remember.
			q, _ := stepQueue(s)
			if queues[q] {
				return nil, invalid("route step %q: the route reaches that queue twice", s)
			}
			queues[q] = true
			if !limited {
				break
			}
			d, err := time.ParseDuration(wait)
			if err != nil || d < MinStepWait || d > MaxStepWait {
				return nil, invalid("route step %q: a wait before overflowing of %s to %s, like /2m", s, MinStepWait, MaxStepWait)
			}
			if i == len(route)-1 {
				return nil, invalid("route step %q: the last step has no step to overflow to", s)
			}
		default:
			return nil, invalid("bad route step %q (want bot, bot:ID, queue:SKILL or agent:ID)", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// stepQueue returns the queue a queue or agent step leads to.
func stepQueue(step string) (string, bool) {
	kind, arg, _ := strings.Cut(step, ":")
	arg, _, _ = strings.Cut(arg, "/")
	switch kind {
	case "queue":
		return arg, true
	case "agent":
		return "@" + arg, true
	}
	return "", false
}

// stepWait is how long a session waits in a queue or agent step before
// it overflows to the next (0: until an agent takes it).
func stepWait(step string) time.Duration {
	_, arg, _ := strings.Cut(step, ":")
	_, wait, ok := strings.Cut(arg, "/")
	if !ok {
		return 0
	}
	d, _ := time.ParseDuration(wait)
	return d
}

func (d *Desk) stepBot(step string) (string, bool) {
	kind, arg, _ := strings.Cut(step, ":")
	if kind != "bot" {
		return "", false
	}
	if arg == "" {
		arg = d.cfg.BotUser
	}
	return arg, true
}

// scenesGrain is the registry of scenes and of the business lines'
// opening hours and targets (one grain, identity "all").
type scenesGrain struct {
	Scenes  map[string]Scene    `json:"scenes"`
	Lines   map[string]*Hours   `json:"lines,omitempty"`
	Targets map[string]*Targets `json:"targets,omitempty"`
}

// sceneEntry is a scene with its line's settings, as an entry needs them.
type sceneEntry struct {
	Scene
	lineSettings
}

// hoursReq sets a line's hours; nil Hours clears them (always open).
type hoursReq struct {
	Line  string `json:"line"`
	Hours *Hours `json:"hours"`
}

const scenesID = "all"

func (s *scenesGrain) state() any { return s }

func (s *scenesGrain) load(g *grain, blob []byte, found bool) error {
	s.Scenes, s.Lines, s.Targets = map[string]Scene{}, map[string]*Hours{}, map[string]*Targets{}
	if !found {
		return nil
	}
	if err := json.Unmarshal(blob, s); err != nil {
		return err
	}
	if s.Lines == nil {
		s.Lines = map[string]*Hours{}
	}
	if s.Targets == nil {
		s.Targets = map[string]*Targets{}
	}
	for name, sc := range s.Scenes {
		// Stored before a rule it breaks (a queue reached twice): it
		// keeps serving as it did, and its operator is told.
		if _, err := parseRoute(sc.Route); err != nil {
			g.d.log.Warn("a stored scene's route is no longer valid: set the scene again", "scene", name, "err", err)
		}
	}
	return nil
}

func (s *scenesGrain) self(*grain, actor.Context, any) {}

// setLine sets line's entry in m to v (nil: removes it) and saves the
// registry: a new line only while fewer than MaxScenes have one (what
// names them in the refusal); a failed save leaves m as it was.
func setLine[T any](g *grain, ctx actor.Context, m map[string]*T, line string, v *T, what string) error {
	if _, ok := m[line]; v != nil && !ok && len(m) >= g.d.cfg.MaxScenes {
		return rejected(pb.Code_TOO_LARGE, "%d lines have %s, limit %d (the scene limit)", len(m), what, g.d.cfg.MaxScenes)
	}
	old, had := m[line]
	if v == nil {
		delete(m, line)
	} else {
		m[line] = v
	}
	if err := g.save(ctx); err != nil {
		if had {
			m[line] = old
		} else {
			delete(m, line)
		}
		return err
	}
	return nil
}

// line is what a session of the line takes when it starts.
func (s *scenesGrain) line(name string) lineSettings {
	return lineSettings{Hours: s.Lines[name], Targets: s.Targets[name]}
}

func (s *scenesGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "set":
		var sc Scene
		if err := decode(body, &sc); err != nil {
			return nil, err
		}
		if !validName(sc.Name) || !validName(sc.Line) {
			return nil, invalid("scene %q and line %q must be 1-32 of letters, digits, _ and -", sc.Name, sc.Line)
		}
		route, err := parseRoute(sc.Route)
		if err != nil {
			return nil, err
		}
		sc.Route = route
		if _, ok := s.Scenes[sc.Name]; !ok && len(s.Scenes) >= g.d.cfg.MaxScenes {
			return nil, rejected(pb.Code_TOO_LARGE, "%d scenes registered, limit %d", len(s.Scenes), g.d.cfg.MaxScenes)
		}
		old, had := s.Scenes[sc.Name]
		s.Scenes[sc.Name] = sc
		if err := g.save(ctx); err != nil {
			if had {
				s.Scenes[sc.Name] = old
			} else {
				delete(s.Scenes, sc.Name)
			}
			return nil, err
		}
		return sc, nil
	case "get":
		var name string
		if err := decode(body, &name); err != nil {
			return nil, err
		}
		sc, ok := s.Scenes[name]
		if !ok {
			return nil, rejected(pb.Code_NOT_FOUND, "no scene %q", name)
		}
		return sceneEntry{Scene: sc, lineSettings: s.line(sc.Line)}, nil
	case "set_hours":
		var r hoursReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		if !validName(r.Line) {
			return nil, invalid("line %q must be 1-32 of letters, digits, _ and -", r.Line)
		}
		if r.Hours != nil {
			if _, err := g.d.cfg.parseHours(*r.Hours); err != nil {
				return nil, err
			}
		}
		if err := setLine(g, ctx, s.Lines, r.Line, r.Hours, "hours"); err != nil {
			return nil, err
		}
		return r.Hours, nil
	case "hours":
		var line string
		if err := decode(body, &line); err != nil {
			return nil, err
		}
		return s.Lines[line], nil
	case "set_targets":
		var r targetsReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		if !validName(r.Line) {
			return nil, invalid("line %q must be 1-32 of letters, digits, _ and -", r.Line)
		}
		if r.Targets != nil {
			if err := r.Targets.check(); err != nil {
				return nil, err
			}
		}
		if err := setLine(g, ctx, s.Targets, r.Line, r.Targets, "targets"); err != nil {
			return nil, err
		}
		return r.Targets, nil
	case "line":
		var line string
		if err := decode(body, &line); err != nil {
			return nil, err
		}
		return s.line(line), nil
	case "list":
		out := make([]Scene, 0, len(s.Scenes))
		for _, sc := range s.Scenes {
			out = append(out, sc)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	return nil, invalid("unknown op %q", op)
}

// sceneName splits "listing/123" into the scene and its data.
func sceneName(s string) (name, data string, err error) {
	name, data, _ = strings.Cut(s, "/")
	if !validName(name) {
		return "", "", invalid("bad scene %q (want NAME or NAME/DATA)", s)
	}
	if len(data) > 256 {
		return "", "", invalid("scene data is %d bytes, limit 256", len(data))
	}
	return name, data, nil
}
