package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/redact"
	"github.com/xbuild-dev/xbuild/internal/registry"
)

type loginOptions struct {
	username      string
	password      string
	passwordStdin bool
	// set records which flags were given (docker's checks depend on it).
	userSet, passwordSet bool
}

// NewLoginCmd builds `xbuild login`.
func NewLoginCmd(f *Factory) *cobra.Command {
	opts := &loginOptions{}
	c := &cobra.Command{
		Use:   "login [REGISTRY] -u USER --password-stdin",
		Short: "Log in to a registry: check the credentials, then save them in the docker config",
		Long: `Log in to a registry the way docker login does, without the docker CLI:
the username and password are checked against the registry (its challenge,
a token exchange where it uses tokens, then GET /v2/), and only then saved
in the docker config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json),
which xbuild, buildx and docker all read:

  - in the credential helper configured for the registry (credHelpers) or
    for all registries (credsStore), as docker-credential-NAME;
  - else base64-encoded in config.json's auths (a warning says so).

config.json is rewritten whole through a temporary file and a rename,
keeping its other entries; one that does not parse is left untouched.
REGISTRY is HOST[:PORT] (a scheme or path is dropped); without it, or with
docker.io, Docker Hub. The password is never printed: read it from stdin
(--password-stdin); -p works too, with a warning, as in docker.`,
		Example: `  # in CI: the token from a secret, on stdin
  echo "$REGISTRY_TOKEN" | xbuild login registry.example.com -u ci-bot --password-stdin

  # GitHub Container Registry in a workflow
  echo "$GITHUB_TOKEN" | xbuild login ghcr.io -u "$GITHUB_ACTOR" --password-stdin`,
		GroupID: "setup",
		Args:    rangeArgs(0, 1, "at most one REGISTRY"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.userSet, opts.passwordSet = c.Flags().Changed("username"), c.Flags().Changed("password")
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			return runLogin(c.Context(), f, opts, server)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.username, "username", "u", "", "username")
	fl.StringVarP(&opts.password, "password", "p", "", `password or token (insecure: it shows in the process list and shell history; "-" reads stdin)`)
	fl.BoolVar(&opts.passwordStdin, "password-stdin", false, "read the password or token from stdin")
	return c
}

// loginPassword checks the flags as docker login does and returns the
// password, from the flag or stdin.
func loginPassword(opts *loginOptions, in io.Reader, warn func(string, ...any)) (string, error) {
	stdin := opts.passwordStdin || opts.password == "-"
	if stdin && opts.passwordSet && opts.password != "-" {
		return "", usageErrorf("--password and --password-stdin do not go together")
	}
	if opts.userSet && opts.username == "" {
		return "", usageErrorf("--username is empty")
	}
	if opts.username == "" {
		return "", usageErrorf("no username: pass -u USER (xbuild does not prompt)")
	}
	if !stdin {
		if !opts.passwordSet {
			return "", usageErrorf(`no password: pass it on stdin with --password-stdin (echo "$TOKEN" | xbuild login REGISTRY -u USER --password-stdin)`)
		}
		if opts.password == "" {
			return "", usageErrorf("--password is empty")
		}
		warn("using --password on the command line is insecure (process list, shell history); use --password-stdin")
		return opts.password, nil
	}
	if in == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	b, err := io.ReadAll(io.LimitReader(in, 1<<20))
	if err != nil {
		return "", fmt.Errorf("--password-stdin: reading stdin: %w", err)
	}
	// one trailing line end goes (echo adds it); anything else is the password
	for _, eol := range []string{"\r\n", "\n", "\r"} {
		var ok bool
		if b, ok = bytes.CutSuffix(b, []byte(eol)); ok {
			break
		}
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usageErrorf("--password-stdin: the password on stdin is empty")
	}
	return string(b), nil
}

func runLogin(ctx context.Context, f *Factory, opts *loginOptions, arg string) error {
	server, host, err := engine.LoginServer(arg)
	if err != nil {
		return &UsageError{Err: err}
	}
	password, err := loginPassword(opts, f.IO.In, f.IO.Warnf)
	if err != nil {
		return err
	}
	secrets := redact.New()
	secrets.Add(password)
	masked := func(err error) error { return errors.New(secrets.String(err.Error())) }

	reg := &registry.Client{Notify: func(msg string) { f.IO.Warnf("%s", secrets.String(msg)) }}
	if err := reg.CheckLogin(ctx, host, opts.username, password); err != nil {
		if errors.Is(err, registry.ErrUnauthorized) {
			return fmt.Errorf("%s; nothing was saved", secrets.String(err.Error()))
		}
		return fmt.Errorf("%s; nothing was saved (is %s a registry, reachable from here, and its CA trusted? SSL_CERT_FILE adds one)", secrets.String(err.Error()), host)
	}
	saved, err := engine.DockerLogin{Dir: engine.DockerConfigDir(f.Getenv)}.Save(server, opts.username, password)
	if err != nil {
		return masked(err)
	}
	if saved.Helper != "" {
		f.IO.Infof("Credentials for %s saved with docker-credential-%s (configured in %s)", server, saved.Helper, saved.File)
	} else {
		f.IO.Warnf("the password for %s is stored unencrypted (base64) in %s; configure a credential helper (credsStore) to avoid it", server, saved.File)
	}
	fmt.Fprintln(f.IO.Out, "Login Succeeded")
	return nil
}
