// Package udprelay relays UDP datagrams between clients and one target
// address, for tests that put a network between QUIC clients and a node:
// a load balancer's address that can be pointed at another node, or a
// path that loses what chosen clients send.
package udprelay

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"
)

// Relay listens on a loopback port and forwards each client's datagrams
// through an upstream socket of its own (a flow), and the answers back.
type Relay struct {
	pc   *net.UDPConn
	drop func(from *net.UDPAddr) bool

	mu      sync.Mutex
	to      *net.UDPAddr
	flows   map[string]*net.UDPConn // client address → upstream socket
	dropped int
	delay   func(to *net.UDPAddr) time.Duration
}

// New relays to target. drop, when not nil, is asked for every datagram
// from a client (always from the relay's one reading goroutine); what it
// returns true for is lost on the way.
func New(target string, drop func(from *net.UDPAddr) bool) (*Relay, error) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("udprelay: %w", err)
	}
	r := &Relay{pc: pc, drop: drop, flows: map[string]*net.UDPConn{}}
	if err := r.Point(target); err != nil {
		_ = pc.Close()
		return nil, err
	}
	go r.serve()
	return r, nil
}

// Addr is the address clients dial.
func (r *Relay) Addr() string { return r.pc.LocalAddr().String() }

// Point sends new datagrams to target; existing flows are cut, so a
// client's next datagram opens a flow to the new target (a load balancer
// taking a failed or draining node out of rotation).
func (r *Relay) Point(target string) error {
	if err := r.PointNew(target); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cutFlows()
	return nil
}

// PointNew sends the datagrams of new flows to target and keeps each
// existing flow on the node it was opened to: a load balancer with
// connection tracking does this when a node joins (or comes back), so
// connections it already carries elsewhere are not cut.
func (r *Relay) PointNew(target string) error {
	ua, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return fmt.Errorf("udprelay: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = ua
	return nil
}

// DelayBack holds each answer to a client for delay(client) before it is
// relayed (a slow or distant path); nil or 0 relays at once.
func (r *Relay) DelayBack(delay func(to *net.UDPAddr) time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay = delay
}

// FirstFlowDelay is a DelayBack function that holds the answers to the
// first client address it is asked about for first, and to every other
// for rest: one client's path slow (or fast) beside the others.
func FirstFlowDelay(first, rest time.Duration) func(to *net.UDPAddr) time.Duration {
	var mu sync.Mutex // each flow's goroutine asks
	var firstAddr string
	return func(to *net.UDPAddr) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		if firstAddr == "" {
			firstAddr = to.String()
		}
		if to.String() == firstAddr {
			return first
		}
		return rest
	}
}

// Flows is how many client addresses have a flow open.
func (r *Relay) Flows() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.flows)
}

// Dropped is how many client datagrams drop has taken.
func (r *Relay) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close stops relaying.
func (r *Relay) Close() {
	_ = r.pc.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cutFlows()
}

func (r *Relay) cutFlows() {
	for k, up := range r.flows {
		_ = up.Close()
		delete(r.flows, k)
	}
}

func (r *Relay) serve() {
	buf := make([]byte, 65536)
	for {
		n, from, err := r.pc.ReadFromUDP(buf)
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.drop != nil && r.drop(from) {
			r.dropped++
			r.mu.Unlock()
			continue
		}
		up, ok := r.flows[from.String()]
		if !ok {
			if up, err = net.DialUDP("udp", nil, r.to); err != nil {
				r.mu.Unlock()
				continue
			}
			r.flows[from.String()] = up
			go r.back(up, from)
		}
		r.mu.Unlock()
		_, _ = up.Write(buf[:n])
	}
}

// back relays one flow's answers to its client.
func (r *Relay) back(up *net.UDPConn, to *net.UDPAddr) {
	buf := make([]byte, 65536)
	for {
		n, err := up.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP port unreachable from a dead target: keep the flow
		}
		r.mu.Lock()
		delay := r.delay
		r.mu.Unlock()
		var d time.Duration
		if delay != nil {
			d = delay(to)
		}
		if d <= 0 {
			_, _ = r.pc.WriteToUDP(buf[:n], to)
			continue
		}
		b := slices.Clone(buf[:n])
		time.AfterFunc(d, func() { _, _ = r.pc.WriteToUDP(b, to) })
	}
}
