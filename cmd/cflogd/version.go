package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func versionCommand() *command {
	return &command{
		name:     "version",
		synopsis: "print the version, commit and Go version",
		usage:    "cflogd version",
		help:     "Prints cflogd's version, the commit it was built from and the Go version.",
		run:      (*app).version,
	}
}

func (a *app) version(_ context.Context, args []string) int {
	c := versionCommand()
	fs := c.flags(a)
	if code, ok := a.parseNoArgs(c, fs, args); !ok {
		return code
	}
	fmt.Fprintf(a.stdout, "cflogd %s\ncommit %s\n%s %s/%s\n", version, buildCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// buildCommit returns the commit set at link time, else the VCS revision Go
// recorded in the binary, else "unknown".
func buildCommit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
