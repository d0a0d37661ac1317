package analytics

import (
	"math"
	"time"
)

const dayMs = 24 * 60 * 60 * 1000

// zoneWindows places instants in the windows of one zoned family. The
// boundaries are the instants at which the local wall clock reaches a
// multiple of the size after midnight, or jumps over one (a DST change
// forward). So a window is a stretch of the local clock: a 23-hour day has
// no 02:00 hour, a 25-hour day has the 01:00 hour twice, as two windows,
// and a day window is the whole local day. The last window found is
// remembered: events come roughly in time order, so most lookups skip the
// tz database.
type zoneWindows struct {
	loc        *time.Location
	size       int64 // divides a day
	from, upto int64 // the cached window [from, upto); empty when from == upto
}

// period is a stretch of constant UTC offset: [start, end), offset in ms.
type period struct{ start, end, off int64 }

func (z *zoneWindows) period(t int64) period {
	lt := time.UnixMilli(t).In(z.loc)
	_, off := lt.Zone()
	s, e := lt.ZoneBounds()
	p := period{start: math.MinInt64, end: math.MaxInt64, off: int64(off) * 1000}
	if !s.IsZero() {
		p.start = s.UnixMilli()
	}
	if !e.IsZero() {
		p.end = e.UnixMilli()
	}
	return p
}

// jumpsOver reports whether the clock change at c (the start of period
// p) moves the wall clock forward over a boundary.
func (z *zoneWindows) jumpsOver(c int64, before, after period) bool {
	return floorDiv(c-1+before.off, z.size) < floorDiv(c+after.off, z.size)
}

// maxPeriods bounds the periods a lookup walks through; a window spans at
// most a day, and no zone changes its offset more than twice a day.
const maxPeriods = 8

// last returns the latest boundary at or before t.
func (z *zoneWindows) last(t int64) (int64, bool) {
	for range maxPeriods {
		p := z.period(t)
		if c := t - mod(t+p.off, z.size); c >= p.start {
			return c, true
		}
		if z.jumpsOver(p.start, z.period(p.start-1), p) {
			return p.start, true
		}
		t = p.start - 1
	}
	return 0, false
}

// next returns the earliest boundary after t.
func (z *zoneWindows) next(t int64) (int64, bool) {
	for range maxPeriods {
		p := z.period(t)
		if c := t - mod(t+p.off, z.size) + z.size; c < p.end {
			return c, true
		}
		n := z.period(p.end)
		if mod(p.end+n.off, z.size) == 0 || z.jumpsOver(p.end, p, n) {
			return p.end, true
		}
		t = p.end
	}
	return 0, false
}

// window returns the window [start, end) containing t.
func (z *zoneWindows) window(t int64) (start, end int64) {
	if z.from <= t && t < z.upto {
		return z.from, z.upto
	}
	start, ok1 := z.last(t)
	end, ok2 := z.next(t)
	if !ok1 || !ok2 {
		// Not reached with the tz database's rules; an epoch window keeps
		// the result well defined.
		start = floorDiv(t, z.size) * z.size
		return start, start + z.size
	}
	z.from, z.upto = start, end
	return start, end
}

// mod is the remainder of floorDiv: 0 <= mod(a, b) < b for b > 0.
func mod(a, b int64) int64 { return a - floorDiv(a, b)*b }
