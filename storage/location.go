package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Location is a place a message shares (a meeting point, a shop, where the
// courier is): its coordinates in degrees (WGS 84), an optional name, and
// for a live share the time it may be moved until (zero: a fixed place).
// A message holds at most one, beside its text (the caption); a move of a
// live one is a revision of it (an edit's row carrying the new place).
type Location struct {
	Lat, Lng  float64
	Name      string
	LiveUntil time.Time
}

// locationFixed is the coordinates' share of an encoded Location.
const locationFixed = 16

// EncodeLocation is l as the stores keep it: both coordinates as IEEE 754
// bits, big endian; the name's length (uvarint) and the name; and for a
// live share its end in Unix ms (uvarint); nil for none.
func EncodeLocation(l *Location) []byte {
	if l == nil {
		return nil
	}
	b := make([]byte, locationFixed, locationFixed+2*binary.MaxVarintLen64+len(l.Name))
	binary.BigEndian.PutUint64(b, math.Float64bits(l.Lat))
	binary.BigEndian.PutUint64(b[8:], math.Float64bits(l.Lng))
	b = binary.AppendUvarint(b, uint64(len(l.Name)))
	b = append(b, l.Name...)
	if !l.LiveUntil.IsZero() {
		b = binary.AppendUvarint(b, uint64(max(l.LiveUntil.UnixMilli(), 1)))
	}
	return b
}

// DecodeLocation reads what EncodeLocation wrote; empty is none (nil).
func DecodeLocation(b []byte) (*Location, error) {
	switch {
	case len(b) == 0:
		return nil, nil
	case len(b) < locationFixed:
		return nil, errors.New("a location of fewer than 16 bytes")
	}
	l := &Location{
		Lat: math.Float64frombits(binary.BigEndian.Uint64(b)),
		Lng: math.Float64frombits(binary.BigEndian.Uint64(b[8:])),
	}
	rest := b[locationFixed:]
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)-k) {
		return nil, errors.New("a location's name runs past its end")
	}
	l.Name, rest = string(rest[k:k+int(n)]), rest[k+int(n):]
	if len(rest) > 0 {
		ms, k := binary.Uvarint(rest)
		if k <= 0 || k != len(rest) || ms > math.MaxInt64 {
			return nil, errors.New("a location's end is malformed")
		}
		l.LiveUntil = time.UnixMilli(int64(ms))
	}
	return l, nil
}
