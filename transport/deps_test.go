package transport_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoActorSystemDependency keeps the seam clean: the transport talks to
// the node through package session only, so nothing under transport/ may
// depend on protoactor-go, even indirectly.
func TestNoActorSystemDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/switchboard-im/switchboard/transport/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "asynkron/protoactor-go") {
			t.Fatalf("transport/ depends on %s", pkg)
		}
	}
	if !strings.Contains(string(out), "github.com/switchboard-im/switchboard/actors/session") {
		t.Fatalf("go list -deps lists no session package: the check looks at the wrong thing\n%s", out)
	}
}
