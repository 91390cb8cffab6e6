package main

import (
	"context"
	"fmt"
	"os"

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/directorysource"
	// the RPM database of current Fedora/RHEL images is SQLite: syft's
	// RPM cataloger refuses to run without a driver (pure Go, no cgo)
	_ "modernc.org/sqlite"
)

// scan catalogs one root filesystem and writes its SPDX JSON document,
// returning how many packages it found. The filesystem is a built image,
// so syft's image catalogers run (installed packages: OS package
// databases, Go and other binaries' build information), not the
// directory ones that read source manifests; paths are reported from the
// filesystem's root, as they are inside the image.
func scan(ctx context.Context, t target) (int, error) {
	src, err := directorysource.New(directorysource.Config{
		Path:  t.root,
		Base:  t.root,
		Alias: source.Alias{Name: t.name},
	})
	if err != nil {
		return 0, err
	}
	defer src.Close()
	cfg := syft.DefaultCreateSBOMConfig().
		WithTool("xbuild-sbom", version).
		WithCatalogerSelection(cataloging.NewSelectionRequest().WithDefaults(pkgcataloging.ImageTag))
	s, err := syft.CreateSBOM(ctx, src, cfg)
	if err != nil {
		return 0, err
	}
	enc, err := spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	if err != nil {
		return 0, err
	}
	f, err := os.Create(t.out)
	if err != nil {
		return 0, err
	}
	if err := enc.Encode(f, *s); err != nil {
		f.Close()
		return 0, fmt.Errorf("writing %s: %w", t.out, err)
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return s.Artifacts.Packages.PackageCount(), nil
}
