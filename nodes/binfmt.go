package nodes

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// BinfmtDir is where the kernel's binfmt_misc is mounted.
const BinfmtDir = "/proc/sys/fs/binfmt_misc"

// elfMachine identifies an architecture in an ELF header: class (1 = 32
// bit, 2 = 64 bit), byte order (1 = little, 2 = big endian), e_machine.
type elfMachine struct {
	class, data byte
	machine     uint16
}

// emulatedArch describes one architecture QEMU can emulate: its GOARCH
// name, how binfmt_misc recognizes its binaries, and QEMU's name for it
// (qemu-aarch64, the entry name Debian's qemu-user-static and
// tonistiigi/binfmt both register).
var emulatedArchs = []struct {
	arch string
	elf  elfMachine
	qemu string
}{
	{"amd64", elfMachine{2, 1, 62}, "x86_64"},
	{"386", elfMachine{1, 1, 3}, "i386"},
	{"arm64", elfMachine{2, 1, 183}, "aarch64"},
	{"arm", elfMachine{1, 1, 40}, "arm"},
	{"riscv64", elfMachine{2, 1, 243}, "riscv64"},
	{"ppc64le", elfMachine{2, 1, 21}, "ppc64le"},
	{"ppc64", elfMachine{2, 2, 21}, "ppc64"},
	{"s390x", elfMachine{2, 2, 22}, "s390x"},
	{"mips64le", elfMachine{2, 1, 8}, "mips64el"},
	{"mips64", elfMachine{2, 2, 8}, "mips64"},
	{"loong64", elfMachine{2, 1, 258}, "loongarch64"},
}

// binfmtEntry is one registered interpreter, as read from its file in
// binfmt_misc.
type binfmtEntry struct {
	name        string
	enabled     bool
	interpreter string
	flags       string
	magic       []byte
	offset      int
}

// CheckEmulation reports which of platforms this machine cannot run
// through QEMU (the binfmtDir of a local node; "" means BinfmtDir).
// Platforms of this machine's own architecture (and 386 on amd64) need no
// emulator. For every other platform it looks for an enabled binfmt_misc
// entry whose ELF magic names the architecture (or, without magic, whose
// interpreter or entry name is qemu-ARCH[-static]) and that has the F (fix-binary)
// flag: without F the kernel looks the interpreter up inside each build
// container, where it does not exist. Linux/arm on arm64 is reported
// missing without an arm entry: many arm64 CPUs cannot run 32-bit code.
// Remote nodes are not checked here: their BuildKit reports the platforms
// it can emulate (Health.Platforms).
func CheckEmulation(platforms []string, binfmtDir string) (missing []string, err error) {
	return checkEmulation(platforms, binfmtDir, runtime.GOARCH)
}

