package platform

import (
	"encoding/binary"
	"fmt"
)

// ELF identifies an architecture in an ELF header: the class (1 = 32 bit,
// 2 = 64 bit), the byte order (1 = little, 2 = big endian) and e_machine.
// All three are needed: ppc64 and ppc64le share e_machine 21 and differ
// only in byte order, mips and mips64 only in class.
type ELF struct {
	Class   byte
	Data    byte
	Machine uint16
}

// Arch is one CPU architecture as the tools around an image name it.
type Arch struct {
	// GOARCH is the name in platform strings (amd64, arm64, ppc64le).
	GOARCH string
	// Name is the human name used in messages (x86-64, AArch64).
	Name string
	// ELF is how its binaries' headers say it; zero for wasm.
	ELF ELF
	// QEMU is QEMU's name for it (qemu-aarch64), the binfmt_misc entry
	// name Debian's qemu-user-static and tonistiigi/binfmt register; ""
	// when QEMU has no user-mode emulator for it.
	QEMU string
}

// arches is THE architecture table: platform validation, the binfmt_misc
// check for emulated nodes and verify's ELF check all read it.
var arches = []Arch{
	{GOARCH: "amd64", Name: "x86-64", ELF: ELF{2, 1, 62}, QEMU: "x86_64"},
	{GOARCH: "386", Name: "x86 (32-bit)", ELF: ELF{1, 1, 3}, QEMU: "i386"},
	{GOARCH: "arm64", Name: "AArch64", ELF: ELF{2, 1, 183}, QEMU: "aarch64"},
	{GOARCH: "arm", Name: "ARM (32-bit)", ELF: ELF{1, 1, 40}, QEMU: "arm"},
	{GOARCH: "riscv64", Name: "RISC-V 64", ELF: ELF{2, 1, 243}, QEMU: "riscv64"},
	{GOARCH: "ppc64le", Name: "PowerPC64 little-endian", ELF: ELF{2, 1, 21}, QEMU: "ppc64le"},
	{GOARCH: "ppc64", Name: "PowerPC64 big-endian", ELF: ELF{2, 2, 21}, QEMU: "ppc64"},
	{GOARCH: "s390x", Name: "s390x", ELF: ELF{2, 2, 22}, QEMU: "s390x"},
	{GOARCH: "mips64le", Name: "MIPS64 little-endian", ELF: ELF{2, 1, 8}, QEMU: "mips64el"},
	{GOARCH: "mips64", Name: "MIPS64 big-endian", ELF: ELF{2, 2, 8}, QEMU: "mips64"},
	{GOARCH: "mipsle", Name: "MIPS little-endian", ELF: ELF{1, 1, 8}, QEMU: "mipsel"},
	{GOARCH: "mips", Name: "MIPS big-endian", ELF: ELF{1, 2, 8}, QEMU: "mips"},
	{GOARCH: "loong64", Name: "LoongArch64", ELF: ELF{2, 1, 258}, QEMU: "loongarch64"},
	{GOARCH: "wasm", Name: "WebAssembly"},
}

// KnownOS are the operating systems images are built for; a typo such as
// lnux/arm64 is an error rather than a platform no node will ever offer.
var KnownOS = []string{"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "illumos", "solaris", "aix", "wasip1", "js"}

// KnownArchs lists the GOARCH names of the architecture table, in its order.
func KnownArchs() []string {
	out := make([]string, len(arches))
	for i, a := range arches {
		out[i] = a.GOARCH
	}
	return out
}

// LookupArch returns the table entry for a GOARCH name.
func LookupArch(goarch string) (Arch, bool) {
	for _, a := range arches {
		if a.GOARCH == goarch {
			return a, true
		}
	}
	return Arch{}, false
}

// ArchByELF returns the architecture whose binaries carry e.
func ArchByELF(e ELF) (Arch, bool) {
	for _, a := range arches {
		if a.ELF != (ELF{}) && a.ELF == e {
			return a, true
		}
	}
	return Arch{}, false
}

// ArchByQEMU returns the architecture QEMU calls name (aarch64 -> arm64).
func ArchByQEMU(name string) (Arch, bool) {
	for _, a := range arches {
		if a.QEMU != "" && a.QEMU == name {
			return a, true
		}
	}
	return Arch{}, false
}

// ParseELFHeader reads the identification of an ELF header (at least its
// first 20 bytes); ok is false for anything that is not ELF.
func ParseELFHeader(b []byte) (e ELF, ok bool) {
	if len(b) < 20 || string(b[:4]) != "\x7fELF" {
		return ELF{}, false
	}
	e.Class, e.Data = b[4], b[5]
	if e.Data == 2 {
		e.Machine = binary.BigEndian.Uint16(b[18:20])
	} else {
		e.Machine = binary.LittleEndian.Uint16(b[18:20])
	}
	return e, true
}

// Describe names the architecture of an ELF identification for messages:
// "AArch64 (arm64)", or "ELF machine 99, 64-bit little-endian" when it is
// not in the table.
func (e ELF) Describe() string {
	if a, ok := ArchByELF(e); ok {
		return a.Describe()
	}
	bits, order := "32-bit", "little-endian"
	if e.Class == 2 {
		bits = "64-bit"
	}
	if e.Data == 2 {
		order = "big-endian"
	}
	return fmt.Sprintf("ELF machine %d, %s %s", e.Machine, bits, order)
}

// Describe names the architecture for messages: "AArch64 (arm64)".
func (a Arch) Describe() string { return a.Name + " (" + a.GOARCH + ")" }
