package tail

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/centra-cloud/cflogd/record"
)

// DefaultFieldPrefix is the prefix of the event fields tracing-journald
// writes by default (F_DURATION=2s).
const DefaultFieldPrefix = "F_"

// maxEntryFields is the most fields a reader puts into Entry.Fields of one
// entry; further ones are dropped.
const maxEntryFields = 256

// FieldSelect says which journal fields a reader copies into Entry.Fields
// and Entry.Journal. The zero value takes the fields with
// DefaultFieldPrefix and no named journal field.
type FieldSelect struct {
	// Prefix marks the event's fields (Entry.Fields): the journal fields
	// whose name starts with it and goes on. It is the whole prefix, so
	// tracing-journald's with_field_prefix(Some("X")) is "X_". Empty means
	// DefaultFieldPrefix unless NoPrefix is set. Upper-case letters,
	// digits and "_" only.
	Prefix string
	// NoPrefix takes every field a client sent that is not one of
	// journald's or tracing-journald's own as an event field (Prefix is
	// then ignored): for services that set tracing-journald's prefix to
	// none. Trusted fields (_*), MESSAGE, MESSAGE_ID, PRIORITY, TARGET,
	// TID, ERRNO, UNIT, USER_UNIT, INVOCATION_ID, USER_INVOCATION_ID,
	// DOCUMENTATION, and the SYSLOG_*, CODE_*, SPAN_*, OBJECT_*, COREDUMP_*
	// and S<n>_* fields are not event fields.
	NoPrefix bool
	// Journal names journal fields ("MESSAGE_ID", "_TRANSPORT", ...) to
	// copy into Entry.Journal, verbatim, for every entry that has them.
	Journal []string
}

// lifecycleFields are the journal fields copied into Entry.Journal of
// every entry about a watched service rather than from it (see
// Options.Units), in this order, before the names of FieldSelect.Journal.
var lifecycleFields = []string{
	"MESSAGE_ID", "UNIT", "UNIT_RESULT", "EXIT_CODE", "EXIT_STATUS", "COMMAND",
	"N_RESTARTS", "JOB_TYPE", "JOB_RESULT", "COREDUMP_UNIT", "COREDUMP_PID",
	"COREDUMP_COMM", "COREDUMP_SIGNAL", "COREDUMP_SIGNAL_NAME", "OBJECT_SYSTEMD_UNIT",
	"_SYSTEMD_UNIT", "_TRANSPORT", "_PID", "_UID", "_COMM",
}

// fieldSel is a FieldSelect checked and prepared for the readers.
type fieldSel struct {
	prefix   string // "" when noPrefix
	noPrefix bool
	units    []string          // the watched units; nil: every entry, no lifecycle matching
	idents   map[string]string // their SYSLOG_IDENTIFIERs (identUnits)
	// own are the names asked for (FieldSelect.Journal); about are
	// lifecycleFields followed by the names asked for that are not among
	// them; want holds the names of about.
	own, about []string
	want       map[string]bool
	// other, when not nil, is told of each entry left out because it is
	// neither of nor about the units (InputOptions.Stats).
	other func(*record.Entry)
}

// newFieldSel checks fs and prepares it for reading the entries of units,
// identified also by ids (Options.Identifiers).
func newFieldSel(fs FieldSelect, units []string, ids map[string]string) (*fieldSel, error) {
	s := &fieldSel{prefix: fs.Prefix, noPrefix: fs.NoPrefix, units: units, idents: identUnits(units, ids), want: make(map[string]bool)}
	if s.noPrefix {
		s.prefix = ""
	} else if s.prefix == "" {
		s.prefix = DefaultFieldPrefix
	}
	if s.prefix != "" && !validFieldName([]byte(s.prefix)) {
		return nil, fmt.Errorf("field prefix %q: want upper-case letters, digits and _", fs.Prefix)
	}
	for _, n := range fs.Journal {
		if !validFieldName([]byte(n)) && !(strings.HasPrefix(n, "__") && validFieldName([]byte(n[2:]))) {
			return nil, fmt.Errorf("journal field %q: not a journal field name", n)
		}
		if !slices.Contains(s.own, n) {
			s.own = append(s.own, n)
		}
	}
	s.about = slices.Clone(lifecycleFields)
	for _, n := range s.own {
		if !slices.Contains(s.about, n) {
			s.about = append(s.about, n)
		}
	}
	for _, n := range s.about {
		s.want[n] = true
	}
	return s, nil
}

