//go:build !linux || !cgo

package tail

// openSDJournal reports that this build has no journal reader.
func openSDJournal(*Options) (journal, error) { return nil, ErrNoJournal }
