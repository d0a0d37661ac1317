package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Word lists: a blocked list (a match refuses the send with
// REJECTED_POLICY) and a monitor-only list (a match is delivered, flagged,
// counted and logged), both at once. They start from the configuration
// (Config.BlockedWords, MonitorWords, and the older PolicyWords by
// PolicyMode) and are replaced at run time with SetWordLists, which stores
// them under the checkpoint key policy/words; every node reads that key at
// start and every Config.WordListReload, so a change made through any
// node's admin API reaches all of them within that time. Once stored, the
// stored lists win over the configuration.

// WordLists are the two lists; Version orders updates (ms of the change).
type WordLists struct {
	Blocked []string `json:"blocked"`
	Monitor []string `json:"monitor"`
	Version int64    `json:"version"`
}

const wordListsKey = "policy/words"

// wordPolicy is the lists in force and their matchers.
type wordPolicy struct {
	lists   WordLists
	blocked *policy
	monitor *policy
}

func newWordPolicy(l WordLists) *wordPolicy {
	return &wordPolicy{lists: l, blocked: newPolicy(PolicyBlock, l.Blocked), monitor: newPolicy(PolicyFlag, l.Monitor)}
}

var (
	policyMatches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_policy_matches_total",
		Help: "Sends that matched a word list, by list: blocked (refused) or monitor (delivered, flagged).",
	}, []string{"list"})
)

func init() { prometheus.MustRegister(policyMatches) }

// configWordLists is the lists the configuration gives.
func configWordLists(cfg Config) WordLists {
	l := WordLists{Blocked: append([]string{}, cfg.BlockedWords...), Monitor: append([]string{}, cfg.MonitorWords...)}
	switch cfg.PolicyMode {
	case PolicyBlock:
		l.Blocked = append(l.Blocked, cfg.PolicyWords...)
	case PolicyFlag:
		l.Monitor = append(l.Monitor, cfg.PolicyWords...)
	}
	l.Blocked, l.Monitor = cleanWords(l.Blocked), cleanWords(l.Monitor)
	return l
}

// cleanWords lower-cases, trims, drops empties and duplicates.
func cleanWords(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, w := range in {
		w = strings.ToLower(strings.TrimSpace(w))
		if w != "" && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// checkWordLists applies the limits: at most MaxWords words per list, each
// at most MaxWordBytes.
func (n *Runtime) checkWordLists(l WordLists) error {
	for _, list := range []struct {
		name  string
		words []string
	}{{"blocked", l.Blocked}, {"monitor", l.Monitor}} {
		if len(list.words) > n.cfg.MaxWords {
			return invalid("%s list has %d words, limit %d", list.name, len(list.words), n.cfg.MaxWords)
		}
		for _, w := range list.words {
			if len(w) > n.cfg.MaxWordBytes {
				return invalid("%s word of %d bytes, limit %d", list.name, len(w), n.cfg.MaxWordBytes)
			}
		}
	}
	return nil
}

// WordLists returns the lists in force on this node.
func (n *Runtime) WordLists() WordLists { return n.words().lists }

func (n *Runtime) words() *wordPolicy { return n.wordPolicy.Load() }

// SetWordLists replaces both lists on every node: stored first, in force
// here at once, elsewhere at the next reload.
func (n *Runtime) SetWordLists(ctx context.Context, l WordLists) (WordLists, error) {
	l.Blocked, l.Monitor = cleanWords(l.Blocked), cleanWords(l.Monitor)
	if err := n.checkWordLists(l); err != nil {
		return WordLists{}, err
	}
	n.wordsMu.Lock()
	defer n.wordsMu.Unlock()
	// Versions only grow, also when clocks of two nodes disagree.
	l.Version = max(time.Now().UnixMilli(), n.words().lists.Version+1)
	blob, err := json.Marshal(l)
	if err != nil {
		return WordLists{}, err
	}
	if err := n.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: wordListsKey, State: blob, At: time.Now()}); err != nil {
		return WordLists{}, fromPB(storeErr(err))
	}
	n.wordPolicy.Store(newWordPolicy(l))
	n.log.Info("word lists changed", "blocked", len(l.Blocked), "monitor", len(l.Monitor), "version", l.Version)
	return l, nil
}

// reloadWordLists takes the stored lists when they are newer.
func (n *Runtime) reloadWordLists(ctx context.Context) error {
	cp, err := n.store.LoadCheckpoint(ctx, wordListsKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var l WordLists
	if err := json.Unmarshal(cp.State, &l); err != nil {
		return fmt.Errorf("stored word lists: %w", err)
	}
	n.wordsMu.Lock()
	defer n.wordsMu.Unlock()
	if l.Version > n.words().lists.Version {
		n.wordPolicy.Store(newWordPolicy(l))
		n.log.Info("word lists loaded", "blocked", len(l.Blocked), "monitor", len(l.Monitor), "version", l.Version)
	}
	return nil
}

// watchWordLists reloads the stored lists every WordListReload until stop.
func (n *Runtime) watchWordLists() (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(n.cfg.WordListReload)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
				if err := n.reloadWordLists(ctx); err != nil {
					n.log.Warn("word lists not reloaded", "err", err)
				}
				cancel()
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// checkWords applies the lists to a send: a blocked word refuses it, a
// monitored one flags it (counted and logged).
func (c *conversation) checkWords(sender string, body []byte) (flagged bool, e *pb.Error) {
	p := c.rt.words()
	if p.blocked.matches(body) {
		policyMatches.WithLabelValues("blocked").Inc()
		return false, pbErr(pb.Code_REJECTED_POLICY, "rejected: the message contains a blocked word")
	}
	if p.monitor.matches(body) {
		policyMatches.WithLabelValues("monitor").Inc()
		c.log.Info("monitored word in a message", "conv", c.id, "sender", sender)
		return true, nil
	}
	return false, nil
}
