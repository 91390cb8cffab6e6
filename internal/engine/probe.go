package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
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
	var opts []bkclient.ClientOpt
	if t.CA != "" {
		opts = append(opts, bkclient.WithServerConfig(t.ServerName, t.CA))
	}
	if t.Cert != "" {
		opts = append(opts, bkclient.WithCredentials(t.Cert, t.Key))
	}
	c, err := bkclient.New(ctx, t.Endpoint, opts...)
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
	opts := []dockerclient.Opt{dockerclient.WithHost(t.Endpoint)}
	if t.CA != "" || t.Cert != "" {
		opts = append(opts, dockerclient.WithTLSClientConfig(t.CA, t.Cert, t.Key))
	}
	c, err := dockerclient.New(opts...)
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
