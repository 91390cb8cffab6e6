package pipeline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xbuild-dev/xbuild/nodes"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated sample blocks of README.md and examples/remote-nodes/README.md")

// The sample output in the READMEs is rendered here from the code's own
// messages (the step names, the health lines, the routing warnings and
// errors, the report table) for fixed nodes and numbers, so it cannot
// drift from what xbuild prints. A block is a fenced code block after a
// line <!-- sample: NAME ... -->; go test ./pipeline -run TestDocSamples
// -update-docs rewrites them.
func TestDocSamples(t *testing.T) {
	samples := map[string]func(t *testing.T) string{
		"farm-fallback":   sampleFarmFallback,
		"remote-build":    sampleRemoteBuild,
		"remote-refusal":  sampleRemoteRefusal,
		"remote-fallback": sampleRemoteFallback,
	}
	seen := map[string]bool{}
	for _, file := range []string{"../README.md", "../examples/remote-nodes/README.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		updated, names, err := renderSamples(data, func(name string) (string, bool) {
			render, ok := samples[name]
			if !ok {
				return "", false
			}
			return render(t), true
		})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, n := range names {
			seen[n] = true
		}
		if bytes.Equal(updated, data) {
			continue
		}
		if *updateDocs {
			if err := os.WriteFile(file, updated, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: a sample block differs from what xbuild prints; run: go test ./pipeline -run TestDocSamples -update-docs\n%s", file, firstDiff(data, updated))
	}
	for name := range samples {
		if !seen[name] {
			t.Errorf("no README holds the sample %q", name)
		}
	}
}

var sampleMarkRE = regexp.MustCompile(`^<!-- sample: ([a-z-]+)\b.*-->$`)

// renderSamples replaces the fenced block after each sample marker with
// its rendering.
func renderSamples(data []byte, render func(string) (string, bool)) ([]byte, []string, error) {
	lines := strings.SplitAfter(string(data), "\n")
	var out strings.Builder
	var names []string
	for i := 0; i < len(lines); i++ {
		out.WriteString(lines[i])
		m := sampleMarkRE.FindStringSubmatch(strings.TrimRight(lines[i], "\n"))
		if m == nil {
			continue
		}
		body, ok := render(m[1])
		if !ok {
			return nil, nil, fmt.Errorf("line %d: no sample called %q", i+1, m[1])
		}
		names = append(names, m[1])
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			return nil, nil, fmt.Errorf("line %d: the sample %s marker is not followed by a fenced block", i+1, m[1])
		}
		out.WriteString(lines[i+1]) // the opening fence, with its language
		end := i + 2
		for end < len(lines) && !strings.HasPrefix(lines[end], "```") {
			end++
		}
		if end == len(lines) {
			return nil, nil, fmt.Errorf("line %d: the sample %s block is not closed", i+2, m[1])
		}
		out.WriteString(body)
		out.WriteString(lines[end])
		i = end
	}
	return []byte(out.String()), names, nil
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  README: %s\n  xbuild: %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("the files differ in length (%d and %d lines)", len(al), len(bl))
}

// sampleHealth checks fixture nodes with the real health checker: each
// named in refused gets a connection refused, in silent a dial timeout,
// the others answer.
func sampleHealth(t *testing.T, ns []nodes.Node, refused, silent string) map[string]nodes.Health {
	t.Helper()
	dial := func(_ context.Context, _, addr string) (net.Conn, error) {
		switch addr {
		case refused:
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: tcpAddr(addr), Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
		case silent:
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: tcpAddr(addr), Err: timeoutErr{}}
		}
		a, b := net.Pipe()
		go func() { _ = b.Close() }()
		return a, nil
	}
	probes := &fakeEngine{probes: map[string][]string{}}
	for _, n := range ns {
		probes.probes[n.Endpoint] = n.Platforms
	}
	c := &nodes.Checker{Prober: probes, Dial: dial, Timeout: 2500 * time.Millisecond}
	out := map[string]nodes.Health{}
	for _, h := range c.Check(context.Background(), ns) {
		out[h.Node] = h
	}
	return out
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func tcpAddr(s string) net.Addr {
	a, _ := net.ResolveTCPAddr("tcp", s)
	return a
}

func sampleNode(name, host string, emulated bool, platforms ...string) nodes.Node {
	return nodes.Node{Name: name, Kind: nodes.KindBuildKit, Endpoint: "tcp://" + host + ":1234", Platforms: platforms, Emulated: emulated, Insecure: true, Builder: "xbuild"}
}

// sampleReport is a report of a verified two-platform push.
func sampleReport(ref, digest string, rows []PlatformReport, steps ...float64) *Report {
	rep := &Report{Refs: []string{ref}, Digest: digest, Pushed: true, Published: true, Platforms: rows,
		Verify: &VerifyReport{OK: true}}
	for i := 0; i < 12; i++ {
		rep.Verify.Checks = append(rep.Verify.Checks, Check{Name: "check", OK: true})
	}
	for i, name := range []string{"lint", "plan", "build", "verify", "publish"} {
		rep.Steps = append(rep.Steps, Timing{Step: name, Seconds: steps[i]})
	}
	return rep
}

func table(rep *Report) string {
	var b bytes.Buffer
	writeTable(&b, rep)
	return strings.TrimPrefix(b.String(), "\n")
}

