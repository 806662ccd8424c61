//go:build linux

package tail

import (
	"bufio"
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// mappedBytes returns the process's resident shared (file-backed) memory:
// mostly the journal files sd-journal maps.
func mappedBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0
	}
	shared, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return shared * int64(os.Getpagesize())
}

// dropJournalPages unmaps the resident pages of every journal file mapping
// from this process (madvise MADV_DONTNEED). sd-journal maps the files
// shared and read-only, so the data stays in the page cache and a later
// access faults it in again; what goes is only this process's share of
// it, which otherwise grows with every entry read until sd-journal's
// mapping cache is full (hundreds of MiB of resident memory).
func dropJournalPages() {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		line := sc.Bytes()
		fields := bytes.Fields(line)
		if len(fields) < 6 || !isJournalPath(fields[5]) || !bytes.HasPrefix(fields[1], []byte("r--s")) {
			continue
		}
		start, end, ok := bytes.Cut(fields[0], []byte("-"))
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		// By address: the mapping is sd-journal's, not a Go slice.
		unix.Syscall(unix.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), unix.MADV_DONTNEED)
	}
}

// isJournalPath reports whether a mapped path is a journal file (active,
// archived, or a dirty archive "~" file; "(deleted)" ones too).
func isJournalPath(p []byte) bool {
	return bytes.HasSuffix(p, []byte(".journal")) || bytes.HasSuffix(p, []byte(".journal~")) ||
		bytes.Contains(p, []byte(".journal (deleted)")) || bytes.Contains(p, []byte(".journal~ (deleted)"))
}
