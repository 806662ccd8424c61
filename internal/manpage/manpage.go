// Package manpage turns cflogd's own help output (`cflogd help` and
// `cflogd help COMMAND`) into the roff source of the cflogd(1) man page, so
// the page always states the flags the binary really has.
package manpage

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// Overview is the parsed top-level help (`cflogd help`).
type Overview struct {
	// Description is the text above the Usage line.
	Description string
	// Commands are the commands in the order the help lists them.
	Commands []Entry
}

// Entry is one line of the help's command list.
type Entry struct {
	Name, Synopsis string
}

// Command is the parsed help of one command (`cflogd help NAME`).
type Command struct {
	Name string
	// Usage is the line after "Usage: ".
	Usage string
	// Paragraphs are the description's paragraphs, lines unwrapped.
	Paragraphs []string
	Flags      []Flag
}

// Flag is one entry of a command's Flags section.
type Flag struct {
	// Name is the flag without dashes; Arg is its placeholder ("FILE", "[ID]") or empty.
	Name, Arg string
	// Short are its one-letter aliases without the dash ("u" of "-u, --unit").
	Short []string
	// Text is the description, lines joined; Default is the "(default ...)" value.
	Text, Default string
}

// ErrFormat is returned when the help text does not look like cflogd's.
var ErrFormat = errors.New("unexpected help format")

// ParseOverview parses the output of `cflogd help`.
func ParseOverview(help string) (Overview, error) {
	var o Overview
	desc, rest, ok := strings.Cut(help, "\nUsage: ")
	if !ok {
		return o, fmt.Errorf("parse overview: no Usage line: %w", ErrFormat)
	}
	o.Description = strings.Join(strings.Fields(desc), " ")
	_, list, ok := strings.Cut(rest, "\nCommands:\n")
	if !ok {
		return o, fmt.Errorf("parse overview: no Commands section: %w", ErrFormat)
	}
	for _, line := range strings.Split(list, "\n") {
		name, syn, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		o.Commands = append(o.Commands, Entry{Name: name, Synopsis: strings.TrimSpace(syn)})
	}
	if len(o.Commands) == 0 {
		return o, fmt.Errorf("parse overview: no commands: %w", ErrFormat)
	}
	return o, nil
}

// ParseCommand parses the output of `cflogd help NAME`.
func ParseCommand(name, help string) (Command, error) {
	c := Command{Name: name}
	first, body, _ := strings.Cut(help, "\n")
	usage, ok := strings.CutPrefix(first, "Usage: ")
	if !ok {
		return c, fmt.Errorf("parse help of %s: first line %q is not a Usage line: %w", name, first, ErrFormat)
	}
	c.Usage = usage
	desc, flags, _ := strings.Cut(body, "\nFlags:\n")
	for _, p := range strings.Split(strings.TrimSpace(desc), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			c.Paragraphs = append(c.Paragraphs, p)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(flags))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  -") && !strings.HasPrefix(line, "   "):
			// "  --name ARG" or "  -n, -m, --name ARG"
			rest := strings.TrimPrefix(line, "  ")
			var short []string
			for {
				s, after, ok := strings.Cut(rest, ", ")
				if !ok || strings.HasPrefix(s, "--") || len(s) != 2 {
					break
				}
				short, rest = append(short, s[1:]), after
			}
			long, ok := strings.CutPrefix(rest, "--")
			if !ok {
				return c, fmt.Errorf("parse help of %s: unexpected flag line %q: %w", name, line, ErrFormat)
			}
			n, arg, _ := strings.Cut(long, " ")
			c.Flags = append(c.Flags, Flag{Name: n, Arg: arg, Short: short})
		case strings.HasPrefix(line, "        ") && len(c.Flags) > 0:
			f := &c.Flags[len(c.Flags)-1]
			t := strings.TrimSpace(line)
			if d, ok := strings.CutPrefix(t, "(default "); ok && strings.HasSuffix(d, ")") {
				f.Default = strings.TrimSuffix(d, ")")
				continue
			}
			if f.Text != "" {
				f.Text += " "
			}
			f.Text += t
		case strings.TrimSpace(line) == "":
		default:
			return c, fmt.Errorf("parse help of %s: unexpected flag line %q: %w", name, line, ErrFormat)
		}
	}
	return c, nil
}

