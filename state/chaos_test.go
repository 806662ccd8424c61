package state

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The tests in this file put the state directory on a small tmpfs that is
// filled up or remounted read-only. They need root (CI runs as root).

// mountTmpfs mounts a tmpfs of size bytes on a temporary directory and
// unmounts it at the end of the test.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remount(t *testing.T, dir, mode string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+mode, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s %s: %v: %s", dir, mode, err, out)
	}
}

// fill writes a file until the file system is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return p
		}
	}
}

func TestChaosStateFull(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	d, err := Open(filepath.Join(mnt, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first := Cursor{Cursor: cur}
	if err := d.SaveCursor(first); err != nil {
		t.Fatal(err)
	}
	filler := fill(t, mnt)
	next := Cursor{Cursor: strings.Replace(cur, "i=1a", "i=1b", 1)}
	err = d.SaveCursor(next)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("SaveCursor on a full file system = %v, want ENOSPC", err)
	}
	if got := Problem(err); got != "the state directory's file system is full" {
		t.Errorf("Problem = %q", got)
	}
	if !strings.Contains(err.Error(), filepath.Join(mnt, "state", CursorFile)) {
		t.Errorf("error %q does not name the cursor file", err)
	}
	// The saved cursor is intact and no temporary file is left.
	if got, err := d.LoadCursor(); err != nil || got.Cursor != first.Cursor {
		t.Errorf("cursor after the failed save = %q, %v; want the first one", got.Cursor, err)
	}
	ents, _ := os.ReadDir(filepath.Join(mnt, "state"))
	for _, e := range ents {
		if strings.Contains(e.Name(), tmpMarker) {
			t.Errorf("temporary file %s left after a failed save", e.Name())
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := d.SaveCursor(next); err != nil {
		t.Fatalf("SaveCursor once space returned: %v", err)
	}
	if got, _ := d.LoadCursor(); got.Cursor != next.Cursor {
		t.Errorf("cursor = %q, want %q", got.Cursor, next.Cursor)
	}
}

func TestChaosStateReadOnly(t *testing.T) {
	mnt := mountTmpfs(t, "256k")
	path := filepath.Join(mnt, "state")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SaveCursor(Cursor{Cursor: cur}); err != nil {
		t.Fatal(err)
	}
	// The file system can be remounted read-only while a daemon holds the
	// directory: it keeps no file open for writing.
	remount(t, mnt, "ro")
	defer remount(t, mnt, "rw")
	err = d.SaveCursor(Cursor{Cursor: cur})
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("SaveCursor on a read-only file system = %v, want EROFS", err)
	}
	if got := Problem(err); got != "the state directory's file system is read-only" {
		t.Errorf("Problem = %q", got)
	}
	d.Close()

	// A daemon that starts while the file system is read-only gets its
	// directory (and lock) and the saved cursor.
	d, err = Open(path)
	if err != nil {
		t.Fatalf("Open of a read-only state directory: %v", err)
	}
	defer d.Close()
	if _, err := Open(path); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open of the read-only directory = %v, want ErrLocked", err)
	}
	if got, err := d.LoadCursor(); err != nil || got.Cursor != cur {
		t.Errorf("LoadCursor = %q, %v", got.Cursor, err)
	}
	remount(t, mnt, "rw")
	if err := d.SaveCursor(Cursor{Cursor: cur}); err != nil {
		t.Errorf("SaveCursor once writable: %v", err)
	}
}

func TestChaosCorruptCursorFiles(t *testing.T) {
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	huge := append([]byte(`{"version":1,"cursor":"`+cur+`","pad":"`), bytes.Repeat([]byte{'a'}, 8<<20)...)
	huge = append(huge, `"}`...)
	tests := []struct {
		name    string
		content []byte
		msg     string
	}{
		{"binary", binary, "invalid character"},
		{"huge", huge, "larger than 65536 bytes"},
		{"null", []byte("null"), "unknown version 0"},
		{"array", []byte(`[1,2,3]`), "cannot unmarshal array"},
		{"cursor not a string", []byte(`{"version":1,"cursor":7}`), "cannot unmarshal number"},
		{"newlines only", []byte("\n\n\n"), "unexpected end of JSON input"},
		{"cursor too long", []byte(`{"version":1,"cursor":"s=` + strings.Repeat("a", 2000) + `;i=1"}`), "is not a journal cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := loadCorrupt(t, tt.content, tt.msg)
			// The next save replaces the corrupt file.
			if err := d.SaveCursor(Cursor{Cursor: cur}); err != nil {
				t.Fatal(err)
			}
			if got, err := d.LoadCursor(); err != nil || got.Cursor != cur {
				t.Errorf("after a save: %q, %v", got.Cursor, err)
			}
		})
	}
}

func TestProblem(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, "the state directory's file system is full"},
		{&os.PathError{Op: "write", Path: "/x", Err: syscall.EDQUOT}, "the state directory's file system is full"},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}, "the state directory's file system is read-only"},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, "no permission to write in the state directory"},
		{errors.New("disk on fire"), "cannot write the state directory"},
	}
	for _, tt := range tests {
		if got := Problem(tt.err); got != tt.want {
			t.Errorf("Problem(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
