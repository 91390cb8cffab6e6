package nodes

import (
	"context"
	"time"
)

// Watch checks node n every interval while ctx lasts. After misses
// consecutive failed checks (each bounded by the Checker's timeout) it calls
// lost with the last result, once, and returns; it returns quietly when ctx
// ends first. One failed check is not enough (a busy node can miss one
// deadline); two in a row at a 2 s interval tell a lost node within about
// 5 to 10 s.
func (c *Checker) Watch(ctx context.Context, n Node, interval time.Duration, misses int, lost func(Health)) {
	if misses < 1 {
		misses = 1
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := c.checkOne(ctx, n)
		if ctx.Err() != nil {
			return
		}
		if h.Healthy() {
			failed = 0
			continue
		}
		if failed++; failed >= misses {
			lost(h)
			return
		}
	}
}
