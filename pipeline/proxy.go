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
// proxy credentials, and the whole value of args named like secrets.
func MergeBuildArgs(proxy, user map[string]string, r *redact.Redactor) map[string]string {
	out := map[string]string{}
	for k, v := range proxy {
		out[k] = v
	}
	for k, v := range user {
		out[k] = v
	}
	for k, v := range out {
		r.AddURL(v)
		if looksSecret(k) {
			r.Add(v)
		}
	}
	return out
}

// looksSecret reports build-arg names whose values must never be printed.
func looksSecret(name string) bool {
	u := strings.ToUpper(name)
	for _, s := range []string{"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"} {
		if strings.Contains(u, s) {
			return true
		}
	}
	return false
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
