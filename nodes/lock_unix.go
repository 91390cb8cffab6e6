//go:build unix

package nodes

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/xbuild-dev/xbuild/internal/filelock"
)

// flock takes a whole-file lock on path, shared or exclusive, waiting up
// to timeout (see filelock.Lock).
func flock(path string, exclusive bool, timeout time.Duration) (unlock func(), err error) {
	return filelock.Lock(path, exclusive, timeout, "the node registry")
}

// ensurePrivateDir creates dir 0700, or checks an existing one: it must be
// a directory owned by this user; group or other permissions are removed
// (the registry decides which machines receive source code and secrets).
// It returns a warning when it had to tighten the mode.
func ensurePrivateDir(dir string) (warning string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating the node registry directory: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory: point XBUILD_CONFIG_DIR elsewhere or remove the file", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return "", fmt.Errorf("%s belongs to another user (uid %d): the node registry must be private; set XBUILD_CONFIG_DIR to a directory of your own", dir, sys.Uid)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", fmt.Errorf("%s has mode %04o and cannot be made private: %w (run chmod 700 %s)", dir, perm, err, dir)
		}
		return fmt.Sprintf("%s had mode %04o; changed it to 0700 so other users cannot read or change the node registry", dir, perm), nil
	}
	return "", nil
}
