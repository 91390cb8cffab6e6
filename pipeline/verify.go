package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

// VerifyReport is what the verify step found in the registry.
type VerifyReport struct {
	Ref    string                     `json:"ref"`
	Digest string                     `json:"digest"`
	Checks []Check                    `json:"checks"`
	Images map[string]*registry.Image `json:"-"`
	OK     bool                       `json:"ok"`
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

// VerifyStep reads the pushed image back from the registry and checks it
// against the request.
type VerifyStep struct{}

// Name implements Step.
func (VerifyStep) Name() string { return "verify" }

// String implements Step.
func (VerifyStep) String() string { return "verifying the pushed image in the registry" }

// Skip implements Skipper.
func (VerifyStep) Skip(s *State) (bool, string) {
	switch {
	case !s.Config.Push:
		return true, "nothing was pushed"
	case !s.Config.Verify:
		return true, "verify: false"
	}
	return false, ""
}

// Run implements Step. Failed checks do not stop the pipeline here: the
// report step shows them and then fails.
func (VerifyStep) Run(ctx context.Context, s *State) error {
	refs := s.Config.Refs()
	if len(refs) == 0 || s.Build == nil {
		return errors.New("no pushed reference to verify")
	}
	req := VerifyRequest{
		Platforms:   s.Config.Platforms,
		Compression: s.Config.Compression,
		ProxyValues: proxyValues(s.BuildArgs),
		Digest:      s.Build.Digest,
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	rep, err := verifyPushed(ctx, reg, refs, req)
	if err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Verify = rep
	return nil
}

// verifyPushed checks every tag and the images of the first one.
func verifyPushed(ctx context.Context, reg Registry, refs []string, req VerifyRequest) (*VerifyReport, error) {
	idx, err := reg.Index(ctx, refs[0])
	if err != nil {
		return nil, err
	}
	repo, err := repository(refs[0])
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Ref: refs[0], Digest: idx.Digest, Images: map[string]*registry.Image{}}
	rep.Checks = append(rep.Checks, checkIndex(req, idx)...)

	// every other tag and every manifest is read at the same time (registry
	// round trips dominate this step); results keep the index's order
	type result struct {
		checks []Check
		image  *registry.Image
		err    error
	}
	results := make([]result, len(refs)-1+len(idx.Manifests))
	var wg sync.WaitGroup
	for i, other := range refs[1:] {
		wg.Go(func() {
			oi, err := reg.Index(ctx, other)
			if err != nil {
				results[i].err = err
				return
			}
			results[i].checks = []Check{{Name: "tag", OK: oi.Digest == idx.Digest, Detail: fmt.Sprintf("%s -> %s", other, oi.Digest)}}
		})
	}
	for j, m := range idx.Manifests {
		r := &results[len(refs)-1+j]
		wg.Go(func() {
			if m.Attestation {
				r.checks = []Check{checkAttestation(ctx, reg, repo, m, req.ProxyValues)}
				return
			}
			r.image, r.checks, r.err = verifyImage(ctx, reg, repo, m, req)
		})
	}
	wg.Wait()
	for j, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		rep.Checks = append(rep.Checks, r.checks...)
		if k := j - (len(refs) - 1); k >= 0 && r.image != nil {
			rep.Images[idx.Manifests[k].Platform] = r.image
		}
	}
	rep.OK = len(rep.Failed()) == 0
	return rep, nil
}

// verifyImage reads one platform's image and checks its config, layers and
// entrypoint binary.
func verifyImage(ctx context.Context, reg Registry, repo string, m registry.Manifest, req VerifyRequest) (*registry.Image, []Check, error) {
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return nil, nil, err
	}
	checks := checkImage(req, m.Platform, img)
	p := entrypointPath(img)
	if p == "" {
		return img, checks, nil
	}
	hdr, err := reg.ReadFile(ctx, repo, m.Digest, p, 64)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		checks = append(checks, Check{Name: "entrypoint", Platform: m.Platform, OK: false,
			Detail: p + " (the image's ENTRYPOINT/CMD) does not exist in the image, or is a broken link: the container cannot start"})
	case err != nil:
		return nil, nil, err
	default:
		checks = append(checks, checkELF(m.Platform, p, hdr))
	}
	return img, checks, nil
}

// readImages reads the pushed images of ref by platform, for sizes.
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
		out[m.Platform] = img
	}
	return out, nil
}

// checkAttestation looks for proxy values in an attestation's payloads
// (provenance records build arguments in mode=max).
func checkAttestation(ctx context.Context, reg Registry, repo string, m registry.Manifest, values []string) Check {
	platform := "attestation " + short(m.AttestsTo)
	img, err := reg.Image(ctx, repo, m.Digest)
	if err != nil {
		return Check{Name: "no-proxy-leak", Platform: platform, OK: false, Detail: "cannot read the attestation: " + err.Error()}
	}
	var texts []string
	for _, l := range img.Layers {
		b, err := reg.Blob(ctx, repo, l.Digest, 8<<20)
		if err != nil {
			return Check{Name: "no-proxy-leak", Platform: platform, OK: false, Detail: "cannot read an attestation layer: " + err.Error()}
		}
		texts = append(texts, string(b))
	}
	return leakCheck("no-proxy-leak", platform, "the attestation (provenance)", values, texts)
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
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Context().Name(), nil
}
