package registry

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// platformPush pushes one platform the way buildx pushes by digest: an
// index holding the image and an attestation manifest for it. It returns
// repo@digest.
func platformPush(t *testing.T, repo, arch string) string {
	t.Helper()
	img := image(t, arch, compression.GZip, layer(t, compression.GZip, entry{name: "app", body: "\x7fELF-" + arch}))
	att := image(t, "unknown", compression.GZip, layer(t, compression.GZip, entry{name: "provenance.json", body: `{"arch":"` + arch + `"}`}))
	imgDigest, _ := img.Digest()
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": imgDigest.String()},
		}},
	)
	d, _ := idx.Digest()
	ref, _ := name.NewDigest(repo + "@" + d.String())
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// registryWith503 serves an in-memory registry that answers the first
// manifest PUTs with 503.
func registryWith503(t *testing.T, failPuts int32) (string, *atomic.Int32) {
	t.Helper()
	reg := ggcrregistry.New(ggcrregistry.Logger(nilLogger()))
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && failed.Load() < failPuts {
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &failed
}

func TestPushIndexThenTag(t *testing.T) {
	host, failed := registryWith503(t, 0)
	repo := host + "/team/app"
	amd, arm := platformPush(t, repo, "amd64"), platformPush(t, repo, "arm64")
	failed.Store(-2) // two manifest PUTs of ours fail with 503 from here on
	var notes []string
	c := &Client{Keychain: authn.NewMultiKeychain(), Notify: func(m string) { notes = append(notes, m) },
		Sleep: func(context.Context, time.Duration) error { return nil }}
	ctx := context.Background()

	digest, err := c.PushIndex(ctx, repo, []string{amd, arm})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "503 Service Unavailable; retry 1 of 3") {
		t.Errorf("retries said: %q", notes)
	}
	idx, err := c.Index(ctx, repo+"@"+digest)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range idx.Manifests {
		got = append(got, m.Platform)
	}
	if idx.MediaType != string(types.OCIImageIndex) || strings.Join(got, " ") != "linux/amd64 unknown/unknown linux/arm64 unknown/unknown" ||
		!idx.Manifests[1].Attestation || idx.Manifests[1].AttestsTo != idx.Manifests[0].Digest {
		t.Fatalf("index = %+v", idx)
	}
	// pushed by digest only: the repository has no tag yet
	r, _ := name.NewRepository(repo)
	if tags, err := remote.List(r); err != nil || len(tags) != 0 {
		t.Fatalf("tags before Tag: %v, %v", tags, err)
	}
	if ok, err := c.Exists(ctx, repo+":1.0"); ok || err != nil {
		t.Errorf("Exists(tag) before tagging = %v, %v", ok, err)
	}

	if err := c.Tag(ctx, repo, digest, []string{repo + ":1.0", repo + ":latest"}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"1.0", "latest"} {
		ti, err := c.Index(ctx, repo+":"+tag)
		if err != nil || ti.Digest != digest {
			t.Errorf("%s -> %v, %v; want %s", tag, ti, err, digest)
		}
	}
	if ok, err := c.Exists(ctx, repo+"@"+digest); !ok || err != nil {
		t.Errorf("Exists(digest) = %v, %v", ok, err)
	}
}

func TestPushIndexRefusals(t *testing.T) {
	host, _ := registryWith503(t, 0)
	amd := platformPush(t, host+"/team/app", "amd64")
	other := platformPush(t, host+"/team/other", "arm64")
	c := &Client{Keychain: authn.NewMultiKeychain()}
	ctx := context.Background()
	for _, tc := range []struct {
		sources []string
		err     string
	}{
		{nil, "no images to put in the index"},
		{[]string{amd, other}, other + " is not in " + host + "/team/app: an index can only list manifests of its own repository"},
		{[]string{host + "/team/app:1"}, `is not a repo@digest reference`},
		{[]string{host + "/team/app@sha256:" + strings.Repeat("0", 64)}, "reading " + host + "/team/app@sha256:000"},
	} {
		if _, err := c.PushIndex(ctx, host+"/team/app", tc.sources); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("PushIndex(%v) = %v, want %q", tc.sources, err, tc.err)
		}
	}
	if err := c.Tag(ctx, host+"/team/app", "sha256:"+strings.Repeat("0", 64), []string{host + "/team/app:1"}); err == nil || !strings.Contains(err.Error(), "before tagging it") {
		t.Errorf("Tag of a missing digest: %v", err)
	}
	d := strings.TrimPrefix(amd, host+"/team/app@")
	if err := c.Tag(ctx, host+"/team/app", d, []string{host + "/team/other:1"}); err == nil || !strings.Contains(err.Error(), "is not in") {
		t.Errorf("Tag into another repository: %v", err)
	}
}

// Index annotations (buildx's --annotation index:K=V) are on the pushed
// index; the platforms' descriptors are as without them.
func TestPushIndexAnnotated(t *testing.T) {
	host, _ := registryWith503(t, 0)
	repo := host + "/team/app"
	amd := platformPush(t, repo, "amd64")
	c := &Client{Keychain: authn.NewMultiKeychain()}
	ctx := context.Background()
	plain, err := c.PushIndex(ctx, repo, []string{amd})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := c.PushIndexAnnotated(ctx, repo, []string{amd}, map[string]string{"org.opencontainers.image.title": "App"})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := name.NewDigest(repo + "@" + digest)
	desc, err := remote.Get(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if digest == plain || len(im.Annotations) != 1 || im.Annotations["org.opencontainers.image.title"] != "App" || len(im.Manifests) != 2 {
		t.Errorf("annotated index %s (plain %s): %s", digest, plain, desc.Manifest)
	}
}
