package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnauthorized is a registry refusing the credentials of CheckLogin.
var ErrUnauthorized = errors.New("the registry refused the username or password")

// CheckLogin checks user and password against the registry host
// (host[:port]) the way `docker login` does before it saves them: the
// registry's challenge (GET /v2/), a token exchange for registries that
// hand out tokens, then GET /v2/ with the credentials, which must answer
// 200. A refusal wraps ErrUnauthorized. Registries that need no login
// accept any credentials, as they do for docker. No error holds the
// password.
func (c *Client) CheckLogin(ctx context.Context, host, user, password string) error {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return fmt.Errorf("%q is not a registry host (HOST[:PORT]): %w", host, err)
	}
	base := c.Transport
	if base == nil {
		base = remote.DefaultTransport
	}
	tr := &RetryTransport{Base: base, Notify: c.Notify, Attempts: c.Attempts, Sleep: c.Sleep}
	auth := &authn.Basic{Username: user, Password: password}
	// the challenge, and for token registries the token exchange, which
	// checks the credentials; a basic-auth registry is checked below
	rt, err := transport.NewWithContext(ctx, reg, auth, tr, nil)
	if err != nil {
		if isUnauthorized(err) {
			return fmt.Errorf("logging in to %s as %s: %w", host, user, ErrUnauthorized)
		}
		return fmt.Errorf("logging in to %s: %w", host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("logging in to %s: %w", host, err)
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 4096)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("logging in to %s as %s: %w", host, user, ErrUnauthorized)
	}
	return fmt.Errorf("logging in to %s: GET /v2/ answered %s", host, resp.Status)
}

func isUnauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden)
}
