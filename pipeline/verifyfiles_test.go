package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/registry"
)

// elfHeaderOf is a 64-byte ELF header of any class and byte order.
func elfHeaderOf(class, data byte, machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5] = class, data
	if data == 2 {
		h[18], h[19] = byte(machine>>8), byte(machine)
	} else {
		h[18], h[19] = byte(machine), byte(machine>>8)
	}
	return h
}

// checksByKey indexes checks by "name platform".
func checksByKey(cs []Check) map[string]Check {
	out := map[string]Check{}
	for _, c := range cs {
		out[strings.TrimSpace(c.Name+" "+c.Platform)] = c
	}
	return out
}

const wrongArchHint = "; a binary built or downloaded for one architecture was copied into every platform's image (a fixed GOARCH/TARGETARCH, or a download URL without ${TARGETARCH})"

func TestVerifyEveryELFFile(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *fakeRegistry)
		failed []string          // "name platform" of the failing checks, in report order
		detail map[string]string // exact details of some checks
	}{
		{
			name:   "all right",
			change: func(r *fakeRegistry) { r.files["sha256:arm64/usr/bin/helper"] = elfHeader(183) },
			detail: map[string]string{
				"binary-arch linux/arm64": "/app is AArch64 (arm64); 2 of 2 files are ELF, all AArch64 (arm64)",
				"binary-arch linux/amd64": "/app is x86-64 (amd64); 1 of 1 file is ELF, all x86-64 (amd64)",
				"identical-binary":        "no ELF file is byte-identical across linux/amd64, linux/arm64",
			},
		},
		{
			name: "a wrong-arch helper in /usr/bin, not the entrypoint",
			change: func(r *fakeRegistry) {
				r.files["sha256:arm64/usr/bin/helper"] = elfHeader(62)
				r.files["sha256:arm64/etc/motd"] = []byte("hello\n")
			},
			failed: []string{"binary-arch linux/arm64"},
			detail: map[string]string{
				"binary-arch linux/arm64": "/app is AArch64 (arm64); 1 of 2 ELF files (among 3 files) is not AArch64 (arm64): /usr/bin/helper is x86-64 (amd64)" + wrongArchHint,
			},
		},
		{
			name:   "the same /app in both images",
			change: func(r *fakeRegistry) { r.files["sha256:arm64/app"] = elfHeader(62) },
			failed: []string{"binary-arch linux/arm64", "identical-binary linux/amd64, linux/arm64"},
			detail: map[string]string{
				"binary-arch linux/arm64": "/app is x86-64 (amd64), not AArch64 (arm64): a TARGETARCH/GOARCH was fixed for every platform (a --build-arg TARGETARCH or ARG TARGETARCH=... default); no other ELF file among 1 file",
				"identical-binary linux/amd64, linux/arm64": "/app is byte-identical in linux/amd64 and linux/arm64 (" + elfDigest(elfHeader(62)) +
					"): one build was copied into both images (a fixed GOARCH/TARGETARCH, or a prebuilt binary without ${TARGETARCH})",
			},
		},
		{
			name: "entrypoint and other files wrong, the list capped",
			change: func(r *fakeRegistry) {
				r.files["sha256:arm64/app"] = elfHeader(62)
				for i := range 7 {
					r.files[fmt.Sprintf("sha256:arm64/lib/lib%d.so", i)] = elfHeaderOf(1, 1, 3)
				}
			},
			failed: []string{"binary-arch linux/arm64", "identical-binary linux/amd64, linux/arm64"},
			detail: map[string]string{
				"binary-arch linux/arm64": "/app is x86-64 (amd64), not AArch64 (arm64): a TARGETARCH/GOARCH was fixed for every platform (a --build-arg TARGETARCH or ARG TARGETARCH=... default); " +
					"also 7 of 8 ELF files (among 8 files) are not AArch64 (arm64): /lib/lib0.so is x86 (32-bit) (386), /lib/lib1.so is x86 (32-bit) (386), " +
					"/lib/lib2.so is x86 (32-bit) (386), /lib/lib3.so is x86 (32-bit) (386), /lib/lib4.so is x86 (32-bit) (386) and 2 more",
			},
		},
		{
			name: "files over the walk's bound are not checked",
			change: func(r *fakeRegistry) {
				r.walkErr = map[string]error{"sha256:arm64": &registry.LimitError{What: "bytes", Limit: 4 << 30, Layer: 2}}
			},
			detail: map[string]string{
				"binary-arch linux/arm64": "/app is AArch64 (arm64); the image's files were not checked: the image has more than 4 GiB of uncompressed layers (reached in layer 3); its files were not read past that bound",
				"identical-binary":        "not compared: the files of linux/arm64 were not read",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := pushedRegistry("zstd")
			tc.change(reg)
			rep, err := Verify(context.Background(), reg, "registry.example.com/team/app@sha256:"+strings.Repeat("1", 64), VerifyRequest{Platforms: []string{"linux/amd64", "linux/arm64"}, Compression: "zstd"})
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, c := range rep.Failed() {
				failed = append(failed, strings.TrimSpace(c.Name+" "+c.Platform))
			}
			if strings.Join(failed, "|") != strings.Join(tc.failed, "|") || rep.OK != (len(tc.failed) == 0) {
				t.Errorf("failed checks %q (OK %v), want %q", failed, rep.OK, tc.failed)
			}
			got := checksByKey(rep.Checks)
			for k, want := range tc.detail {
				if got[k].Detail != want {
					t.Errorf("%s:\n got %q\nwant %q", k, got[k].Detail, want)
				}
			}
		})
	}
}

