package engine

import (
	"context"
	"errors"
	"io"
	"sort"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	bkclient "github.com/moby/buildkit/client"
)

// HistoryRecord is one finished build in a BuildKit daemon's build
// history: how many of its steps ran and how many came from the cache.
type HistoryRecord struct {
	Ref       string
	Created   time.Time
	Completed time.Time
	// Platform is the platform the build asked the frontend for ("" when
	// the frontend attributes do not say).
	Platform    string
	CachedSteps int
	TotalSteps  int
	Error       string
}

// BuildHistory returns the finished builds a BuildKit daemon remembers,
// oldest first (the history API with early exit: the records it has, then
// the end of the stream). The caller bounds it with ctx.
func BuildHistory(ctx context.Context, t ProbeTarget) ([]HistoryRecord, error) {
	c, err := bkclient.New(ctx, t.Endpoint, buildKitTLS(t.TLS)...)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		return nil, err
	}
	var out []HistoryRecord
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		r := ev.Record
		if r == nil || ev.Type != controlapi.BuildHistoryEventType_COMPLETE || r.CompletedAt == nil {
			continue
		}
		h := HistoryRecord{Ref: r.Ref, Completed: r.CompletedAt.AsTime(), Platform: r.FrontendAttrs["platform"],
			CachedSteps: int(r.NumCachedSteps), TotalSteps: int(r.NumTotalSteps)}
		if r.CreatedAt != nil {
			h.Created = r.CreatedAt.AsTime()
		}
		if r.Error != nil {
			h.Error = r.Error.Message
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Completed.Before(out[j].Completed) })
	return out, nil
}

// PruneAll empties a BuildKit daemon's build cache (buildctl prune --all):
// the next build on it starts from nothing local.
func PruneAll(ctx context.Context, t ProbeTarget) error {
	c, err := bkclient.New(ctx, t.Endpoint, buildKitTLS(t.TLS)...)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Prune(ctx, nil, bkclient.PruneAll)
}
