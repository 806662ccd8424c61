package tail

import (
	"context"
	"runtime"

	"github.com/centra-cloud/cflogd/record"
)

// pipeline runs produce on its own goroutine (locked to an OS thread when
// lock is set, as sd-journal handles want) and calls fn with every batch it
// sends, on the calling goroutine. send reports false when the consumer has
// stopped; produce should then return. pipeline returns fn's error first,
// then produce's, then ctx's.
func pipeline(ctx context.Context, lock bool, produce func(send func([]record.Entry) bool) error, fn func([]record.Entry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []record.Entry, 4)
	perr := make(chan error, 1)
	go func() {
		if lock {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		defer close(ch)
		perr <- produce(func(b []record.Entry) bool {
			select {
			case ch <- b:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var ferr error
	for b := range ch {
		if ferr != nil || ctx.Err() != nil {
			continue // drain until the producer sees the cancellation
		}
		if err := fn(b); err != nil {
			ferr = err
			cancel()
		}
	}
	err := <-perr
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}
