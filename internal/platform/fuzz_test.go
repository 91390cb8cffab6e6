package platform

import (
	"slices"
	"strings"
	"testing"
)

// FuzzNormalize: a platform Normalize accepts comes back canonical, and
// the canonical form is a fixed point of Normalize, Parse, Loose, List and
// Set; ArchOf and OSOf take it apart as Parse does.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/aarch64", "linux/arm64/v8", "linux/arm", "linux/arm/v6", "Linux/X86_64",
		"windows/amd64", "linux/386", "linux/riscv64", "linux/ppc64le", "linux/s390x", "arm64", "", " linux/amd64 ", "linux//amd64",
		"linux/arm/v7/extra", "darwin/arm64", "linux/amd64/v3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Normalize(s)
		if err != nil {
			if Loose(s) != s {
				t.Fatalf("Loose(%q) = %q, want it unchanged: Normalize refuses it (%v)", s, Loose(s), err)
			}
			return
		}
		if again, err := Normalize(p); err != nil || again != p {
			t.Fatalf("Normalize(%q) = %q, then %q, %v", s, p, again, err)
		}
		parsed, err := Parse(p)
		if err != nil || parsed.String() != p {
			t.Fatalf("Parse(%q) = %+v, %v", p, parsed, err)
		}
		if ArchOf(p) != parsed.Arch || OSOf(p) != parsed.OS {
			t.Fatalf("ArchOf/OSOf(%q) = %q, %q; Parse says %+v", p, ArchOf(p), OSOf(p), parsed)
		}
		if Loose(s) != p || !Contains([]string{s}, p) {
			t.Fatalf("Loose(%q) = %q, want %q", s, Loose(s), p)
		}
		if !strings.Contains(s, ",") {
			if l, err := List([]string{s}); err != nil || !slices.Equal(l, []string{p}) {
				t.Fatalf("List([%q]) = %q, %v; want [%q]", s, l, err, p)
			}
		}
		if set, err := Set([]string{s, p}); err != nil || !slices.Equal(set, []string{p}) {
			t.Fatalf("Set([%q, %q]) = %q, %v", s, p, set, err)
		}
	})
}

// FuzzList: a list List accepts is canonical, without duplicates and in
// the order given; List of it is itself, and Set of it is its sorted form.
func FuzzList(f *testing.F) {
	for _, s := range []string{"linux/amd64,linux/arm64", "linux/arm64,linux/aarch64", " , linux/arm ,", "linux/amd64\x00linux/arm/v7",
		"linux/386,,linux/s390x", "arm64,linux/amd64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries := strings.Split(s, "\x00") // several --platform flags
		l, err := List(entries)
		if err != nil {
			return
		}
		for i, p := range l {
			if n, err := Normalize(p); err != nil || n != p {
				t.Fatalf("List(%q)[%d] = %q is not canonical (%q, %v)", entries, i, p, n, err)
			}
			if slices.Index(l, p) != i {
				t.Fatalf("List(%q) = %q lists %q twice", entries, l, p)
			}
		}
		if again, err := List(l); err != nil || !slices.Equal(again, l) {
			t.Fatalf("List(%q) = %q, then %q, %v", entries, l, again, err)
		}
		sorted := slices.Sorted(slices.Values(l))
		if set, err := Set(l); err != nil || !slices.Equal(set, sorted) {
			t.Fatalf("Set(%q) = %q, %v; want %q", l, set, err, sorted)
		}
		if joined, err := List([]string{strings.Join(l, ",")}); err != nil || !slices.Equal(joined, l) {
			t.Fatalf("List of %q joined with commas = %q, %v", l, joined, err)
		}
	})
}