func sampleFarmFallback(t *testing.T) string {
	ns := []nodes.Node{sampleNode("amd1", "10.77.0.6", false, "linux/amd64"), sampleNode("arm1", "10.77.0.2", false, "linux/arm64"),
		sampleNode("qemu", "127.0.0.1", true, "linux/amd64", "linux/arm64")}
	health := sampleHealth(t, ns, "", "10.77.0.2:1234")
	plan, err := nodes.Route([]string{"linux/amd64", "linux/arm64"}, ns, health, true)
	if err != nil {
		t.Fatal(err)
	}
	rep := sampleReport("registry.xbuild.test:15001/try/app:3", "sha256:7a81ecdc693e966696c6522fb7bdba2043db7297b64ae163c74d26aa6df9f7ad", []PlatformReport{
		{Platform: "linux/amd64", Node: "amd1", Result: ResultBuilt, CompressedSize: 1_070_000, Layers: 2, Digest: "sha256:12d651ba12f5c0de"},
		{Platform: "linux/arm64", Node: "qemu", Emulated: true, Result: ResultBuilt, CompressedSize: 1_040_000, Layers: 2, Digest: "sha256:dcdfd2cc5e16c0de"},
	}, 0.3, 2.5, 0.7, 0.3, 0.0)
	rep.Warnings = plan.Warnings
	var b strings.Builder
	(&TextLogger{W: &b}).Warn("%s", plan.Warnings[0])
	return b.String() + "...\n" + table(rep)
}

func sampleRemoteBuild(t *testing.T) string {
	ns := []nodes.Node{sampleNode("amd1", "10.0.0.11", false, "linux/amd64"), sampleNode("arm1", "10.0.0.12", false, "linux/arm64")}
	health := sampleHealth(t, ns, "", "")
	var b strings.Builder
	b.WriteString("$ xbuild build -t registry.example.com/team/go-service:1.2.3 --push\n")
	log := &TextLogger{W: &b}
	log.Start(LintStep{}.String())
	log.Start(PlanStep{}.String())
	for _, n := range []string{"amd1", "arm1"} {
		h := health[n]
		h.BuildKitVersion, h.Latency = "v0.34.2", map[string]time.Duration{"amd1": 8 * time.Millisecond, "arm1": 7 * time.Millisecond}[n]
		log.Info("%s", healthLine(h))
	}
	log.Info("%s", checkedLine(2, 19*time.Millisecond))
	log.Start(BuildStep{}.String())
	b.WriteString("...\n")
	log.Start(VerifyStep{}.String())
	log.Start(PublishStep{}.String())
	log.Start(ReportStep{}.String())
	rep := sampleReport("registry.example.com/team/go-service:1.2.3", "sha256:4269fc9a5d8dbf39efd88a260003a426706dc22457145579774642b110783d7d", []PlatformReport{
		{Platform: "linux/amd64", Node: "amd1", Result: ResultBuilt, CompressedSize: 2_850_000, Layers: 2, Digest: "sha256:471c3a53a114c0de"},
		{Platform: "linux/arm64", Node: "arm1", Result: ResultBuilt, CompressedSize: 2_610_000, Layers: 2, Digest: "sha256:b29dcb189ad3c0de"},
	}, 0.3, 0.1, 1.3, 0.2, 0.0)
	var out, errOut bytes.Buffer
	if err := printReport(&out, &errOut, "table", rep); err != nil {
		t.Fatal(err)
	}
	return b.String() + errOut.String() + out.String()
}

func remoteNodes() []nodes.Node {
	return []nodes.Node{sampleNode("amd1", "10.0.0.11", false, "linux/amd64"), sampleNode("arm1", "10.0.0.12", false, "linux/arm64"),
		sampleNode("qemu1", "10.0.0.11", true, "linux/amd64", "linux/arm64")}
}

func sampleRemoteRefusal(t *testing.T) string {
	ns := remoteNodes()
	ns[2].Endpoint = "tcp://10.0.0.11:1235"
	_, err := nodes.Route([]string{"linux/amd64", "linux/arm64"}, ns, sampleHealth(t, ns, "10.0.0.12:1234", ""), false)
	if err == nil {
		t.Fatal("routed without arm1")
	}
	return "$ xbuild build -t registry.example.com/team/go-service:1.2.3 --push\n...\nError: " + (&StepError{Step: "plan", Err: err}).Error() + "\n"
}

func sampleRemoteFallback(t *testing.T) string {
	ns := remoteNodes()
	ns[2].Endpoint = "tcp://10.0.0.11:1235"
	plan, err := nodes.Route([]string{"linux/amd64", "linux/arm64"}, ns, sampleHealth(t, ns, "10.0.0.12:1234", ""), true)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Warnings) != 1 {
		t.Fatal(errors.New("want one emulation warning"))
	}
	var b strings.Builder
	b.WriteString("$ xbuild build -t registry.example.com/team/go-service:1.2.3 --push --allow-emulation\n...\n")
	(&TextLogger{W: &b}).Warn("%s", plan.Warnings[0])
	b.WriteString("...\n")
	rep := sampleReport("registry.example.com/team/go-service:1.2.3", "sha256:8d02a4a3ef1bd1a8e5bd0a8ee1c9b6d0f0b5c2a7d9e3f4a1b2c3d4e5f6a7b8c9", []PlatformReport{
		{Platform: "linux/amd64", Node: "amd1", Result: ResultBuilt, CompressedSize: 2_850_000, Layers: 2, Digest: "sha256:35dc197aeb82c0de"},
		{Platform: "linux/arm64", Node: "qemu1", Emulated: true, Result: ResultBuilt, CompressedSize: 2_610_000, Layers: 2, Digest: "sha256:56f1ffe457b1c0de"},
	}, 0.4, 0.0, 74.2, 0.2, 0.0)
	rep.Warnings = plan.Warnings
	return b.String() + table(rep)
}
