// Package warm runs functions on goroutines that outlive them.
//
// A fresh goroutine starts with a small stack and grows it, by copying,
// to what a store call or a protobuf encode needs: under load that stack
// growth (runtime.newstack/copystack) was several percent of a node's CPU.
// A goroutine of a Pool that finished its function waits up to Idle for
// the next one and keeps its grown stack. A function that finds no waiting
// goroutine starts a new one, so there is no limit on how many run at
// once: one that blocks never holds up another, and functions that wait on
// each other cannot deadlock.
package warm

import "time"

// Idle is how long a goroutine waits for another function before it
// exits: long enough to stay warm between a busy node's calls, short
// enough that a burst's goroutines do not linger.
const Idle = 2 * time.Second

// Pool hands functions to its waiting goroutines. The zero value is not
// usable; make one with New.
type Pool struct {
	idle chan func() // unbuffered: a send succeeds only when a goroutine waits
}

// New returns an empty pool.
func New() *Pool { return &Pool{idle: make(chan func())} }

// Go runs fn on a waiting goroutine of the pool, or on a new one.
func (p *Pool) Go(fn func()) {
	select {
	case p.idle <- fn:
	default:
		go p.work(fn)
	}
}

func (p *Pool) work(fn func()) {
	t := time.NewTimer(Idle)
	defer t.Stop()
	for {
		fn()
		t.Reset(Idle)
		select {
		case fn = <-p.idle:
		case <-t.C:
			return
		}
	}
}
