package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/containerd/platforms"
	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Probe implements Engine: it asks a BuildKit daemon for its version and
// worker platforms (ListWorkers) and how many builds it is running (the
// build history, active records only), or a Docker engine for its version.
// The caller bounds it with ctx.
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
	if n, err := runningBuilds(ctx, c.ControlClient()); err == nil {
		res.Running = &n
	}
	return res, nil
}

// runningBuilds counts the builds a BuildKit daemon is running: its build
// history with active records only, early exit (the daemon sends the
// active records, then ends the stream instead of following new events).
// Every solve the daemon runs, a buildx build, a buildctl build, has one
// record while it runs.
func runningBuilds(ctx context.Context, c controlapi.ControlClient) (int, error) {
	stream, err := c.ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, EarlyExit: true})
	if err != nil {
		return 0, err
	}
	refs := map[string]bool{}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return len(refs), nil
		}
		if err != nil {
			return 0, err
		}
		if ev.Type == controlapi.BuildHistoryEventType_STARTED && ev.Record != nil {
			refs[ev.Record.Ref] = true
		}
	}
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
