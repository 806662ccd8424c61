// Package testjournal writes real journal files for tests: entries in the
// journal export format, converted by systemd-journal-remote.
package testjournal

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Remote is the systemd-journal-remote binary that writes the files.
const Remote = "/lib/systemd/systemd-journal-remote"

// Require skips the test when systemd-journal-remote is not installed.
func Require(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(Remote); err != nil {
		tb.Skipf("%s not found (install systemd-journal-remote): %v", Remote, err)
	}
}

// Field appends one export-format field: NAME=value, or the binary form
// when the value holds a control character or a byte outside ASCII.
func Field(b []byte, name, value string) []byte {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c >= 0x7f {
			return BinaryField(b, name, value)
		}
	}
	b = append(b, name...)
	b = append(b, '=')
	b = append(b, value...)
	return append(b, '\n')
}

// BinaryField appends one field in the binary form, which allows any byte.
func BinaryField(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	return append(b, '\n')
}

// Entry appends one entry: its realtime and monotonic timestamps, its boot
// ID, then fields given as name, value pairs.
func Entry(b []byte, realtime time.Time, monotonic time.Duration, boot string, fields ...string) []byte {
	b = Field(b, "__REALTIME_TIMESTAMP", strconv.FormatInt(realtime.UnixMicro(), 10))
	b = Field(b, "__MONOTONIC_TIMESTAMP", strconv.FormatInt(monotonic.Microseconds(), 10))
	b = Field(b, "_BOOT_ID", boot)
	for i := 0; i+1 < len(fields); i += 2 {
		b = Field(b, fields[i], fields[i+1])
	}
	return append(b, '\n')
}

// Write converts export into the journal file dir/name in place, as
// journald writes its files, and returns its path. It skips the test when
// systemd-journal-remote is not installed.
func Write(tb testing.TB, dir, name string, export []byte) string {
	tb.Helper()
	Require(tb)
	file := filepath.Join(dir, name)
	cmd := exec.Command(Remote, "-o", file, "-")
	cmd.Stdin = bytes.NewReader(export)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s -o %s: %v\n%s", Remote, file, err, out)
	}
	return file
}

// Move is Write into a temporary directory, then a rename into dir, so
// that a follower of dir never sees the file half-written.
func Move(tb testing.TB, dir, name string, export []byte) string {
	tb.Helper()
	file := filepath.Join(dir, name)
	if err := os.Rename(Write(tb, tb.TempDir(), name, export), file); err != nil {
		tb.Fatal(err)
	}
	return file
}
