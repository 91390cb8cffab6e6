package engine

import (
	"fmt"

	"github.com/docker/cli/cli/command"
	clicontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/cli/cli/flags"
)

// DockerContext is a docker CLI context for a TLS-protected Docker engine.
// buildx's docker-container driver reaches remote engines through contexts:
// a raw tcp:// address with DOCKER_TLS_VERIFY does not carry the TLS
// material to the driver.
type DockerContext struct {
	Name        string
	Host        string // tcp://host:2376
	CA          string
	Cert        string
	Key         string
	Description string
}

// EnsureDockerContext creates or updates the context in the docker config
// directory ($DOCKER_CONFIG, ~/.docker), copying the TLS material into the
// context store as `docker context create --docker host=...,ca=...` does.
func EnsureDockerContext(c DockerContext) error {
	cli, err := command.NewDockerCli()
	if err != nil {
		return err
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		return err
	}
	var tlsData *store.EndpointTLSData
	if c.CA != "" || c.Cert != "" || c.Key != "" {
		td, err := clicontext.TLSDataFromFiles(c.CA, c.Cert, c.Key)
		if err != nil {
			return fmt.Errorf("reading TLS files for docker context %s: %w", c.Name, err)
		}
		tlsData = td.ToStoreTLSData()
	}
	md := store.Metadata{
		Name:      c.Name,
		Endpoints: map[string]any{docker.DockerEndpoint: docker.EndpointMeta{Host: c.Host}},
		Metadata:  command.DockerContext{Description: c.Description},
	}
	s := cli.ContextStore()
	if err := s.CreateOrUpdate(md); err != nil {
		return fmt.Errorf("writing docker context %s: %w", c.Name, err)
	}
	tls := store.ContextTLSData{}
	if tlsData != nil {
		tls.Endpoints = map[string]store.EndpointTLSData{docker.DockerEndpoint: *tlsData}
	}
	if err := s.ResetTLSMaterial(c.Name, &tls); err != nil {
		return fmt.Errorf("writing TLS material of docker context %s: %w", c.Name, err)
	}
	return nil
}

// RemoveDockerContext deletes a context xbuild created; a missing one is fine.
func RemoveDockerContext(name string) error {
	cli, err := command.NewDockerCli()
	if err != nil {
		return err
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		return err
	}
	if _, err := cli.ContextStore().GetMetadata(name); err != nil {
		return nil
	}
	return cli.ContextStore().Remove(name)
}

// DockerContextStore is the production store of docker CLI contexts: the
// docker config directory ($DOCKER_CONFIG, ~/.docker). It satisfies
// nodes.DockerContexts.
type DockerContextStore struct{}

// Ensure implements nodes.DockerContexts.
func (DockerContextStore) Ensure(c DockerContext) error { return EnsureDockerContext(c) }

// Remove implements nodes.DockerContexts.
func (DockerContextStore) Remove(name string) error { return RemoveDockerContext(name) }
