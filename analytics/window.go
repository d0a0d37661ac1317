package analytics

// spec is a WindowSpec in milliseconds. A zoned spec is a tumbling family
// whose size divides a day, aligned to the local wall clock in
// Config.Location.
type spec struct {
	size, slide int64
	zone        *zoneWindows // nil: aligned to the epoch
}

// floorDiv rounds towards negative infinity so that windows before 1970
// align like the others.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// firstStart returns the start of the earliest window of s containing t;
// the others follow every slide while start <= t.
func (s spec) firstStart(t int64) int64 {
	return (floorDiv(t-s.size, s.slide) + 1) * s.slide
}

// starts returns the first and the last start of the windows of family i
// containing t; the others lie every slide in between.
func (e *Engine) starts(i int, t int64) (first, last int64) {
	s := &e.specs[i]
	if s.zone != nil {
		start, _ := s.zone.window(t)
		return start, start
	}
	return s.firstStart(t), floorDiv(t, s.slide) * s.slide
}

// end returns the end of the window of family i starting at start.
func (e *Engine) end(i int, start int64) int64 {
	s := &e.specs[i]
	if s.zone == nil {
		return start + s.size
	}
	_, end := s.zone.window(start)
	return end
}

// aggKey identifies one (window family, key, window) aggregate.
type aggKey struct {
	start int64
	key   uint32 // 0 is AllKey, else an interned agent or line key
	spec  uint16
}

// agg holds the sums of one (window family, key, window); averages are
// derived when rows are read so that merging stays exact.
type agg struct {
	questions, timely uint64
	respSum           int64
	msgQuestions      uint64
	msgTimely         uint64
	msgRespSum        int64
	sessions          uint64
	sessSum           int64
	sessMsgs          uint64
	frtCount          uint64
	frtSum            int64
	queueWaits        uint64
	queueWaitSum      int64
	abandoned         uint64
	ratings           uint64
	ratingSum         uint64 // the scores' sum
	satisfied         uint64 // ratings of SatisfiedScore or more
	deskFirst         uint64 // desk sessions' first responses
	deskFirstTimely   uint64 // of them, within the target or reply threshold
	deskFirstSum      int64
	handled           uint64 // desk ownership spans that ended
	resolved          uint64 // of them, ended by the session's close
	handleSum         int64
	missed            uint64 // desk sessions taken back unanswered
}

func (a *agg) add(b *agg) {
	a.questions += b.questions
	a.timely += b.timely
	a.respSum += b.respSum
	a.msgQuestions += b.msgQuestions
	a.msgTimely += b.msgTimely
	a.msgRespSum += b.msgRespSum
	a.sessions += b.sessions
	a.sessSum += b.sessSum
	a.sessMsgs += b.sessMsgs
	a.frtCount += b.frtCount
	a.frtSum += b.frtSum
	a.queueWaits += b.queueWaits
	a.queueWaitSum += b.queueWaitSum
	a.abandoned += b.abandoned
	a.ratings += b.ratings
	a.ratingSum += b.ratingSum
	a.satisfied += b.satisfied
	a.deskFirst += b.deskFirst
	a.deskFirstTimely += b.deskFirstTimely
	a.deskFirstSum += b.deskFirstSum
	a.handled += b.handled
	a.resolved += b.resolved
	a.handleSum += b.handleSum
	a.missed += b.missed
}

// contribute adds c to every window of every family containing t, for the
// given agent and business line (0: none) and for AllKey.
func (e *Engine) contribute(t int64, agent, line uint32, c *agg) {
	for i, s := range e.specs {
		first, last := e.starts(i, t)
		for start := first; start <= last; start += s.slide {
			e.aggAt(aggKey{start: start, key: 0, spec: uint16(i)}).add(c)
			if agent != 0 {
				e.aggAt(aggKey{start: start, key: agent, spec: uint16(i)}).add(c)
			}
			if line != 0 {
				e.aggAt(aggKey{start: start, key: line, spec: uint16(i)}).add(c)
			}
		}
	}
}

// cacheWays is the number of recent windows remembered per (key, family):
// events arrive roughly in time order, so most updates hit a window touched
// moments ago and skip the map.
const cacheWays = 4

// cached is one slot of the window cache; a nil agg is empty.
type cached struct {
	start int64
	a     *agg
}

func (e *Engine) aggAt(k aggKey) *agg {
	ways := len(e.specs) * cacheWays
	slot := int(k.key)*ways + int(k.spec)*cacheWays + int(uint64(floorDiv(k.start, e.specs[k.spec].slide))&(cacheWays-1))
	c := &e.cache[slot]
	if c.a != nil && c.start == k.start {
		return c.a
	}
	a := e.aggs[k]
	if a == nil {
		a = new(agg)
		e.aggs[k] = a
	}
	c.start, c.a = k.start, a
	return a
}

// resetCache empties the window cache, sized for the interned keys; it
// must run whenever aggregates are dropped or replaced.
func (e *Engine) resetCache() {
	e.cache = make([]cached, len(e.keys)*len(e.specs)*cacheWays)
}
