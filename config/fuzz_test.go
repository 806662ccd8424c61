package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// shippedConfigs returns the configurations cflogd ships and documents:
// the example with every key, the Debian conffile, the example of
// docs/configuration.md and the reference's example of each sink type.
func shippedConfigs(tb testing.TB) map[string][]byte {
	tb.Helper()
	out := map[string][]byte{}
	for _, p := range []string{"../packaging/cflogd.toml", "../packaging/deb/cflogd.toml"} {
		b := readFile(tb, p)
		out[p] = b
	}
	doc := readFile(tb, "../docs/configuration.md")
	for i, m := range regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(doc, -1) {
		out["docs/configuration.md#"+string(rune('a'+i))] = m[1]
	}
	for typ, text := range sinkExamples {
		out["reference "+typ] = []byte(text)
	}
	return out
}

// FuzzParse feeds arbitrary files to the configuration loader: it must not
// panic, every problem must be a positioned *Error of an ErrorList naming
// the file, and a configuration it accepts must pass Validate.
func FuzzParse(f *testing.F) {
	for _, b := range shippedConfigs(f) {
		f.Add(b)
	}
	f.Add([]byte("[[sink]]\ntype = \"loki\"\nurl = \"http://l/\"\nbearer_token = tok3n\n"))
	f.Add([]byte("[[sink]]\ntype = \"slack\"\nurl_file = \"/dev/zero\"\n"))
	f.Add([]byte("sink = 1\n[journal]\ninitial_position = \"-1h\"\n[[sink]]\n"))
	f.Add([]byte("listen = \"\"\"\n127.0.0.1:1\n\"\"\"\n[[sink]]\ntype = 'webhook'\nurl = 'http://h/'\nheaders = { 'a.b' = 'c' }\n"))
	dir := f.TempDir()
	name := filepath.Join(dir, "cflogd.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(name, data)
		if err == nil {
			if c == nil {
				t.Fatal("nil Config without an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted what Validate rejects: %v", err)
			}
			return
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("error %v is not a non-empty ErrorList", err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, e := range list {
			if e.File != name || e.Line < 0 || e.Line > lines || e.Msg == "" {
				t.Errorf("problem %q: file %q, line %d of %d, message %q", e.Error(), e.File, e.Line, lines, e.Msg)
			}
		}
	})
}

// TestSecretFileLimits: a *_file must be a regular file of at most 64 KiB,
// so that a device or a FIFO can neither flood nor block the start.
func TestSecretFileLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxSecretFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{"/dev/zero", "is not a regular file"},
		{dir, "is not a regular file"},
		{big, "is larger than 64 KiB"},
	} {
		_, err := Parse(filepath.Join(dir, "cflogd.toml"), []byte("[[sink]]\ntype = \"slack\"\nurl_file = \""+tt.path+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), ":3: sink[0].url_file: read secret: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("url_file = %s: error %v, want %q at line 3", tt.path, err, tt.want)
		}
	}
}