// Page is everything the man page is made of.
type Page struct {
	Overview Overview
	// Commands are in the order of Overview.Commands; "help" is left out.
	Commands []Command
}

// Render returns the roff source of cflogd(1).
func Render(p Page) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w(`.\" Generated from the help of cflogd by internal/manpage; do not edit.`)
	w(`.\" Regenerate: go test ./packaging -run TestManPage -update`)
	w(`.TH CFLOGD 1 "" "cflogd" "cflogd manual"`)
	w(".SH NAME")
	w(`cflogd \- classify the systemd journal of chainfire, flaredb and placement\-driver against the runbook's signatures`)
	w(".SH SYNOPSIS")
	for i, c := range p.Commands {
		if i > 0 {
			w(".br")
		}
		w(`\fB%s\fR`, roffLine(c.Usage))
	}
	w(".SH DESCRIPTION")
	w("%s", roffLine(p.Overview.Description))
	w(".PP")
	w("%s", roffLine(descriptionTail))
	w(".SH COMMANDS")
	for _, c := range p.Commands {
		w(".SS cflogd %s", roffLine(c.Name))
		w(`\fB%s\fR`, roffLine(c.Usage))
		for _, para := range c.Paragraphs {
			w(".PP")
			w("%s", roffLine(para))
		}
		if len(c.Flags) > 0 {
			w(".PP")
			w("Flags:")
		}
		for _, f := range c.Flags {
			w(".TP")
			names := ""
			for _, s := range f.Short {
				names += `\fB\-` + roffLine(s) + `\fR, `
			}
			names += `\fB\-\-` + roffLine(f.Name) + `\fR`
			if f.Arg != "" {
				names += ` \fI` + roffLine(f.Arg) + `\fR`
			}
			w("%s", names)
			t := f.Text
			if f.Default != "" {
				t += " (default " + f.Default + ")"
			}
			w("%s", roffLine(t))
		}
	}
	b.WriteString(staticSections)
	return b.String()
}

// descriptionTail follows the help's own description.
const descriptionTail = "Each recognised line becomes an event with a stable signature id, a severity, typed fields and a link to the runbook section that says what to do. " +
	"scan reports over a window of the journal, journal files or journalctl output; run is the per-node daemon that ships the events to Loki, Alertmanager, Slack or a webhook."

// staticSections are the parts the help does not carry.
const staticSections = `.SH FILES
.TP
.I /etc/centra\-cloud/cflogd.toml
The daemon's configuration (TOML). Every key has a default, so an empty file works.
.TP
.I /etc/centra\-cloud/cflogd/patterns.d/
Pattern files (*.yaml) that add signatures or replace built\-in ones by id; reloaded on SIGHUP.
.TP
.I /etc/centra\-cloud/cflogd/credentials/
Secrets for the sinks, passed by systemd with LoadCredential= to
.IR /run/credentials/cflogd.service/NAME ,
where the configuration's *_file keys point.
.TP
.I /var/lib/cflogd/
State: the saved journal cursor, the notification logs and the window state of rules over time.
.TP
.I /usr/share/cflogd/patterns.d/
The built\-in signature library, for reference (the binary embeds it).
.TP
.I /lib/systemd/system/cflogd.service
The hardened systemd unit.
.SH ENVIRONMENT
.TP
.B NO_COLOR
When set, scan prints its table without colours.
.SH SIGNALS
.TP
.B SIGHUP
cflogd run reloads the pattern files; a file with an error keeps the previous set.
.TP
.B SIGTERM
cflogd run stops reading, lets the sinks deliver what was read and saves the cursor.
.SH SEE ALSO
.BR journalctl (1),
.BR systemd.exec (5),
.BR systemd\-creds (1)
`

// roffLine escapes backslashes and dashes, and protects a leading dot or
// quote from being read as a request.
func roffLine(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
