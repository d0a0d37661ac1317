package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/transport"
)

// Dev mode keeps its credentials in <data-dir>/dev: cert.pem and key.pem
// (a self-signed certificate for localhost and the loopback addresses),
// secret (the HS256 token secret) and server.json (where the node listens).
// They survive restarts, so clients keep trusting the node and their
// tokens stay valid.

func devDir(dataDir string) string        { return filepath.Join(dataDir, "dev") }
func devCertPath(dataDir string) string   { return filepath.Join(devDir(dataDir), "cert.pem") }
func devKeyPath(dataDir string) string    { return filepath.Join(devDir(dataDir), "key.pem") }
func devSecretPath(dataDir string) string { return filepath.Join(devDir(dataDir), "secret") }
func devServerPath(dataDir string) string { return filepath.Join(devDir(dataDir), "server.json") }
func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// ensureDevCredentials creates what is missing of the dev credentials.
func ensureDevCredentials(dataDir string) error {
	if err := os.MkdirAll(devDir(dataDir), 0o700); err != nil {
		return fmt.Errorf("dev dir: %w", err)
	}
	haveCert, err := fileExists(devCertPath(dataDir))
	if err != nil {
		return err
	}
	if !haveCert {
		certPEM, keyPEM, err := transport.SelfSignedCert()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(devKeyPath(dataDir), keyPEM, 0o600); err != nil {
			return err
		}
		if err := writeFileAtomic(devCertPath(dataDir), certPEM, 0o644); err != nil {
			return err
		}
	}
	haveSecret, err := fileExists(devSecretPath(dataDir))
	if err != nil {
		return err
	}
	if !haveSecret {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		if err := writeFileAtomic(devSecretPath(dataDir), []byte(hex.EncodeToString(b[:])+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// resetKeyPath holds the QUIC stateless reset key: kept in the data dir so
// a restarted node resets its old connections at once.
func resetKeyPath(dataDir string) string { return filepath.Join(dataDir, "quic-reset.key") }

// loadResetKey reads the stateless reset key, creating it on first use.
func loadResetKey(dataDir string) (*quic.StatelessResetKey, error) {
	var key quic.StatelessResetKey
	b, err := os.ReadFile(resetKeyPath(dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := rand.Read(key[:]); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, err
		}
		return &key, writeFileAtomic(resetKeyPath(dataDir), []byte(hex.EncodeToString(key[:])+"\n"), 0o600)
	}
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil || len(raw) != len(key) {
		return nil, fmt.Errorf("%s: want %d hex-encoded bytes", resetKeyPath(dataDir), len(key))
	}
	copy(key[:], raw)
	return &key, nil
}

// readSecret reads a token secret file: its bytes, surrounding white space
// removed.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < transport.MinSecretBytes {
		return nil, fmt.Errorf("secret %s: %d bytes, need at least %d", path, len(b), transport.MinSecretBytes)
	}
	return b, nil
}

// devServerInfo is server.json: how local commands reach a dev node.
type devServerInfo struct {
	Addr  string `json:"addr"`
	Admin string `json:"admin"`
	CA    string `json:"ca"`
	Web   string `json:"web,omitempty"` // the browsers' HTTP address (serve --web)
}

func writeDevServerInfo(dataDir string, info devServerInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(devServerPath(dataDir), append(b, '\n'), 0o644)
}

// dialable is an address a local command dials to reach a listener bound
// to addr: a wildcard host (0.0.0.0, ::, none: every interface, as in a
// container) is reached on 127.0.0.1, the host the dev certificate names.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // "" (no such listener) stays
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

func readDevServerInfo(dataDir string) (devServerInfo, error) {
	var info devServerInfo
	b, err := os.ReadFile(devServerPath(dataDir))
	if err != nil {
		return info, fmt.Errorf("no dev node found in %s (start one with `switchboard serve --dev --data-dir %s`, or give --server): %w", dataDir, dataDir, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", devServerPath(dataDir), err)
	}
	return info, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a
// reader never sees half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
