package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const cur = "s=0123456789abcdef0123456789abcdef;i=1a;b=5c0ffee05c0ffee05c0ffee05c0ffee0;m=12ab;t=5f1e2d3c4b5a6;x=9f8e7d6c5b4a3921"

func open(t *testing.T) (*Dir, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "state")
	d, err := Open(p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(d.Close)
	return d, p
}

// loadCorrupt opens a state directory whose cursor file holds content and
// checks that LoadCursor reports it corrupt, naming the file and saying msg.
func loadCorrupt(t *testing.T, content []byte, msg string) (*Dir, string) {
	t.Helper()
	d, p := open(t)
	if err := os.WriteFile(filepath.Join(p, CursorFile), content, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := d.LoadCursor()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("LoadCursor = %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), filepath.Join(p, CursorFile)) {
		t.Errorf("error %.300q should name the file and say %q", err, msg)
	}
	return d, p
}

func TestCursorRoundTrip(t *testing.T) {
	d, p := open(t)
	if _, err := d.LoadCursor(); !errors.Is(err, ErrNoCursor) {
		t.Fatalf("LoadCursor on a new dir: %v, want ErrNoCursor", err)
	}
	want := Cursor{Cursor: cur, Time: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC), Saved: time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC)}
	if err := d.SaveCursor(want); err != nil {
		t.Fatal(err)
	}
	got, err := d.LoadCursor()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadCursor (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(p, CursorFile))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("cursor file mode %o, want 600", m)
	}
	di, _ := os.Stat(p)
	if m := di.Mode().Perm(); m != 0o700 {
		t.Errorf("state dir mode %o, want 700", m)
	}
}

// TestSaveReplacesAtomically: a reader that loads the cursor while saves
// replace it always gets a whole cursor, one of those saved (a file
// truncated and then written would be seen empty or cut short), and the
// saves leave no temporary file behind.
func TestSaveReplacesAtomically(t *testing.T) {
	d, p := open(t)
	const saves = 200
	saved := map[string]bool{}
	var cursors []Cursor
	for i := range saves {
		// Lengths differ, so that a file cut short is seen as such.
		c := Cursor{Cursor: strings.Replace(cur, "i=1a", fmt.Sprintf("i=%x", i<<(i%40)), 1)}
		saved[c.Cursor] = true
		cursors = append(cursors, c)
	}
	if err := d.SaveCursor(cursors[0]); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loads, bad atomic.Int64
	var first atomic.Value
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := d.LoadCursor()
			loads.Add(1)
			if err != nil || !saved[got.Cursor] {
				bad.Add(1)
				first.CompareAndSwap(nil, fmt.Sprintf("%q, %v", got.Cursor, err))
			}
		}
	})
	for _, c := range cursors[1:] {
		if err := d.SaveCursor(c); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d loads during saves got a partial or unknown cursor, first: %v", n, loads.Load(), first.Load())
	}
	entries, _ := os.ReadDir(p)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{CursorFile, "lock"}, names); diff != "" {
		t.Errorf("files left in the state dir (-want +got):\n%s", diff)
	}
}

func TestLeftoverTempFilesRemoved(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(p, CursorFile+tmpMarker+"123")
	if err := os.WriteFile(left, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file survived Open: %v", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o700 {
		t.Errorf("existing state dir mode %o, want it tightened to 700", fi.Mode().Perm())
	}
}

func TestCorruptCursor(t *testing.T) {
	good := `{"version":1,"cursor":"` + cur + `","time":"2026-11-26T10:00:00Z","saved":"2026-11-26T10:00:01Z"}`
	tests := []struct {
		name, content, msg string
	}{
		{"empty", "", "unexpected end of JSON input"},
		{"truncated", good[:40], "unexpected end of JSON input"},
		{"garbage", "\x00\x00\x00\x00", "invalid character"},
		{"not a cursor", `{"version":1,"cursor":"hello"}`, `"hello" is not a journal cursor`},
		{"no cursor", `{"version":1}`, `"" is not a journal cursor`},
		{"future version", `{"version":7,"cursor":"` + cur + `"}`, "unknown version 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loadCorrupt(t, []byte(tt.content), tt.msg)
		})
	}
}

func TestSaveRejectsNonCursor(t *testing.T) {
	d, _ := open(t)
	if err := d.SaveCursor(Cursor{Cursor: "nope"}); err == nil {
		t.Error("SaveCursor(nope): no error")
	}
}

func TestLock(t *testing.T) {
	_, p := open(t)
	if _, err := Open(p); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
}

func TestWriteFileReadFile(t *testing.T) {
	d, _ := open(t)
	if _, err := d.ReadFile("notify-slack.json"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file = %v, want ErrNotExist", err)
	}
	if err := d.WriteFile("notify-slack.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	b, err := d.ReadFile("notify-slack.json")
	if err != nil || string(b) != "{}" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
}
