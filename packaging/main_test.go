package packaging_test

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the generated files (man page, Debian conffile)")

// binDir holds the cflogd binary the tests build once.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "cflogd-packaging-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
	buildOut  []byte
)

// cflogdBinary builds ./cmd/cflogd once and returns its path.
func cflogdBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(binDir, "cflogd")
	buildOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/cflogd")
		cmd.Dir = ".."
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		tb.Fatalf("build cflogd: %v\n%s", buildErr, buildOut)
	}
	return bin
}

// run runs a command and returns its stdout; it fails the test when the
// command fails, showing stderr.
func run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// needTool returns the path of a tool the test needs. Without it the test
// is skipped on a developer's machine and fails in CI (CI set), where
// scripts/install-deps.sh installs it.
func needTool(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s not found: install the Debian package %s", name, pkg)
	}
	tb.Skipf("%s not found (Debian package %s)", name, pkg)
	return ""
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s (regenerate with go test ./packaging -update): %v", path, err)
	}
	if !bytes.Equal(want, got) {
		tb.Errorf("%s is stale; regenerate with go test ./packaging -update (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
