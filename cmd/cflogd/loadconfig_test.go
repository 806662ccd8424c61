package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/sink/stdout"
)

// TestRunNeedsASink: a configuration file without a [[sink]] stops run
// before it starts, with exit code 2 and a message naming the file.
func TestRunNeedsASink(t *testing.T) {
	a, stdout, stderr := testApp("")
	if code := a.main(t.Context(), []string{"run", "--config", "testdata/config/no-sink.toml"}); code != exitUsage {
		t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
	}
	if want := "cflogd run: testdata/config/no-sink.toml: no [[sink]]: name at least one"; !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to start with %q", stderr, want)
	}
}

// TestLoadConfig: without a configuration file (and no --config) run uses
// the defaults with a stdout sink; a --config file that does not exist is
// an error.
func TestLoadConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "cflogd.toml")
	cfg, from, err := loadConfig(missing, false)
	if err != nil || from != "" {
		t.Fatalf("loadConfig(missing, not explicit) = %v, %q, %v; want the defaults", cfg, from, err)
	}
	want := config.Default
	want.Sinks = []config.SinkConfig{stdout.Default}
	if diff := cmp.Diff(want, *cfg, cmp.Comparer(func(a, b stdout.Config) bool { return a.Name == b.Name && a.MinSeverity == b.MinSeverity })); diff != "" {
		t.Errorf("configuration (-want +got):\n%s", diff)
	}
	if _, from, err := loadConfig(missing, true); err == nil || from != missing {
		t.Errorf("loadConfig(missing, explicit) = %q, %v; want an error", from, err)
	}
	if _, _, err := loadConfig("testdata/config/no-sink.toml", true); !errors.Is(err, errNoSinks) {
		t.Errorf("loadConfig(no sink) error = %v, want errNoSinks", err)
	}
}
