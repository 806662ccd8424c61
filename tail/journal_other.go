//go:build !linux || !cgo

package tail

// openSDJournal reports that this build has no journal reader.
func openSDJournal(*Options) (journal, error) { return nil, ErrNoJournal }

// withNativeReader returns f: there is no native reader in this build.
func withNativeReader(f follower, _ *FollowOptions) follower { return f }

// nativeScan returns j: there is no native reader in this build.
func nativeScan(j journal, _ *Options) (journal, bool) { return j, false }
