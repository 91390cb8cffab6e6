package config

import (
	"path/filepath"
	"strings"
)

// contextArgSource is what Source names for values the positional CONTEXT set.
const contextArgSource = "the CONTEXT argument"

// resolveFilePaths makes paths written in the config file relative to the
// file's directory, as compose files do, so `xbuild build --config
// services/api/xbuild.yaml` works from anywhere. Paths from flags and the
// environment stay relative to the working directory.
func (l *Loaded) resolveFilePaths() {
	if l.File == "" {
		return
	}
	dir := filepath.Dir(l.File)
	if dir == "." {
		return
	}
	for key, p := range map[string]*string{"dockerfile": &l.Dockerfile, "context": &l.Context, "metadata-file": &l.MetadataFile, "digest-file": &l.DigestFile} {
		if *p != "" && !filepath.IsAbs(*p) && l.Source(key) == l.File {
			*p = filepath.Join(dir, *p)
		}
	}
	if l.Sign.Key != "" && !filepath.IsAbs(l.Sign.Key) && l.Source("sign.key") == l.File {
		l.Sign.Key = filepath.Join(dir, l.Sign.Key)
	}
	if l.Source("secrets") == l.File {
		for i, e := range l.Secrets {
			l.Secrets[i] = secretRelativeTo(dir, e)
		}
	}
	if l.Source("ssh") == l.File {
		for i, e := range l.SSH {
			l.SSH[i] = sshRelativeTo(dir, e)
		}
	}
	// a bare name (hadolint) is looked up on PATH, not next to the file
	if h := l.Lint.Hadolint; strings.Contains(h, "/") && !filepath.IsAbs(h) && l.Source("lint.hadolint") == l.File {
		l.Lint.Hadolint = filepath.Join(dir, h)
	}
}

// applyContextArg makes a positional CONTEXT the build context, and the
// Dockerfile default relative to it, unless a flag, variable or the file
// named a Dockerfile.
func (l *Loaded) applyContextArg(arg *string) {
	if arg == nil {
		return
	}
	l.Context = *arg
	l.sources["context"] = contextArgSource
	if l.Source("dockerfile") == "default" {
		l.Dockerfile = filepath.Join(*arg, "Dockerfile")
		l.sources["dockerfile"] = contextArgSource
	}
}

// mergeBuildArgs layers --build-arg values over the build-args key. A bare
// NAME takes its value from the environment, as docker build does. A
// platform argument (TARGETARCH, ...) is refused here, naming the flag.
func (l *Loaded) mergeBuildArgs(flags []string, getenv func(string) string) error {
	if len(flags) == 0 {
		return nil
	}
	merged := map[string]string{}
	for k, v := range l.BuildArgs {
		merged[k] = v
	}
	for _, a := range flags {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			v = getenv(k)
		}
		if err := CheckBuildArgName(k); err != nil {
			return &FlagError{Flag: "build-arg", Err: err}
		}
		merged[k] = v
		if l.flagBuildArgs == nil {
			l.flagBuildArgs = map[string]string{}
		}
		l.flagBuildArgs[k] = v
	}
	// Source("build-args") keeps naming the file or variable: a flag's
	// entries were checked above, so Validate can only find fault with those.
	l.BuildArgs = merged
	return nil
}

// applyPushByDigest makes push-by-digest a push: the platforms are pushed,
// by digest only. push then names push-by-digest's source.
func (l *Loaded) applyPushByDigest() {
	if l.PushByDigest && !l.Push {
		l.Push = true
		l.sources["push"] = l.Source("push-by-digest")
	}
}

// secretRelativeTo makes the src= of a secrets entry written in the
// config file relative to the file's directory; an entry that does not
// parse is left for Validate.
func secretRelativeTo(dir, entry string) string {
	s, err := ParseSecret(entry)
	if err != nil || s.Src == "" || filepath.IsAbs(s.Src) {
		return entry
	}
	s.Src = filepath.Join(dir, s.Src)
	return s.String()
}

// sshRelativeTo is secretRelativeTo for the key and socket paths of an
// ssh entry.
func sshRelativeTo(dir, entry string) string {
	s, err := ParseSSH(entry)
	if err != nil || len(s.Paths) == 0 {
		return entry
	}
	for i, p := range s.Paths {
		if !filepath.IsAbs(p) {
			s.Paths[i] = filepath.Join(dir, p)
		}
	}
	return s.ID + "=" + strings.Join(s.Paths, ",")
}

// joinSplitSpecs puts back secrets and ssh entries that the comma split
// of a variable or a one-line file value took apart; flag values are
// whole already.
func (l *Loaded) joinSplitSpecs() {
	if !strings.HasPrefix(l.Source("secrets"), "--") {
		l.Secrets = joinSecretFragments(l.Secrets)
	}
	if !strings.HasPrefix(l.Source("ssh"), "--") {
		l.SSH = joinSSHFragments(l.SSH)
	}
}
