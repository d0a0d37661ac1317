// Package certfile serves a TLS certificate from files that are replaced
// while the node runs (cert-manager, a renewal job): the files are looked
// at again at most once an interval, from the handshakes themselves, so
// a renewed certificate is served from the next handshake after that,
// with no restart and no goroutine. A new pair that does not load (half
// written, a key that does not match) is logged and the old one stays.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	expiry = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_tls_certificate_expiry_timestamp_seconds",
		Help: "When the TLS certificate the node serves expires (Unix seconds).",
	})
	reloads = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_tls_certificate_reloads_total",
		Help: "Changed certificate files read again, by result (ok: served from then on; error: the old pair stays).",
	}, []string{"result"})
)

// Reloader holds the pair of certFile and keyFile.
type Reloader struct {
	certFile, keyFile string
	interval          time.Duration // 0: never looked at again
	log               *slog.Logger
	now               func() time.Time

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]stamp // what the files were when last loaded or tried
	checked time.Time
}

// stamp is what tells a file changed: its modification time and size
// (a Kubernetes secret's files change by a symlink swap, which stat
// follows).
type stamp struct {
	mod  time.Time
	size int64
}

// New loads the pair; the node does not start on one that does not load.
func New(certFile, keyFile string, interval time.Duration, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, interval: interval, log: log, now: time.Now}
	st, err := r.stamps()
	if err != nil {
		return nil, err
	}
	cert, err := load(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	r.serve(cert, st)
	return r, nil
}

// load reads a pair, with its leaf parsed (the expiry).
func load(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	return &cert, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); r.interval > 0 && now.Sub(r.checked) >= r.interval {
		r.checked = now
		r.reloadIfChanged()
	}
	return r.cert, nil
}

// Current is the certificate served now.
func (r *Reloader) Current() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cert
}

func (r *Reloader) reloadIfChanged() {
	st, err := r.stamps()
	if err != nil || st == r.stamp {
		return // a file missing for a moment (mid-replace): look again later
	}
	r.stamp = st // a pair that fails is tried again only once it changes again
	cert, err := load(r.certFile, r.keyFile)
	if err != nil {
		reloads.WithLabelValues("error").Inc()
		r.log.Error("TLS certificate files changed but do not load: serving the previous certificate", "cert", r.certFile, "key", r.keyFile, "err", err)
		return
	}
	reloads.WithLabelValues("ok").Inc()
	r.serve(cert, st)
	r.log.Info("TLS certificate reloaded", "cert", r.certFile, "expires", cert.Leaf.NotAfter)
}

func (r *Reloader) serve(cert *tls.Certificate, st [2]stamp) {
	r.cert, r.stamp = cert, st
	expiry.Set(float64(cert.Leaf.NotAfter.Unix()))
}

func (r *Reloader) stamps() ([2]stamp, error) {
	var st [2]stamp
	for i, path := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(path)
		if err != nil {
			return st, fmt.Errorf("TLS certificate: %w", err)
		}
		st[i] = stamp{mod: fi.ModTime(), size: fi.Size()}
	}
	return st, nil
}
