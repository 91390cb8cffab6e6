package nodes

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// FuzzParseEndpoint: every endpoint ParseEndpoint accepts prints
// (String) in a form that parses back to the same Endpoint and prints the
// same again; tcp and unix endpoints have a dial address.
func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"tcp://10.0.0.2:1234", "TCP://Arm1.Example.com:2376/", "tcp://[::1]:1234", "tcp://[fe80::1%25eth0]:1234",
		"tcp://::1:1234", "tcp://[::ffff:10.0.0.1]:1234", "tcp://a..b:1", "tcp://arm1.example.com.:01234",
		"unix:///run/buildkit/buildkitd.sock", "unix:///run/../x%20y.sock", "unix:///a%25b",
		"kubernetes://buildkit", "kubernetes://buildkit?context=arn:aws:eks:eu-west-1:1:cluster/ci",
		"kubernetes://buildkit?context=a%26b", "kubernetes://b?context=a;b", "10.0.0.2:1234", "ssh://me@arm1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ep, err := ParseEndpoint(raw)
		if err != nil {
			return
		}
		s := ep.String()
		again, err := ParseEndpoint(s)
		if err != nil {
			t.Fatalf("ParseEndpoint(%q) = %#v prints %q, which does not parse: %v", raw, ep, s, err)
		}
		if again != ep {
			t.Fatalf("ParseEndpoint(%q) = %#v prints %q, which parses to %#v", raw, ep, s, again)
		}
		if again.String() != s {
			t.Fatalf("%q prints as %q the second time", s, again.String())
		}
		if (ep.Scheme == "tcp" || ep.Scheme == "unix") && ep.Address() == "" {
			t.Fatalf("ParseEndpoint(%q) = %#v has no address", raw, ep)
		}
	})
}

// FuzzReadNode feeds the node store's reader arbitrary node files. It
// must never panic; a file it accepts holds a normalized node (normalizing
// again changes nothing) that the store writes and reads back unchanged.
func FuzzReadNode(f *testing.F) {
	for _, s := range []string{
		`{"name":"n1","kind":"buildkit","endpoint":"tcp://arm1.example.com:1234","platforms":["linux/arm64"],"tls":{"ca":"/c/ca.pem","cert":"/c/cert.pem","key":"/c/key.pem"},"builder":"xbuild","added":"2026-01-02T03:04:05Z","schemaVersion":1}`,
		`{"name":"n1","endpoint":"unix:///run/buildkit/buildkitd.sock","platforms":["linux/amd64","linux/x86_64"]}`,
		`{"name":"n1","kind":"docker","endpoint":"tcp://[fe80::1%25eth0]:2376","platforms":["linux/arm/v7"],"insecure":true,"driverOpts":{"image":"moby/buildkit:v0.34.0"}}`,
		`{"name":"n1","kind":"kubernetes","endpoint":"kubernetes://buildkit?context=a%26b","platforms":["linux/amd64"],"buildkitdConfig":"[registry]"}`,
		`{"name":"n1","endpoint":"tcp://x:1","platforms":[],"schemaVersion":2}`,
		`{"name":"other"}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(s.NodeFile("n1"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := s.readNode("n1")
		if err != nil {
			return
		}
		if n.Name != "n1" {
			t.Fatalf("read node %q from the file of n1", n.Name)
		}
		norm, err := n.Normalized()
		if err != nil || !reflect.DeepEqual(norm, n) {
			t.Fatalf("read node %+v normalizes to %+v, %v", n, norm, err)
		}
		if err := s.writeNode(n); err != nil {
			t.Fatal(err)
		}
		back, err := s.readNode("n1")
		if err != nil || !reflect.DeepEqual(back, n) {
			b, _ := json.Marshal(n)
			t.Fatalf("node %s written and read back: %+v, %v", b, back, err)
		}
	})
}
