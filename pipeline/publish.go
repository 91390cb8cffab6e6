package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// PublishStep writes the tags: only now, after the merged index was pushed
// by digest and verified, does any tag point at it. A failure before this
// step leaves every tag as it was.
type PublishStep struct{}

// Name implements Step.
func (PublishStep) Name() string { return "publish" }

// String implements Step.
func (PublishStep) String() string { return "writing the tags" }

// Skip implements Skipper.
func (PublishStep) Skip(s *State) (bool, string) {
	if !s.Config.Push || len(s.Options.Outputs) > 0 {
		return true, "nothing was pushed"
	}
	return false, ""
}

// Run implements Step.
func (PublishStep) Run(ctx context.Context, s *State) error {
	if s.Config.PushByDigest {
		return publishDigests(ctx, s)
	}
	if s.Build == nil || s.Build.Digest == "" {
		return errors.New("internal error: no index to tag")
	}
	if s.Config.Verify && (s.Verify == nil || !s.Verify.OK) {
		return errors.New("internal error: the index was not verified")
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	refs := s.Config.Refs()
	if err := reg.Tag(ctx, s.repo, s.Build.Digest, refs); err != nil {
		return fmt.Errorf("%s", s.Secrets.String(err.Error()))
	}
	s.Tagged = refs
	s.Log.Info("tagged %s -> %s", strings.Join(refs, ", "), s.Build.Digest)
	s.Resume.forget()
	return nil
}
