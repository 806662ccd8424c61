package main

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// bootFlag is --boot with an optional value, as journalctl's -b: alone it
// means the current boot ("0"); else a boot ID, an offset (0 current, -1 the
// one before, 1 the first), or "all" (no boot filter).
type bootFlag struct {
	set   bool
	value string
}

// bootValue matches what --boot accepts as its value; group 2 is an ID.
var bootValue = regexp.MustCompile(`^(all|[+-]?[0-9]+|([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}))$`)

func (b *bootFlag) String() string {
	if b == nil {
		return ""
	}
	return b.value
}

// IsBoolFlag lets the flag package accept --boot without a value;
// expandBoot joins a following ID or offset into --boot=VALUE first.
func (b *bootFlag) IsBoolFlag() bool { return true }

func (b *bootFlag) Set(s string) error {
	switch s {
	case "true", "":
		b.set, b.value = true, "0"
		return nil
	case "false":
		b.set, b.value = false, ""
		return nil
	}
	m := bootValue.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("want a boot ID (32 hex digits), an offset such as 0 or -1, or all")
	}
	if m[2] != "" { // an ID: sd-id128 form, lower case without dashes
		s = strings.ToLower(strings.ReplaceAll(m[2], "-", ""))
	}
	b.set, b.value = true, s
	return nil
}

// expandBoot rewrites "--boot VALUE" into "--boot=VALUE" when VALUE is a boot
// ID, an offset or "all", so that --boot works with and without a value. It
// walks args as the flag package will, skipping the values of flags that
// take one.
func expandBoot(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		out = append(out, arg)
		if arg == "--" || len(arg) < 2 || arg[0] != '-' {
			out = append(out, args[i+1:]...)
			break
		}
		name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if _, ok := f.Value.(*bootFlag); ok {
			if i+1 < len(args) && bootValue.MatchString(args[i+1]) {
				out[len(out)-1] = arg + "=" + args[i+1]
				i++
			}
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) { // the flag's value
			i++
			out = append(out, args[i])
		}
	}
	return out
}
