package desk

import (
	"encoding/json"
	"sort"
	"strings"

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
const maxRouteSteps = 8

// parseRoute checks a route like "bot,queue:sales" and returns its steps.
func parseRoute(route []string) ([]string, error) {
	if len(route) == 0 || len(route) > maxRouteSteps {
		return nil, invalid("a route has 1..%d steps, not %d", maxRouteSteps, len(route))
	}
	out := make([]string, 0, len(route))
	for i, s := range route {
		s = strings.TrimSpace(s)
		kind, arg, _ := strings.Cut(s, ":")
		switch {
		case kind == "bot" && (arg == "" || actors.ValidUserID(arg)):
			if i == len(route)-1 && len(route) > 1 {
				return nil, invalid("route step %q: a robot hands over to a later step, so it comes first", s)
			}
		case kind == "queue" && validName(arg):
		case kind == "agent" && actors.ValidUserID(arg):
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
	switch kind {
	case "queue":
		return arg, true
	case "agent":
		return "@" + arg, true
	}
	return "", false
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

// scenesGrain is the registry of scenes (one grain, identity "all").
type scenesGrain struct {
	Scenes map[string]Scene `json:"scenes"`
}

const scenesID = "all"

func (s *scenesGrain) state() any { return s }

func (s *scenesGrain) load(_ *grain, blob []byte, found bool) error {
	s.Scenes = map[string]Scene{}
	if found {
		return json.Unmarshal(blob, s)
	}
	return nil
}

func (s *scenesGrain) self(*grain, actor.Context, any) {}

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
		return sc, nil
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
