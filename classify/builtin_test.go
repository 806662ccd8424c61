package classify

import (
	"testing"

	"github.com/centra-cloud/cflogd/patterns"
)

// builtin loads the shipped library.
func builtin(tb testing.TB) *patterns.Library {
	tb.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		tb.Fatalf("load builtin library: %v", err)
	}
	return lib
}

// TestBuiltinExamples runs every example and near miss of the shipped
// library.
func TestBuiltinExamples(t *testing.T) {
	c := New(builtin(t), Options{})
	for _, f := range c.CheckExamples() {
		t.Error(f.Error())
	}
}
