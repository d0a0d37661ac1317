package storage

import (
	"encoding/binary"
	"errors"
	"slices"
)

// A message's meta is the app's own data about it (an order's id, a
// listing's price, how the app should draw it): string keys and values
// the node keeps and hands out with the message, and never shows or reads.

// EncodeMeta is meta as the stores keep it: for each key in byte order
// its length (uvarint), the key, the value's length and the value; nil
// for none.
func EncodeMeta(meta map[string]string) []byte {
	if len(meta) == 0 {
		return nil
	}
	keys := make([]string, 0, len(meta))
	size := 0
	for k, v := range meta {
		keys = append(keys, k)
		size += len(k) + len(v) + 2*binary.MaxVarintLen32
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(meta[k])))
		b = append(b, meta[k]...)
	}
	return b
}

// DecodeMeta reads what EncodeMeta wrote; empty is none (nil).
func DecodeMeta(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	meta := map[string]string{}
	next := func() (string, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", errors.New("a message's meta runs past its end")
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, nil
	}
	for len(b) > 0 {
		k, err := next()
		if err != nil {
			return nil, err
		}
		v, err := next()
		if err != nil {
			return nil, err
		}
		meta[k] = v
	}
	return meta, nil
}
