package membership

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/remote"
)

// A member whose process died (SIGKILL, a crash, the OOM killer) stays in
// memberlist's view until failure detection declares it dead: 2–6 s with
// DefaultConfig on a healthy node, longer on a loaded one, and every grain
// placed on it is unreachable meanwhile. Its peers usually learn sooner:
// their remoting connection to it breaks and protoactor publishes an
// EndpointTerminatedEvent at once. A broken connection alone proves
// nothing (a stream reset, a network blip), so the provider then dials the
// member's memberlist and remoting ports; when both actively refuse (a TCP
// reset: the host is up and nothing listens there) the process is gone, and
// this node drops it from its own topology without waiting. A partition or
// a hung process does not refuse (packets are dropped, or the kernel still
// accepts into the listen backlog), so those wait for memberlist as before.
// The node then tells its peers (a gone notice), which run the same check
// at once: one of them may have no broken connection to notice (an idle
// one, or one being re-dialled) and would wait for failure detection.
// memberlist itself is not told: it declares the node dead on its own, and
// its NotifyLeave clears the mark.

// goneCheckPauses are the waits before each check of a lost peer: a
// killed process's sockets close one by one, so the first dial can still
// reach a listener the kernel has not torn down yet. A live peer answers
// every dial, so it costs 2·len dials, once per broken connection.
var goneCheckPauses = []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second}

// watchEndpoints subscribes to the actor system's endpoint events until
// stop is closed.
func (p *Provider) watchEndpoints(stop <-chan struct{}) {
	if p.cfg.GoneCheckTimeout < 0 {
		return
	}
	stream := p.cluster.ActorSystem.EventStream
	sub := stream.Subscribe(func(ev any) {
		if e, ok := ev.(*remote.EndpointTerminatedEvent); ok {
			// The stream calls handlers on the publisher's goroutine
			// (protoactor's endpoint writer): do nothing slow here.
			go p.endpointLost(e.Address)
		}
	})
	go func() {
		<-stop
		stream.Unsubscribe(sub)
	}()
}

// endpointLost checks whether the member behind a lost remoting address is
// gone and drops it from the topology if so.
func (p *Provider) endpointLost(remoteAddr string) {
	if p.ignoreEndpoints {
		return
	}
	if name, listAddr, ok := p.memberAt(remoteAddr); ok {
		p.checkGone(name, listAddr, remoteAddr)
	} // else not a live member (any more): nothing to speed up
}

// goneNoticed checks a member a peer found gone (a gone notice). The
// notice only starts this node's own check: a lost or forged notice costs
// a few dials, never a live member.
func (p *Provider) goneNoticed(name string) {
	if listAddr, remoteAddr, ok := p.memberNamed(name); ok {
		p.checkGone(name, listAddr, remoteAddr)
	}
}

// checkGone dials the member's memberlist and remoting ports, pausing
// before each attempt, until both refuse or the pauses run out. A member
// found gone leaves this node's topology, and the other live members are
// told to check it too: each learns of a process death from its own broken
// connection, and one of them can miss it (its connection was idle, or
// being re-dialled) and wait for failure detection, seconds later.
func (p *Provider) checkGone(name, listAddr, remoteAddr string) {
	p.metaMu.Lock()
	if p.gone[name] || p.checking[name] {
		p.metaMu.Unlock()
		return
	}
	p.checking[name] = true
	p.metaMu.Unlock()

	timeout := p.cfg.GoneCheckTimeout
	gone, live := false, true
	for _, wait := range goneCheckPauses {
		time.Sleep(wait)
		p.metaMu.Lock()
		_, live = p.metas[name] // a NotifyLeave dropped it already
		p.metaMu.Unlock()
		if !live {
			break
		}
		if gone = refuses(listAddr, timeout) && refuses(remoteAddr, timeout); gone {
			break
		}
	}

	p.metaMu.Lock()
	delete(p.checking, name)
	if gone && live {
		p.gone[name] = true
	}
	p.metaMu.Unlock()
	p.goneChecks.Add(1)
	switch {
	case gone && live:
		p.logger.Warn("member's process is gone (its ports refuse connections): dropped from the topology ahead of failure detection",
			slog.String("node", name), slog.String("memberlist", listAddr), slog.String("remote", remoteAddr))
		p.kick()
		p.tellGone(name)
	case live:
		p.logger.Info("member's connection broke but its ports answer: left to failure detection",
			slog.String("node", name), slog.String("memberlist", listAddr), slog.String("remote", remoteAddr))
	}
}

// goneMagic starts a gone notice: goneMagic + the member's name.
var goneMagic = []byte("sbgone1\x00")

// tellGone sends a gone notice about name to every other live member, over
// memberlist's best-effort messages (UDP: a lost one leaves that member to
// its own connection and to failure detection, as before).
func (p *Provider) tellGone(name string) {
	p.mu.Lock()
	list := p.list
	running := p.state == stateRunning
	p.mu.Unlock()
	if !running {
		return
	}
	self := list.LocalNode().Name
	msg := append(bytes.Clone(goneMagic), name...)
	for _, n := range list.Members() {
		if n.Name == self || n.Name == name {
			continue
		}
		if err := list.SendBestEffort(n, msg); err != nil {
			p.logger.Debug("send gone notice", slog.String("to", n.Name), slog.Any("error", err))
		}
	}
}

// receiveGone starts the check a gone notice asks for; memberlist calls it
// from its packet handler, so the check runs on its own goroutine.
func (p *Provider) receiveGone(b []byte) bool {
	name, ok := bytes.CutPrefix(b, goneMagic)
	if !ok {
		return false
	}
	if len(name) > 0 {
		go p.goneNoticed(string(name))
	}
	return true
}

// memberAt finds the live memberlist node whose remoting address is addr.
func (p *Provider) memberAt(addr string) (name, listAddr string, ok bool) {
	p.mu.Lock()
	list := p.list
	running := p.state == stateRunning
	p.mu.Unlock()
	if !running {
		return "", "", false
	}
	for _, n := range list.Members() {
		if listAddr, remote, ok := p.addrsOf(n.Name); ok && remote == addr {
			return n.Name, listAddr, true
		}
	}
	return "", "", false
}

// memberNamed finds the memberlist and remoting addresses of the live
// member called name.
func (p *Provider) memberNamed(name string) (listAddr, remoteAddr string, ok bool) {
	p.mu.Lock()
	running := p.state == stateRunning
	p.mu.Unlock()
	if !running {
		return "", "", false
	}
	return p.addrsOf(name)
}

// addrsOf reads the memberlist and remoting addresses of the node called
// name from the copies the delegates keep.
func (p *Provider) addrsOf(name string) (listAddr, remoteAddr string, ok bool) {
	p.metaMu.Lock()
	meta, has := p.metas[name]
	listAddr, known := p.known[name]
	p.metaMu.Unlock()
	if !has || !known {
		return "", "", false
	}
	m, _, err := decodeMember(name, meta)
	if err != nil {
		return "", "", false
	}
	return listAddr, m.Address(), true
}

// refuses reports whether a TCP connect to addr is actively refused. A
// timeout or any other error is not proof of anything and counts as no.
func refuses(addr string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err == nil {
		_ = c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// forgetGone clears the mark once memberlist itself has news of the node.
func (p *Provider) forgetGone(name string) {
	p.metaMu.Lock()
	delete(p.gone, name)
	p.metaMu.Unlock()
}