// eventName reports whether a journal field is an event field and returns
// its name without the prefix (not yet lower-cased).
func (s *fieldSel) eventName(name []byte) ([]byte, bool) {
	if s.noPrefix {
		return name, !standardField(name)
	}
	if len(name) > len(s.prefix) && string(name[:len(s.prefix)]) == s.prefix {
		return name[len(s.prefix):], true
	}
	return nil, false
}

// standardField reports whether a field is one of journald's, systemd's or
// tracing-journald's own, not an event field (FieldSelect.NoPrefix).
func standardField(n []byte) bool {
	if len(n) == 0 || n[0] == '_' {
		return true
	}
	switch string(n) {
	case "MESSAGE", "MESSAGE_ID", "PRIORITY", "TARGET", "TID", "ERRNO", "UNIT", "USER_UNIT",
		"INVOCATION_ID", "USER_INVOCATION_ID", "DOCUMENTATION":
		return true
	}
	for _, p := range []string{"SYSLOG_", "CODE_", "SPAN_", "OBJECT_", "COREDUMP_"} {
		if len(n) >= len(p) && string(n[:len(p)]) == p {
			return true
		}
	}
	// tracing-journald 0.2's span fields: S<n>_NAME, S<n>_<FIELD>.
	if n[0] == 'S' && len(n) > 2 && '0' <= n[1] && n[1] <= '9' {
		i := 1
		for i < len(n) && '0' <= n[i] && n[i] <= '9' {
			i++
		}
		return i < len(n) && n[i] == '_'
	}
	return false
}

