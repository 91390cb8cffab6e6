// Command sbom is the farm's SBOM generator for BuildKit: a program that
// follows BuildKit's SBOM generator protocol
// (docs/attestations/sbom-protocol.md in github.com/moby/buildkit) and
// catalogs a root filesystem with the syft library, writing SPDX JSON.
//
// BuildKit runs the generator image on the build node with
//
//	BUILDKIT_SCAN_SOURCE         the final root filesystem (read-only)
//	BUILDKIT_SCAN_SOURCE_EXTRAS  a directory of other filesystems (optional;
//	                             missing, empty or unset: none)
//	BUILDKIT_SCAN_DESTINATION    where to write NAME.spdx.json per target
//
// and attaches every file it writes as an SPDX attestation. Each file is
// an in-toto statement whose predicate is the SPDX document (BuildKit
// decodes every file as a statement and refuses other predicate types;
// the protocol document's "SPDX JSON" means that). It is
// built into an image by hack/farm (lib/sbom.sh) because no BuildKit
// scanner image can be pulled there; `xbuild build --sbom` uses it through
// sbom-generator (buildx --attest type=sbom,generator=IMAGE).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
)

// version is stamped by the farm (-X main.version=...); it names the
// generator in the SBOM's creator list.
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "sbom: %v\n", err)
		os.Exit(1)
	}
}

// target is one filesystem to scan and the file its SBOM goes to.
type target struct {
	name, root, out string
}

// targets lists what the protocol asks to scan: the source, then each
// directory of the extras (sorted, for a stable order).
func targets(getenv func(string) string) ([]target, error) {
	dest := getenv("BUILDKIT_SCAN_DESTINATION")
	src := getenv("BUILDKIT_SCAN_SOURCE")
	if dest == "" || src == "" {
		return nil, fmt.Errorf("BUILDKIT_SCAN_SOURCE and BUILDKIT_SCAN_DESTINATION must be set (this program is run by BuildKit as an SBOM generator: docker buildx build --attest type=sbom,generator=IMAGE)")
	}
	name := filepath.Base(filepath.Clean(src))
	out := []target{{name: name, root: src, out: filepath.Join(dest, name+".spdx.json")}}
	extras := getenv("BUILDKIT_SCAN_SOURCE_EXTRAS")
	if extras == "" {
		return out, nil
	}
	entries, err := os.ReadDir(extras)
	if err != nil {
		// the protocol: a directory that does not exist means no extras
		if os.IsNotExist(err) {
			return out, nil
		}
		return nil, fmt.Errorf("reading BUILDKIT_SCAN_SOURCE_EXTRAS %s: %w", extras, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, target{name: n, root: filepath.Join(extras, n), out: filepath.Join(dest, n+".spdx.json")})
	}
	return out, nil
}

func run(ctx context.Context, getenv func(string) string, log io.Writer) error {
	ts, err := targets(getenv)
	if err != nil {
		return err
	}
	for _, t := range ts {
		n, err := scan(ctx, t)
		if err != nil {
			return fmt.Errorf("scanning %s (%s): %w", t.name, t.root, err)
		}
		fmt.Fprintf(log, "sbom: %s: %d packages -> %s\n", t.name, n, t.out)
	}
	return nil
}
