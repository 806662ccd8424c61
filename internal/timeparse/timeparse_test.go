package timeparse

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	// 2026-11-26 10:30:15.5 in Berlin (UTC+1 in winter).
	now := time.Date(2026, 11, 26, 10, 30, 15, 500_000_000, berlin)
	at := func(y int, m time.Month, d, h, min, s, ns int) time.Time {
		return time.Date(y, m, d, h, min, s, ns, berlin)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"NOW", now},
		{" now ", now},
		{"today", at(2026, 11, 26, 0, 0, 0, 0)},
		{"yesterday", at(2026, 11, 25, 0, 0, 0, 0)},
		{"tomorrow", at(2026, 11, 27, 0, 0, 0, 0)},
		{"1h", now.Add(-time.Hour)},
		{"30m", now.Add(-30 * time.Minute)},
		{"2d", now.Add(-48 * time.Hour)},
		{"90s", now.Add(-90 * time.Second)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"1h 30m", now.Add(-90 * time.Minute)},
		{"1.5h", now.Add(-90 * time.Minute)},
		{"1w", now.Add(-7 * 24 * time.Hour)},
		{"500ms", now.Add(-500 * time.Millisecond)},
		{"-1h", now.Add(-time.Hour)},
		{"-15min", now.Add(-15 * time.Minute)},
		{"+1h", now.Add(time.Hour)},
		{"+2 days", now.Add(48 * time.Hour)},
		{"1 hour ago", now.Add(-time.Hour)},
		{"2 days ago", now.Add(-48 * time.Hour)},
		{"1h ago", now.Add(-time.Hour)},
		{"10 minutes ago", now.Add(-10 * time.Minute)},
		{"3 Hours Ago", now.Add(-3 * time.Hour)},
		{"1M ago", now.Add(-2629800 * time.Second)},
		{"2026-11-26", at(2026, 11, 26, 0, 0, 0, 0)},
		{"2026-11-26 10:00", at(2026, 11, 26, 10, 0, 0, 0)},
		{"2026-11-26 10:00:00", at(2026, 11, 26, 10, 0, 0, 0)},
		{"2026-11-26 10:00:00.25", at(2026, 11, 26, 10, 0, 0, 250_000_000)},
		{"2026-11-26T10:00:00", at(2026, 11, 26, 10, 0, 0, 0)},
		{"2026-07-01 12:00", time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)}, // summer time, UTC+2
		{"2026-11-26 10:00 UTC", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)},
		{"2026-11-26T10:00:00Z", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)},
		{"2026-11-26T10:00:00.123456Z", time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC)},
		{"2026-11-26T10:00:00+05:30", time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC)},
		{"2026-11-26 10:00:00+01:00", time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)},
		{"09:15", at(2026, 11, 26, 9, 15, 0, 0)},
		{"09:15:30", at(2026, 11, 26, 9, 15, 30, 0)},
		{"@1795687200", time.Unix(1795687200, 0)},
		{"@1795687200.5", time.Unix(1795687200, 500_000_000)},
		{"@0", time.Unix(0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in, now, berlin)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	// The day after the change to summer time: yesterday has 23 hours.
	now := time.Date(2026, 3, 30, 12, 0, 0, 0, berlin)
	got, err := Parse("yesterday", now, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 29, 0, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("yesterday = %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, in := range []string{
		"", "  ", "soon", "1x", "h", "99999999999y", "-", "+", "-h", "ago", "5 parsecs ago",
		"2026-13-01", "2026-11-26 25:00", "@", "@x", "@1.x", "@+1", "1h-", "--1h",
		"2026-11-26 10:00 PST",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := Parse(in, now, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", in, got)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", in, err)
			}
		})
	}
}

func TestParseSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"1", time.Second},
		{"1h", time.Hour},
		{"1h30m15s", time.Hour + 30*time.Minute + 15*time.Second},
		{"2 hours 5 min", 2*time.Hour + 5*time.Minute},
		{"250us", 250 * time.Microsecond},
		{"1y", 31557600 * time.Second},
	}
	var got []time.Duration
	var want []time.Duration
	for _, tt := range tests {
		d, err := parseSpan(tt.in)
		if err != nil {
			t.Errorf("parseSpan(%q): %v", tt.in, err)
		}
		got = append(got, d)
		want = append(want, tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseSpan (-want +got):\n%s", diff)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1h", "-1h", "2 days ago", "2026-11-26 10:00", "@17", "today", "1h30m"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Parse(s, now, time.UTC)
	})
}
