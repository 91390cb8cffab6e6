package nodes

import (
	"os"
	"path/filepath"
	"testing"
)

// binfmt entries in the kernel's text form, as Debian's qemu-user-binfmt,
// qemu-user-static and tonistiigi/binfmt register them.
const (
	aarch64Debian = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	aarch64NoF    = "enabled\ninterpreter /usr/bin/qemu-aarch64-static\nflags: OC\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	aarch64Off    = "disabled\ninterpreter /usr/bin/qemu-aarch64\nflags: OCF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	armStatic     = "enabled\ninterpreter /usr/bin/qemu-arm\nflags: OCF\noffset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	s390x         = "enabled\ninterpreter /usr/bin/qemu-s390x\nflags: OCF\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask ffffffffffffff00fffffffffffffffffffeffff\n"
	x8664         = "enabled\ninterpreter /usr/bin/qemu-x86_64\nflags: F\noffset 0\nmagic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefe00fffffffffffffffffeffffff\n"
	riscvByName   = "enabled\ninterpreter /usr/bin/qemu-riscv64-static\nflags: F\nextension .rv\n"
	python        = "enabled\ninterpreter /usr/bin/python3.11\nflags: \noffset 0\nmagic a70d0d0a\n"
)

// binfmtDir writes a fake binfmt_misc mount.
func binfmtDir(t *testing.T, status string, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "register"), nil, 0o200)
	if status != "" {
		writeFile(t, filepath.Join(dir, "status"), []byte(status+"\n"), 0o644)
	}
	for name, text := range entries {
		writeFile(t, filepath.Join(dir, name), []byte(text), 0o644)
	}
	return dir
}

func TestCheckEmulation(t *testing.T) {
	t.Parallel()
	debian := binfmtDir(t, "enabled", map[string]string{"qemu-aarch64": aarch64Debian, "qemu-arm": armStatic, "qemu-s390x": s390x, "python3.11": python})
	noF := binfmtDir(t, "enabled", map[string]string{"qemu-aarch64": aarch64NoF})
	off := binfmtDir(t, "enabled", map[string]string{"qemu-aarch64": aarch64Off})
	globallyOff := binfmtDir(t, "disabled", map[string]string{"qemu-aarch64": aarch64Debian})
	renamed := binfmtDir(t, "enabled", map[string]string{"arm64-emulator": aarch64Debian, "rv": riscvByName})
	onArm := binfmtDir(t, "enabled", map[string]string{"qemu-x86_64": x8664})
	unmounted := t.TempDir()
	mountErr := "binfmt_misc is not mounted at " + unmounted + ", so QEMU cannot run foreign binaries: mount it with sudo mount -t binfmt_misc binfmt_misc " + unmounted +
		", then install the emulators with docker run --privileged --rm tonistiigi/binfmt --install all (or sudo apt-get install qemu-user-static binfmt-support on Debian/Ubuntu)"

	tests := []struct {
		name      string
		platforms []string
		dir       string
		host      string
		missing   []string
		err       string
	}{
		{name: "native only needs nothing", platforms: []string{"linux/amd64", "linux/386"}, dir: unmounted, host: "amd64"},
		{name: "debian", platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6", "linux/s390x"}, dir: debian, host: "amd64"},
		{name: "debian lacks riscv and ppc", platforms: []string{"linux/riscv64", "linux/aarch64", "linux/ppc64le"}, dir: debian, host: "amd64", missing: []string{"linux/riscv64", "linux/ppc64le"}},
		{name: "no fix-binary flag", platforms: []string{"linux/arm64"}, dir: noF, host: "amd64", missing: []string{"linux/arm64"}},
		{name: "entry disabled", platforms: []string{"linux/arm64"}, dir: off, host: "amd64", missing: []string{"linux/arm64"}},
		{name: "binfmt disabled", platforms: []string{"linux/arm64"}, dir: globallyOff, host: "amd64", missing: []string{"linux/arm64"}},
		{name: "matched by magic or interpreter", platforms: []string{"linux/arm64", "linux/riscv64"}, dir: renamed, host: "amd64"},
		{name: "arm64 host emulating amd64", platforms: []string{"linux/arm64", "linux/amd64", "linux/arm/v7"}, dir: onArm, host: "arm64", missing: []string{"linux/arm/v7"}},
		{name: "not mounted", platforms: []string{"linux/arm64"}, dir: unmounted, host: "amd64", err: mountErr},
		{name: "windows", platforms: []string{"windows/arm64"}, dir: debian, host: "amd64", err: "windows/arm64 cannot be built through QEMU: emulation runs linux binaries only; register a native windows/arm64 node"},
		{name: "bad platform", platforms: []string{"arm64"}, dir: debian, host: "amd64", err: `platform "arm64" has no OS: use os/arch, e.g. linux/arm64`},
		{name: "no emulator known", platforms: []string{"linux/wasm"}, dir: debian, host: "amd64", err: "linux/wasm: xbuild does not know a QEMU emulator for wasm"},
	}
	for _, tt := range tests {
		missing, err := checkEmulation(tt.platforms, tt.dir, tt.host)
		if errString(err) != tt.err {
			t.Errorf("%s: error = %q\nwant %q", tt.name, errString(err), tt.err)
		}
		assertStrings(t, missing, tt.missing)
	}
}

func TestCheckEmulationRealMachine(t *testing.T) {
	t.Parallel()
	// Only proves the exported wrapper runs against the real mount; what
	// it finds depends on the machine.
	if _, err := os.Stat(filepath.Join(BinfmtDir, "register")); err != nil {
		t.Skip("binfmt_misc not mounted here")
	}
	missing, err := CheckEmulation([]string{"linux/arm64", "linux/amd64"}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("missing emulators here: %v", missing)
}

func TestEmulationHint(t *testing.T) {
	t.Parallel()
	if got := EmulationHint(nil); got != "" {
		t.Errorf("EmulationHint(nil) = %q", got)
	}
	const want = `QEMU emulation is not set up on this machine for linux/arm64, linux/riscv64. Install it with one of:
  docker run --privileged --rm tonistiigi/binfmt --install arm64,riscv64
  sudo apt-get install qemu-user-static binfmt-support   (Debian/Ubuntu)
Then check: ls /proc/sys/fs/binfmt_misc should list qemu-aarch64, qemu-riscv64, and each of those files should say "enabled" and have F among its flags.`
	if got := EmulationHint([]string{"linux/arm64", "linux/riscv64"}); got != want {
		t.Errorf("EmulationHint =\n%s\nwant\n%s", got, want)
	}
}
