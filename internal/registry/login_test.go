package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// basicRegistry answers /v2/ as a registry:2 with htpasswd does: 401 with
// a Basic challenge unless the request carries user:password.
func basicRegistry(t *testing.T, user, password string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/v2/" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tokenRegistry hands out bearer tokens (as Docker Hub, GHCR, Harbor do)
// to user:password only, and answers /v2/ to that token only.
func tokenRegistry(t *testing.T, user, password string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"token":"tok-1"}`)
		case "/v2/":
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, srv.URL))
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestCheckLogin(t *testing.T) {
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(open.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	t.Cleanup(broken.Close)
	tests := []struct {
		name     string
		srv      *httptest.Server
		password string
		wantErr  string // "" for success
		unauth   bool
	}{
		{"basic auth, right password", basicRegistry(t, "ci", "s3cret-pw"), "s3cret-pw", "", false},
		{"basic auth, wrong password", basicRegistry(t, "ci", "s3cret-pw"), "wrong-pw", "as ci: the registry refused the username or password", true},
		{"token auth, right password", tokenRegistry(t, "ci", "s3cret-pw"), "s3cret-pw", "", false},
		{"token auth, wrong password", tokenRegistry(t, "ci", "s3cret-pw"), "wrong-pw", "as ci: the registry refused the username or password", true},
		{"no auth at all", open, "anything", "", false},
		{"not a registry", broken, "s3cret-pw", "GET {url}/v2/: unexpected status code 404 Not Found", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host := strings.TrimPrefix(tc.srv.URL, "http://")
			c := &Client{Attempts: 1}
			err := c.CheckLogin(context.Background(), host, "ci", tc.password)
			want := strings.ReplaceAll(tc.wantErr, "{url}", tc.srv.URL)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), "logging in to "+host) || !strings.HasSuffix(err.Error(), want)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrUnauthorized) != tc.unauth {
				t.Errorf("errors.Is(ErrUnauthorized) = %v", !tc.unauth)
			}
			if err != nil && strings.Contains(err.Error(), tc.password) {
				t.Errorf("the password is in the error: %v", err)
			}
		})
	}
}
