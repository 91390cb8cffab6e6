package nodes

import "testing"

// Every endpoint ParseEndpoint accepts prints (String) in a form that
// parses back to the same Endpoint; what cannot be printed so is refused
// with an error saying what to write (issue 18, item 7).
func TestEndpointStringParsesBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		want      Endpoint
		canonical string
		address   string
	}{
		// a zone id is percent-encoded in the URL (RFC 6874), raw in the dial address
		{"tcp://[fe80::1%25eth0]:1234", Endpoint{Scheme: "tcp", Host: "fe80::1%eth0", Port: 1234}, "tcp://[fe80::1%25eth0]:1234", "[fe80::1%eth0]:1234"},
		{"tcp://[FE80::A%25Eth0]:1234", Endpoint{Scheme: "tcp", Host: "fe80::a%Eth0", Port: 1234}, "tcp://[fe80::a%25Eth0]:1234", "[fe80::a%Eth0]:1234"},
		// IP addresses are written canonically, so one address has one form
		{"tcp://[0:0:0::1]:1234", Endpoint{Scheme: "tcp", Host: "::1", Port: 1234}, "tcp://[::1]:1234", "[::1]:1234"},
		{"tcp://[2001:DB8::0:1]:1234", Endpoint{Scheme: "tcp", Host: "2001:db8::1", Port: 1234}, "tcp://[2001:db8::1]:1234", "[2001:db8::1]:1234"},
		{"tcp://[::ffff:10.0.0.1]:1234", Endpoint{Scheme: "tcp", Host: "::ffff:10.0.0.1", Port: 1234}, "tcp://[::ffff:10.0.0.1]:1234", "[::ffff:10.0.0.1]:1234"},
		{"tcp://arm1.example.com.:1234", Endpoint{Scheme: "tcp", Host: "arm1.example.com", Port: 1234}, "tcp://arm1.example.com:1234", "arm1.example.com:1234"},
		{"tcp://build_node-1:1234", Endpoint{Scheme: "tcp", Host: "build_node-1", Port: 1234}, "tcp://build_node-1:1234", "build_node-1:1234"},
		{"tcp://arm1:01234", Endpoint{Scheme: "tcp", Host: "arm1", Port: 1234}, "tcp://arm1:1234", "arm1:1234"},
		{"unix:///run/my%20dir/buildkitd.sock", Endpoint{Scheme: "unix", Path: "/run/my dir/buildkitd.sock"}, "unix:///run/my dir/buildkitd.sock", "/run/my dir/buildkitd.sock"},
		{"kubernetes://buildkit?context=a%3Bb", Endpoint{Scheme: "kubernetes", Namespace: "buildkit", Context: "a;b"}, "kubernetes://buildkit?context=a%3Bb", ""},
		{"kubernetes://buildkit?context=a%0Ab", Endpoint{Scheme: "kubernetes", Namespace: "buildkit", Context: "a\nb"}, "kubernetes://buildkit?context=a%0Ab", ""},
		{"kubernetes://buildkit?context=%C3%A9t%C3%A9", Endpoint{Scheme: "kubernetes", Namespace: "buildkit", Context: "été"}, "kubernetes://buildkit?context=%C3%A9t%C3%A9", ""},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want || got.String() != tt.canonical || got.Address() != tt.address {
			t.Errorf("ParseEndpoint(%q) = %#v (%q, %q); want %#v (%q, %q)", tt.in, got, got.String(), got.Address(), tt.want, tt.canonical, tt.address)
		}
		if again, err := ParseEndpoint(got.String()); err != nil || again != got {
			t.Errorf("ParseEndpoint(%q).String() = %q parses to %#v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseEndpointRefusesUnprintableHosts(t *testing.T) {
	t.Parallel()
	const hostHelp = "a host is a DNS name (letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters), an IPv4 address or an IPv6 address in brackets"
	tests := []struct{ in, err string }{
		{"tcp://::1:1234", `endpoint "tcp://::1:1234": write an IPv6 address in brackets, e.g. tcp://[fd00::12]:1234`},
		{"tcp://fe80::1%25eth0:1234", `endpoint "tcp://fe80::1%25eth0:1234": write an IPv6 address in brackets, e.g. tcp://[fd00::12]:1234`},
		{"tcp://a%25b:1234", `endpoint "tcp://a%25b:1234": host "a%b" is not valid (contains '%'): ` + hostHelp},
		{"tcp://a..b:1234", `endpoint "tcp://a..b:1234": host "a..b" is not valid (empty label): ` + hostHelp},
		{"tcp://-a.b:1234", `endpoint "tcp://-a.b:1234": host "-a.b" is not valid (label "-a" starts or ends with '-'): ` + hostHelp},
		{"tcp://a!b:1234", `endpoint "tcp://a!b:1234": host "a!b" is not valid (contains '!'): ` + hostHelp},
		{"tcp://010.0.0.1:1234", `endpoint "tcp://010.0.0.1:1234": host "010.0.0.1" is not valid (not an IPv4 address, and a DNS name does not end in a number): ` + hostHelp},
		{"tcp://[fe80::1%25]:1234", `endpoint "tcp://[fe80::1%25]:1234" is not a valid URL: ` + endpointExamples},
		{"tcp://[fe80::1%25a%20b]:1234", `endpoint "tcp://[fe80::1%25a%20b]:1234": zone "a b" of host "fe80::1%a b" is not an interface name (letters, digits, '.', '-' and '_')`},
		{"unix:///run/a%25b.sock", `endpoint "unix:///run/a%25b.sock": socket path "/run/a%b.sock" contains '%': xbuild cannot write it in a URL that docker and buildx read back; use a path without '%', '?', '#' or control characters`},
		{"unix:///run/a%3Fb.sock", `endpoint "unix:///run/a%3Fb.sock": socket path "/run/a?b.sock" contains '?': xbuild cannot write it in a URL that docker and buildx read back; use a path without '%', '?', '#' or control characters`},
		// found by FuzzParseEndpoint: ParseEndpoint trims what it reads
		{"unix:///%20", `endpoint "unix:///%20": socket path "/ " ends in white space, which xbuild cannot store: use a path that does not`},
		{"unix:///run/a%0Ab.sock", `endpoint "unix:///run/a%0Ab.sock": socket path "/run/a\nb.sock" contains '\n': xbuild cannot write it in a URL that docker and buildx read back; use a path without '%', '?', '#' or control characters`},
	}
	for _, tt := range tests {
		if _, err := ParseEndpoint(tt.in); errString(err) != tt.err {
			t.Errorf("ParseEndpoint(%q) error =\n %q\nwant\n %q", tt.in, errString(err), tt.err)
		}
	}
}
