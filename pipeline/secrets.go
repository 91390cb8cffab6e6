package pipeline

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/engine"
	"github.com/xbuild-dev/xbuild/internal/redact"
)

// buildSecrets are the build's secrets and SSH forwards as buildx takes
// them, and the values read to mask them.
type buildSecrets struct {
	secrets []engine.Secret
	ssh     []engine.SSH
	// values are the secret values (files, variables, SSH keys): masked in
	// everything xbuild prints, looked for by verify in the pushed image.
	values []string
}

// readBuildSecrets resolves the secrets and ssh entries of c and reads
// every value, so that it can be masked before anything prints and looked
// for in the pushed image. Values are never put on an argument list:
// buildx reads them itself from the same files and variables. An entry
// with neither src= nor env= takes the variable named by its id when it
// is set, else the file (buildx's rule), made explicit here so the plan
// says which. A file that cannot be read, a variable that is not set, or
// --ssh default without an agent is an error naming the entry.
func readBuildSecrets(c config.Config, getenv func(string) string, readFile func(string) ([]byte, error)) (*buildSecrets, error) {
	out := &buildSecrets{}
	var errs []error
	for _, e := range c.Secrets {
		spec, err := config.ParseSecret(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("secrets: %w", err))
			continue
		}
		if spec.Src == "" && spec.Env == "" {
			if getenv(spec.ID) != "" {
				spec.Env = spec.ID
			} else {
				spec.Src = spec.ID
			}
		}
		switch {
		case spec.Env != "":
			v := getenv(spec.Env)
			if v == "" {
				errs = append(errs, fmt.Errorf("secret %s: the variable %s is not set (or empty); export it, or give the secret as id=%s,src=FILE", spec.ID, spec.Env, spec.ID))
				continue
			}
			out.values = append(out.values, v)
		default:
			b, err := readFile(spec.Src)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret %s: %w (check src= of --secret or secrets: in xbuild.yaml)", spec.ID, err))
				continue
			}
			if v := strings.TrimSpace(string(b)); v != "" {
				out.values = append(out.values, string(b))
				if v != string(b) {
					out.values = append(out.values, v) // a file's trailing newline is not part of what a tool prints
				}
				out.values = append(out.values, secretFileParts(v)...)
			}
		}
		out.secrets = append(out.secrets, engine.Secret{ID: spec.ID, Src: spec.Src, Env: spec.Env})
	}
	for _, e := range c.SSH {
		spec, err := config.ParseSSH(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("ssh: %w", err))
			continue
		}
		if len(spec.Paths) == 0 && getenv("SSH_AUTH_SOCK") == "" {
			errs = append(errs, fmt.Errorf("ssh %s: no agent to forward: SSH_AUTH_SOCK is not set; start ssh-agent and ssh-add the key, or name the key: --ssh %s=$HOME/.ssh/id_ed25519", spec.ID, spec.ID))
			continue
		}
		for _, p := range spec.Paths {
			st, err := os.Stat(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("ssh %s: %w", spec.ID, err))
				continue
			}
			if st.Mode().IsRegular() {
				// a private key: its content is a secret too
				if b, err := readFile(p); err == nil && len(b) > 0 {
					out.values = append(out.values, string(b))
				}
			}
		}
		out.ssh = append(out.ssh, engine.SSH{ID: spec.ID, Paths: spec.Paths})
	}
	return out, errors.Join(errs...)
}

// secretFileParts are the secrets inside a secret file that a tool may
// print on their own, besides the whole file and its lines (which the
// redactor masks): the password of each .netrc entry, and the value of
// every KEY=VALUE or KEY: VALUE line whose key names a secret (.npmrc's
// //registry/:_authToken=..., an .env file's API_TOKEN=...).
func secretFileParts(content string) []string {
	var out []string
	fields := strings.Fields(content)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "password" || fields[i] == "passwd" {
			out = append(out, fields[i+1])
		}
	}
	for _, line := range strings.Split(content, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if ok && v != "" && (redact.LooksSecret(k) || strings.Contains(strings.ToLower(k), "_auth")) {
			out = append(out, v)
		}
	}
	return out
}

// registerBuildSecrets reads the build's secrets, SSH keys and signing key
// password and registers them with the redactor before the first step:
// their values must not appear in anything xbuild prints.
func registerBuildSecrets(s *State) error {
	getenv := s.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	bs, err := readBuildSecrets(s.Config, getenv, os.ReadFile)
	if err != nil {
		return err
	}
	s.Secrets.Add(bs.values...)
	s.supply.secrets = bs
	if s.Config.Sign.Key != "" && s.Config.Push {
		if pw := getenv("COSIGN_PASSWORD"); pw != "" {
			s.Secrets.Add(pw)
			bs.values = append(bs.values, pw)
		}
		if b, err := os.ReadFile(s.Config.Sign.Key); err == nil {
			s.Secrets.Add(string(b))
		}
		// open the key now: a wrong password or path stops the build
		// before anything is built, not after the push
		signer, err := loadSigner(s.Config.Sign.Key, getenv)
		if err != nil {
			return err
		}
		s.supply.signer = signer
	}
	return nil
}

// secretLeakValues are what verify must not find in the pushed image
// besides the proxy values: the secrets' values and the values of build
// arguments named like secrets.
func secretLeakValues(bs *buildSecrets, args map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if len(v) >= 4 && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if bs != nil {
		for _, v := range bs.values {
			add(v)
		}
	}
	for _, k := range sortedArgNames(args) {
		if redact.LooksSecret(k) {
			add(args[k])
		}
	}
	return out
}
