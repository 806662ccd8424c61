//go:build linux && cgo

package tail

/*
#include <systemd/sd-journal.h>
*/
import "C"

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// wait is sd_journal_wait with a timeout; the journal handle is the one
// journal_linux.go opened.
func (j *sdJournal) wait(timeout time.Duration) (waitResult, error) {
	us := C.uint64_t(timeout / time.Microsecond)
	r := C.sd_journal_wait((*C.sd_journal)(unsafe.Pointer(j.r.j)), us)
	switch {
	case r < 0:
		return waitNop, syscall.Errno(-r)
	case r == C.SD_JOURNAL_APPEND:
		return waitAppend, nil
	case r == C.SD_JOURNAL_INVALIDATE:
		return waitInvalidate, nil
	case r == C.SD_JOURNAL_NOP:
		return waitNop, nil
	}
	return waitNop, fmt.Errorf("sd_journal_wait: unexpected result %d", int(r))
}
