package patterns

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Service is one service cflogd watches, as a `services:` entry of a pattern
// file declares it (the built-in ones in patterns.d/00-services.yaml).
type Service struct {
	// Name is the short name used in `units:` and --unit: "placement-driver".
	Name string
	// Unit is the systemd unit: "placement-driver.service".
	Unit string
	// Aliases are other names accepted for the service: "pd".
	Aliases []string
	// Identifiers are the SYSLOG_IDENTIFIERs of its entries.
	Identifiers []string
	// Crates are the tracing target crate prefixes that name the service
	// when a line carries no unit: "pd" for targets pd_server, pd::sched.
	Crates []string
	Pos    Pos
}

// Services is a library's table of services, in declaration order.
type Services []Service

// Units returns the services' units, in order: what `units: all` means and
// what cflogd reads when the configuration names no units.
func (ss Services) Units() []string {
	units := make([]string, len(ss))
	for i, s := range ss {
		units[i] = s.Unit
	}
	return units
}

// Identifiers maps each service's SYSLOG_IDENTIFIERs to its unit: what
// marks an entry as the service's when _SYSTEMD_UNIT does not (a unit run
// under another name, lines forwarded without it).
func (ss Services) Identifiers() map[string]string {
	ids := make(map[string]string)
	for _, s := range ss {
		for _, id := range s.Identifiers {
			ids[id] = s.Unit
		}
	}
	return ids
}

// Lookup returns the service called name: its name, an alias, either with
// ".service", or its unit; nil when there is none.
func (ss Services) Lookup(name string) *Service {
	short := strings.TrimSuffix(name, ".service")
	for i, s := range ss {
		if s.Name == short || s.Unit == name || slices.Contains(s.Aliases, short) {
			return &ss[i]
		}
	}
	return nil
}

// ParseUnit returns the unit of the service called name (see Lookup).
func (ss Services) ParseUnit(name string) (string, error) {
	if s := ss.Lookup(name); s != nil {
		return s.Unit, nil
	}
	return "", fmt.Errorf("unknown unit %q (want %s)", name, ss.wanted())
}

// wanted lists the accepted names for messages.
func (ss Services) wanted() string {
	var names []string
	for _, s := range ss {
		n := s.Name
		if len(s.Aliases) > 0 {
			n += " (or " + strings.Join(s.Aliases, ", ") + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ") + ", their .service names, or all"
}

// ParseUnits turns --unit values (names as ParseUnit takes them, "all", or
// comma-separated lists of them) into units, each once.
func (ss Services) ParseUnits(values []string) ([]string, error) {
	var units []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			add := ss.Units()
			if name != "all" {
				u, err := ss.ParseUnit(name)
				if err != nil {
					return nil, err
				}
				add = []string{u}
			}
			for _, u := range add {
				if !slices.Contains(units, u) {
					units = append(units, u)
				}
			}
		}
	}
	return units, nil
}

// UnitOf returns the unit of the service whose crate a tracing target
// belongs to (the crate followed by '_', "::" or nothing: chainfire_raft,
// pd::sched), or "" when no service's crate matches.
func (ss Services) UnitOf(target string) string {
	if target == "" {
		return ""
	}
	for _, s := range ss {
		for _, c := range s.Crates {
			if c[0] == target[0] && strings.HasPrefix(target, c) {
				if rest := target[len(c):]; rest == "" || rest[0] == '_' || strings.HasPrefix(rest, "::") {
					return s.Unit
				}
			}
		}
	}
	return ""
}

// BuiltinServices returns the services of the built-in library.
var BuiltinServices = sync.OnceValue(func() Services {
	files, err := ParseFS(builtinFS(), BuiltinDir, BuiltinDir)
	var errs ErrorList
	ss := mergeServices(nil, files, &errs)
	if err != nil || len(errs) > 0 {
		panic(fmt.Sprintf("built-in services: %v %v", err, errs.err()))
	}
	return ss
})

// mergeServices adds the services of a layer (the built-in files, or one
// directory's) to ss: a service with the name of one already there replaces
// it in place, a new one goes last. Within a layer a name appears once, and
// no two services may share a name, alias, unit or crate.
func mergeServices(ss Services, layer []*File, errs *ErrorList) Services {
	ss = slices.Clone(ss)
	seen := map[string]Pos{}
	for _, f := range layer {
		for _, s := range f.Services {
			if first, dup := seen[s.Name]; dup {
				errs.Add(s.Pos, fmt.Sprintf("duplicate service %s (first defined at %s)", s.Name, first))
				continue
			}
			seen[s.Name] = s.Pos
			if i := slices.IndexFunc(ss, func(o Service) bool { return o.Name == s.Name }); i >= 0 {
				ss[i] = s
			} else {
				ss = append(ss, s)
			}
		}
	}
	ours := func(s Service) bool { return seen[s.Name] == s.Pos }
	for i := range ss {
		for j := range i {
			a, b := ss[i], ss[j] // a is the layer's: the error is reported there
			if !ours(a) {
				a, b = b, a
			}
			for _, n := range a.names() {
				if ours(a) && (Services{b}).Lookup(n) != nil {
					errs.Add(a.Pos, fmt.Sprintf("service %s: %s names service %s too (defined at %s)", a.Name, n, b.Name, b.Pos))
				}
			}
			for _, c := range a.Crates {
				if ours(a) && slices.Contains(b.Crates, c) {
					errs.Add(a.Pos, fmt.Sprintf("service %s: crate %s is service %s's too (defined at %s)", a.Name, c, b.Name, b.Pos))
				}
			}
		}
	}
	return ss
}

// names returns every name the service answers to.
func (s Service) names() []string { return append([]string{s.Name, s.Unit}, s.Aliases...) }
