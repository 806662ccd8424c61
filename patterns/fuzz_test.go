package patterns

import (
	"errors"
	"io/fs"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must never panic, and
// every error must be a positioned *ErrorList naming the file.
func FuzzParse(f *testing.F) {
	entries, err := fs.ReadDir(builtinFS(), BuiltinDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(builtinFS(), BuiltinDir+"/"+e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("signatures:\n  - id: a.b\n    units: all\n    match: '(?P<x>'\n"))
	f.Add([]byte("signatures: [&a {id: x.y, units: *a}]\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if file == nil {
			t.Fatal("nil File")
		}
		if err == nil {
			return
		}
		var l *ErrorList
		if !errors.As(err, &l) || len(*l) == 0 {
			t.Fatalf("error %v is not a non-empty *ErrorList", err)
		}
		for _, e := range *l {
			if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
				t.Errorf("error without a position: %v", e)
			}
		}
	})
}
