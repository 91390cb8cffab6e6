//go:build !unix

package nodes

import (
	"fmt"
	"runtime"
	"time"
)

// flock is not implemented off unix: the registry refuses to open rather
// than risk losing nodes to concurrent writers.
func flock(path string, exclusive bool, timeout time.Duration) (func(), error) {
	return nil, fmt.Errorf("the node registry needs file locking, which xbuild implements only on unix systems, not %s", runtime.GOOS)
}

func ensurePrivateDir(dir string) (string, error) {
	return "", fmt.Errorf("the node registry is supported only on unix systems, not %s", runtime.GOOS)
}
