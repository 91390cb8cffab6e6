// Package gitinfo reads what a build records about its source from the git
// checkout it is built from: the commit, its time, the tag on it and where
// the repository lives (org.opencontainers.image.* labels, and
// SOURCE_DATE_EPOCH for reproducible images).
package gitinfo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Info is the checkout's HEAD.
type Info struct {
	// Commit is HEAD's full object name.
	Commit string
	// Time is HEAD's committer time: the same for every checkout of the
	// commit, so an image's dates taken from it are reproducible.
	Time time.Time
	// Source is the origin remote as a browsable URL, credentials removed
	// ("" without an origin remote).
	Source string
	// Tag is a tag pointing at HEAD (the highest version when there are
	// several); "" when none does.
	Tag string
	// Dirty is true when tracked files differ from HEAD.
	Dirty bool
}

// Runner runs git with args in dir and returns its standard output.
type Runner func(ctx context.Context, dir string, args ...string) (string, error)

// ErrNotGit is returned by Read when dir is not inside a git checkout (or
// git is not installed).
var ErrNotGit = errors.New("not a git checkout")

// Read describes the checkout dir belongs to, running git through run
// (nil: the git on PATH). A dir outside any checkout is ErrNotGit.
func Read(ctx context.Context, dir string, run Runner) (*Info, error) {
	if run == nil {
		run = execGit
	}
	top, err := run(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil || strings.TrimSpace(top) != "true" {
		return nil, ErrNotGit
	}
	out, err := run(ctx, dir, "log", "-1", "--format=%H %ct")
	if err != nil {
		return nil, fmt.Errorf("reading the last commit of the git checkout at %s: %w", dir, err)
	}
	fields := strings.Fields(out)
	if len(fields) != 2 {
		return nil, fmt.Errorf("reading the last commit of the git checkout at %s: it has no commit yet", dir)
	}
	secs, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("reading the last commit of the git checkout at %s: commit time %q: %w", dir, fields[1], err)
	}
	info := &Info{Commit: fields[0], Time: time.Unix(secs, 0).UTC()}
	if remote, err := run(ctx, dir, "remote", "get-url", "origin"); err == nil {
		info.Source = SourceURL(strings.TrimSpace(remote))
	}
	if tags, err := run(ctx, dir, "tag", "--points-at", "HEAD", "--sort=-v:refname"); err == nil {
		if list := strings.Fields(tags); len(list) > 0 {
			info.Tag = list[0]
		}
	}
	if st, err := run(ctx, dir, "status", "--porcelain", "--untracked-files=no"); err == nil {
		info.Dirty = strings.TrimSpace(st) != ""
	}
	return info, nil
}

// execGit runs the git on PATH.
func execGit(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(string(ee.Stderr)))
		}
		return "", err
	}
	return string(out), nil
}

var scpLike = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):([^/].*)$`)

// SourceURL turns a git remote into the https URL of the repository, the
// form org.opencontainers.image.source takes: credentials are removed
// (CI checkouts put tokens in the remote: https://oauth2:TOKEN@host/...),
// scp-like and ssh remotes become https, a trailing .git goes. A local
// path or a remote that is not a URL gives "".
func SourceURL(remote string) string {
	if remote == "" {
		return ""
	}
	if !strings.Contains(remote, "://") {
		m := scpLike.FindStringSubmatch(remote)
		if m == nil {
			return ""
		}
		return "https://" + m[1] + "/" + strings.TrimSuffix(strings.TrimPrefix(m[2], "/"), ".git")
	}
	u, err := url.Parse(remote)
	if err != nil || u.Host == "" {
		return ""
	}
	switch u.Scheme {
	case "http", "https", "ssh", "git", "git+ssh", "ssh+git":
	default:
		return ""
	}
	host := u.Hostname()
	if u.Scheme == "http" || u.Scheme == "https" {
		host = u.Host // a port of a web URL is part of it; an ssh port is not
	}
	scheme := "https"
	if u.Scheme == "http" {
		scheme = "http"
	}
	p := strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), ".git")
	return scheme + "://" + host + "/" + p
}
