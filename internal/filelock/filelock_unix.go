//go:build unix

// Package filelock takes whole-file locks (flock) with a bounded wait, for
// state files that several xbuild processes may change at once.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Lock takes a lock on path (created 0600 if missing), shared or
// exclusive, waiting up to timeout for another process to release it; what
// names the locked thing in the error ("the node registry"). flock locks
// belong to the open file, so two holders in one process exclude each other
// just like two processes do.
func Lock(path string, exclusive bool, timeout time.Duration, what string) (unlock func(), err error) {
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
			return nil, fmt.Errorf("%s is locked by another xbuild process (%s) and stayed locked for %s: retry when it has finished", what, path, timeout)
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
