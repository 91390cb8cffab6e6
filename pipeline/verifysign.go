package pipeline

import (
	"context"
	"fmt"

	"github.com/xbuild-dev/xbuild/internal/sign"
)

// checkSignatures is the signature check of `xbuild verify --key`: the
// index and every platform image it lists must carry a signature in
// cosign's layout that the key verifies and that names its digest.
func checkSignatures(ctx context.Context, reg Registry, repo, digest string, key *sign.Verifier) ([]Check, error) {
	store, ok := reg.(SignatureStore)
	if !ok {
		return []Check{{Name: "signature", OK: false, Detail: "this registry reader cannot read signatures"}}, nil
	}
	targets, err := signTargets(ctx, reg, repo, digest)
	if err != nil {
		return nil, err
	}
	var out []Check
	for _, t := range targets {
		layers, err := store.Signatures(ctx, repo, t.Digest)
		if err != nil {
			return nil, err
		}
		sigs := make([]sign.Signature, len(layers))
		for i, l := range layers {
			sigs[i] = sign.Signature{Payload: l.Payload, Annotations: l.Annotations}
		}
		c := Check{Name: "signature", Platform: t.Platform}
		if _, err := key.Verify(sigs, t.Digest); err != nil {
			c.Detail = fmt.Sprintf("%s of %s: %v", short(t.Digest), key.Describe(), err)
		} else {
			c.OK = true
			c.Detail = fmt.Sprintf("%s signed, verified with %s (no transparency log)", short(t.Digest), key.Describe())
		}
		out = append(out, c)
	}
	return out, nil
}
