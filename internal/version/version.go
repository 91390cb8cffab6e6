// Package version reports xbuild's own version and the versions of the
// buildx and BuildKit libraries compiled into it.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is xbuild's version, set at link time by the Makefile and
// GoReleaser: -ldflags "-X github.com/xbuild-dev/xbuild/internal/version.Version=v1.2.3".
var Version = "dev"

// Commit is the git commit xbuild was built from, set the same way.
var Commit = ""

// Info is everything `xbuild version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	Go        string `json:"go"`
	Platform  string `json:"platform"`
	Buildx    string `json:"buildx"`
	BuildKit  string `json:"buildkit"`
	DockerCLI string `json:"dockerCli"`
}

// Get collects Info from link-time values and the module graph compiled into
// the binary, so the buildx and BuildKit versions can never drift from the code.
func Get() Info {
	info := Info{
		Version:  Version,
		Commit:   Commit,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.Buildx = depVersion(bi, "github.com/docker/buildx")
		info.BuildKit = depVersion(bi, "github.com/moby/buildkit")
		info.DockerCLI = depVersion(bi, "github.com/docker/cli")
		if info.Commit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					info.Commit = s.Value[:12]
				}
			}
		}
	}
	return info
}

func depVersion(bi *debug.BuildInfo, path string) string {
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}
