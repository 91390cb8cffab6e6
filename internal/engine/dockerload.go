package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/cli/cli/command"
	cliflags "github.com/docker/cli/cli/flags"
	"github.com/moby/moby/client"
)

// DockerInfo is what a load needs to know of the Docker engine.
type DockerInfo struct {
	// Host is the engine's address (DOCKER_HOST or the current context's).
	Host string
	// Version is the engine's version.
	Version string
	// ContainerdStore is set when the engine keeps images in the
	// containerd image store, which holds multi-platform images.
	ContainerdStore bool
}

// DockerEngine is this machine's Docker engine as `buildx build --load`
// reaches it: DOCKER_HOST, else the current docker context.
type DockerEngine struct{}

// Info asks the engine for its version and image store.
func (DockerEngine) Info(ctx context.Context) (*DockerInfo, error) {
	cli, host, err := dockerClient()
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	res, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, fmt.Errorf("asking the Docker engine at %s: %w", host, err)
	}
	info := &DockerInfo{Host: host, Version: res.Info.ServerVersion}
	for _, kv := range res.Info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == "io.containerd.snapshotter.v1" {
			info.ContainerdStore = true
		}
	}
	return info, nil
}

// Load loads an image archive (docker save's, or an OCI layout's) into
// the engine, as `docker load` does.
func (DockerEngine) Load(ctx context.Context, archive io.Reader) error {
	cli, host, err := dockerClient()
	if err != nil {
		return err
	}
	defer cli.Close()
	res, err := cli.ImageLoad(ctx, archive)
	if err != nil {
		return fmt.Errorf("loading into the Docker engine at %s: %w", host, err)
	}
	defer res.Close()
	return loadStreamError(res)
}

// loadStreamError reads a load's JSON message stream and returns the
// error it reports, if any.
func loadStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading the Docker engine's answer to the load: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

func dockerClient() (client.APIClient, string, error) {
	cli, err := command.NewDockerCli(command.WithOutputStream(io.Discard), command.WithErrorStream(io.Discard))
	if err != nil {
		return nil, "", err
	}
	if err := cli.Initialize(cliflags.NewClientOptions()); err != nil {
		return nil, "", fmt.Errorf("the Docker engine to load into: %w", err)
	}
	return cli.Client(), cli.DockerEndpoint().Host, nil
}
