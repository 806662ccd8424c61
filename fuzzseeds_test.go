package cflogd_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
	"github.com/centra-cloud/cflogd/tail"
)

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite the shipped-* seed corpus files of the fuzz targets")

// seedSampleEntries is how many entries of examples/sample.export seed the
// journal input fuzz targets.
const seedSampleEntries = 40

// TestFuzzSeeds keeps the seed corpora of the fuzz targets that read lines
// and journal input in step with the shipped examples: the example lines
// and near misses of patterns.d (FuzzNormalize, FuzzFastMatch with the
// signature's regex, and the durations in them for FuzzDuration) and the
// head of examples/sample.export (FuzzExport, and as journalctl -o json for
// FuzzJSON). The corpus files are named shipped-*; -update-fuzz-seeds
// rewrites them. (FuzzParse of patterns reads patterns.d itself, and the
// configuration's FuzzParse the shipped configurations.)
func TestFuzzSeeds(t *testing.T) {
	want := fuzzSeeds(t)
	dirs := map[string]bool{}
	for p := range want {
		dirs[filepath.Dir(p)] = true
	}
	got := map[string]string{}
	for dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "shipped-*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got[f] = string(b)
		}
	}
	if *updateFuzzSeeds {
		for f := range got {
			if _, ok := want[f]; !ok {
				os.Remove(f)
			}
		}
		for f, content := range want {
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fuzz seed corpora are stale; run go test -run TestFuzzSeeds -update-fuzz-seeds . (-want +got):\n%s", diff)
	}
}

// durationText finds durations as the services write them.
var durationText = regexp.MustCompile(`\b[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|μs|ms|s|m|h)\b`)

// fuzzSeeds returns the seed corpus files: path → content.
func fuzzSeeds(t *testing.T) map[string]string {
	t.Helper()
	lib, err := patterns.LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	add := func(pkg, target, name string, values ...string) {
		files[filepath.Join(pkg, "testdata", "fuzz", target, "shipped-"+name)] = "go test fuzz v1\n" + strings.Join(values, "\n") + "\n"
	}
	q := func(s string) string { return fmt.Sprintf("string(%q)", s) }
	var durations []string
	for _, s := range lib.Signatures {
		// One example and one near miss per signature keeps the corpus small.
		if len(s.Examples) > 0 {
			line := s.Examples[0].Line
			add("classify", "FuzzNormalize", s.ID+"-example", q(line), "int(6)", q(""))
			if s.Match != nil {
				add("classify", "FuzzFastMatch", s.ID, q(line), q(s.Match.String()))
			}
		}
		if len(s.NearMisses) > 0 {
			add("classify", "FuzzNormalize", s.ID+"-near-miss", q(s.NearMisses[0].Line), "int(6)", q(""))
		}
		for _, ex := range s.Examples {
			durations = append(durations, durationText.FindAllString(ex.Line, -1)...)
		}
	}
	slices.Sort(durations)
	for i, d := range slices.Compact(durations) {
		add("classify", "FuzzDuration", fmt.Sprintf("%02d", i), q(d))
	}

	sample, err := os.ReadFile("examples/sample.export")
	if err != nil {
		t.Fatal(err)
	}
	head, entries := exportHead(t, sample, seedSampleEntries)
	add("tail", "FuzzExport", "sample-head", fmt.Sprintf("[]byte(%q)", head))
	var js bytes.Buffer
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		js.Write(append(b, '\n'))
	}
	add("tail", "FuzzJSON", "sample-head", fmt.Sprintf("[]byte(%q)", js.Bytes()))
	// Both seeds read as the same entries, so they exercise the readers
	// past their format detection.
	read := func(in []byte) []record.Entry {
		var out []record.Entry
		err := tail.ReadInput(context.Background(), bytes.NewReader(in), tail.InputOptions{}, func(b []record.Entry) error {
			out = append(out, b...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fromExport, fromJSON := read(head), read(js.Bytes())
	if len(fromExport) != seedSampleEntries {
		t.Errorf("the export seed reads as %d entries, want %d", len(fromExport), seedSampleEntries)
	}
	if diff := cmp.Diff(fromExport, fromJSON); diff != "" {
		t.Errorf("the JSON seed reads differently from the export seed (-export +json):\n%s", diff)
	}
	return files
}

// exportHead returns the first n entries of journal export text, and each
// as journalctl -o json writes it: a string per field, or an array of
// bytes for a value that is not printable UTF-8.
func exportHead(t *testing.T, b []byte, n int) ([]byte, []map[string]any) {
	t.Helper()
	var entries []map[string]any
	cur := map[string]any{}
	pos := 0
	for pos < len(b) && len(entries) < n {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			t.Fatal("sample.export: unterminated line")
		}
		line := b[pos : pos+nl]
		pos += nl + 1
		if len(line) == 0 {
			entries = append(entries, cur)
			cur = map[string]any{}
			continue
		}
		if k, v, ok := bytes.Cut(line, []byte("=")); ok {
			cur[string(k)] = jsonValue(v)
			continue
		}
		size := int(binary.LittleEndian.Uint64(b[pos:]))
		cur[string(line)] = jsonValue(b[pos+8 : pos+8+size])
		pos += 8 + size + 1
	}
	if len(entries) < n {
		t.Fatalf("sample.export has %d entries, want at least %d", len(entries), n)
	}
	return b[:pos], entries
}

func jsonValue(v []byte) any {
	if utf8.Valid(v) && !bytes.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return string(v)
	}
	nums := make([]int, len(v))
	for i, c := range v {
		nums[i] = int(c)
	}
	return nums
}
