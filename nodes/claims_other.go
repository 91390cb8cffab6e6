//go:build !unix

package nodes

import (
	"fmt"
	"runtime"
)

// holdFile is not implemented off unix (the registry refuses to open there).
func holdFile(string, []byte) (func(), error) {
	return nil, fmt.Errorf("build claims need file locking, which xbuild implements only on unix systems, not %s", runtime.GOOS)
}

func fileHeld(string) (bool, error) { return false, nil }
