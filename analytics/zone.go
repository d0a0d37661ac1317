package analytics

import "time"

const dayMs = 24 * 60 * 60 * 1000

// zoneDays finds local calendar days in a time zone, remembering the last
// one: events come roughly in time order, so most lookups hit it and skip
// the tz database.
type zoneDays struct {
	loc        *time.Location
	from, upto int64 // the cached day [from, upto); empty when from == upto
}

// midnight is the instant the local day y-m-d starts. Go normalizes a
// midnight that does not exist (a DST jump at 00:00) to an instant near
// it; the same call is the end of the day before, so days never overlap.
func (z *zoneDays) midnight(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, z.loc).UnixMilli()
}

// day returns the local day [from, upto) containing t.
func (z *zoneDays) day(t int64) (from, upto int64) {
	if z.from <= t && t < z.upto {
		return z.from, z.upto
	}
	lt := time.UnixMilli(t).In(z.loc)
	y, m, d := lt.Date()
	// Where a normalized midnight lands on the other side of t, t belongs
	// to the neighbouring day; a few steps settle it.
	for range 4 {
		from, upto = z.midnight(y, m, d), z.midnight(y, m, d+1)
		switch {
		case t < from:
			d--
		case t >= upto:
			d++
		default:
			z.from, z.upto = from, upto
			return from, upto
		}
	}
	// Not reachable with the tz database's rules; a UTC day keeps the
	// window well defined.
	from = floorDiv(t, dayMs) * dayMs
	return from, from + dayMs
}
