package certfile

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/transport"
)

func writePair(t *testing.T, dir, host string) []byte {
	t.Helper()
	cert, key, err := transport.SelfSignedCert(host)
	if err != nil {
		t.Fatal(err)
	}
	// Replaced as a renewal job does: new files renamed over the old.
	for name, b := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
		tmp := filepath.Join(dir, name+".new")
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return cert
}

func served(t *testing.T, r *Reloader) []byte {
	t.Helper()
	c, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Certificate[0]
}

// leafOf is the DER of a PEM certificate: what a handshake presents.
func leafOf(t *testing.T, certPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// TestReload: the pair is served until its files change and the interval
// passed; a renewed pair is then served; one that does not load is
// counted and logged, and the previous stays until the files change again.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	first := writePair(t, dir, "a.example")
	now := time.Now()
	r, err := New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), time.Minute, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	if !bytes.Equal(served(t, r), leafOf(t, first)) {
		t.Fatal("the first pair is not served")
	}
	exp, _ := promtest.FindSeries(t, "switchboard_tls_certificate_expiry_timestamp_seconds", nil)
	if want := float64(r.Current().Leaf.NotAfter.Unix()); exp != want {
		t.Fatalf("expiry gauge %v, want %v", exp, want)
	}

	second := writePair(t, dir, "b.example")
	if !bytes.Equal(served(t, r), leafOf(t, first)) {
		t.Fatal("a changed pair was served before the interval passed")
	}
	now = now.Add(time.Minute)
	if !bytes.Equal(served(t, r), leafOf(t, second)) {
		t.Fatal("the renewed pair is not served once the interval passed")
	}

	okBefore := promtest.Value(t, "switchboard_tls_certificate_reloads_total", "result", "ok")
	errBefore := promtest.Value(t, "switchboard_tls_certificate_reloads_total", "result", "error")
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if !bytes.Equal(served(t, r), leafOf(t, second)) {
		t.Fatal("a pair that does not load replaced the served one")
	}
	if got := promtest.Value(t, "switchboard_tls_certificate_reloads_total", "result", "error"); got != errBefore+1 {
		t.Fatalf("reload errors %v, want %v", got, errBefore+1)
	}
	third := writePair(t, dir, "c.example")
	now = now.Add(time.Minute)
	if !bytes.Equal(served(t, r), leafOf(t, third)) {
		t.Fatal("the repaired pair is not served")
	}
	if got := promtest.Value(t, "switchboard_tls_certificate_reloads_total", "result", "ok"); got != okBefore+1 {
		t.Fatalf("reloads %v, want %v", got, okBefore+1)
	}
}

// TestNewRefusesABadPair: a node does not start on a pair that does not
// load, nor on a missing file.
func TestNewRefusesABadPair(t *testing.T) {
	dir := t.TempDir()
	writePair(t, dir, "a.example")
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), time.Minute, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a bad key loaded")
	}
	if _, err := New(filepath.Join(dir, "missing.crt"), filepath.Join(dir, "tls.key"), time.Minute, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a missing certificate loaded")
	}
}

// TestNoReload: with an interval of 0 the files are never looked at again.
func TestNoReload(t *testing.T) {
	dir := t.TempDir()
	first := writePair(t, dir, "a.example")
	now := time.Now()
	r, err := New(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	writePair(t, dir, "b.example")
	now = now.Add(24 * time.Hour)
	if !bytes.Equal(served(t, r), leafOf(t, first)) {
		t.Fatal("a changed pair was served with reloading off")
	}
}
