package pebblestore_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
	"github.com/switchboard-im/switchboard/storage/storagetest"
)

func openTemp(t *testing.T) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Run("pebble", func(t *testing.T) { storagetest.Run(t, openTemp) })
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(b *testing.B) storage.Store {
		s, err := pebblestore.Open(pebblestore.Config{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
