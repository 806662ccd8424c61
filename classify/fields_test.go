package classify

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  error
	}{
		{"2000ms", 2000, nil},
		{"30s", 30000, nil},
		{"1.5s", 1500, nil},
		{"1.1s", 1100, nil}, // exact, not 1100.0000000000002
		{"250µs", 0.25, nil},
		{"250μs", 0.25, nil}, // GREEK SMALL MU
		{"250us", 0.25, nil},
		{"1.234567ms", 1.234567, nil},
		{"900ns", 0.0009, nil},
		{"2m", 120000, nil},
		{"2min", 120000, nil},
		{"1h", 3600000, nil},
		{"15", 15, nil},
		{"0", 0, nil},
		{"0.05s", 50, nil},
		{".5s", 500, nil},
		{"1.", 1, nil},
		{"2000MS", 2000, nil},
		{"30S", 30000, nil},
		{"007ms", 7, nil},
		{"0.000000001ms", 1e-9, nil},
		{"1.23456789012345678901234567890ms", 1.2345678901234568, nil},
		{"123456789012345678901234567890ns", 0, ErrOverflow},
		{"", 0, ErrSyntax},
		{"ms", 0, ErrSyntax},
		{".", 0, ErrSyntax},
		{"1.2.3ms", 0, ErrSyntax},
		{"12.5.6ms", 0, ErrSyntax},
		{"-5ms", 0, ErrSyntax},
		{"5 ms", 0, ErrSyntax},
		{"5parsecs", 0, ErrSyntax},
		{"NaNms", 0, ErrSyntax},
		{"Infs", 0, ErrSyntax},
		{"1e3ms", 0, ErrSyntax},
		{"99999999999999999999h", 0, ErrOverflow},
		{strings.Repeat("9", 400) + "s", 0, ErrOverflow},
		{"1000000000000001ms", 0, ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDuration(%q): %v", tt.in, err)
			}
			if tt.in == "1.23456789012345678901234567890ms" {
				if math.Abs(got-tt.want)/tt.want > 1e-15 {
					t.Errorf("ParseDuration(%q) = %v, want about %v", tt.in, got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzDuration(f *testing.F) {
	for _, s := range []string{"2000ms", "1.5s", "250µs", "900ns", "2m", "15", "", ".", "1e9h", "99999999999999999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDuration(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("ParseDuration(%q): unexpected error kind %v", s, err)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxDurationMS {
			t.Fatalf("ParseDuration(%q) = %v", s, v)
		}
		// The number with "ms" parses to the same value.
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
			i++
		}
		if strings.EqualFold(s[i:], "ms") || s[i:] == "" {
			if w, err := ParseDuration(s[:i]); err != nil || w != v {
				t.Fatalf("ParseDuration(%q) = %v but %q gives %v, %v", s, v, s[:i], w, err)
			}
		}
	})
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  error
	}{
		{"3", 3, nil},
		{"9223372036854775807", math.MaxInt64, nil},
		{"-1", -1, nil},
		{"9223372036854775808", 0, ErrOverflow},
		{"99999999999999999999999", 0, ErrOverflow},
		{"", 0, ErrSyntax},
		{"1x", 0, ErrSyntax},
	}
	for _, tt := range tests {
		got, err := ParseInt(tt.in)
		if (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) || got != tt.want {
			t.Errorf("ParseInt(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int64
		err  error
	}{
		{"node2:2380", "node2", 2380, nil},
		{"10.0.0.12:2380", "10.0.0.12", 2380, nil},
		{"[::1]:2380", "::1", 2380, nil},
		{"[fd00::13]:2380", "fd00::13", 2380, nil},
		{"node2.example.com:0", "node2.example.com", 0, nil},
		{"node2:65535", "node2", 65535, nil},
		{"node2:65536", "", 0, ErrOverflow},
		{"node2", "", 0, ErrSyntax},
		{"node2:", "", 0, ErrSyntax},
		{":2380", "", 0, ErrSyntax},
		{"::1:2380", "", 0, ErrSyntax},
		{"[::1:2380", "", 0, ErrSyntax},
		{"node2:23a0", "", 0, ErrSyntax},
		{"node2:123456", "", 0, ErrSyntax},
	}
	for _, tt := range tests {
		host, port, err := SplitHostPort(tt.in)
		if (tt.err == nil) != (err == nil) || (tt.err != nil && !errors.Is(err, tt.err)) || host != tt.host || port != tt.port {
			t.Errorf("SplitHostPort(%q) = %q, %d, %v; want %q, %d, %v", tt.in, host, port, err, tt.host, tt.port, tt.err)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{2000: "2000", 1.5: "1.5", 0.25: "0.25", 0.0009: "0.0009", 1.234567: "1.234567", 30000: "30000"} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}
