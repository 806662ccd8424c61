//go:build unix

package state

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive flock on path; the returned function releases it.
func lock(path string) (func(), error) {
	// Read-only: flock needs no write access, and a descriptor open for
	// writing would keep the file system from being remounted read-only
	// (and on a read-only file system an existing lock file still opens).
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("flock: %w", err)
	}
	return func() { f.Close() }, nil
}
