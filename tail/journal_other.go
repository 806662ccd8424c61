//go:build !linux || !cgo

package tail

// openSDJournal reports that this build has no journal reader.
func openSDJournal(*Options) (journal, error) { return nil, ErrNoJournal }

// withNative returns j: there is no native reader in this build.
func withNative(j journal, _ *FollowOptions) journal { return j }
