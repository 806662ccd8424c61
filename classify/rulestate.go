package classify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/centra-cloud/cflogd/patterns"
)

// stateVersion is the version of the saved state's format. Version 2 added
// refs (the hosts' reference cursors for clock steps); version 1 is read as
// version 2 without them.
const stateVersion = 2

// ErrStateVersion is returned by UnmarshalState for state saved in a format
// this version does not read; the caller starts with empty windows.
var ErrStateVersion = errors.New("unknown rule state version")

type stateJSON struct {
	Version   int                `json:"version"`
	HWM       int64              `json:"hwm"`
	NextSweep int64              `json:"next_sweep"`
	Hosts     map[string]int64   `json:"hosts,omitempty"`
	Refs      map[string]refJSON `json:"refs,omitempty"`
	Rules     []ruleJSON         `json:"rules"`
}

// refJSON is a host's reference entry for measuring clock steps.
type refJSON struct {
	At     int64  `json:"at"`
	Cursor string `json:"cursor"`
}

type ruleJSON struct {
	ID     string      `json:"id"`
	Def    string      `json:"def"`
	Groups []groupJSON `json:"groups"`
}

type groupJSON struct {
	Host     string      `json:"host"`
	Unit     string      `json:"unit,omitempty"`
	Keys     []valueJSON `json:"keys,omitempty"`
	HWM      int64       `json:"hwm"`
	Active   bool        `json:"active,omitempty"`
	FalseSet bool        `json:"false_set,omitempty"`
	FalseAt  int64       `json:"false_at,omitempty"`

	// count
	Times   []int64  `json:"times,omitempty"`
	Cursors []string `json:"cursors,omitempty"`
	// quantile
	Steps       []stepJSON `json:"steps,omitempty"`
	FirstCursor string     `json:"first_cursor,omitempty"`
	// persist
	Run      *runJSON `json:"run,omitempty"`
	HasClear bool     `json:"has_clear,omitempty"`
	ClearAt  int64    `json:"clear_at,omitempty"`
}

type valueJSON struct {
	Kind string  `json:"k"` // "", "i", "f", "s"
	I    int64   `json:"i,omitempty"`
	F    float64 `json:"f,omitempty"`
	S    string  `json:"s,omitempty"`
}

type stepJSON struct {
	K      int64    `json:"k"`
	N      uint32   `json:"n"`
	Above  uint32   `json:"above,omitempty"`
	Counts []uint16 `json:"counts,omitempty"`
	Min    float32  `json:"min,omitempty"`
	Max    float32  `json:"max,omitempty"`
}

type runJSON struct {
	Start int64  `json:"start"`
	Last  int64  `json:"last"`
	N     int    `json:"n"`
	First string `json:"first,omitempty"`
}

// MarshalState returns the state of every window, to save with the journal
// cursor of the last entry fed (the daemon keeps it in state_dir). The
// output is deterministic: the same state gives the same bytes.
func (r *Rules) MarshalState() ([]byte, error) {
	st := stateJSON{Version: stateVersion, HWM: r.hwm, NextSweep: r.nextSweep}
	if len(r.hosts) > 0 {
		st.Hosts = make(map[string]int64, len(r.hosts))
	}
	for host, h := range r.hosts {
		st.Hosts[host] = h.hwm
		if h.ref != "" {
			if st.Refs == nil {
				st.Refs = map[string]refJSON{}
			}
			st.Refs[host] = refJSON{At: h.refAt, Cursor: h.ref}
		}
	}
	for _, cr := range r.rules {
		rj := ruleJSON{ID: cr.rule.ID, Def: cr.def, Groups: []groupJSON{}}
		for _, k := range slices.Sorted(maps.Keys(cr.groups)) {
			rj.Groups = append(rj.Groups, groupToJSON(cr.groups[k]))
		}
		st.Rules = append(st.Rules, rj)
	}
	return json.Marshal(st)
}

func groupToJSON(g groupState) groupJSON {
	h := g.head()
	gj := groupJSON{Host: h.host, Unit: h.unit, HWM: h.hwm, Active: h.active, FalseSet: h.falseSet, FalseAt: h.falseAt}
	for _, v := range h.keys {
		vj := valueJSON{}
		switch v.kind {
		case vInt:
			vj.Kind, vj.I = "i", v.i
		case vFloat:
			vj.Kind, vj.F = "f", v.f
		case vString:
			vj.Kind, vj.S = "s", v.s
		}
		gj.Keys = append(gj.Keys, vj)
	}
	switch g := g.(type) {
	case *countGroup:
		gj.Times, gj.Cursors = g.times, g.cursors
	case *quantGroup:
		gj.FirstCursor = g.firstCursor
		for _, s := range g.steps {
			sj := stepJSON{K: s.k, N: s.n, Above: s.above}
			if s.sk != nil {
				sj.Counts, sj.Min, sj.Max = s.sk.counts[:], s.sk.min, s.sk.max
			}
			gj.Steps = append(gj.Steps, sj)
		}
	case *persistGroup:
		if g.hasRun {
			gj.Run = &runJSON{Start: g.start, Last: g.last, N: g.n, First: g.firstCursor}
		}
		gj.HasClear, gj.ClearAt = g.hasClear, g.clearAt
	}
	return gj
}

