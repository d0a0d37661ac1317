package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// MaxHashedCertValidity is the longest validity a certificate may have for
// a browser to trust it by hash (WebTransport serverCertificateHashes).
const MaxHashedCertValidity = 14 * 24 * time.Hour

// HashedCert is a self-signed ECDSA P-256 certificate that browsers trust
// by its SHA-256 hash instead of a CA (dev nodes). It is valid for
// Validity (at most 14 days, as browsers require) and replaced by a new one
// RotateBefore its expiry. Clients fetch the hash before each connect
// (the TypeScript SDK does), so a rotation costs nobody a connection.
type HashedCert struct {
	Validity     time.Duration // default 13 days
	RotateBefore time.Duration // default 2 days
	Hosts        []string      // besides localhost and the loopback addresses
	now          func() time.Time

	mu       sync.Mutex
	cur      *tls.Certificate
	curHash  [32]byte
	notAfter time.Time
}

// NewHashedCert makes the first certificate.
func NewHashedCert(validity, rotateBefore time.Duration, hosts ...string) (*HashedCert, error) {
	if validity <= 0 {
		validity = 13 * 24 * time.Hour
	}
	if rotateBefore <= 0 {
		rotateBefore = 2 * 24 * time.Hour
	}
	if validity > MaxHashedCertValidity {
		return nil, fmt.Errorf("web: certificate validity %s over the %s browsers accept", validity, MaxHashedCertValidity)
	}
	if rotateBefore >= validity {
		return nil, errors.New("web: rotate-before must be shorter than the validity")
	}
	h := &HashedCert{Validity: validity, RotateBefore: rotateBefore, Hosts: hosts, now: time.Now}
	if err := h.rotate(); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *HashedCert) rotate() error {
	now := h.now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	// NotBefore a minute back covers small clock differences; the whole
	// span stays within Validity.
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "switchboard dev webtransport"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(-time.Minute).Add(h.Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, host := range h.Hosts {
		if ip := net.ParseIP(host); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if host != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	h.curHash = sha256.Sum256(der)
	h.notAfter = leaf.NotAfter
	return nil
}

// maybeRotate replaces the certificate once it is within RotateBefore of
// its expiry.
func (h *HashedCert) maybeRotate() error {
	h.mu.Lock()
	due := h.now().After(h.notAfter.Add(-h.RotateBefore))
	h.mu.Unlock()
	if !due {
		return nil
	}
	return h.rotate()
}

// GetCertificate is tls.Config.GetCertificate: the current certificate,
// rotated first when due.
func (h *HashedCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if err := h.maybeRotate(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur, nil
}

// Hash is the SHA-256 hash of the current certificate's DER bytes, and
// when that certificate expires.
func (h *HashedCert) Hash() (hash [32]byte, notAfter time.Time, err error) {
	if err := h.maybeRotate(); err != nil {
		return hash, time.Time{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.curHash, h.notAfter, nil
}
