package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the xbuild command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"xbuild": main})
}

// TestScripts runs the CLI scripts in testdata/script against the real
// command tree, each in a fresh temporary directory with its own HOME and
// XBUILD_CONFIG_DIR. No daemon is contacted.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("XBUILD_CONFIG_DIR", env.WorkDir+"/.xbuild")
			env.Setenv("DOCKER_CONFIG", env.WorkDir+"/.docker")
			return nil
		},
	})
}
