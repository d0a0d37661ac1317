package storage

import (
	"reflect"
	"testing"
	"time"
)

// A location reads back as written, live or fixed, named or not; bytes it
// cannot have written are an error, not a place.
func TestLocationEncoding(t *testing.T) {
	end := time.UnixMilli(1796600000123)
	for _, l := range []*Location{
		nil,
		{Lat: 52.520008, Lng: 13.404954, Name: "Café am Markt"},
		{Lat: -90, Lng: 180},
		{Lat: 1, Lng: 2, Name: "courier", LiveUntil: end},
		{LiveUntil: end},
	} {
		got, err := DecodeLocation(EncodeLocation(l))
		if err != nil || !reflect.DeepEqual(got, l) && !(got != nil && l != nil && got.LiveUntil.Equal(l.LiveUntil) && got.Name == l.Name && got.Lat == l.Lat && got.Lng == l.Lng) {
			t.Fatalf("%+v read back as %+v (%v)", l, got, err)
		}
	}
	good := EncodeLocation(&Location{Lat: 1, Lng: 2, Name: "x", LiveUntil: end})
	for what, b := range map[string][]byte{
		"short":           good[:15],
		"a name too long": append(append([]byte{}, good[:16]...), 9, 'x'),
		"a broken end":    append(append([]byte{}, good[:18]...), 0xff),
	} {
		if _, err := DecodeLocation(b); err == nil {
			t.Errorf("%s: decoded", what)
		}
	}
}
