// Package state keeps what the daemon must remember across restarts in its
// state directory: the journal cursor it has delivered up to, and small
// files such as the notification logs. Every file is replaced atomically
// (temporary file, fsync, rename, fsync of the directory), readable only by
// cflogd (0600 in a 0700 directory), so a crash leaves either the old or the
// new content, never a mix.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// CursorFile is the name of the cursor file in the state directory.
const CursorFile = "cursor.json"

// tmpMarker is in the names of temporary files, so Open can remove leftovers.
const tmpMarker = ".tmp-"

// Dir is an open state directory.
type Dir struct {
	path   string
	unlock func()
}

// ErrLocked is returned by Open when another process holds the directory.
var ErrLocked = errors.New("state directory is in use by another cflogd")

// Open creates the directory if needed (mode 0700), takes its lock so that
// two daemons cannot share it, and removes temporary files a crash left.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open state directory: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// Created by someone else or an older version: tighten it.
		// On a read-only file system nothing can be written there anyway.
		if err := os.Chmod(path, 0o700); err != nil && !errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("restrict state directory %s: %w", path, err)
		}
	}
	unlock, err := lock(filepath.Join(path, "lock"))
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", path, err)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("read state directory: %w", err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpMarker) {
			os.Remove(filepath.Join(path, e.Name()))
		}
	}
	return &Dir{path: path, unlock: unlock}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Close releases the lock.
func (d *Dir) Close() {
	if d.unlock != nil {
		d.unlock()
		d.unlock = nil
	}
}

// WriteFile replaces the file name in the directory with data atomically.
func (d *Dir) WriteFile(name string, data []byte) error {
	return writeAtomic(d.path, name, data)
}

// ReadFile reads the file name; a missing file gives an error wrapping
// fs.ErrNotExist.
func (d *Dir) ReadFile(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(d.path, name))
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	return b, nil
}

func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, name+tmpMarker+"*")
	if err != nil {
		return fmt.Errorf("write state file %s: %w", filepath.Join(dir, name), err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write state file %s: %w", filepath.Join(dir, name), err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write state file %s: %w", filepath.Join(dir, name), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync state file %s: %w", filepath.Join(dir, name), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write state file %s: %w", filepath.Join(dir, name), err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("replace state file %s: %w", filepath.Join(dir, name), err)
	}
	// The rename is durable once the directory is synced.
	if df, err := os.Open(dir); err == nil {
		df.Sync()
		df.Close()
	}
	return nil
}

// Problem says in a few words why a state file could not be written, for a
// log line a person acts on: the file system is full or read-only, or
// permission is denied. Other errors give "cannot write the state directory".
func Problem(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the state directory's file system is full"
	case errors.Is(err, syscall.EROFS):
		return "the state directory's file system is read-only"
	case errors.Is(err, fs.ErrPermission):
		return "no permission to write in the state directory"
	}
	return "cannot write the state directory"
}

// Cursor is the saved journal position: every event from entries up to and
// including Cursor was accepted by every durable sink.
type Cursor struct {
	// Cursor is the journal cursor of the last delivered entry.
	Cursor string `json:"cursor"`
	// Time is that entry's timestamp.
	Time time.Time `json:"time"`
	// Saved is when the file was written.
	Saved time.Time `json:"saved"`
}

// cursorFile is the JSON of the cursor file.
type cursorFile struct {
	Version int `json:"version"`
	Cursor
}

// ErrNoCursor is returned by LoadCursor when no cursor was saved yet.
var ErrNoCursor = errors.New("no saved cursor")

// ErrCorrupt is wrapped by LoadCursor's error when the cursor file cannot
// be used; the daemon then starts at its initial position.
var ErrCorrupt = errors.New("cursor file is corrupt")

// maxCursorFile is the largest cursor file LoadCursor reads.
const maxCursorFile = 64 << 10

// SaveCursor replaces the cursor file.
func (d *Dir) SaveCursor(c Cursor) error {
	if !validCursor(c.Cursor) {
		return fmt.Errorf("save cursor %q: not a journal cursor", c.Cursor)
	}
	b, err := json.Marshal(cursorFile{Version: 1, Cursor: c})
	if err != nil {
		return fmt.Errorf("encode cursor: %w", err)
	}
	return d.WriteFile(CursorFile, append(b, '\n'))
}

// LoadCursor reads the cursor file. It returns ErrNoCursor when there is
// none, and an error wrapping ErrCorrupt that says what is wrong when the
// file is truncated, not JSON or holds no journal cursor.
func (d *Dir) LoadCursor() (Cursor, error) {
	p := filepath.Join(d.path, CursorFile)
	r, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Cursor{}, ErrNoCursor
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("read cursor file: %w", err)
	}
	defer r.Close()
	// A cursor file is a few hundred bytes; a huge one is garbage and is
	// not read into memory.
	b, err := io.ReadAll(io.LimitReader(r, maxCursorFile+1))
	if err != nil {
		return Cursor{}, fmt.Errorf("read cursor file: %w", err)
	}
	if len(b) > maxCursorFile {
		return Cursor{}, fmt.Errorf("%w: %s: larger than %d bytes", ErrCorrupt, p, maxCursorFile)
	}
	var f cursorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return Cursor{}, fmt.Errorf("%w: %s (%d bytes): %v", ErrCorrupt, p, len(b), err)
	}
	if f.Version != 1 {
		return Cursor{}, fmt.Errorf("%w: %s: unknown version %d", ErrCorrupt, p, f.Version)
	}
	if !validCursor(f.Cursor.Cursor) {
		return Cursor{}, fmt.Errorf("%w: %s: %q is not a journal cursor", ErrCorrupt, p, f.Cursor.Cursor)
	}
	return f.Cursor, nil
}

// validCursor checks the shape sd_journal_get_cursor gives:
// "s=…;i=…;b=…;m=…;t=…;x=…".
func validCursor(c string) bool {
	if c == "" || len(c) > 1024 {
		return false
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(c, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return false
		}
		seen[k] = true
	}
	return seen["s"] && seen["i"]
}
