package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/centra-cloud/cflogd/patterns"
)

// Pattern files are read as a snapshot, and read again patternSettle after
// the first read began: only when both agree is the library used. A file
// caught while it is being rewritten in place (truncated, then written), or
// a directory caught between the rewrites of two files, is read again, up
// to patternAttempts times; then the load fails and the previous library
// stays. Writers that replace files atomically (rename) never need this.
const (
	patternSettle   = 50 * time.Millisecond
	patternAttempts = 10
)

// errPatternsChanging is returned when the pattern files kept changing.
var errPatternsChanging = errors.New("the pattern files kept changing while they were read")

// loadPatterns loads the built-in library and the configured directories
// that exist, from a snapshot of their files that stayed the same for
// patternSettle.
func (d *Daemon) loadPatterns() (*patterns.Library, error) {
	var dirs []string
	for _, dir := range d.cfg.Patterns.Dirs {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			d.log.Debug().Str("dir", dir).Msg("pattern directory does not exist, skipping it")
			continue
		}
		dirs = append(dirs, dir)
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		snap, err := patterns.ReadSnapshot(dirs)
		if err != nil {
			return nil, fmt.Errorf("load patterns: %w", err)
		}
		lib, err := snap.Load()
		if len(dirs) > 0 {
			time.Sleep(time.Until(start.Add(patternSettle))) // the settle time, not a wait for a condition
			again, rerr := patterns.ReadSnapshot(dirs)
			if rerr != nil || !again.Equal(snap) {
				if attempt == patternAttempts {
					return nil, fmt.Errorf("load patterns from %s: %w (%d attempts)", strings.Join(dirs, ", "), errPatternsChanging, attempt)
				}
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("load patterns: %w", err)
		}
		return lib, nil
	}
}

func (d *Daemon) recordReload(lib *patterns.Library, err error) {
	if err != nil {
		d.m.reloadOK.Set(0)
		return
	}
	d.m.reloadOK.Set(1)
	d.m.reloadTime.SetToCurrentTime()
	d.m.signatures.Set(float64(len(lib.Signatures)))
}

// Reload loads the pattern files again (SIGHUP). On an error the previous
// library stays in use and the error, naming every problem, is returned.
func (d *Daemon) Reload() error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	lib, err := d.loadPatterns()
	d.recordReload(lib, err)
	if err != nil {
		d.log.Error().Err(err).Msg("reload patterns failed; keeping the previous set")
		return err
	}
	// The classifier and the rules change together, between two batches.
	if err := d.eng.Replace(lib); err != nil {
		d.log.Warn().Err(err).Msg("rule windows could not be carried over; the rules start afresh")
	}
	d.log.Info().Int("signatures", len(lib.Signatures)).Msg("reloaded patterns")
	if changed := d.reads.changed(d.readerInputsOf(lib)); len(changed) > 0 {
		d.log.Warn().Strs("changed", changed).Msg("the reloaded pattern files change what the journal reader reads, which it fixed at start: restart cflogd to read them (cflogd scan --since reads the entries until then)")
	}
	return nil
}

// readerInputs is what the journal reader takes from the library when the
// daemon starts: the units (the services', when the configuration names
// none), the SYSLOG_IDENTIFIERs of those units and the journal fields
// signatures read.
type readerInputs struct {
	units  []string
	idents map[string]string
	fields []string
}

func (d *Daemon) readerInputsOf(lib *patterns.Library) readerInputs {
	r := readerInputs{units: d.cfg.Units, idents: map[string]string{}, fields: lib.JournalFields()}
	if d.libUnits {
		r.units = lib.Services.Units()
	}
	for id, unit := range lib.Services.Identifiers() {
		if slices.Contains(r.units, unit) {
			r.idents[id] = unit
		}
	}
	return r
}

// changed names the inputs of now that r does not read: units,
// identifiers or journal fields added (or renamed) since the start.
func (r readerInputs) changed(now readerInputs) []string {
	var out []string
	missing := func(have []string) func(string) bool {
		return func(v string) bool { return !slices.Contains(have, v) }
	}
	if slices.ContainsFunc(now.units, missing(r.units)) {
		out = append(out, "units")
	}
	for id, unit := range now.idents {
		if r.idents[id] != unit {
			out = append(out, "identifiers")
			break
		}
	}
	if slices.ContainsFunc(now.fields, missing(r.fields)) {
		out = append(out, "journal fields")
	}
	return out
}
