// Package testenv holds the rules the tests share about what they need
// from the machine. Without a Cassandra, Kafka, a browser or root a test
// skips, except under CI=true, where a skip would hide that something
// went untested (.ci/run provides all of it). Ports for the nodes a test
// starts come from FreePort.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Missing skips the test because of what (it names what is missing and
// how to get it), or fails it under CI=true.
func Missing(tb testing.TB, what string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(what + " (CI=true: this test must run)")
	}
	tb.Skip(what)
}

// List returns the comma-separated list in the first of vars that is
// set (hosts, brokers); with none set, the test is Missing what.
func List(tb testing.TB, what string, vars ...string) []string {
	tb.Helper()
	for _, name := range vars {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return strings.Split(v, ",")
		}
	}
	Missing(tb, what)
	return nil
}

// Chromium returns the path of Debian's chromium; without it the test
// is Missing it.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(tb, "chromium not found: apt-get install -y chromium")
	return ""
}
