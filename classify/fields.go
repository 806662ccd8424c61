package classify

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Field value errors.
var (
	ErrSyntax   = errors.New("invalid syntax")
	ErrOverflow = errors.New("value out of range")
)

// ParseDuration parses a Rust Debug duration or a bare number of
// milliseconds and returns it in milliseconds: "2000ms", "30s", "1.5s",
// "250µs" (also "250μs" and "250us"), "1.234567ms", "900ns", "2m" (also
// "2min"), "1h"; "15" is 15 ms. Units are matched without regard to letter
// case ("2000MS"), except that "M" is minutes too. Decimal arithmetic makes
// "1.1s" exactly 1100. Negative, empty, non-finite and out-of-range values
// are errors.
func ParseDuration(s string) (float64, error) {
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	num, unit := s[:i], s[i:]
	if num == "" {
		return 0, fmt.Errorf("parse duration %q: %w", s, ErrSyntax)
	}
	// Factor to milliseconds as mul * 10^exp.
	var mul uint64
	var exp int
	switch strings.ToLower(unit) {
	case "", "ms":
		mul, exp = 1, 0
	case "s", "sec", "secs":
		mul, exp = 1, 3
	case "us", "µs", "μs":
		mul, exp = 1, -3
	case "ns":
		mul, exp = 1, -6
	case "m", "min", "mins":
		mul, exp = 6, 4
	case "h":
		mul, exp = 36, 5
	default:
		return 0, fmt.Errorf("parse duration %q: unknown unit %q: %w", s, unit, ErrSyntax)
	}
	// Mantissa and decimal exponent of the number.
	var mant uint64
	digits := 0
	seenDot := false
	for j := 0; j < len(num); j++ {
		c := num[j]
		if c == '.' {
			if seenDot {
				return 0, fmt.Errorf("parse duration %q: %w", s, ErrSyntax)
			}
			seenDot = true
			continue
		}
		if mant == 0 && c == '0' {
			if seenDot {
				exp--
			}
			digits++
			continue
		}
		if mant > (math.MaxUint64-9)/10 {
			// Too many significant digits: drop the rest (an
			// approximation only for absurdly precise input).
			if !seenDot {
				exp++
			}
			digits++
			continue
		}
		mant = mant*10 + uint64(c-'0')
		if seenDot {
			exp--
		}
		digits++
	}
	if digits == 0 {
		return 0, fmt.Errorf("parse duration %q: %w", s, ErrSyntax)
	}
	// mant * mul may overflow uint64: use float for the huge cases.
	if mant != 0 && mul > 1 && mant > math.MaxUint64/mul {
		v := float64(mant) * float64(mul) * math.Pow10(exp)
		return checkFinite(s, v)
	}
	mant *= mul
	// Exact fast path (Clinger): the mantissa and the power of ten are
	// exactly representable, so one multiplication or division rounds
	// correctly.
	if mant < 1<<53 && exp >= -22 && exp <= 22 {
		if exp >= 0 {
			return checkFinite(s, float64(mant)*pow10[exp])
		}
		return checkFinite(s, float64(mant)/pow10[-exp])
	}
	v, err := strconv.ParseFloat(strconv.FormatUint(mant, 10)+"e"+strconv.Itoa(exp), 64)
	if err != nil {
		return 0, fmt.Errorf("parse duration %q: %w", s, ErrOverflow)
	}
	return checkFinite(s, v)
}

func checkFinite(s string, v float64) (float64, error) {
	if math.IsInf(v, 0) || math.IsNaN(v) || v > maxDurationMS {
		return 0, fmt.Errorf("parse duration %q: %w", s, ErrOverflow)
	}
	return v, nil
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// maxDurationMS bounds durations: 1e15 ms is about 31,700 years, far beyond
// anything a log line means, and keeps values exact enough for JSON.
const maxDurationMS = 1e15

// ParseInt parses a base-10 integer with an optional sign into an int64.
func ParseInt(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("parse integer %q: %w", s, ErrOverflow)
		}
		return 0, fmt.Errorf("parse integer %q: %w", s, ErrSyntax)
	}
	return v, nil
}

// SplitHostPort splits "node2:2380", "10.0.0.12:2380" or "[::1]:2380" into
// host and port. The port must be a decimal number from 0 to 65535.
func SplitHostPort(s string) (host string, port int64, err error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("split host:port %q: missing port: %w", s, ErrSyntax)
	}
	host, ps := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return "", 0, fmt.Errorf("split host:port %q: %w", s, ErrSyntax)
		}
		host = host[1 : len(host)-1]
	} else if strings.IndexByte(host, ':') >= 0 {
		return "", 0, fmt.Errorf("split host:port %q: IPv6 address needs brackets: %w", s, ErrSyntax)
	}
	if host == "" || ps == "" || len(ps) > 5 {
		return "", 0, fmt.Errorf("split host:port %q: %w", s, ErrSyntax)
	}
	var p int64
	for j := 0; j < len(ps); j++ {
		if !isDigit(ps[j]) {
			return "", 0, fmt.Errorf("split host:port %q: bad port: %w", s, ErrSyntax)
		}
		p = p*10 + int64(ps[j]-'0')
	}
	if p > 65535 {
		return "", 0, fmt.Errorf("split host:port %q: port out of range: %w", s, ErrOverflow)
	}
	return host, p, nil
}

// FormatNumber prints a number without trailing zeros: 2000, 1.5, 0.25.
func FormatNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
