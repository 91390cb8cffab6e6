package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

// CallMethods are the --call values: build builds; the others evaluate the
// Dockerfile without building.
var CallMethods = []string{"build", "check", "outline", "targets"}

// NetworkModes are the --network values BuildKit accepts for RUN steps
// (host also needs the daemon to allow the network.host entitlement).
var NetworkModes = []string{"default", "none", "host"}

// ulimitNames are the --ulimit types Docker and BuildKit know.
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

var (
	shmSizeRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?[bkmgBKMG]?[bB]?$`)
	ulimitRE   = regexp.MustCompile(`^(-1|[0-9]+)(:(-1|[0-9]+))?$`)
	ctxNameRE  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$`)
	hostNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$`)
)

// CheckRunOptions checks the run flags before anything runs, naming the
// flag and the value buildx would refuse (or, for an unknown --network,
// silently mis-read) later, on a node.
func CheckRunOptions(o engine.RunOptions) error {
	var errs []error
	bad := func(flag, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s %s", flag, fmt.Sprintf(format, a...)))
	}
	for _, c := range o.BuildContexts {
		name, val, ok := strings.Cut(c, "=")
		if !ok || name == "" || val == "" {
			bad("build-context", "%q: want NAME=VALUE (a directory, a URL, docker-image://REF, oci-layout://DIR or target:STAGE)", c)
			continue
		}
		if !ctxNameRE.MatchString(name) {
			bad("build-context", "%q: %q is not a usable context name", c, name)
		}
	}
	if o.Network != "" && !slices.Contains(NetworkModes, o.Network) {
		bad("network", "%q is not one of %s", o.Network, strings.Join(NetworkModes, ", "))
	}
	for _, h := range o.AddHosts {
		host, ip, ok := strings.Cut(h, "=") // as buildx reads it: "=" first, for IPv6 addresses
		if !ok {
			host, ip, ok = strings.Cut(h, ":")
		}
		if !ok || !hostNameRE.MatchString(host) || ip == "" {
			bad("add-host", "%q: want HOST:IP, e.g. db.internal:10.0.0.5", h)
		}
	}
	for _, f := range o.NoCacheFilter {
		if strings.TrimSpace(f) == "" {
			bad("no-cache-filter", "an empty stage name")
		}
	}
	if o.ShmSize != "" && !shmSizeRE.MatchString(o.ShmSize) {
		bad("shm-size", "%q: want a size such as 64m or 1g", o.ShmSize)
	}
	for _, u := range o.Ulimits {
		name, limits, ok := strings.Cut(u, "=")
		switch {
		case !ok || !ulimitRE.MatchString(limits):
			bad("ulimit", "%q: want TYPE=SOFT[:HARD], e.g. nofile=1024:2048", u)
		case !slices.Contains(ulimitNames, name):
			bad("ulimit", "%q: %q is not one of %s", u, name, strings.Join(ulimitNames, ", "))
		}
	}
	if o.Call != "" && !slices.Contains(CallMethods, o.Call) {
		bad("call", "%q is not one of %s", o.Call, strings.Join(CallMethods, ", "))
	}
	return errors.Join(errs...)
}
