// Package timeparse parses the time specifications that journalctl users type
// for --since and --until: relative spans ("1h", "-30m", "+1h", "2 days ago"),
// the words now, today, yesterday and tomorrow, calendar dates and times in
// the local zone, RFC 3339 and "@" Unix timestamps.
package timeparse

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("invalid time specification")

// Parse interprets s relative to now. Zone-less calendar forms are read in
// loc (time.Local when nil).
//
// A span without a sign ("1h", "90s", "1h30m", "2 days") and a span followed
// by "ago" lie in the past, as the flag names suggest (--since 1h); a span
// with "-" lies in the past and one with "+" in the future.
func Parse(s string, now time.Time, loc *time.Location) (time.Time, error) {
	loc = cmp.Or(loc, time.Local)
	in := strings.TrimSpace(s)
	if in == "" {
		return time.Time{}, fmt.Errorf("%w: empty", ErrSyntax)
	}
	t, err := parse(in, now, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q: %s", ErrSyntax, s, err)
	}
	return t, nil
}

func parse(s string, now time.Time, loc *time.Location) (time.Time, error) {
	lower := strings.ToLower(s)
	nowLoc := now.In(loc)
	midnight := func(days int) time.Time {
		y, m, d := nowLoc.Date()
		return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	}
	switch lower {
	case "now":
		return now, nil
	case "today":
		return midnight(0), nil
	case "yesterday":
		return midnight(-1), nil
	case "tomorrow":
		return midnight(1), nil
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		return parseUnix(rest)
	}
	switch s[0] {
	case '+', '-':
		d, err := parseSpan(s[1:])
		if err != nil {
			return time.Time{}, err
		}
		if s[0] == '-' {
			d = -d
		}
		return now.Add(d), nil
	}
	if strings.HasSuffix(lower, "ago") {
		d, err := parseSpan(strings.TrimSpace(s[:len(s)-len("ago")]))
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-d), nil
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:") {
		if d, err := parseSpan(s); err == nil {
			return now.Add(-d), nil
		}
	}
	return parseCalendar(s, nowLoc, loc)
}

// parseUnix parses seconds since the epoch with an optional fraction.
func parseUnix(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || sec == "" || sec[0] == '+' {
		return time.Time{}, errors.New("want @SECONDS[.FRACTION]")
	}
	var nsec int64
	if frac != "" {
		if len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, errors.New("want @SECONDS[.FRACTION]")
		}
		v, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		nsec = v
		if n < 0 {
			nsec = -nsec
		}
	}
	return time.Unix(n, nsec), nil
}

// units maps the unit names systemd.time(7) accepts to their length. A month
// is 30.44 days and a year 365.25 days, as in systemd.
var units = map[string]time.Duration{
	"us": time.Microsecond, "usec": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
	"M": 2629800 * time.Second, "month": 2629800 * time.Second, "months": 2629800 * time.Second,
	"y": 31557600 * time.Second, "year": 31557600 * time.Second, "years": 31557600 * time.Second,
}

// parseSpan parses a sequence of number-unit pairs, optionally separated by
// spaces: "1h30m", "1 hour 30 min", "2.5d". A bare number is seconds, as in
// systemd.
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty time span")
	}
	var total float64
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("want a number at %q", s)
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad number %q", s[:i])
		}
		s = strings.TrimLeft(s[i:], " ")
		j := 0
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == ' ') {
			j++
		}
		name := s[:j]
		s = strings.TrimLeft(s[j:], " ")
		unit := time.Second
		if name != "" {
			u, ok := units[name]
			if !ok {
				u, ok = units[strings.ToLower(name)]
			}
			if !ok {
				return 0, fmt.Errorf("unknown time unit %q", name)
			}
			unit = u
		}
		total += n * float64(unit)
	}
	if total > math.MaxInt64 {
		return 0, errors.New("time span too long")
	}
	return time.Duration(total), nil
}

// calendar layouts, tried in order; all without a zone.
var calendarLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

var clockLayouts = []string{
	"15:04:05.999999999",
	"15:04",
}

func parseCalendar(s string, nowLoc time.Time, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", s); err == nil {
		return t, nil
	}
	zone := loc
	for _, suffix := range []string{" UTC", " utc", "Z"} {
		if rest, ok := strings.CutSuffix(s, suffix); ok {
			s, zone = rest, time.UTC
			break
		}
	}
	for _, layout := range calendarLayouts {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	for _, layout := range clockLayouts {
		if c, err := time.Parse(layout, s); err == nil {
			n := nowLoc.In(zone)
			y, m, d := n.Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), zone), nil
		}
	}
	return time.Time{}, errors.New(`want e.g. 1h, -30m, "2 days ago", today, 2026-11-26 10:00, RFC 3339 or @UNIX`)
}
