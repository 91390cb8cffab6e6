package platform

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{in: "linux/amd64", want: "linux/amd64"},
		{in: " linux/x86_64 ", want: "linux/amd64"},
		{in: "linux/aarch64", want: "linux/arm64"},
		{in: "linux/arm64/v8", want: "linux/arm64"},
		{in: "linux/arm", want: "linux/arm/v7"},
		{in: "linux/arm/v6", want: "linux/arm/v6"},
		{in: "linux/armhf", want: "linux/arm/v7"},
		{in: "linux/i386", want: "linux/386"},
		{in: "linux/ppc64le", want: "linux/ppc64le"},
		{in: "windows/amd64", want: "windows/amd64"},
		{in: "Linux/ARM64", want: "linux/arm64"},
		{in: "linux/arm64/v9", want: "linux/arm64/v9"},
		{in: "linux/amd64/v1", want: "linux/amd64"},
		{in: "linux/amd64/v2", want: "linux/amd64/v2"},
		{in: "linux/arm/7", want: "linux/arm/v7"},
		{in: "", err: "empty platform: use os/arch, e.g. linux/arm64"},
		{in: "arm64", err: `platform "arm64" has no OS: use os/arch, e.g. linux/arm64`},
		{in: "linux//arm64", err: `platform "linux//arm64" is not os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`},
		{in: "linux/amr64", err: `platform "linux/amr64": unknown architecture "amr64" (known: amd64, 386, arm64, arm, riscv64, ppc64le, ppc64, s390x, mips64le, mips64, mipsle, mips, loong64, wasm)`},
		{in: "lnux/arm64", err: `platform "lnux/arm64": unknown OS "lnux" (known: linux, windows, darwin, freebsd, netbsd, openbsd, illumos, solaris, aix, wasip1, js)`},
	} {
		got, err := Normalize(tt.in)
		if got != tt.want || errString(err) != tt.err {
			t.Errorf("Normalize(%q) = %q, %q; want %q, %q", tt.in, got, errString(err), tt.want, tt.err)
		}
	}
}

func TestList(t *testing.T) {
	got, err := List([]string{"linux/amd64,linux/aarch64", " ", "linux/arm,"})
	if err != nil || !slices.Equal(got, []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}) {
		t.Fatalf("List = %q, %v", got, err)
	}
	if _, err := List([]string{"linux/arm64", "linux/aarch64"}); errString(err) != "linux/arm64 is listed twice" {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := List([]string{"linux/amd64", "amd64"}); errString(err) != `platform "amd64" has no OS: use os/arch, e.g. linux/amd64` {
		t.Errorf("bad entry: %v", err)
	}
	if got, err := List(nil); err != nil || got != nil {
		t.Errorf("List(nil) = %q, %v", got, err)
	}
}

func TestSet(t *testing.T) {
	got, err := Set([]string{"linux/arm64", "linux/amd64", "linux/aarch64", "linux/arm"})
	if err != nil || !slices.Equal(got, []string{"linux/amd64", "linux/arm/v7", "linux/arm64"}) {
		t.Fatalf("Set = %q, %v", got, err)
	}
	if _, err := Set([]string{"linux/amd64", "arm64"}); errString(err) != `platform "arm64" has no OS: use os/arch, e.g. linux/arm64` {
		t.Errorf("bad entry: %v", err)
	}
}

func TestContainsAndLoose(t *testing.T) {
	reported := []string{"linux/aarch64", "linux/arm64/v8", "linux/amd64/v2", "not a platform"}
	for p, want := range map[string]bool{"linux/arm64": true, "linux/amd64/v2": true, "linux/amd64": false, "not a platform": true} {
		if got := Contains(reported, p); got != want {
			t.Errorf("Contains(%q) = %v, want %v", p, got, want)
		}
	}
	if got := Loose("junk//"); got != "junk//" {
		t.Errorf("Loose kept %q", got)
	}
}

func TestArchOfOSOf(t *testing.T) {
	if ArchOf("linux/arm/v7") != "arm" || ArchOf("linux/arm64") != "arm64" || OSOf("windows/amd64") != "windows" {
		t.Error("ArchOf/OSOf")
	}
}

func TestArchTable(t *testing.T) {
	seenELF := map[ELF]string{}
	seenQEMU := map[string]string{}
	for _, a := range arches {
		if a.ELF != (ELF{}) {
			if other, dup := seenELF[a.ELF]; dup {
				t.Errorf("%s and %s share ELF %+v: verify could not tell them apart", a.GOARCH, other, a.ELF)
			}
			seenELF[a.ELF] = a.GOARCH
		}
		if a.QEMU != "" {
			if other, dup := seenQEMU[a.QEMU]; dup {
				t.Errorf("%s and %s share QEMU name %s", a.GOARCH, other, a.QEMU)
			}
			seenQEMU[a.QEMU] = a.GOARCH
		}
		if _, err := Normalize("linux/" + a.GOARCH); err != nil {
			t.Errorf("table arch %s does not parse: %v", a.GOARCH, err)
		}
	}
}

func TestParseELFHeader(t *testing.T) {
	hdr := func(class, data byte, machine uint16) []byte {
		b := make([]byte, 20)
		copy(b, "\x7fELF")
		b[4], b[5] = class, data
		if data == 2 {
			b[18], b[19] = byte(machine>>8), byte(machine)
		} else {
			b[18], b[19] = byte(machine), byte(machine>>8)
		}
		return b
	}
	for _, tt := range []struct {
		b    []byte
		arch string
		desc string
	}{
		{hdr(2, 1, 62), "amd64", "x86-64 (amd64)"},
		{hdr(2, 1, 183), "arm64", "AArch64 (arm64)"},
		{hdr(2, 1, 21), "ppc64le", "PowerPC64 little-endian (ppc64le)"},
		{hdr(2, 2, 21), "ppc64", "PowerPC64 big-endian (ppc64)"},
		{hdr(1, 2, 8), "mips", "MIPS big-endian (mips)"},
		{hdr(2, 1, 8), "mips64le", "MIPS64 little-endian (mips64le)"},
		{hdr(2, 1, 999), "", "ELF machine 999, 64-bit little-endian"},
	} {
		e, ok := ParseELFHeader(tt.b)
		if !ok {
			t.Fatalf("ParseELFHeader(%x) not ok", tt.b)
		}
		a, found := ArchByELF(e)
		if a.GOARCH != tt.arch || found != (tt.arch != "") || e.Describe() != tt.desc {
			t.Errorf("%+v: arch %q (%v), %q; want %q, %q", e, a.GOARCH, found, e.Describe(), tt.arch, tt.desc)
		}
	}
	if _, ok := ParseELFHeader([]byte("#!/bin/sh\n echo hello there")); ok {
		t.Error("a script parsed as ELF")
	}
	if _, ok := ParseELFHeader([]byte("\x7fELF")); ok {
		t.Error("a truncated header parsed")
	}
}

func TestArchByQEMU(t *testing.T) {
	if a, ok := ArchByQEMU("aarch64"); !ok || a.GOARCH != "arm64" {
		t.Errorf("aarch64 -> %v %v", a, ok)
	}
	if _, ok := ArchByQEMU(""); ok {
		t.Error("empty QEMU name matched wasm")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
