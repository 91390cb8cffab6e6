package pipeline

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/redact"
)

func TestProxyBuildArgs(t *testing.T) {
	env := map[string]string{"HTTP_PROXY": "http://env:3128", "no_proxy": "localhost", "HOME": "/root", "https_proxy": "http://envs:3128"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		p    config.Proxy
		want map[string]string
	}{
		{"env only", config.Proxy{FromEnv: true}, map[string]string{"HTTP_PROXY": "http://env:3128", "no_proxy": "localhost", "https_proxy": "http://envs:3128"}},
		{"env off", config.Proxy{FromEnv: false}, map[string]string{}},
		{"config wins, both cases", config.Proxy{FromEnv: true, HTTP: "http://cfg:8080", NoProxy: ".corp"}, map[string]string{
			"HTTP_PROXY": "http://cfg:8080", "http_proxy": "http://cfg:8080", "NO_PROXY": ".corp", "no_proxy": ".corp", "https_proxy": "http://envs:3128"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProxyBuildArgs(tc.p, getenv); !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMergeBuildArgsRegistersSecrets(t *testing.T) {
	r := redact.New()
	got := MergeBuildArgs(
		map[string]string{"HTTP_PROXY": "http://bob:pw1234@proxy:3128", "NO_PROXY": "localhost"},
		map[string]string{"NPM_TOKEN": "npm_abcdef", "VERSION": "1.2.3", "NO_PROXY": "user-wins"},
		r)
	want := map[string]string{"HTTP_PROXY": "http://bob:pw1234@proxy:3128", "NO_PROXY": "user-wins", "NPM_TOKEN": "npm_abcdef", "VERSION": "1.2.3"}
	if !maps.Equal(got, want) {
		t.Errorf("merged = %v", got)
	}
	line := r.String("HTTP_PROXY=http://bob:pw1234@proxy:3128 NPM_TOKEN=npm_abcdef VERSION=1.2.3")
	if strings.Contains(line, "pw1234") || strings.Contains(line, "npm_abcdef") || !strings.Contains(line, "VERSION=1.2.3") {
		t.Errorf("redacted = %q", line)
	}
	if pv := proxyValues(got); !slices.Equal(pv, []string{"http://bob:pw1234@proxy:3128", "user-wins"}) {
		t.Errorf("proxyValues = %q", pv)
	}
}
