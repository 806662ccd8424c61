package tail

import (
	"context"
	"runtime"
)

// pipeline runs produce on its own goroutine (locked to an OS thread when
// lock is set, as sd-journal handles want) and calls fn with every batch it
// sends, on the calling goroutine; buffer batches wait in between, and
// with skipDone fn is no longer called once ctx has ended. produce's
// context ends when ctx does or fn fails, and send then reports false;
// produce should then return. pipeline returns fn's error first, then
// produce's, then ctx's.
func pipeline[T any](ctx context.Context, lock bool, buffer int, skipDone bool, produce func(ctx context.Context, send func(T) bool) error, fn func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan T, buffer)
	perr := make(chan error, 1)
	go func() {
		if lock {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
		}
		defer close(ch)
		perr <- produce(ctx, func(b T) bool {
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
		if ferr != nil || skipDone && ctx.Err() != nil {
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
