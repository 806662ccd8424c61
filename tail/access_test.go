package tail

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckAccessDirectory(t *testing.T) {
	dir := t.TempDir()
	machine := filepath.Join(dir, "0123456789abcdef0123456789abcdef")
	other := filepath.Join(dir, "not-a-machine")
	for _, d := range []string{machine, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		filepath.Join(dir, "system.journal"),
		filepath.Join(machine, "system@1.journal~"),
		filepath.Join(machine, "notes.txt"),
		filepath.Join(other, "user-1000.journal"), // not a machine-ID directory: not read
	} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file that cannot be opened (its target is gone).
	gone := filepath.Join(machine, "gone.journal")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), gone); err != nil {
		t.Fatal(err)
	}
	a := CheckAccess(dir, nil)
	want := Access{
		Files: []string{
			filepath.Join(machine, "gone.journal"),
			filepath.Join(machine, "system@1.journal~"),
			filepath.Join(dir, "system.journal"),
		},
		Unreadable: []Unreadable{{Path: gone, Err: fs.ErrNotExist}},
	}
	if diff := cmp.Diff(want.Files, a.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	if len(a.Unreadable) != 1 || a.Unreadable[0].Path != gone || !errors.Is(a.Unreadable[0].Err, fs.ErrNotExist) {
		t.Errorf("Unreadable = %v, want %s: not exist", a.Unreadable, gone)
	}
	if a.Blind() {
		t.Error("Blind() = true with two readable files")
	}
	err := a.Err()
	if errors.Is(err, ErrBlind) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Err() = %v: want not ErrBlind, is ErrNotExist", err)
	}
	if got, want := err.Error(), "cannot read 1 of 3 journal files: no such file or directory: "+gone; got != want {
		t.Errorf("Err() = %q, want %q", got, want)
	}
}

func TestCheckAccessMissing(t *testing.T) {
	dir := t.TempDir()
	a := CheckAccess(filepath.Join(dir, "none"), nil)
	if !a.Blind() || !errors.Is(a.Err(), ErrBlind) {
		t.Errorf("missing directory: Blind() = %v, Err() = %v; want blind", a.Blind(), a.Err())
	}
	a = CheckAccess(dir, nil)
	if a.Blind() || a.Err() != nil || len(a.Files) != 0 {
		t.Errorf("empty directory: %+v, Err() = %v; want nothing found, no error", a, a.Err())
	}
	f := filepath.Join(dir, "a.journal")
	os.WriteFile(f, nil, 0o644)
	a = CheckAccess("", []string{f, filepath.Join(dir, "b.journal")})
	if diff := cmp.Diff([]string{f}, a.Readable()); diff != "" {
		t.Errorf("Readable (-want +got):\n%s", diff)
	}
}

func TestAccessErrorMessage(t *testing.T) {
	perm := fs.ErrPermission
	tests := []struct {
		name string
		err  *AccessError
		want string
	}{
		{
			name: "some files",
			err: &AccessError{Total: 5, Unreadable: []Unreadable{
				{"/var/log/journal/m/system.journal", perm}, {"/var/log/journal/m/system@a.journal", perm}, {"/run/log/journal/m/x.journal", fs.ErrNotExist},
			}},
			want: "cannot read 3 of 5 journal files: permission denied: /var/log/journal/m/system.journal, /var/log/journal/m/system@a.journal; file does not exist: /run/log/journal/m/x.journal",
		},
		{
			name: "all files",
			err:  &AccessError{Total: 1, blind: true, Unreadable: []Unreadable{{"/j/system.journal", perm}}},
			want: "cannot read any of the 1 journal file: permission denied: /j/system.journal",
		},
		{
			name: "a directory",
			err:  &AccessError{Total: 0, blind: true, Unreadable: []Unreadable{{"/var/log/journal/m", perm}}},
			want: "cannot read 1 journal directory: permission denied: /var/log/journal/m",
		},
		{
			name: "many",
			err: &AccessError{Total: 6, Unreadable: []Unreadable{
				{"/a.journal", perm}, {"/b.journal", perm}, {"/c.journal", perm}, {"/d.journal", perm}, {"/e.journal", perm},
			}},
			want: "cannot read 5 of 6 journal files: permission denied: /a.journal, /b.journal, /c.journal, /d.journal and 1 more",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}
