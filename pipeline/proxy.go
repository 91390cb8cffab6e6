package pipeline

import (
	"sort"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/redact"
)

// ProxyArgNames are BuildKit's predefined proxy build arguments: passed with
// --build-arg they reach RUN steps but stay out of the image config and
// history, unlike ENV.
var ProxyArgNames = []string{
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"NO_PROXY", "no_proxy", "FTP_PROXY", "ftp_proxy", "ALL_PROXY", "all_proxy",
}

// IsProxyArg reports whether a build-arg name is a proxy setting.
func IsProxyArg(name string) bool {
	for _, n := range ProxyArgNames {
		if n == name {
			return true
		}
	}
	return false
}

// ProxyBuildArgs returns the proxy build arguments: the environment's
// (when from-env is on), overridden by xbuild.yaml's proxy: values, which
// are set in both upper and lower case because tools disagree on which they
// read (curl: lower, Go: both).
func ProxyBuildArgs(p config.Proxy, getenv func(string) string) map[string]string {
	out := map[string]string{}
	if p.FromEnv {
		for _, n := range ProxyArgNames {
			if v := getenv(n); v != "" {
				out[n] = v
			}
		}
	}
	set := func(upper, v string) {
		if v != "" {
			out[upper] = v
			out[strings.ToLower(upper)] = v
		}
	}
	set("HTTP_PROXY", p.HTTP)
	set("HTTPS_PROXY", p.HTTPS)
	set("NO_PROXY", p.NoProxy)
	set("FTP_PROXY", p.FTP)
	set("ALL_PROXY", p.All)
	return out
}

// MergeBuildArgs layers user build args over proxy args (a user's explicit
// --build-arg HTTP_PROXY=... wins) and registers every secret value with r:
// proxy credentials, and the whole value of args named like secrets
// (redact.LooksSecret).
func MergeBuildArgs(proxy, user map[string]string, r *redact.Redactor) map[string]string {
	out := map[string]string{}
	for k, v := range proxy {
		out[k] = v
	}
	for k, v := range user {
		out[k] = v
	}
	r.AddBuildArgs(out)
	return out
}

// registerSecrets registers every secret the build's settings hold before
// the first step prints anything (lint's findings may quote a build
// argument).
func registerSecrets(s *State) error {
	if s.Secrets == nil {
		s.Secrets = redact.New()
	}
	addSecrets(s.Secrets, s.Config, s.Getenv)
	// a named context may be a URL with a token (https://TOKEN@host/repo.git)
	for _, c := range s.Options.Run.BuildContexts {
		if _, v, ok := strings.Cut(c, "="); ok {
			s.Secrets.AddURL(v)
		}
	}
	return registerBuildSecrets(s)
}

// SecretsOf is a redactor that knows every secret c holds: the proxy
// settings (from c and, with proxy.from-env, from getenv), build arguments
// that are or look secret, credentials in cache references.
func SecretsOf(c config.Config, getenv func(string) string) *redact.Redactor {
	r := redact.New()
	addSecrets(r, c, getenv)
	return r
}

func addSecrets(r *redact.Redactor, c config.Config, getenv func(string) string) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	r.AddBuildArgs(ProxyBuildArgs(c.Proxy, getenv))
	r.AddBuildArgs(c.BuildArgs)
	r.AddCache(c.CacheFrom...)
	r.AddCache(c.CacheTo...)
}

// proxyValues lists the distinct proxy values among args, for the verify
// step's leak check.
func proxyValues(args map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for k, v := range args {
		if IsProxyArg(k) && v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