// lowerName appends the lower-case form of an event field name to b.
func lowerName(b, name []byte) []byte {
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// capValue cuts a field value to record.MaxFieldValue bytes.
func capValue(v []byte) []byte {
	if len(v) > record.MaxFieldValue {
		return v[:record.MaxFieldValue]
	}
	return v
}

// The matches of journalctl -u besides a unit's own entries.
const (
	coredumpMessageID = "fc2e22bc6ee647b6b90729ab34a250b1"
	coredumpComm      = "systemd-coredum" // systemd-coredump cut to 15 characters
)

// lcFields are the fields of an entry that decide whether it is about a
// watched unit (besides _SYSTEMD_UNIT and SYSLOG_IDENTIFIER). The strings
// may point into a reader's buffers: they live while the entry is decoded.
type lcFields struct {
	pid, uid, comm, transport        string // _PID, _UID, _COMM, _TRANSPORT
	unit, objectUnit                 string // UNIT, OBJECT_SYSTEMD_UNIT
	messageID, coredumpUnit, sysUnit string // MESSAGE_ID, COREDUMP_UNIT, _SYSTEMD_UNIT
}

// ownUnit returns the watched unit an entry comes from: its _SYSTEMD_UNIT,
// or the unit its SYSLOG_IDENTIFIER names (idents, from identUnits); ""
// when neither is watched.
func ownUnit(unit, ident string, units []string, idents map[string]string) string {
	if u := watched(units, unit); u != "" {
		return u
	}
	if ident != "" {
		return idents[ident]
	}
	return ""
}

// identUnits returns the SYSLOG_IDENTIFIERs of the watched units and
// whose each is (Options.Identifiers): those ids maps to a unit of units,
// and for a unit none maps to, its name without ".service".
func identUnits(units []string, ids map[string]string) map[string]string {
	out := make(map[string]string, len(units))
	named := make(map[string]bool, len(units))
	for id, u := range ids {
		if w := watched(units, u); w != "" && id != "" {
			out[id], named[w] = w, true
		}
	}
	for _, u := range units {
		if !named[u] {
			out[strings.TrimSuffix(u, ".service")] = u
		}
	}
	return out
}

// aboutUnit returns the watched unit an entry not from it is about, as
// journalctl -u U shows it, plus what journalctl misses; "" for none:
//   - systemd (_PID=1) with UNIT=U;
//   - systemd-coredump with MESSAGE_ID=fc2e22bc… and COREDUMP_UNIT=U,
//     written as root (_UID=0: systemd < 252.4, journalctl's own test), by
//     a systemd-coredump@….service instance (252.4 and later write with
//     the systemd-coredump user's _UID, which journalctl -u misses), or by
//     a process called systemd-coredum with a system _UID (below 1000: the
//     kernel's helper when it does not hand over to the service);
//   - a root process (journald) with OBJECT_SYSTEMD_UNIT=U;
//   - the kernel's OOM killer naming U's process or cgroup (oomUnit).
//
// A UNIT= or COREDUMP_UNIT= any other process sends is not taken.
func aboutUnit(f *lcFields, message string, units []string, idents map[string]string) string {
	if f.pid == "1" && f.unit != "" {
		if u := watched(units, f.unit); u != "" {
			return u
		}
	}
	if f.messageID == coredumpMessageID && (f.uid == "0" || coredumpInstance(f.sysUnit) || f.comm == coredumpComm && systemUID(f.uid)) {
		if u := watched(units, f.coredumpUnit); u != "" {
			return u
		}
	}
	if f.uid == "0" && f.objectUnit != "" {
		if u := watched(units, f.objectUnit); u != "" {
			return u
		}
	}
	if f.transport == "kernel" && oomCandidate(message) {
		return oomUnit(message, units, idents)
	}
	return ""
}

// watched returns the element of units equal to u (not u itself, which
// may point into a reader's buffer), or "".
func watched(units []string, u string) string {
	if i := slices.Index(units, u); i >= 0 {
		return units[i]
	}
	return ""
}

// coredumpInstance reports whether a unit is an instance of
// systemd-coredump@.service.
func coredumpInstance(u string) bool {
	return strings.HasPrefix(u, "systemd-coredump@") && strings.HasSuffix(u, ".service")
}

// systemUID reports whether a _UID is a system user's (0-999).
func systemUID(uid string) bool {
	_, ok := num(uid)
	return ok && len(uid) <= 3
}

// The kernel OOM killer's lines cflogd reads (mm/oom_kill.c).
const (
	oomKillPrefix = "oom-kill:"                    // dump_oom_summary
	oomPrefix     = "Out of memory"                // __oom_kill_process: "Out of memory: Killed process …", "… (oom_kill_allocating_task): …"
	oomMemcg      = "Memory cgroup out of memory:" // the same for a memory cgroup
)

// oomCandidate is the cheap test on a kernel MESSAGE before oomUnit.
func oomCandidate(m string) bool {
	return strings.HasPrefix(m, oomKillPrefix) || strings.HasPrefix(m, oomPrefix) || strings.HasPrefix(m, oomMemcg)
}

// oomUnit returns the watched unit a kernel OOM line names: oom-kill:
// with task_memcg=/…/U (a path element), or "Killed process N (comm)"
// where comm is one of the unit's identifiers (identUnits: the process
// name, which journald takes for SYSLOG_IDENTIFIER) cut to 15
// characters, as the kernel cuts it; "" for any other line.
func oomUnit(m string, units []string, idents map[string]string) string {
	if rest, ok := strings.CutPrefix(m, oomKillPrefix); ok {
		i := strings.Index(rest, ",task_memcg=")
		if i < 0 {
			return ""
		}
		path := rest[i+len(",task_memcg="):]
		if j := strings.IndexByte(path, ','); j >= 0 {
			path = path[:j]
		}
		for path != "" {
			var elem string
			elem, path, _ = strings.Cut(path, "/")
			if w := watched(units, elem); w != "" {
				return w
			}
		}
		return ""
	}
	_, rest, ok := strings.Cut(m, ": Killed process ")
	if !ok || !(strings.HasPrefix(m, oomPrefix) || strings.HasPrefix(m, oomMemcg)) {
		return ""
	}
	i := 0
	for i < len(rest) && '0' <= rest[i] && rest[i] <= '9' {
		i++
	}
	if i == 0 || !strings.HasPrefix(rest[i:], " (") {
		return ""
	}
	rest = rest[i+2:]
	// comm is at most 15 bytes and may hold ") ": take the ")" that ends
	// it, before " total-vm:" when the line has it.
	end := strings.Index(rest, ") total-vm:")
	if end < 0 {
		end = strings.IndexByte(rest, ')')
	}
	if end <= 0 {
		return ""
	}
	comm := rest[:end]
	if u, ok := idents[comm]; ok {
		return u
	}
	// The kernel cuts comm to 15 bytes: the first identifier, in order,
	// that it is the start of (OOM lines are rare; the sort is cheap).
	for _, id := range slices.Sorted(maps.Keys(idents)) {
		if len(id) > 15 && id[:15] == comm {
			return idents[id]
		}
	}
	return ""
}

// collected is what a reader gathered of one entry beyond the fixed
// fields: the event fields and the journal fields of fieldSel.want, in
// the order read.
type collected struct {
	fields  []record.Field
	journal []record.Field
}

func (c *collected) reset() {
	clear(c.fields)
	clear(c.journal)
	c.fields, c.journal = c.fields[:0], c.journal[:0]
}

// addJournal keeps the first occurrence of a wanted journal field.
func (c *collected) addJournal(name, value string) {
	if _, ok := c.get(name); !ok {
		c.journal = append(c.journal, record.Field{Name: name, Value: value})
	}
}

func (c *collected) get(name string) (string, bool) {
	for i := range c.journal {
		if c.journal[i].Name == name {
			return c.journal[i].Value, true
		}
	}
	return "", false
}

// finish sets e.Fields and e.Journal from c: an entry from a service (or
// any entry, without units) gets the event fields and the journal fields
// asked for; an entry about one (about) gets no event field and the
// lifecycle fields too. The slices are new; nothing is allocated when
// there is nothing to hand over.
func (s *fieldSel) finish(e *record.Entry, c *collected, about bool) {
	e.Fields = nil
	if !about && len(c.fields) > 0 {
		e.Fields = slices.Clone(c.fields)
	}
	names := s.own
	if about {
		names = s.about
	}
	e.Journal = journalOf(names, nil, func(name string, _ int) (string, bool) { return c.get(name) })
}

// fixedIndexes returns, for the names of own and of about, the index
// fixed gives each (a reader's fields it always copies), or -1: what
// journalOf hands its get, so that readers look no name up per entry.
func (s *fieldSel) fixedIndexes(fixed map[string]int) (own, about []int) {
	index := func(names []string) []int {
		out := make([]int, len(names))
		for i, n := range names {
			out[i] = -1
			if f, ok := fixed[n]; ok {
				out[i] = f
			}
		}
		return out
	}
	return index(s.own), index(s.about)
}

// journalOf returns the fields of names that get finds, in the order of
// names; nil when there are none. get is given each name and its fixed
// index (fixedIndexes; -1 when fixed is nil).
func journalOf(names []string, fixed []int, get func(name string, fixed int) (string, bool)) []record.Field {
	var buf [32]record.Field
	out := buf[:0]
	for i, name := range names {
		f := -1
		if fixed != nil {
			f = fixed[i]
		}
		if v, ok := get(name, f); ok {
			out = append(out, record.Field{Name: name, Value: v})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return slices.Clone(out)
}

// isEvent is eventName for a string.
func (s *fieldSel) isEvent(name string) bool {
	_, ok := s.eventName([]byte(name))
	return ok
}

// SelectFields is the selection for a tracing-journald field prefix as the
// services configure it ("F", the default, makes F_DURATION the field
// duration; "" is no prefix) and the journal fields classification reads
// by name.
func SelectFields(prefix string, journal []string) FieldSelect {
	if prefix == "" {
		return FieldSelect{NoPrefix: true, Journal: journal}
	}
	return FieldSelect{Prefix: prefix + "_", Journal: journal}
}
