package config

import (
	"errors"
	"path/filepath"
)

// StateDir returns the per-user directory holding the node registry:
// $XBUILD_CONFIG_DIR when set, else $XDG_CONFIG_HOME/xbuild, else
// ~/.config/xbuild. getenv is os.Getenv in production; tests pass a map.
func StateDir(getenv func(string) string) (string, error) {
	if d := getenv("XBUILD_CONFIG_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "xbuild"), nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "xbuild"), nil
	}
	return "", errors.New("cannot find a config directory: set XBUILD_CONFIG_DIR or HOME")
}
