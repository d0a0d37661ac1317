package storage

import (
	"encoding/binary"
	"errors"
	"math"
)

// Location is a place a message shares (a meeting point, a shop, where the
// courier is): its coordinates in degrees (WGS 84) and an optional name.
// A message holds at most one, beside its text (the caption).
type Location struct {
	Lat, Lng float64
	Name     string
}

// locationFixed is the coordinates' share of an encoded Location.
const locationFixed = 16

// EncodeLocation is l as the stores keep it: both coordinates as IEEE 754
// bits, big endian, then the name; nil for none.
func EncodeLocation(l *Location) []byte {
	if l == nil {
		return nil
	}
	b := make([]byte, locationFixed, locationFixed+len(l.Name))
	binary.BigEndian.PutUint64(b, math.Float64bits(l.Lat))
	binary.BigEndian.PutUint64(b[8:], math.Float64bits(l.Lng))
	return append(b, l.Name...)
}

// DecodeLocation reads what EncodeLocation wrote; empty is none (nil).
func DecodeLocation(b []byte) (*Location, error) {
	switch {
	case len(b) == 0:
		return nil, nil
	case len(b) < locationFixed:
		return nil, errors.New("a location of fewer than 16 bytes")
	}
	return &Location{
		Lat:  math.Float64frombits(binary.BigEndian.Uint64(b)),
		Lng:  math.Float64frombits(binary.BigEndian.Uint64(b[8:])),
		Name: string(b[locationFixed:]),
	}, nil
}
