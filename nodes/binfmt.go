package nodes

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/xbuild-dev/xbuild/internal/platform"
)

// BinfmtDir is where the kernel's binfmt_misc is mounted.
const BinfmtDir = "/proc/sys/fs/binfmt_misc"

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
		np, err := platform.Normalize(p)
		if err != nil {
			return nil, err
		}
		os, arch := platform.OSOf(np), platform.ArchOf(np)
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
		if !hasEmulator(entries, platform.ArchOf(p)) {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// qemuName is QEMU's name for a GOARCH (arm64 -> aarch64), "" if none.
func qemuName(arch string) string {
	a, _ := platform.LookupArch(arch)
	return a.QEMU
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
	if e.offset == 0 {
		if id, ok := platform.ParseELFHeader(e.magic); ok {
			a, _ := platform.ArchByELF(id)
			return a.GOARCH
		}
	}
	for _, name := range []string{filepath.Base(e.interpreter), e.name} {
		// qemu-aarch64, qemu-aarch64-static, aarch64-binfmt-P (Debian's
		// qemu-user-binfmt wrapper)
		name = strings.TrimPrefix(name, "qemu-")
		name = strings.TrimSuffix(strings.TrimSuffix(name, "-static"), "-binfmt-P")
		if a, ok := platform.ArchByQEMU(name); ok {
			return a.GOARCH
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
		if q := qemuName(platform.ArchOf(p)); q != "" {
			qemu = append(qemu, "qemu-"+q)
		}
	}
	var arches []string
	for _, p := range missing {
		arches = append(arches, platform.ArchOf(p))
	}
	return fmt.Sprintf("QEMU emulation is not set up on this machine for %s. Install it with one of:\n"+
		"  docker run --privileged --rm tonistiigi/binfmt --install %s\n"+
		"  sudo apt-get install qemu-user-static binfmt-support   (Debian/Ubuntu)\n"+
		"Then check: ls %s should list %s, and each of those files should say \"enabled\" and have F among its flags.",
		strings.Join(missing, ", "), strings.Join(arches, ","), BinfmtDir, strings.Join(qemu, ", "))
}
