package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"testing"
	"time"
)

// TestHashedCert: an ECDSA P-256 certificate valid at most 14 days, its
// published hash that of the certificate served, and a new one (with a
// new hash) once within RotateBefore of expiry.
func TestHashedCert(t *testing.T) {
	if _, err := NewHashedCert(MaxHashedCertValidity+time.Second, 0); err == nil {
		t.Fatal("validity over 14 days accepted")
	}
	if _, err := NewHashedCert(time.Hour, time.Hour); err == nil {
		t.Fatal("rotate-before not shorter than the validity accepted")
	}
	h, err := NewHashedCert(MaxHashedCertValidity, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h.now = func() time.Time { return now }
	c, err := h.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := c.Leaf
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d > MaxHashedCertValidity {
		t.Fatalf("valid for %s", d)
	}
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Fatalf("key %T", leaf.PublicKey)
	}
	hash, notAfter, err := h.Hash()
	if err != nil || hash != sha256.Sum256(c.Certificate[0]) || !notAfter.Equal(leaf.NotAfter) {
		t.Fatalf("hash %x, not after %v: %v", hash, notAfter, err)
	}
	// Just before the rotation point: the same certificate.
	now = leaf.NotAfter.Add(-24*time.Hour - time.Second)
	if c2, _ := h.GetCertificate(nil); c2 != c {
		t.Fatal("rotated early")
	}
	// Past it: a new certificate and hash, valid from now.
	now = leaf.NotAfter.Add(-24*time.Hour + time.Second)
	c3, err := h.GetCertificate(nil)
	if err != nil || c3 == c {
		t.Fatalf("not rotated: %v", err)
	}
	hash3, _, _ := h.Hash()
	if hash3 == hash || hash3 != sha256.Sum256(c3.Certificate[0]) {
		t.Fatal("hash not that of the new certificate")
	}
	if !c3.Leaf.NotBefore.Before(now) || c3.Leaf.NotAfter.Sub(c3.Leaf.NotBefore) > MaxHashedCertValidity {
		t.Fatalf("new certificate %v – %v", c3.Leaf.NotBefore, c3.Leaf.NotAfter)
	}
}
