// Package warm runs functions on goroutines that outlive them.
//
// A fresh goroutine starts with a small stack and grows it, by copying,
// to what a store call or a protobuf encode needs: under load that stack
// growth (runtime.newstack/copystack) was several percent of a node's CPU.
// A goroutine of a Pool that finished its function waits about Idle for
// the next one and keeps its grown stack. A function that finds no waiting
// goroutine starts a new one, so there is no limit on how many run at
// once: one that blocks never holds up another, and functions that wait on
// each other cannot deadlock.
package warm

import (
	"sync"
	"time"
)

// Idle is how long a goroutine waits for another function before it
// exits: long enough to stay warm between a busy node's calls, short
// enough that a burst's goroutines do not linger.
const Idle = 2 * time.Second

// Pool hands functions to its waiting goroutines. The zero value is not
// usable; make one with New.
//
// The waiting goroutines are a stack, each with a channel of its own: the
// one that finished last (its stack and cache the warmest) is woken first,
// waking one costs a mutex and a send nobody else contends for, and the
// ones at the bottom, unused for Idle, are told to exit by one timer for
// the whole pool. (One shared channel that every waiting goroutine
// selected on, each with an idle timer it reset after every function,
// cost more in select and timer work than the stack growth it saved.)
type Pool struct {
	mu       sync.Mutex
	idle     []*worker // waiting; the last one finished last
	trimming bool      // a trim is scheduled
}

type worker struct {
	next  chan func() // one slot: Go never waits for the worker to park
	since time.Time   // when it began waiting
}

// New returns an empty pool.
func New() *Pool { return &Pool{} }

// Go runs fn on a waiting goroutine of the pool, or on a new one.
func (p *Pool) Go(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.next <- fn
		return
	}
	p.mu.Unlock()
	go p.work(&worker{next: make(chan func(), 1)}, fn)
}

func (p *Pool) work(w *worker, fn func()) {
	for fn != nil {
		fn()
		w.since = time.Now()
		p.mu.Lock()
		p.idle = append(p.idle, w)
		if !p.trimming {
			p.trimming = true
			time.AfterFunc(Idle, p.trim)
		}
		p.mu.Unlock()
		fn = <-w.next // nil: trimmed
	}
}

// trim ends the goroutines that have waited Idle or longer (the bottom of
// the stack) and schedules the next trim while any still wait.
func (p *Pool) trim() {
	now := time.Now()
	p.mu.Lock()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].since) >= Idle {
		p.idle[n].next <- nil
		n++
	}
	if n > 0 {
		kept := copy(p.idle, p.idle[n:])
		clear(p.idle[kept:])
		p.idle = p.idle[:kept]
	}
	p.trimming = len(p.idle) > 0
	if p.trimming {
		time.AfterFunc(Idle-now.Sub(p.idle[0].since), p.trim)
	}
	p.mu.Unlock()
}
