package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/platform"
	"github.com/xbuild-dev/xbuild/internal/registry"
)

// VerifyReport is what the verify step found in the registry.
type VerifyReport struct {
	Ref    string                     `json:"ref"`
	Digest string                     `json:"digest"`
	Checks []Check                    `json:"checks"`
	Images map[string]*registry.Image `json:"-"`
	// Platforms are the platform images verify read, in the index's order,
	// with how many of their files it checked.
	Platforms []VerifiedPlatform `json:"platforms,omitempty"`
	OK        bool               `json:"ok"`
}

// VerifiedPlatform is one platform image as verify read it.
type VerifiedPlatform struct {
	Platform       string `json:"platform"`
	Digest         string `json:"digest"`
	CompressedSize int64  `json:"compressedSize"`
	Layers         int    `json:"layers"`
	// Files counts the regular files of the image's filesystem, ELFFiles
	// those that are ELF, each compared with the platform's architecture.
	Files    int `json:"files"`
	ELFFiles int `json:"elfFiles"`
	// ScannedBytes is how many uncompressed layer bytes were read.
	ScannedBytes int64 `json:"scannedBytes"`
	// NotScanned says why the files were not read ("" when they were).
	NotScanned string `json:"notScanned,omitempty"`
}

// Failed lists the failing checks.
func (v *VerifyReport) Failed() []Check {
	var out []Check
	for _, c := range v.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Failure is nil when every check passed, else an error naming each
// failed check: platform, check and detail, one per line.
func (v *VerifyReport) Failure() error {
	failed := v.Failed()
	if len(failed) == 0 {
		return nil
	}
	lines := make([]string, len(failed))
	for i, c := range failed {
		lines[i] = strings.TrimSpace(c.Platform+" "+c.Name) + ": " + c.Detail
	}
	return fmt.Errorf("%d of %d checks failed on %s:\n  %s", len(failed), len(v.Checks), v.Ref, strings.Join(lines, "\n  "))
}

// VerifyStep reads the merged index back from the registry BY DIGEST,
// before any tag points at it, checks it against the request and the size
// budget, and stops the pipeline when a check fails: the publish step then
// never runs, so no tag is created or moved.
type VerifyStep struct{}

// Name implements Step.
func (VerifyStep) Name() string { return "verify" }

// String implements Step.
func (VerifyStep) String() string { return "verifying the pushed index in the registry" }

// Skip implements Skipper.
func (VerifyStep) Skip(s *State) (bool, string) {
	switch {
	case !s.Config.Push || len(s.Options.Outputs) > 0:
		return true, "nothing was pushed"
	case !s.Config.Verify && s.Config.SizeBudget == "":
		return true, "verify: false"
	}
	return false, ""
}

// Run implements Step.
func (VerifyStep) Run(ctx context.Context, s *State) error {
	if s.Config.PushByDigest {
		return verifyByDigest(ctx, s)
	}
	if s.Build == nil || s.Build.Digest == "" {
		return errors.New("no pushed index to verify")
	}
	ref := s.repo + "@" + s.Build.Digest
	reg, err := s.registry()
	if err != nil {
		return err
	}
	budget := sizeBudget(s.Config.SizeBudget)
	var rep *VerifyReport
	if s.Config.Verify {
		req := VerifyRequest{
			Platforms:     s.Config.Platforms,
			Compression:   s.Config.Compression,
			ProxyValues:   proxyValues(s.BuildArgs),
			SecretValues:  secretLeakValues(s.supply.secrets, s.BuildArgs),
			ProvenanceMax: s.Config.Provenance == config.ProvenanceMax,
			Attestations:  requiredAttestations(s.Config),
			Digest:        s.Build.Digest,
			SizeBudget:    budget,
		}
		rep, err = verifyPushed(ctx, reg, []string{ref}, req)
	} else {
		// verify is off, but the budget needs the pushed sizes
		var images map[string]*registry.Image
		images, err = readImages(ctx, reg, ref)
		rep = &VerifyReport{Ref: ref, Digest: s.Build.Digest, Images: images}
		if err == nil && budget > 0 {
			rep.Checks = append(rep.Checks, CheckSizeBudget(budget, images))
		}
	}
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	rep.OK = len(rep.Failed()) == 0
	s.Verify = rep
	if rep.OK {
		return nil
	}
	var lines []string
	for _, c := range rep.Failed() {
		lines = append(lines, fmt.Sprintf("%s %s: %s", c.Platform, c.Name, c.Detail))
	}
	return fmt.Errorf("%d check(s) failed on the unverified index %s:\n  %s\nit was pushed by digest only: no tag was created or moved",
		len(lines), ref, s.Secrets.String(strings.Join(lines, "\n  ")))
}

// sizeBudget is the configured budget in bytes; 0 (no check) when there
// is none. The config was validated, so a budget that does not parse is
// none.
func sizeBudget(budget string) int64 {
	if budget == "" {
		return 0
	}
	n, err := config.ParseSize(budget)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// verifyPushed verifies the first reference and checks that every other
// one (the other tags) points at the same index.
func verifyPushed(ctx context.Context, reg Registry, refs []string, req VerifyRequest) (*VerifyReport, error) {
	// the other tags are read while the image is verified
	digests := make([]string, len(refs)-1)
	errs := make([]error, len(refs)-1)
	var wg sync.WaitGroup
	for i, other := range refs[1:] {
		wg.Go(func() {
			oi, err := reg.Index(ctx, other)
			if err != nil {
				errs[i] = err
				return
			}
			digests[i] = oi.Digest
		})
	}
	rep, err := Verify(ctx, reg, refs[0], req)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, other := range refs[1:] {
		rep.Checks = append(rep.Checks, Check{Name: "tag", OK: digests[i] == rep.Digest, Detail: fmt.Sprintf("%s -> %s", other, digests[i])})
	}
	rep.OK = len(rep.Failed()) == 0
	return rep, nil
}

// Verify reads ref (REPO@sha256:... or a tag) back from reg and checks it
// against req: the index's platforms, then for each platform image its
// config, layers, proxy hygiene, entrypoint and the architecture of every
// ELF file in its filesystem; across platforms, binaries that are
// byte-identical; and the size budget. It needs no build state, so the
// build's verify step and `xbuild verify` share it. Failed checks are in
// the report (OK false); an error means the registry could not be read.
func Verify(ctx context.Context, reg Registry, ref string, req VerifyRequest) (*VerifyReport, error) {
	repo, err := repository(ref)
	if err != nil {
		return nil, err
	}
	idx, err := reg.Index(ctx, ref)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Ref: ref, Digest: idx.Digest, Images: map[string]*registry.Image{}}
	rep.Checks = append(rep.Checks, checkIndex(req, idx)...)

	// every manifest is read at the same time (registry round trips and
	// layer downloads dominate this step); results keep the index's order.
	// The first error stops the others.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	type result struct {
		checks []Check
		image  *registry.Image
		scan   *fileScan
		att    *attestation
	}
	results := make([]result, len(idx.Manifests))
	var wg sync.WaitGroup
	for j, m := range idx.Manifests {
		r := &results[j]
		wg.Go(func() {
			if m.Attestation {
				r.checks, r.att = checkAttestation(ctx, reg, repo, m, req)
				return
			}
			var err error
			r.image, r.checks, r.scan, err = verifyImage(ctx, reg, repo, m, req)
			if err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	if parent.Err() != nil {
		return nil, context.Cause(parent) // Ctrl-C: checks that failed on cancelled reads are no verdict
	}
	if firstErr != nil {
		return nil, firstErr
	}
	var scans []platformScan
	var atts []*attestation
	for _, r := range results {
		if r.att != nil {
			atts = append(atts, r.att)
		}
	}
	for j, r := range results {
		rep.Checks = append(rep.Checks, r.checks...)
		if r.image == nil {
			continue
		}
		plat := platform.Loose(idx.Manifests[j].Platform)
		rep.Images[plat] = r.image
		rep.Platforms = append(rep.Platforms, VerifiedPlatform{
			Platform: plat, Digest: r.image.Digest, CompressedSize: r.image.CompressedSize(), Layers: len(r.image.Layers),
			Files: r.scan.files, ELFFiles: r.scan.elf, ScannedBytes: r.scan.bytes, NotScanned: r.scan.notChecked,
		})
		scans = append(scans, platformScan{platform: plat, scan: r.scan})
		if len(req.Attestations) > 0 {
			rep.Checks = append(rep.Checks, checkAttestations(plat, r.image.Digest, req.Attestations, atts))
		}
	}
	rep.Checks = append(rep.Checks, checkIdentical(scans)...)
	if req.SignatureKey != nil {
		sigChecks, err := checkSignatures(ctx, reg, repo, idx.Digest, req.SignatureKey)
		if err != nil {
			return nil, err
		}
		rep.Checks = append(rep.Checks, sigChecks...)
	}
	if req.SizeBudget > 0 {
		rep.Checks = append(rep.Checks, CheckSizeBudget(req.SizeBudget, rep.Images))
	}
	rep.OK = len(rep.Failed()) == 0
	return rep, nil
}

// verifyImage reads one platform's image and checks its config, layers,
// entrypoint and files.
func verifyImage(ctx context.Context, reg Registry, repo string, m registry.Manifest, req VerifyRequest) (*registry.Image, []Check, *fileScan, error) {
	plat := platform.Loose(m.Platform)
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return nil, nil, nil, err
	}
	checks := checkImage(req, plat, img)
	scan, err := scanFiles(ctx, reg, repo, m.Digest, plat, req.MaxScanBytes)
	if err != nil {
		return nil, nil, nil, err
	}
	var entry *Check
	p := entrypointPath(img)
	if p != "" {
		hdr, err := reg.ReadFile(ctx, repo, m.Digest, p, 64)
		switch {
		case errors.Is(err, registry.ErrNotFound):
			checks = append(checks, Check{Name: "entrypoint", Platform: plat, OK: false,
				Detail: p + " (the image's ENTRYPOINT/CMD) does not exist in the image, or is a broken link: the container cannot start"})
		case err != nil:
			return nil, nil, nil, err
		default:
			c := checkELF(plat, p, hdr)
			entry = &c
		}
	}
	checks = append(checks, checkBinaryArch(plat, p, entry, scan))
	return img, checks, scan, nil
}

// readImages reads the pushed images of ref by platform (normalized, as
// Verify keys them), for sizes.
func readImages(ctx context.Context, reg Registry, ref string) (map[string]*registry.Image, error) {
	idx, err := reg.Index(ctx, ref)
	if err != nil {
		return nil, err
	}
	repo, err := repository(ref)
	if err != nil {
		return nil, err
	}
	out := map[string]*registry.Image{}
	for _, m := range idx.Manifests {
		if m.Attestation {
			continue
		}
		img, err := reg.Image(ctx, repo, m.Digest)
		if err != nil {
			return nil, err
		}
		out[platform.Loose(m.Platform)] = img
	}
	return out, nil
}

// checkAttestation looks for proxy and secret values in an attestation's
// payloads (provenance records build arguments in mode=max) and says what
// it attests (see attestation).
func checkAttestation(ctx context.Context, reg Registry, repo string, m registry.Manifest, req VerifyRequest) ([]Check, *attestation) {
	platform := "attestation " + short(m.AttestsTo)
	fail := func(detail string) ([]Check, *attestation) {
		return []Check{{Name: "no-proxy-leak", Platform: platform, OK: false, Detail: detail}}, nil
	}
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return fail("cannot read the attestation: " + err.Error())
	}
	att := &attestation{attestsTo: m.AttestsTo}
	var texts []string
	for _, l := range img.Layers {
		b, err := reg.Blob(ctx, repo, l.Digest, 64<<20)
		if err != nil {
			return fail("cannot read an attestation layer: " + err.Error())
		}
		texts = append(texts, string(b))
		att.add(l.Annotations[predicateTypeAnnotation], b)
	}
	proxies, where := req.ProxyValues, "the attestation (provenance)"
	if req.ProvenanceMax {
		// max provenance records the proxy build arguments: their URLs are
		// expected there, their credentials never
		proxies, where = proxyCredentials(req.ProxyValues), "the attestation (max provenance records the proxy URLs, never their credentials)"
	}
	out := []Check{leakCheck("no-proxy-leak", platform, where, proxies, texts)}
	if len(req.SecretValues) > 0 {
		out = append(out, secretLeakCheck(platform, "the attestation", req.SecretValues, texts))
	}
	return out, att
}

// entrypointPath is the executable the image starts: ENTRYPOINT[0], else
// CMD[0]; relative names are looked up on the image's PATH (first entry
// only would be a guess, so only absolute paths are checked).
func entrypointPath(img *registry.Image) string {
	argv := img.Entrypoint
	if len(argv) == 0 {
		argv = img.Cmd
	}
	if len(argv) == 0 {
		return ""
	}
	p := argv[0]
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return ""
}

func repository(ref string) (string, error) {
	return registry.Repository(ref)
}
