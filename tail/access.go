package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sd_journal_open and its kin skip the journal files they cannot open
// without a word: a reader without permission sees an empty journal. The
// check here finds those files the way sd-journal finds files, and opens
// each for reading, so that a blind reader can say so as journalctl does.

// ErrBlind is wrapped by an AccessError when no journal file could be
// read at all.
var ErrBlind = errors.New("no journal file could be read")

// The local journal's directories, as sd_journal_open(SD_JOURNAL_LOCAL_ONLY)
// reads them: their own files and those of the machine's subdirectory.
var localJournalRoots = []string{"/run/log/journal", "/var/log/journal"}

// machineIDFile names the local machine.
var machineIDFile = "/etc/machine-id"

// Unreadable is a journal file or directory that could not be opened.
type Unreadable struct {
	Path string
	Err  error
}

// Access is what CheckAccess found.
type Access struct {
	// Files are the journal files found, readable or not.
	Files []string
	// Unreadable are the files, and the directories that could not be
	// listed, that could not be opened for reading.
	Unreadable []Unreadable
}

// CheckAccess lists the journal files that a reader of directory, or of
// files, or (with neither) of the local journal opens, and tries to open
// each for reading.
func CheckAccess(directory string, files []string) Access {
	var a Access
	switch {
	case directory != "":
		a.listDir(directory, true, false)
	case len(files) > 0:
		a.Files = append(a.Files, files...)
	default:
		id := localMachineID()
		for _, root := range localJournalRoots {
			a.listDir(root, false, true)
			if id != "" {
				a.listDir(filepath.Join(root, id), false, true)
			}
		}
	}
	for _, f := range a.Files {
		fh, err := os.Open(f)
		if err != nil {
			a.Unreadable = append(a.Unreadable, Unreadable{Path: f, Err: openErr(err)})
			continue
		}
		fh.Close()
	}
	return a
}

// localMachineID returns /etc/machine-id, or "" when it is missing or not
// an ID (then only the roots' own files are looked at).
func localMachineID() string {
	b, err := os.ReadFile(machineIDFile)
	if err != nil {
		return ""
	}
	id, ok := normBootID(strings.TrimSpace(string(b)))
	if !ok {
		return ""
	}
	return id
}

// listDir adds the *.journal and *.journal~ files of dir, and with
// machineDirs those of its machine-ID subdirectories (as
// sd_journal_open_directory does). A directory that is missing is skipped
// when optional is set.
func (a *Access) listDir(dir string, machineDirs, optional bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return
		}
		a.Unreadable = append(a.Unreadable, Unreadable{Path: dir, Err: openErr(err)})
		return
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".journal") || strings.HasSuffix(name, ".journal~"):
			if !e.IsDir() {
				a.Files = append(a.Files, filepath.Join(dir, name))
			}
		case machineDirs && e.IsDir() && len(name) == 32:
			if _, ok := normBootID(name); ok {
				a.listDir(filepath.Join(dir, name), false, true)
			}
		}
	}
}

// openErr strips the path from an *fs.PathError: the message names it.
func openErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Readable returns the journal files found that could be opened.
func (a *Access) Readable() []string {
	bad := make(map[string]bool, len(a.Unreadable))
	for _, u := range a.Unreadable {
		bad[u.Path] = true
	}
	var out []string
	for _, f := range a.Files {
		if !bad[f] {
			out = append(out, f)
		}
	}
	return out
}

// Blind reports that something could not be read and nothing could.
func (a *Access) Blind() bool {
	return len(a.Unreadable) > 0 && len(a.Readable()) == 0
}

// Err returns nil when everything found could be read, else an
// *AccessError (wrapping ErrBlind when nothing could).
func (a *Access) Err() error {
	if len(a.Unreadable) == 0 {
		return nil
	}
	return &AccessError{Total: len(a.Files), Unreadable: a.Unreadable, blind: a.Blind()}
}

// AccessError reports journal files or directories that could not be read.
type AccessError struct {
	// Total is the number of journal files found, readable or not.
	Total      int
	Unreadable []Unreadable
	blind      bool
}

// maxAccessPaths is how many paths of one kind of error the message lists.
const maxAccessPaths = 4

// Error reads like journalctl's complaint: "cannot read 3 of 5 journal
// files: permission denied: /var/log/journal/…/system.journal, …". It
// wraps the files' errors, so errors.Is(err, fs.ErrPermission) tells when
// to hint at the groups that may read the journal.
func (e *AccessError) Error() string {
	var b strings.Builder
	files, dirs := 0, 0
	for _, u := range e.Unreadable {
		if strings.HasSuffix(u.Path, ".journal") || strings.HasSuffix(u.Path, ".journal~") {
			files++
		} else {
			dirs++
		}
	}
	switch {
	case e.blind && files == e.Total && e.Total > 0:
		fmt.Fprintf(&b, "cannot read any of the %d journal %s", e.Total, plural(e.Total, "file", "files"))
	case files > 0:
		fmt.Fprintf(&b, "cannot read %d of %d journal %s", files, e.Total, plural(e.Total, "file", "files"))
	}
	if dirs > 0 {
		if b.Len() > 0 {
			b.WriteString(" and")
		} else {
			b.WriteString("cannot read")
		}
		fmt.Fprintf(&b, " %d journal %s", dirs, plural(dirs, "directory", "directories"))
	}
	// The paths, grouped by error, in the order found.
	var kinds []string
	byKind := map[string][]string{}
	for _, u := range e.Unreadable {
		k := u.Err.Error()
		if _, ok := byKind[k]; !ok {
			kinds = append(kinds, k)
		}
		byKind[k] = append(byKind[k], u.Path)
	}
	for i, k := range kinds {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		paths := byKind[k]
		b.WriteString(k)
		b.WriteString(": ")
		n := min(len(paths), maxAccessPaths)
		b.WriteString(strings.Join(paths[:n], ", "))
		if len(paths) > n {
			fmt.Fprintf(&b, " and %d more", len(paths)-n)
		}
	}
	return b.String()
}

// Unwrap returns ErrBlind when nothing could be read, and each file's error.
func (e *AccessError) Unwrap() []error {
	var errs []error
	if e.blind {
		errs = append(errs, ErrBlind)
	}
	for _, u := range e.Unreadable {
		errs = append(errs, u.Err)
	}
	return errs
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
