package engine

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/platforms"
	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Probe implements Engine: it asks a BuildKit daemon for its version and
// worker platforms (ListWorkers), or a Docker engine for its version. The
// caller bounds it with ctx.
func (e *engine) Probe(ctx context.Context, t ProbeTarget) (*ProbeResult, error) {
	switch t.Kind {
	case "docker":
		return probeDocker(ctx, t)
	case "buildkit", "local", "":
		return probeBuildKit(ctx, t)
	default:
		return nil, fmt.Errorf("cannot probe a %s node directly", t.Kind)
	}
}

func probeBuildKit(ctx context.Context, t ProbeTarget) (*ProbeResult, error) {
	c, err := bkclient.New(ctx, t.Endpoint, buildKitTLS(t.TLS)...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	workers, err := c.ListWorkers(ctx)
	if err != nil {
		return nil, err
	}
	res := &ProbeResult{}
	seen := map[string]bool{}
	for _, w := range workers {
		if res.BuildKitVersion == "" {
			res.BuildKitVersion = w.BuildkitVersion.Version
		}
		for _, p := range w.Platforms {
			s := platforms.Format(p)
			if !seen[s] {
				seen[s] = true
				res.Platforms = append(res.Platforms, s)
			}
		}
	}
	if res.BuildKitVersion == "" {
		if info, err := c.Info(ctx); err == nil {
			res.BuildKitVersion = info.BuildkitVersion.Version
		}
	}
	return res, nil
}

func probeDocker(ctx context.Context, t ProbeTarget) (*ProbeResult, error) {
	c, err := dockerclient.New(dockerTLS(t.TLS), dockerclient.WithHost(t.Endpoint))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	v, err := c.ServerVersion(ctx, dockerclient.ServerVersionOptions{})
	if err != nil {
		return nil, err
	}
	arch := v.Arch
	if arch == "" {
		return nil, fmt.Errorf("docker engine at %s did not report its architecture", t.Endpoint)
	}
	return &ProbeResult{
		BuildKitVersion: "docker " + v.Version,
		Platforms:       []string{strings.ToLower(v.Os) + "/" + arch},
	}, nil
}

// buildKitTLS hands the caller's TLS configuration to the BuildKit client
// as gRPC transport credentials (the client's own TLS options take file
// paths). The authority is the server name, as the client sets it for its
// own TLS options.
func buildKitTLS(cfg *tls.Config) []bkclient.ClientOpt {
	if cfg == nil {
		return nil
	}
	opts := []bkclient.ClientOpt{bkclient.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewTLS(cfg.Clone())))}
	if cfg.ServerName != "" {
		opts = append(opts, bkclient.WithGRPCDialOption(grpc.WithAuthority(cfg.ServerName)))
	}
	return opts
}

// dockerTLS gives the Docker client an HTTP client speaking the caller's
// TLS configuration (HTTP/1.1, as dockerd does); nil means plain HTTP. It
// must come before WithHost, which fits the transport to the endpoint.
func dockerTLS(cfg *tls.Config) dockerclient.Opt {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	c.NextProtos = nil
	return dockerclient.WithHTTPClient(&http.Client{
		Transport:     &http.Transport{TLSClientConfig: c},
		CheckRedirect: dockerclient.CheckRedirect,
	})
}
