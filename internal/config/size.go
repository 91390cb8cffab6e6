package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeExamples ends the errors of ParseSize.
const sizeExamples = "write e.g. 50MB, 3MiB or 1GB"

// ParseSize parses a byte size such as 50MB, 3MiB, 1.5GB or 4096. Decimal
// suffixes (KB, MB, GB) are powers of 1000, binary ones (KiB, MiB, GiB) of 1024.
// A size is a finite number from 0 to math.MaxInt64 bytes: NaN, infinity,
// negative sizes and sizes that do not fit an int64 are errors (converted
// to int64 they would wrap to a negative number and turn a budget off).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
	}
	mult := int64(1)
	up := strings.ToUpper(t)
	for _, u := range units {
		if strings.HasSuffix(up, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	tooLarge := fmt.Errorf("%q is too large: at most %d bytes (about 9.2 EB)", s, int64(math.MaxInt64))
	// whole numbers exactly, without a float's rounding near the limit
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		switch {
		case n < 0:
			return 0, fmt.Errorf("%q is negative: a size is 0 or more bytes; %s", s, sizeExamples)
		case n > math.MaxInt64/mult:
			return 0, tooLarge
		}
		return n * mult, nil
	}
	n, err := strconv.ParseFloat(t, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && math.IsInf(n, 1):
		return 0, tooLarge
	case err != nil:
		return 0, fmt.Errorf("%q is not a size: %s", s, sizeExamples)
	case math.IsNaN(n) || math.IsInf(n, 0):
		return 0, fmt.Errorf("%q is not a finite number: %s", s, sizeExamples)
	case n < 0:
		return 0, fmt.Errorf("%q is negative: a size is 0 or more bytes; %s", s, sizeExamples)
	}
	v := n * float64(mult)
	// float64(math.MaxInt64) rounds up to 2^63, the first value that
	// does not fit
	if v >= float64(math.MaxInt64) {
		return 0, tooLarge
	}
	return int64(v), nil
}

// FormatSize renders bytes the way people read them (1.4 MB).
func FormatSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
