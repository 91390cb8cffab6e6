package nodes

import (
	"reflect"
	"testing"

	"github.com/xbuild-dev/xbuild/internal/engine"
)

func TestBuildxNode(t *testing.T) {
	tlsFiles := &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem"}
	tests := []struct {
		name      string
		node      Node
		platforms []string
		want      engine.BuilderNode
	}{
		{
			name: "buildkit over mTLS, server name from the endpoint host",
			node: Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://10.0.0.2:1234", Platforms: []string{"linux/arm64"}, TLS: tlsFiles},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "arm1", Driver: "remote", Endpoint: "tcp://10.0.0.2:1234", Platforms: []string{"linux/arm64"},
				DriverOpts: map[string]string{"cacert": "/c/ca.pem", "cert": "/c/cert.pem", "key": "/c/key.pem", "servername": "10.0.0.2"}},
		},
		{
			name: "explicit server name, a subset of platforms",
			node: Node{Name: "q", Kind: KindBuildKit, Endpoint: "tcp://127.0.0.1:11236", Platforms: []string{"linux/amd64", "linux/arm64"},
				TLS: &TLS{CA: "/c/ca.pem", Cert: "/c/cert.pem", Key: "/c/key.pem", ServerName: "localhost"}, Emulated: true},
			platforms: []string{"linux/arm64"},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "q", Driver: "remote", Endpoint: "tcp://127.0.0.1:11236", Platforms: []string{"linux/arm64"},
				DriverOpts: map[string]string{"cacert": "/c/ca.pem", "cert": "/c/cert.pem", "key": "/c/key.pem", "servername": "localhost"}},
		},
		{
			name: "local socket",
			node: Node{Name: "here", Kind: KindLocal, Endpoint: "unix:///run/buildkit/buildkitd.sock", Platforms: []string{"linux/amd64"}},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "here", Driver: "remote", Endpoint: "unix:///run/buildkit/buildkitd.sock", Platforms: []string{"linux/amd64"}},
		},
		{
			name: "docker engine through its context",
			node: Node{Name: "d1", Kind: KindDocker, Endpoint: "tcp://h:2376", Platforms: []string{"linux/amd64"}, TLS: tlsFiles,
				DriverOpts: map[string]string{"image": "reg/moby/buildkit:v0.34.2", "network": "host"}},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "d1", Driver: "docker-container", Endpoint: "xbuild-d1", Platforms: []string{"linux/amd64"},
				DriverOpts: map[string]string{"image": "reg/moby/buildkit:v0.34.2", "network": "host"}},
		},
		{
			name: "kubernetes with a kube context",
			node: Node{Name: "k2", Kind: KindKubernetes, Endpoint: "kubernetes://ci?context=prod", Platforms: []string{"linux/amd64"}},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "k2", Driver: "kubernetes", Endpoint: "prod", Platforms: []string{"linux/amd64"},
				DriverOpts: map[string]string{"namespace": "ci"}},
		},
		{
			name: "kubernetes",
			node: Node{Name: "k", Kind: KindKubernetes, Endpoint: "kubernetes://buildkit", Platforms: []string{"linux/arm64"},
				DriverOpts: map[string]string{"nodeselector": "kubernetes.io/arch=arm64", "replicas": "2"}},
			want: engine.BuilderNode{StatusTimeout: CreateStatusTimeout, Builder: "b", Node: "k", Driver: "kubernetes", Platforms: []string{"linux/arm64"},
				DriverOpts: map[string]string{"namespace": "buildkit", "nodeselector": "kubernetes.io/arch=arm64", "replicas": "2"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BuildxNode(tc.node, "b", tc.platforms)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("BuildxNode =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
	// the node's own map is never shared with the result
	n := Node{Name: "d", Kind: KindDocker, Endpoint: "tcp://h:2376", DriverOpts: map[string]string{"image": "x"}}
	BuildxNode(n, "b", nil).DriverOpts["image"] = "changed"
	if n.DriverOpts["image"] != "x" {
		t.Error("BuildxNode aliases the node's DriverOpts")
	}
}
