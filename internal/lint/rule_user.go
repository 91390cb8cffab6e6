package lint

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// isRootUser reports whether a USER value runs as uid 0: root or 0, with or
// without a group.
func isRootUser(u string) bool {
	user, _, _ := strings.Cut(strings.TrimSpace(u), ":")
	return user == "root" || user == "0"
}

// lastUser finds the USER in effect at the end of s: its own last USER, or
// the last one of the earlier stages it builds on.
func lastUser(s *stage) (command, bool) {
	chain := s.chain()
	for i := len(chain) - 1; i >= 0; i-- {
		cmds := chain[i].cmds
		for j := len(cmds) - 1; j >= 0; j-- {
			if _, ok := cmds[j].cmd.(*instructions.UserCommand); ok {
				return cmds[j], true
			}
		}
	}
	return command{}, false
}

// checkRootUser is XB006: the final stage runs as root, either by an explicit
// USER root/0, or because no USER is set. A USER set inside a registry base
// image is invisible here, so the message says what is known: scratch has
// no user at all (uid 0), an image's default user is root for most images.
// Images whose reference says nonroot (distroless :nonroot) are trusted.
func checkRootUser(df *dockerfile, buildArgs map[string]string) []Finding {
	final := df.final()
	if final == nil {
		return nil
	}
	if c, ok := lastUser(final); ok {
		u := c.cmd.(*instructions.UserCommand).User
		if !isRootUser(u) {
			return nil
		}
		return []Finding{newFinding(df.file, "XB006", c.line(), fmt.Sprintf(
			"the final stage's last USER is %s: the container runs as root", u))}
	}
	root := final.root()
	base, known := df.expand(root.base, df.globalArgs(buildArgs))
	where := "the final stage"
	if root != final {
		where = fmt.Sprintf("the final stage (built on stage %s)", root.label())
	}
	var msg string
	switch {
	case known && strings.EqualFold(base, "scratch"):
		msg = where + " is FROM scratch and sets no USER: the container runs as uid 0 (root), since scratch defines no user"
	case known && strings.Contains(strings.ToLower(base), "nonroot"):
		return nil
	case known:
		msg = fmt.Sprintf("%s sets no USER, so it runs as the default user of %s: root for most images (a USER set inside the base image is not visible in the Dockerfile)", where, base)
	default:
		msg = where + " sets no USER, so it runs as its base image's default user: root for most images"
	}
	return []Finding{newFinding(df.file, "XB006", final.line, msg)}
}
