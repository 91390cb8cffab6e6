package pipeline

import (
	"fmt"
	"sort"

	"github.com/xbuild-dev/xbuild/internal/config"
	"github.com/xbuild-dev/xbuild/internal/registry"
)

// CheckSizeBudget is the size-budget check: the compressed size (layers
// and config, what a pull transfers) of the largest platform image in
// images, keyed by platform, against budget bytes. Verify runs it, so a
// blown budget fails before any tag is written.
func CheckSizeBudget(budget int64, images map[string]*registry.Image) Check {
	c := Check{Name: "size-budget"}
	plats := make([]string, 0, len(images))
	for p := range images {
		plats = append(plats, p)
	}
	sort.Strings(plats)
	var largest int64
	for _, p := range plats {
		if n := images[p].CompressedSize(); n > largest {
			largest, c.Platform = n, p
		}
	}
	switch {
	case largest == 0:
		c.Detail = fmt.Sprintf("size-budget %s cannot be checked: the registry reported no image sizes", config.FormatSize(budget))
	case largest > budget:
		c.Detail = fmt.Sprintf("%s image is %s compressed, over the size budget of %s", c.Platform, config.FormatSize(largest), config.FormatSize(budget))
	default:
		c.OK = true
		c.Detail = fmt.Sprintf("%s image, the largest, is %s compressed, within the size budget of %s", c.Platform, config.FormatSize(largest), config.FormatSize(budget))
	}
	return c
}
