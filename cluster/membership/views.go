package membership

import (
	"bytes"
	"log/slog"
	"time"

	hcml "github.com/hashicorp/memberlist"
)

// Topology views. protoactor drops a member it saw leave for good, so after
// a partition heals the views can disagree without memberlist noticing: a
// node whose failure detector was slow (its own awareness score rose while
// it was cut off) may still count a peer as a member while that peer
// dropped it long ago. Each member therefore tells every live peer, over
// memberlist's best-effort messages, which member ids its protoactor
// topology holds; Views returns what each peer said last.

const (
	// viewEvery is how often a member sends its view to each peer.
	viewEvery = time.Second
	// ViewMaxAge is how long a received view counts.
	ViewMaxAge = 4 * viewEvery
)

// viewMagic starts every view message (the other user message is the
// gone notice, gone.go).
var viewMagic = []byte("sbview1\x00")

type peerView struct {
	ids map[string]bool
	at  time.Time
}

// runViews sends this member's topology view to every live peer every
// viewEvery until stop.
func (p *Provider) runViews(list *hcml.Memberlist, self string, stop <-chan struct{}) {
	t := time.NewTicker(viewEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		msg := append(bytes.Clone(viewMagic), self...)
		for _, id := range p.topologyIDs() {
			msg = append(append(msg, 0), id...)
		}
		if len(msg) > 1200 {
			// Past one UDP packet: large clusters go without views (the
			// majority rule on this member's own topology still applies).
			continue
		}
		for _, n := range list.Members() {
			if n.Name == self {
				continue
			}
			if err := list.SendBestEffort(n, msg); err != nil {
				p.logger.Debug("send topology view", slog.String("to", n.Name), slog.Any("error", err))
			}
		}
	}
}

// receiveView records a peer's view; memberlist calls it from its packet
// handler, so it only copies.
func (p *Provider) receiveView(b []byte) {
	rest, ok := bytes.CutPrefix(b, viewMagic)
	if !ok {
		return
	}
	parts := bytes.Split(rest, []byte{0})
	if len(parts) == 0 || len(parts[0]) == 0 {
		return
	}
	v := peerView{ids: make(map[string]bool, len(parts)-1), at: time.Now()}
	for _, id := range parts[1:] {
		v.ids[string(id)] = true
	}
	p.metaMu.Lock()
	p.views[string(parts[0])] = v
	p.metaMu.Unlock()
}

// Views returns, for each peer that sent a view within ViewMaxAge, the
// member ids its protoactor topology holds. The maps are shared: read only.
func (p *Provider) Views() map[string]map[string]bool {
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	out := make(map[string]map[string]bool, len(p.views))
	for peer, v := range p.views {
		if time.Since(v.at) <= ViewMaxAge {
			out[peer] = v.ids
		}
	}
	return out
}
