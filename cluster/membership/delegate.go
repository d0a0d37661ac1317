package membership

import (
	"log/slog"

	hcml "github.com/hashicorp/memberlist"
)

// metaDelegate hands memberlist the node metadata and receives the
// members' topology views (views.go) and gone notices (gone.go). There is
// no state exchange.
type metaDelegate struct {
	meta []byte    // checked against MetaMaxSize before memberlist starts
	p    *Provider // nil in tests of the delegate alone
}

func (d metaDelegate) NodeMeta(int) []byte { return d.meta }
func (d metaDelegate) NotifyMsg(b []byte) {
	if d.p != nil && !d.p.receiveGone(b) {
		d.p.receiveView(b)
	}
}
func (metaDelegate) GetBroadcasts(int, int) [][]byte        { return nil }
func (metaDelegate) LocalState(bool) []byte                 { return nil }
func (metaDelegate) MergeRemoteState(buf []byte, join bool) {}

// eventDelegate runs on memberlist's goroutines under its node lock, so it
// only copies metadata, logs and signals the updater.
type eventDelegate struct {
	p      *Provider
	logger *slog.Logger
}

func (e eventDelegate) NotifyJoin(n *hcml.Node) {
	e.logger.Debug("node joined", slog.String("node", n.Name), slog.String("addr", n.Address()))
	e.p.forgetGone(n.Name)
	e.p.setMeta(n)
	e.p.remember(n)
	e.p.kick()
}

func (e eventDelegate) NotifyLeave(n *hcml.Node) {
	e.logger.Debug("node left or failed", slog.String("node", n.Name), slog.String("addr", n.Address()))
	e.p.dropMeta(n)
	e.p.forgetGone(n.Name)
	e.p.kick()
}

func (e eventDelegate) NotifyUpdate(n *hcml.Node) {
	e.logger.Debug("node updated", slog.String("node", n.Name), slog.String("addr", n.Address()))
	e.p.setMeta(n)
	e.p.remember(n)
	e.p.kick()
}