// ppc64 and ppc64le share e_machine 21: only the byte order tells a
// big-endian library in a little-endian image.
func TestVerifyPPC64InPPC64LE(t *testing.T) {
	reg := &fakeRegistry{
		index: &registry.Index{Digest: "sha256:index", Manifests: []registry.Manifest{
			{Digest: "sha256:le", Platform: "linux/ppc64le"}, {Digest: "sha256:be", Platform: "linux/ppc64"},
		}},
		images: map[string]*registry.Image{
			"sha256:le": {Digest: "sha256:le", OS: "linux", Architecture: "ppc64le", Entrypoint: []string{"/app"}},
			"sha256:be": {Digest: "sha256:be", OS: "linux", Architecture: "ppc64", Entrypoint: []string{"/app"}},
		},
		files: map[string][]byte{
			"sha256:le/app": elfHeaderOf(2, 1, 21), "sha256:le/usr/lib/libssl.so.3": elfHeaderOf(2, 2, 21),
			"sha256:be/app": elfHeaderOf(2, 2, 21), "sha256:be/usr/lib/libssl.so.3": elfHeaderOf(2, 2, 21),
		},
	}
	rep, err := Verify(context.Background(), reg, "registry.example.com/team/app:1", VerifyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := checksByKey(rep.Checks)
	if c := got["binary-arch linux/ppc64le"]; c.OK || c.Detail != "/app is PowerPC64 little-endian (ppc64le); 1 of 2 ELF files (among 2 files) is not PowerPC64 little-endian (ppc64le): "+
		"/usr/lib/libssl.so.3 is PowerPC64 big-endian (ppc64)"+wrongArchHint {
		t.Errorf("ppc64le: %+v", c)
	}
	if c := got["binary-arch linux/ppc64"]; !c.OK || c.Detail != "/app is PowerPC64 big-endian (ppc64); 2 of 2 files are ELF, all PowerPC64 big-endian (ppc64)" {
		t.Errorf("ppc64: %+v", c)
	}
	// the big-endian library is the same file in both images
	if c := got["identical-binary linux/ppc64le, linux/ppc64"]; c.OK || !strings.HasPrefix(c.Detail, "/usr/lib/libssl.so.3 is byte-identical in linux/ppc64le and linux/ppc64") {
		t.Errorf("identical: %+v", c)
	}
}

func TestVerifyCounts(t *testing.T) {
	reg := pushedRegistry("gzip")
	reg.files["sha256:amd64/usr/bin/helper"] = elfHeader(62)
	reg.files["sha256:amd64/etc/passwd"] = []byte("root:x:0:0::/root:/bin/sh\n")
	reg.files["sha256:amd64/entry.sh"] = []byte("#!/bin/sh\nexec /app\n")
	reg.walkErr = map[string]error{"sha256:arm64": &registry.LimitError{What: "entries", Limit: 10}}
	rep, err := Verify(context.Background(), reg, "registry.example.com/team/app:1.0", VerifyRequest{Compression: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	want := []VerifiedPlatform{
		{Platform: "linux/amd64", Digest: "sha256:amd64", CompressedSize: 1_500_500, Layers: 1, Files: 4, ELFFiles: 2, ScannedBytes: 64 + 64 + 26 + 20},
		{Platform: "linux/arm64", Digest: "sha256:arm64", CompressedSize: 1_400_500, Layers: 1, ScannedBytes: 4096,
			NotScanned: "the image has more than 10 layer entries (reached in layer 1); its files were not read past that bound"},
	}
	if fmt.Sprint(rep.Platforms) != fmt.Sprint(want) {
		t.Errorf("platforms:\n got %+v\nwant %+v", rep.Platforms, want)
	}
	if c := checksByKey(rep.Checks)["identical-binary"]; c.Detail != "not compared: the files of linux/arm64 were not read" {
		t.Errorf("identical-binary: %+v", c)
	}
}

// A Registry that cannot walk files still gets the entrypoint check, and
// the report says the rest was not checked.
func TestVerifyWithoutFileWalker(t *testing.T) {
	reg := struct{ Registry }{pushedRegistry("gzip")}
	rep, err := Verify(context.Background(), reg, "registry.example.com/team/app:1.0", VerifyRequest{})
	if err != nil || !rep.OK {
		t.Fatalf("%v %+v", err, rep)
	}
	if c := checksByKey(rep.Checks)["binary-arch linux/arm64"]; c.Detail != "/app is AArch64 (arm64); the image's files were not checked: this registry reader cannot list an image's files" {
		t.Errorf("binary-arch: %+v", c)
	}
	if rep.Platforms[0].NotScanned != "this registry reader cannot list an image's files" {
		t.Errorf("platforms: %+v", rep.Platforms)
	}
}

func TestVerifyErrors(t *testing.T) {
	if _, err := Verify(context.Background(), pushedRegistry("gzip"), "UPPER/Case::bad", VerifyRequest{}); err == nil ||
		!strings.HasPrefix(err.Error(), `"UPPER/Case::bad" is not an image reference`) {
		t.Errorf("bad ref: %v", err)
	}
	reg := pushedRegistry("gzip")
	reg.walkErr = map[string]error{"sha256:amd64": errors.New("reading the files of x: layer 2: unexpected EOF")}
	if _, err := Verify(context.Background(), reg, "registry.example.com/team/app:1.0", VerifyRequest{}); err == nil || err.Error() != "reading the files of x: layer 2: unexpected EOF" {
		t.Errorf("walk error: %v", err)
	}
}

func TestCheckIdenticalVariants(t *testing.T) {
	scan := func(digests map[string]string) *fileScan { return &fileScan{elfDigests: digests} }
	same := map[string]string{"/app": "sha256:aaa"}
	// one binary may rightly serve arm/v6 and arm/v7
	got := checkIdentical([]platformScan{{"linux/arm/v6", scan(same)}, {"linux/arm/v7", scan(same)}})
	if len(got) != 1 || !got[0].OK || got[0].Detail != "no ELF file is byte-identical across linux/arm/v6, linux/arm/v7" {
		t.Errorf("variants: %+v", got)
	}
	if got := checkIdentical([]platformScan{{"linux/amd64", scan(same)}}); got != nil {
		t.Errorf("one platform: %+v", got)
	}
	many := map[string]string{}
	for i := range 7 {
		many[fmt.Sprintf("/bin/t%d", i)] = fmt.Sprintf("sha256:%d", i)
	}
	got = checkIdentical([]platformScan{{"linux/amd64", scan(many)}, {"linux/arm64", scan(many)}, {"linux/s390x", scan(map[string]string{"/bin/t0": "sha256:other"})}})
	if len(got) != 1 || got[0].OK || got[0].Platform != "linux/amd64, linux/arm64" ||
		!strings.HasPrefix(got[0].Detail, "/bin/t0, /bin/t1, /bin/t2, /bin/t3, /bin/t4 and 2 more are byte-identical in linux/amd64 and linux/arm64 (sha256:0)") {
		t.Errorf("capped list: %+v", got)
	}
}

func TestCheckSizeBudget(t *testing.T) {
	images := map[string]*registry.Image{
		"linux/amd64": {ConfigSize: 500, Layers: []registry.Layer{{Size: 1_499_500}}},
		"linux/arm64": {ConfigSize: 500, Layers: []registry.Layer{{Size: 1_000_000}}},
	}
	tests := []struct {
		budget int64
		images map[string]*registry.Image
		want   Check
	}{
		{3_000_000, images, Check{Name: "size-budget", Platform: "linux/amd64", OK: true, Detail: "linux/amd64 image, the largest, is 1.50 MB compressed, within the size budget of 3.00 MB"}},
		{1_500_000, images, Check{Name: "size-budget", Platform: "linux/amd64", OK: true, Detail: "linux/amd64 image, the largest, is 1.50 MB compressed, within the size budget of 1.50 MB"}},
		{1_450_000, images, Check{Name: "size-budget", Platform: "linux/amd64", Detail: "linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB"}},
		{1_000, nil, Check{Name: "size-budget", Detail: "size-budget 1.0 kB cannot be checked: the registry reported no image sizes"}},
	}
	for _, tc := range tests {
		if got := CheckSizeBudget(tc.budget, tc.images); got != tc.want {
			t.Errorf("CheckSizeBudget(%d):\n got %+v\nwant %+v", tc.budget, got, tc.want)
		}
	}
}

// The size budget is a verify check: it fails verify, before the report.
func TestVerifySizeBudget(t *testing.T) {
	rep, err := Verify(context.Background(), pushedRegistry("gzip"), "registry.example.com/team/app:1.0", VerifyRequest{SizeBudget: 1_450_000})
	if err != nil {
		t.Fatal(err)
	}
	want := "1 of 12 checks failed on registry.example.com/team/app:1.0:\n  linux/amd64 size-budget: linux/amd64 image is 1.50 MB compressed, over the size budget of 1.45 MB"
	if rep.OK || rep.Failure() == nil || rep.Failure().Error() != want {
		t.Errorf("failure = %v\nwant %s", rep.Failure(), want)
	}
}

func elfDigest(b []byte) string {
	var out string
	reg := &fakeRegistry{files: map[string][]byte{"d/x": b}}
	_, _ = reg.WalkFiles(context.Background(), "", "d", registry.WalkOptions{}, func(f registry.File) error { out = f.Digest; return nil })
	return short(out)
}
