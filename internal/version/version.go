// Package version says which build of Switchboard is running: the
// version given at build time (-ldflags "-X …/internal/version.version=v1.4.0",
// as the Dockerfile does), else the module's, and the commit the Go
// toolchain stamped into the binary. Each node exports it as the
// switchboard_build_info metric and in its cluster member row, so a
// rolling upgrade shows which nodes run which build.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// version is set by the linker for release builds.
var version string

// Info is a build's identity.
type Info struct {
	Version   string `json:"version"`            // v1.4.0, or (devel) for a build of a checkout
	Revision  string `json:"revision,omitempty"` // the commit, when built from a git checkout
	Time      string `json:"time,omitempty"`     // the commit's time (RFC 3339)
	Modified  bool   `json:"modified,omitempty"` // built with uncommitted changes
	GoVersion string `json:"go_version"`
}

// Get reads the running binary's build information.
func Get() Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if info.Version == "" {
		info.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified, _ = strconv.ParseBool(s.Value)
		}
	}
	if info.Version == "" {
		info.Version = "(devel)"
	}
	return info
}

// Short is the version and, when known, the first 12 digits of the
// commit, "+dirty" for uncommitted changes: "(devel) 1a2b3c4d5e6f+dirty".
// A pseudo-version (v0.0.0-20261207140349-c80c59b4246f+dirty, the Go
// toolchain's for a checkout) names its commit already.
func (i Info) Short() string {
	rev := i.Revision[:min(12, len(i.Revision))]
	if rev == "" || strings.Contains(i.Version, rev) {
		return i.Version
	}
	s := i.Version + " " + rev
	if i.Modified {
		s += "+dirty"
	}
	return s
}

// String is the line `switchboard version` prints.
func (i Info) String() string {
	s := "switchboard " + i.Short()
	if i.Time != "" {
		s += fmt.Sprintf(", committed %s", i.Time)
	}
	return s + ", " + i.GoVersion
}

func init() {
	i := Get()
	promauto.NewGauge(prometheus.GaugeOpts{
		Name:        "switchboard_build_info",
		Help:        "1, labelled with the running build: its version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": i.Version, "revision": i.Revision, "goversion": i.GoVersion},
	}).Set(1)
}
