package patterns

import (
	"cmp"
	"slices"
	"strings"
)

// PosError is one problem in a pattern file, at a position.
type PosError struct {
	Pos Pos
	Msg string
}

// Error formats the error as "file:line:col: msg".
func (e *PosError) Error() string { return e.Pos.String() + ": " + e.Msg }

// ErrorList is every problem found in a set of pattern files. Load, Parse and
// the other loaders return it as *ErrorList.
type ErrorList []*PosError

// Add appends an error at pos.
func (l *ErrorList) Add(pos Pos, msg string) { *l = append(*l, &PosError{Pos: pos, Msg: msg}) }

// Error prints one error per line.
func (l *ErrorList) Error() string {
	var b strings.Builder
	for i, e := range *l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the individual errors, for errors.As on *PosError.
func (l *ErrorList) Unwrap() []error {
	errs := make([]error, len(*l))
	for i, e := range *l {
		errs[i] = e
	}
	return errs
}

// err returns l as an error, or nil when it is empty.
func (l *ErrorList) err() error {
	if len(*l) == 0 {
		return nil
	}
	return l
}

// sort orders the errors by file (in the order given by rank, then by name),
// line and column, keeping the order of errors at the same position.
func (l ErrorList) sort(rank map[string]int) {
	slices.SortStableFunc(l, func(a, b *PosError) int {
		ra, oka := rank[a.Pos.File]
		rb, okb := rank[b.Pos.File]
		switch {
		case oka && okb && ra != rb:
			return cmp.Compare(ra, rb)
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return cmp.Or(
			strings.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
		)
	})
}
