package classify

import (
	"os"
	"testing"

	"github.com/centra-cloud/cflogd/patterns"
)

// handLibrary loads testdata/hand.yaml: a library that mirrors
// signatures.md, for tests that must not depend on the shipped one.
func handLibrary(tb testing.TB) *patterns.Library {
	tb.Helper()
	lib, err := loadHand()
	if err != nil {
		tb.Fatal(err)
	}
	return lib
}

func loadHand() (*patterns.Library, error) {
	const name = "testdata/hand.yaml"
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	f, err := patterns.Parse(name, data)
	if err != nil {
		return nil, err
	}
	return patterns.Merge([]*patterns.File{f})
}

// handRegexes returns the regexes of the hand library's regex signatures,
// as compiled ((?i) in front), by id.
func handRegexes() map[string]string {
	lib, err := loadHand()
	if err != nil {
		panic(err)
	}
	out := map[string]string{}
	for _, s := range lib.Signatures {
		if s.Match != nil {
			out[s.ID] = s.Match.String()
		}
	}
	return out
}
