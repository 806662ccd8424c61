package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The fleet view: which hosts a report's entries and events came from, for a
// scan over the journals of several nodes (a directory that
// systemd-journal-remote fills, say).

const (
	hostsCap      = 4096 // distinct hosts counted one by one
	sigHostsCap   = 16   // distinct hosts tracked per signature
	sigHostsShown = 3    // hosts listed per signature
	hostsShown    = 10   // hosts listed in the summary
)

// hostCount is what came from one host.
type hostCount struct {
	entries, events uint64
}

// hostTally counts entries and events per host in bounded memory: hosts past
// hostsCap are counted together.
type hostTally struct {
	byHost map[string]*hostCount
	other  hostCount // of the hosts past hostsCap
	more   bool      // some host was past hostsCap
}

func (h *hostTally) get(host string) *hostCount {
	if host == "" {
		return nil
	}
	if c, ok := h.byHost[host]; ok {
		return c
	}
	if h.byHost == nil {
		h.byHost = make(map[string]*hostCount)
	}
	if len(h.byHost) >= hostsCap {
		h.more = true
		return &h.other
	}
	c := &hostCount{}
	h.byHost[strings.Clone(host)] = c
	return c
}

func (h *hostTally) entry(host string) {
	if c := h.get(host); c != nil {
		c.entries++
	}
}

func (h *hostTally) event(host string) {
	if c := h.get(host); c != nil {
		c.events++
	}
}

// many reports whether more than one host was seen.
func (h *hostTally) many() bool { return len(h.byHost) > 1 }

// EntryOn counts one entry read, at time t, from host ("" when unknown).
func (r *Report) EntryOn(t time.Time, host string) {
	r.Entry(t)
	r.hosts.entry(host)
}

// renderHosts writes the summary of a scan over several hosts: entries and
// events per host, the busiest first.
func (r *Report) renderHosts(w io.Writer) {
	type row struct {
		host string
		hostCount
	}
	rows := make([]row, 0, len(r.hosts.byHost))
	for h, c := range r.hosts.byHost {
		rows = append(rows, row{h, *c})
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(b.entries, a.entries), cmp.Compare(b.events, a.events), strings.Compare(a.host, b.host))
	})
	n := len(rows)
	shown := rows[:min(n, hostsShown)]
	hostW, entW, evW := 0, 0, 0
	withEntries := false // not when only events named their hosts
	for _, r := range rows {
		withEntries = withEntries || r.entries > 0
	}
	for _, r := range shown {
		hostW = max(hostW, utf8.RuneCountInString(sanitize(r.host)))
		entW = max(entW, len(commas(r.entries)))
		evW = max(evW, len(commas(r.events)))
	}
	more := ""
	if r.hosts.more {
		more = " or more"
	}
	head := fmt.Sprintf("hosts    %d%s:", n, more)
	io.WriteString(w, head)
	for i, h := range shown {
		if i > 0 {
			fmt.Fprintf(w, "\n%*s", len(head), "")
		}
		fmt.Fprintf(w, " %-*s  ", hostW, sanitize(h.host))
		if withEntries {
			fmt.Fprintf(w, "%*s %s  ", entW, commas(h.entries), plural(h.entries, "entry  ", "entries"))
		}
		fmt.Fprintf(w, "%*s %s", evW, commas(h.events), plural(h.events, "event", "events"))
	}
	if rest := n - len(shown); rest > 0 || r.hosts.more {
		fmt.Fprintf(w, "\n%*s +%d more", len(head), "", rest)
		if r.hosts.more {
			fmt.Fprintf(w, " (and hosts past %d counted together: %s entries, %s events)", hostsCap, commas(r.hosts.other.entries), commas(r.hosts.other.events))
		}
	}
	fmt.Fprintln(w)
}

// hostList names the hosts a signature fired on with their counts, the
// busiest first: "node1 2, node3 1", "+N more" past sigHostsShown.
func (s *sigStats) hostList() string {
	if s.hosts == nil {
		return ""
	}
	top := s.hosts.top(sigHostsShown)
	parts := make([]string, 0, len(top)+1)
	for _, it := range top {
		parts = append(parts, sanitize(it.value)+" "+approx(it))
	}
	if rest := s.hosts.distinct() - len(top); rest > 0 {
		more := ""
		if s.hosts.distinct() >= sigHostsCap {
			more = " or more"
		}
		parts = append(parts, fmt.Sprintf("+%d%s more", rest, more))
	}
	return strings.Join(parts, ", ")
}