// UnmarshalState restores windows saved by MarshalState, replacing the
// current ones. The windows of a rule that is no longer in the library, or
// whose definition changed (another window, count, threshold, ...), are
// dropped: that rule starts afresh. Malformed state is an error and leaves
// the windows as they were.
func (r *Rules) UnmarshalState(data []byte) error {
	var st stateJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("decode rule state: %w", err)
	}
	if st.Version != stateVersion && st.Version != 1 {
		return fmt.Errorf("decode rule state: version %d: %w", st.Version, ErrStateVersion)
	}
	restored := make(map[*crule]map[string]groupState, len(r.rules))
	for _, rj := range st.Rules {
		i := slices.IndexFunc(r.rules, func(cr *crule) bool { return cr.rule.ID == rj.ID })
		if i < 0 || r.rules[i].def != rj.Def {
			continue
		}
		cr := r.rules[i]
		groups := make(map[string]groupState, len(rj.Groups))
		for _, gj := range rj.Groups {
			g, err := groupFromJSON(cr, gj)
			if err != nil {
				return fmt.Errorf("decode rule state: rule %s: %w", rj.ID, err)
			}
			h := g.head()
			groups[keyOf(h.host, h.unit, h.keys)] = g
		}
		restored[cr] = groups
	}
	for _, cr := range r.rules {
		if g, ok := restored[cr]; ok {
			cr.groups = g
		} else {
			cr.groups = map[string]groupState{}
		}
	}
	r.hwm, r.nextSweep = st.HWM, st.NextSweep
	r.hosts = make(map[string]*hostClock, len(st.Hosts))
	for host, hwm := range st.Hosts {
		ref := st.Refs[host]
		r.hosts[host] = &hostClock{hwm: hwm, ref: ref.Cursor, refAt: ref.At}
	}
	return nil
}

func groupFromJSON(cr *crule, gj groupJSON) (groupState, error) {
	h := groupHead{host: gj.Host, unit: gj.Unit, hwm: gj.HWM, active: gj.Active, falseSet: gj.FalseSet, falseAt: gj.FalseAt}
	if len(gj.Keys) != len(cr.rule.GroupBy) {
		return nil, fmt.Errorf("group of host %q: %d keys, want %d", gj.Host, len(gj.Keys), len(cr.rule.GroupBy))
	}
	for _, vj := range gj.Keys {
		var v value
		switch vj.Kind {
		case "":
		case "i":
			v = value{kind: vInt, i: vj.I}
		case "f":
			v = value{kind: vFloat, f: vj.F}
		case "s":
			v = value{kind: vString, s: vj.S}
		default:
			return nil, fmt.Errorf("group of host %q: unknown key kind %q", gj.Host, vj.Kind)
		}
		h.keys = append(h.keys, v)
	}
	switch cr.rule.Kind {
	case patterns.CountRule:
		if len(gj.Times) != len(gj.Cursors) || len(gj.Times) > cr.rule.Count || !slices.IsSorted(gj.Times) {
			return nil, fmt.Errorf("group of host %q: bad count window", gj.Host)
		}
		g := &countGroup{groupHead: h}
		if len(gj.Times) > 0 {
			g.times = append(make([]int64, 0, cr.rule.Count), gj.Times...)
			g.cursors = append(make([]string, 0, cr.rule.Count), gj.Cursors...)
		}
		return g, nil
	case patterns.QuantileRule:
		g := &quantGroup{groupHead: h, firstCursor: gj.FirstCursor}
		for i, sj := range gj.Steps {
			if sj.Above > sj.N || (i > 0 && sj.K <= gj.Steps[i-1].K) || (len(sj.Counts) != 0 && len(sj.Counts) != aboveBuckets) {
				return nil, fmt.Errorf("group of host %q: bad quantile step", gj.Host)
			}
			s := qstep{k: sj.K, n: sj.N, above: sj.Above}
			if len(sj.Counts) > 0 {
				s.sk = &aboveSketch{min: sj.Min, max: sj.Max}
				copy(s.sk.counts[:], sj.Counts)
			}
			g.steps = append(g.steps, s)
			g.n += uint64(sj.N)
			g.above += uint64(sj.Above)
		}
		return g, nil
	case patterns.PersistRule:
		g := &persistGroup{groupHead: h, hasClear: gj.HasClear, clearAt: gj.ClearAt}
		if gj.Run != nil {
			g.hasRun, g.start, g.last, g.n, g.firstCursor = true, gj.Run.Start, gj.Run.Last, gj.Run.N, gj.Run.First
		}
		return g, nil
	}
	return nil, fmt.Errorf("unknown rule kind %s", cr.rule.Kind)
}
