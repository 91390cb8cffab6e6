package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	var doc bytes.Buffer
	if err := enc.Encode(&doc, *s); err != nil {
		return 0, fmt.Errorf("encoding the SPDX document: %w", err)
	}
	b, err := statement(doc.Bytes())
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(t.out, b, 0o644); err != nil {
		return 0, err
	}
	return s.Artifacts.Packages.PackageCount(), nil
}

// statement wraps an SPDX JSON document in the in-toto statement BuildKit
// reads from each file the generator writes (it refuses a bare SPDX
// document: "bundle entry does not match required predicate type"). The
// subject is left out: BuildKit makes it the image the SBOM describes.
func statement(spdx []byte) ([]byte, error) {
	if !json.Valid(spdx) {
		return nil, fmt.Errorf("the SPDX document is not JSON")
	}
	return json.Marshal(struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Predicate     json.RawMessage `json:"predicate"`
	}{"https://in-toto.io/Statement/v0.1", "https://spdx.dev/Document", spdx})
}
