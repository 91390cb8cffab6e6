package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// DockerHubServer is the key docker stores Docker Hub credentials under,
// and DockerHubHost the registry host they are checked against.
const (
	DockerHubServer = "https://index.docker.io/v1/"
	DockerHubHost   = "index.docker.io"
)

// LoginServer returns, for the REGISTRY argument of login or logout, the
// key docker stores its credentials under and the registry host to check
// them against, as `docker login` does: no argument, docker.io or
// index.docker.io is Docker Hub; anything else is reduced to HOST[:PORT] (a scheme or a path
// is dropped).
func LoginServer(arg string) (key, host string, err error) {
	if arg == "" || arg == "docker.io" || arg == DockerHubHost {
		return DockerHubServer, DockerHubHost, nil
	}
	host = credentials.ConvertToHostname(arg)
	if host == "" || strings.ContainsAny(host, " \t") {
		return "", "", fmt.Errorf("%q is not a registry (HOST[:PORT], e.g. registry.example.com:5000)", arg)
	}
	return host, host, nil
}

// DockerConfigDir is the docker config directory: $DOCKER_CONFIG, else
// $HOME/.docker (what docker and buildx read).
func DockerConfigDir(getenv func(string) string) string {
	if d := getenv(config.EnvOverrideConfigDir); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// DockerLogin keeps registry credentials in a docker config directory the
// way `docker login` and `docker logout` do (docker/cli's config package):
// in the credential helper configured for the registry (credHelpers) or
// for all (credsStore), else base64 in config.json's auths. config.json
// is written whole through a temporary file and a rename, keeping every
// other entry; a config.json that does not parse is never overwritten.
type DockerLogin struct {
	// Dir is the docker config directory (see DockerConfigDir).
	Dir string
}

// Saved says where Save put the credentials.
type Saved struct {
	// File is the config.json written.
	File string
	// Helper is the credential helper that holds the password
	// (docker-credential-NAME); "" when config.json holds it.
	Helper string
}

// Save stores user and password for server (a key from LoginServer).
func (d DockerLogin) Save(server, user, password string) (Saved, error) {
	cfg, err := d.load()
	if err != nil {
		return Saved{}, err
	}
	out := Saved{File: cfg.Filename, Helper: helperFor(cfg, server)}
	ac := types.AuthConfig{Username: user, Password: password, ServerAddress: server}
	if out.Helper != "" {
		if err := credentials.NewNativeStore(cfg, out.Helper).Store(ac); err != nil {
			return out, fmt.Errorf("storing the credentials of %s with docker-credential-%s (configured in %s): %w", server, out.Helper, cfg.Filename, err)
		}
		return out, nil
	}
	// what docker's file store does, without its own warning on os.Stderr
	// (the command warns through its streams)
	cfg.GetAuthConfigs()[server] = ac
	if err := cfg.Save(); err != nil {
		return out, fmt.Errorf("writing %s: %w", cfg.Filename, err)
	}
	return out, nil
}

// Remove erases the credentials of server (a key from LoginServer) and of
// the other forms older docker versions stored it under (http://HOST,
// https://HOST). It returns the entries config.json held (a helper's
// entries are erased without being listed) and the helpers asked.
func (d DockerLogin) Remove(server string) (removed, helpers []string, err error) {
	cfg, err := d.load()
	if err != nil {
		return nil, nil, err
	}
	keys := []string{server}
	if server != DockerHubServer {
		keys = append(keys, "http://"+server, "https://"+server)
	}
	var errs []error
	for _, k := range keys {
		_, inFile := cfg.GetAuthConfigs()[k]
		h := helperFor(cfg, k)
		var store credentials.Store = credentials.NewFileStore(cfg)
		if h != "" {
			store = credentials.NewNativeStore(cfg, h)
			if !containsString(helpers, h) {
				helpers = append(helpers, h)
			}
		}
		if err := store.Erase(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
			continue
		}
		if inFile {
			removed = append(removed, k)
		}
	}
	if len(errs) == len(keys) {
		return removed, helpers, fmt.Errorf("erasing the credentials of %s: %w", server, errors.Join(errs...))
	}
	return removed, helpers, nil
}

// load reads DIR/config.json; a missing file is an empty config.
func (d DockerLogin) load() (*configfile.ConfigFile, error) {
	if d.Dir == "" {
		return nil, errors.New("internal error: no docker config directory")
	}
	cfg, err := config.Load(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: fix or move it first; it was not changed", err)
	}
	return cfg, nil
}

// helperFor is the credential helper configured for server: its own
// (credHelpers), else the default (credsStore).
func helperFor(cfg *configfile.ConfigFile, server string) string {
	if h, ok := cfg.CredentialHelpers[server]; ok && h != "" {
		return h
	}
	return cfg.CredentialsStore
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
