//go:build unix

package nodes

import (
	"errors"
	"os"
	"syscall"
)

// holdFile creates path (0600, it must not exist) with data and keeps it
// locked until release, which removes it.
func holdFile(path string, data []byte) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flockNB(f, syscall.LOCK_EX); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return func() {
		_ = os.Remove(path)
		_ = f.Close()
	}, nil
}

// fileHeld reports whether some open file holds a lock on path: a live
// claim. It takes no lock it keeps.
func fileHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = flockNB(f, syscall.LOCK_SH)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, nil
}

// flockNB takes a non-blocking flock of kind how on f, trying again (a
// bounded number of times) when a signal interrupts the call: an
// interrupted check must not read as "no one holds this claim".
func flockNB(f *os.File, how int) error {
	var err error
	for range 100 {
		if err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
	return err
}
