//go:build !unix

// Package filelock takes whole-file locks (flock) with a bounded wait, for
// state files that several xbuild processes may change at once.
package filelock

import (
	"fmt"
	"runtime"
	"time"
)

// Lock is not implemented off unix: callers refuse to change shared state
// rather than risk losing updates to concurrent writers.
func Lock(path string, exclusive bool, timeout time.Duration, what string) (func(), error) {
	return nil, fmt.Errorf("%s needs file locking, which xbuild implements only on unix systems, not %s", what, runtime.GOOS)
}
