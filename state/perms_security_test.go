//go:build unix

package state

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestStatePermissions checks that the state directory is 0700 and every
// file cflogd writes in it 0600, whatever the umask, for a new directory
// (and the parents it creates) and for one an older version or an operator
// left group- and world-readable with readable files in it.
func TestStatePermissions(t *testing.T) {
	old := syscall.Umask(0) // the most permissive umask: modes must not depend on it
	t.Cleanup(func() { syscall.Umask(old) })

	t.Run("new", func(t *testing.T) {
		root := t.TempDir()
		p := filepath.Join(root, "var", "lib", "cflogd")
		d, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		write(t, d)
		want := map[string]fs.FileMode{".": 0o700, "cursor.json": 0o600, "notify-slack.json": 0o600, "lock": 0o600}
		if diff := cmp.Diff(want, modes(t, p)); diff != "" {
			t.Errorf("modes (-want +got):\n%s", diff)
		}
		for _, parent := range []string{filepath.Join(root, "var"), filepath.Join(root, "var", "lib")} {
			if m := mode(t, parent); m&0o077 != 0 {
				t.Errorf("created parent %s has mode %o, want no group or other access", parent, m)
			}
		}
	})

	t.Run("existing, too open", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "cflogd")
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{CursorFile, "notify-slack.json"} {
			if err := os.WriteFile(filepath.Join(p, name), []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if m := mode(t, p); m != 0o700 {
			t.Errorf("state directory mode %o after Open, want 700", m)
		}
		write(t, d)
		got := modes(t, p)
		delete(got, "lock")
		want := map[string]fs.FileMode{".": 0o700, "cursor.json": 0o600, "notify-slack.json": 0o600}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("modes after the first save (-want +got):\n%s", diff)
		}
	})
}

// write saves a cursor and a notification log.
func write(t *testing.T, d *Dir) {
	t.Helper()
	if err := d.SaveCursor(Cursor{Cursor: cur}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile("notify-slack.json", []byte(`{"groups":[]}`)); err != nil {
		t.Fatal(err)
	}
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// modes maps "." and each entry of dir to its permission bits.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	got := map[string]fs.FileMode{".": mode(t, dir)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got[e.Name()] = mode(t, filepath.Join(dir, e.Name()))
	}
	return got
}
