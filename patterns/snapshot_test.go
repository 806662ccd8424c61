package patterns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshotLoadsWhatItRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", fileYAML(sigYAML("site.a1"), sigYAML("site.a2")))
	write("b.yml", fileYAML(sigYAML("site.b1")))
	write("notes.txt", "not a pattern file")
	s, err := ReadSnapshot([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	// The files change after the snapshot: the library is still built from
	// what was read, and a new snapshot differs.
	write("a.yaml", "")
	lib, err := s.Load()
	if err != nil {
		t.Fatalf("Load of the snapshot: %v", err)
	}
	builtin := loadBuiltin(t)
	var site []string
	for _, id := range ids(lib) {
		if builtin.Lookup(id) == nil {
			site = append(site, id)
		}
	}
	if diff := cmp.Diff([]string{"site.a1", "site.a2", "site.b1"}, site); diff != "" {
		t.Errorf("site signatures (-want +got):\n%s", diff)
	}
	again, err := ReadSnapshot([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if s.Equal(again) {
		t.Error("snapshots before and after a.yaml was emptied are Equal")
	}
	if _, err := again.Load(); err == nil {
		t.Error("Load of the snapshot with an empty a.yaml: no error")
	}
	same, err := ReadSnapshot([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Equal(same) {
		t.Error("two snapshots of unchanged files are not Equal")
	}
	write("c.yaml", fileYAML(sigYAML("site.c1")))
	more, _ := ReadSnapshot([]string{dir})
	if same.Equal(more) {
		t.Error("a new file does not make the snapshots differ")
	}
	if _, err := ReadSnapshot([]string{filepath.Join(dir, "missing")}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadSnapshot of a missing dir = %v, want ErrNotExist", err)
	}
}
