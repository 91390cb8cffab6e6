//go:build unix

package nodes

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// flock takes a whole-file lock on path (created 0600 if missing), shared
// or exclusive, waiting up to timeout for another process to release it.
// flock locks belong to the open file, so two Store values in one process
// exclude each other just like two processes do.
func flock(path string, exclusive bool, timeout time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	fd := int(f.Fd())
	err = flockRetry(fd, how|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		// Held by someone else: wait in a blocking flock, which wakes as
		// soon as the holder is done, but give up after timeout. A flock
		// cannot be interrupted, so an abandoned waiter releases the lock
		// and closes the file when it finally gets it.
		done := make(chan error, 1)
		go func() { done <- flockRetry(fd, how) }()
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case err = <-done:
		case <-timer.C:
			go func() {
				if <-done == nil {
					_ = syscall.Flock(fd, syscall.LOCK_UN)
				}
				_ = f.Close()
			}()
			return nil, fmt.Errorf("the node registry is locked by another xbuild process (%s) and stayed locked for %s: retry when it has finished", path, timeout)
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(fd, syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// flockRetry is flock(2), retried when a signal interrupts it.
func flockRetry(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
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
