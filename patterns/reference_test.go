package patterns_test

import (
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
)

var updateSignaturesDoc = flag.Bool("update", false, "rewrite docs/signatures.md from patterns.d")

// signaturesDoc is the reference of the built-in library.
const signaturesDoc = "../docs/signatures.md"

// TestSignaturesDoc regenerates the reference of the built-in library and
// compares it with docs/signatures.md; -update rewrites the file.
func TestSignaturesDoc(t *testing.T) {
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	want := patterns.Reference(lib)
	if *updateSignaturesDoc {
		if err := os.WriteFile(signaturesDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(signaturesDoc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("%s is stale; run go test ./patterns -run TestSignaturesDoc -update (-want +got):\n%s", signaturesDoc, diff)
	}
}
