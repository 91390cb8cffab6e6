package nodes

import (
	"slices"
	"testing"
)

func TestDuplicateEndpoints(t *testing.T) {
	t.Parallel()
	list := []Node{
		{Name: "arm1", Endpoint: "tcp://arm1.example.com:1234"},
		{Name: "arm1-again", Endpoint: "TCP://ARM1.example.com.:1234/"},
		{Name: "amd1", Endpoint: "tcp://10.0.0.1:1234"},
		{Name: "amd1-v6", Endpoint: "tcp://[::ffff:10.0.0.1]:1234"},
		{Name: "amd1-docker", Endpoint: "tcp://10.0.0.1:2376"},
		{Name: "local", Endpoint: "unix:///run/buildkit/buildkitd.sock"},
		{Name: "local2", Endpoint: "unix:///run/../run/buildkit/buildkitd.sock"},
		{Name: "v6", Endpoint: "tcp://[0::1]:1234"},
		{Name: "v6b", Endpoint: "tcp://[::1]:1234"},
		// pods of two kubernetes nodes may share a namespace: not a clash
		{Name: "k1", Endpoint: "kubernetes://buildkit"},
		{Name: "k2", Endpoint: "kubernetes://buildkit"},
		{Name: "broken", Endpoint: "tcp://nowhere"},
	}
	got := DuplicateEndpoints(list)
	want := []EndpointClash{
		{Endpoint: "tcp://10.0.0.1:1234", Nodes: []string{"amd1", "amd1-v6"}},
		{Endpoint: "tcp://[::1]:1234", Nodes: []string{"v6", "v6b"}},
		{Endpoint: "tcp://arm1.example.com:1234", Nodes: []string{"arm1", "arm1-again"}},
		{Endpoint: "unix:///run/buildkit/buildkitd.sock", Nodes: []string{"local", "local2"}},
	}
	if !slices.EqualFunc(got, want, func(a, b EndpointClash) bool {
		return a.Endpoint == b.Endpoint && slices.Equal(a.Nodes, b.Nodes)
	}) {
		t.Errorf("DuplicateEndpoints = %+v\nwant %+v", got, want)
	}
	if err := CheckEndpointsUnique(list[:1]); err != nil {
		t.Errorf("one node: %v", err)
	}
	wantErr := "nodes arm1 and arm1-again use the same endpoint tcp://arm1.example.com:1234: they are one daemon, which would be counted (and loaded) twice; remove one of them (xbuild nodes rm NAME)"
	if err := CheckEndpointsUnique(list[:2]); errString(err) != wantErr {
		t.Errorf("CheckEndpointsUnique = %q\nwant %q", errString(err), wantErr)
	}
}
