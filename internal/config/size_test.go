package config

import (
	"math"
	"testing"
)

// Sizes that are not finite, negative, or too large for int64 are refused
// with an error saying why; before, NaN, Inf and 1e30GB parsed to a
// negative number and silently turned the size budget off (issue 18, item 5).
func TestParseSizeRefusesNonFiniteAndOverflow(t *testing.T) {
	const (
		examples = "write e.g. 50MB, 3MiB or 1GB"
		large    = " is too large: at most 9223372036854775807 bytes (about 9.2 EB)"
		negative = " is negative: a size is 0 or more bytes; " + examples
	)
	tests := []struct {
		in, err string
	}{
		{"NaN", `"NaN" is not a finite number: ` + examples},
		{"nan MB", `"nan MB" is not a finite number: ` + examples},
		{"inf", `"inf" is not a finite number: ` + examples},
		{"+Inf", `"+Inf" is not a finite number: ` + examples},
		{"-infinity", `"-infinity" is not a finite number: ` + examples},
		{"1e30GB", `"1e30GB"` + large},
		{"1e400", `"1e400"` + large},
		{"9223372036854775808", `"9223372036854775808"` + large},
		{"9223372036854775807KB", `"9223372036854775807KB"` + large},
		{"9300000000GB", `"9300000000GB"` + large},
		{"8589934592GiB", `"8589934592GiB"` + large},
		{"9.3e18", `"9.3e18"` + large},
		{"-3MB", `"-3MB"` + negative},
		{"-0.5", `"-0.5"` + negative},
		{"-1e400", `"-1e400" is not a size: ` + examples},
		{"8EiB", `"8EiB" is not a size: ` + examples},
		{"lots", `"lots" is not a size: ` + examples},
		{"", `"" is not a size: ` + examples},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if err == nil || err.Error() != tc.err {
			t.Errorf("ParseSize(%q) = %d, %v\nwant error %q", tc.in, got, err, tc.err)
		}
	}
}

// The limits themselves parse exactly.
func TestParseSizeLimits(t *testing.T) {
	tests := map[string]int64{
		"0":                    0,
		"-0":                   0,
		"9223372036854775807":  math.MaxInt64,
		"9223372036854775807B": math.MaxInt64,
		"9.223372036854775e18": 9223372036854774784, // through a float: the largest below 2^63
		"9.2e18":               9.2e18,
		"9000000000GB":         9e18,
		"8589934591GiB":        8589934591 << 30,
		"1e3":                  1000,
		"2.5e3KB":              2.5e6,
		"0.5":                  0,
	}
	for in, want := range tests {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
