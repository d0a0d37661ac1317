package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/internal/promtest"
)

// TestShort: the version, and the commit where the version does not name
// it already.
func TestShort(t *testing.T) {
	for _, tc := range []struct {
		info Info
		want string
	}{
		{Info{Version: "v1.4.0"}, "v1.4.0"},
		{Info{Version: "v1.4.0", Revision: "c80c59b4246f9048ba696271944512fb0898fa1e"}, "v1.4.0 c80c59b4246f"},
		{Info{Version: "(devel)", Revision: "c80c59b4246f9048ba696271944512fb0898fa1e", Modified: true}, "(devel) c80c59b4246f+dirty"},
		{Info{Version: "v0.0.0-20261207140349-c80c59b4246f+dirty", Revision: "c80c59b4246f9048ba696271944512fb0898fa1e", Modified: true},
			"v0.0.0-20261207140349-c80c59b4246f+dirty"},
	} {
		if got := tc.info.Short(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.info, got, tc.want)
		}
	}
}

// TestGet: a version given at link time wins; the Go version is the
// runtime's; the build_info metric carries them.
func TestGet(t *testing.T) {
	defer func(v string) { version = v }(version)
	version = "v9.9.9"
	i := Get()
	if i.Version != "v9.9.9" || i.GoVersion != runtime.Version() || !strings.HasPrefix(i.String(), "switchboard v9.9.9") {
		t.Fatalf("%+v: %s", i, i)
	}
	if v, ok := promtest.FindSeries(t, "switchboard_build_info", map[string]string{"goversion": runtime.Version()}); !ok || v != 1 {
		t.Fatalf("switchboard_build_info %v %v", v, ok)
	}
}