func checkEmulation(platforms []string, dir, hostArch string) ([]string, error) {
	if dir == "" {
		dir = BinfmtDir
	}
	var need []string // normalized platforms that need an emulator
	for _, p := range platforms {
		np, err := NormalizePlatform(p)
		if err != nil {
			return nil, err
		}
		os, arch, _ := strings.Cut(np, "/")
		arch, _, _ = strings.Cut(arch, "/")
		if os != "linux" {
			return nil, fmt.Errorf("%s cannot be built through QEMU: emulation runs linux binaries only; register a native %s node", np, np)
		}
		if arch == hostArch || hostArch == "amd64" && arch == "386" {
			continue
		}
		if qemuName(arch) == "" {
			return nil, fmt.Errorf("%s: xbuild does not know a QEMU emulator for %s", np, arch)
		}
		need = append(need, np)
	}
	if len(need) == 0 {
		return nil, nil
	}
	entries, err := readBinfmt(dir)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range need {
		if !hasEmulator(entries, platformArch(p)) {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

func platformArch(p string) string {
	_, arch, _ := strings.Cut(p, "/")
	arch, _, _ = strings.Cut(arch, "/")
	return arch
}

func qemuName(arch string) string {
	for _, a := range emulatedArchs {
		if a.arch == arch {
			return a.qemu
		}
	}
	return ""
}

func hasEmulator(entries []binfmtEntry, arch string) bool {
	for _, e := range entries {
		if e.enabled && strings.Contains(e.flags, "F") && e.arch() == arch {
			return true
		}
	}
	return false
}

// arch identifies the architecture an entry runs: by the ELF header in its
// magic when it has one, else by a qemu-ARCH interpreter or entry name.
func (e binfmtEntry) arch() string {
	if e.offset == 0 && len(e.magic) >= 20 && string(e.magic[:4]) == "\x7fELF" {
		m := elfMachine{class: e.magic[4], data: e.magic[5]}
		if m.data == 2 {
			m.machine = binary.BigEndian.Uint16(e.magic[18:20])
		} else {
			m.machine = binary.LittleEndian.Uint16(e.magic[18:20])
		}
		for _, a := range emulatedArchs {
			if a.elf == m {
				return a.arch
			}
		}
		return ""
	}
	for _, name := range []string{filepath.Base(e.interpreter), e.name} {
		// qemu-aarch64, qemu-aarch64-static, aarch64-binfmt-P (Debian's
		// qemu-user-binfmt wrapper)
		name = strings.TrimPrefix(name, "qemu-")
		name = strings.TrimSuffix(strings.TrimSuffix(name, "-static"), "-binfmt-P")
		for _, a := range emulatedArchs {
			if a.qemu == name {
				return a.arch
			}
		}
	}
	return ""
}

// readBinfmt reads every entry of a binfmt_misc mount. An unmounted
// binfmt_misc (no register file) is an error that says how to mount it; a
// globally disabled one yields no entries.
func readBinfmt(dir string) ([]binfmtEntry, error) {
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, rerr := os.Stat(filepath.Join(dir, "register")); rerr != nil {
			return nil, fmt.Errorf("binfmt_misc is not mounted at %s, so QEMU cannot run foreign binaries: mount it with sudo mount -t binfmt_misc binfmt_misc %s, then install the emulators with docker run --privileged --rm tonistiigi/binfmt --install all (or sudo apt-get install qemu-user-static binfmt-support on Debian/Ubuntu)", dir, dir)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, "status"), err)
	}
	if strings.TrimSpace(string(status)) == "disabled" {
		return nil, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	var out []binfmtEntry
	for _, de := range ents {
		if de.Name() == "register" || de.Name() == "status" || de.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			continue // an entry removed meanwhile, or unreadable: not usable
		}
		out = append(out, parseBinfmtEntry(de.Name(), string(b)))
	}
	return out, nil
}

// parseBinfmtEntry parses the kernel's text form of an entry:
//
//	enabled
//	interpreter /usr/bin/qemu-aarch64-static
//	flags: OCF
//	offset 0
//	magic 7f454c460201010000000000000000000200b700
//	mask ffffffffffffff00fffffffffffffffffeffffff
func parseBinfmtEntry(name, text string) binfmtEntry {
	e := binfmtEntry{name: name}
	for _, line := range strings.Split(text, "\n") {
		key, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		val = strings.TrimSpace(val)
		switch key {
		case "enabled":
			e.enabled = true
		case "interpreter":
			e.interpreter = val
		case "flags:":
			e.flags = val
		case "offset":
			fmt.Sscanf(val, "%d", &e.offset)
		case "magic":
			e.magic, _ = hex.DecodeString(val)
		}
	}
	return e
}

// EmulationHint says how to install the QEMU emulators for the missing
// platforms and how to check the result.
func EmulationHint(missing []string) string {
	if len(missing) == 0 {
		return ""
	}
	var qemu []string
	for _, p := range missing {
		if q := qemuName(platformArch(p)); q != "" {
			qemu = append(qemu, "qemu-"+q)
		}
	}
	var arches []string
	for _, p := range missing {
		arches = append(arches, platformArch(p))
	}
	return fmt.Sprintf("QEMU emulation is not set up on this machine for %s. Install it with one of:\n"+
		"  docker run --privileged --rm tonistiigi/binfmt --install %s\n"+
		"  sudo apt-get install qemu-user-static binfmt-support   (Debian/Ubuntu)\n"+
		"Then check: ls %s should list %s, and each of those files should say \"enabled\" and have F among its flags.",
		strings.Join(missing, ", "), strings.Join(arches, ","), BinfmtDir, strings.Join(qemu, ", "))
}
