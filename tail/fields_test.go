package tail

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/internal/testjournal"
	"github.com/centra-cloud/cflogd/record"
)

var services = []string{"chainfire.service", "flaredb.service", "placement-driver.service"}

// readers names the journal readers readAll runs.
var readers = []string{"scan", "scan-sdjournal", "native", "sdjournal", "export", "json"}

// readAll reads the export data, written into a journal file, with every
// reader: scan's (ReadJournal natively, which must not hand over, and
// through sd-journal), Follow's native and sd-journal readers, and
// ReadInput over the export data itself and over journalctl -o json of
// the file.
func readAll(t *testing.T, export []byte, units []string, fs FieldSelect) map[string][]record.Entry {
	t.Helper()
	skipWithoutJournal(t)
	file := testjournal.Write(t, t.TempDir(), "x.journal", export)
	out := make(map[string][]record.Entry)
	for _, r := range []struct {
		name, reader string
	}{
		{"scan", ReaderNative},
		{"scan-sdjournal", ReaderSDJournal},
	} {
		o := Options{Files: []string{file}, Units: units, Fields: fs, Reader: r.reader}
		if r.reader == ReaderNative {
			o.OnFallback = func(err error) { t.Errorf("native scan handed over to sd-journal: %v", err) }
		}
		got, err := collectJournal(o)
		if err != nil {
			t.Fatalf("ReadJournal: %v", err)
		}
		out[r.name] = got
	}
	for _, r := range []string{ReaderNative, ReaderSDJournal} {
		out[r] = followAllEntries(t, FollowOptions{Files: []string{file}, Units: units, Fields: fs, Reader: r, Start: StartHead})
	}
	var skipped []error
	out["export"], skipped = readInputAll(t, export, InputOptions{Units: units, Fields: fs})
	if len(skipped) > 0 {
		t.Errorf("export input: skipped %v", skipped)
	}
	out["json"], skipped = readInputAll(t, journalctl(t, "--file", file, "-o", "json", "--all"), InputOptions{Units: units, Fields: fs})
	if len(skipped) > 0 {
		t.Errorf("json input: skipped %v", skipped)
	}
	return out
}

// followAllEntries follows until the reader reached the end of the journal.
func followAllEntries(t *testing.T, opts FollowOptions) []record.Entry {
	t.Helper()
	errEnd := errors.New("end")
	opts.OnFallback = func(err error) { t.Errorf("reader %s: fallback: %v", opts.Reader, err) }
	var got []record.Entry
	err := Follow(context.Background(), opts, func(b FollowBatch) error {
		got = append(got, b.Entries...)
		if b.AtEnd {
			return errEnd
		}
		return nil
	})
	if !errors.Is(err, errEnd) {
		t.Fatalf("Follow(%s): %v", opts.Reader, err)
	}
	return got
}

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sortedFields returns fs sorted by name, then value: the readers keep the
// order they read, which for a journal file is its DATA objects' order.
func sortedFields(fs []record.Field) []record.Field {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b record.Field) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
	})
	return fs
}

// prefixedFields parses journalctl -o json output and returns, by
// realtime, the fields with the prefix as Entry.Fields holds them.
func prefixedFields(t *testing.T, js []byte, prefix string) map[int64][]record.Field {
	t.Helper()
	out := make(map[int64][]record.Field)
	sc := bufio.NewScanner(bytes.NewReader(js))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		var rt string
		json.Unmarshal(m["__REALTIME_TIMESTAMP"], &rt)
		us, _ := strconv.ParseInt(rt, 10, 64)
		var fs []record.Field
		for k, raw := range m {
			name, ok := strings.CutPrefix(k, prefix)
			if !ok || name == "" {
				continue
			}
			var vals []json.RawMessage
			if raw[0] == '[' && !bytes.HasPrefix(bytes.TrimLeft(raw[1:], " "), []byte("[")) && json.Unmarshal(raw, &vals) == nil && len(vals) > 0 && vals[0][0] == '"' {
				// a repeated field
			} else {
				vals = []json.RawMessage{raw}
			}
			for _, v := range vals {
				b, ok, err := jsonValue(v, false)
				if err != nil || !ok {
					t.Fatalf("field %s: %s: %v", k, v, err)
				}
				fs = append(fs, record.Field{Name: strings.ToLower(name), Value: string(b)})
			}
		}
		out[us] = sortedFields(fs)
	}
	return out
}

// TestTracingFields: the tracing-journald entries of testdata/tracing carry
// their F_ fields in Entry.Fields in every reader, as journalctl shows
// them; the other shapes carry none.
func TestTracingFields(t *testing.T) {
	export := readTestdata(t, "tracing", "tracing.export")
	type row struct {
		Shape, Case string
		Fields      map[string]any
	}
	var rows []row
	for _, l := range bytes.Split(bytes.TrimSpace(readTestdata(t, "tracing", "expected.jsonl")), []byte("\n")) {
		var r row
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	all := readAll(t, export, services, FieldSelect{})
	file := testjournal.Write(t, t.TempDir(), "ref.journal", export)
	want := prefixedFields(t, journalctl(t, "--file", file, "-o", "json", "--all"), "F_")
	for _, r := range readers {
		t.Run(r, func(t *testing.T) {
			got := all[r]
			if len(got) != len(rows) {
				t.Fatalf("%d entries, want %d", len(got), len(rows))
			}
			withFields := 0
			for i, e := range got {
				journald := strings.HasPrefix(rows[i].Shape, "journald")
				if !journald {
					if e.Fields != nil {
						t.Errorf("%s/%s: Fields %v, want none", rows[i].Shape, rows[i].Case, e.Fields)
					}
					continue
				}
				if len(e.Fields) > 0 {
					withFields++
				}
				if diff := gocmp.Diff(want[e.Time.UnixMicro()], sortedFields(e.Fields)); diff != "" {
					t.Errorf("%s/%s: Fields (-journalctl +got):\n%s", rows[i].Shape, rows[i].Case, diff)
				}
				if e.Journal != nil {
					t.Errorf("%s/%s: Journal %v, want none", rows[i].Shape, rows[i].Case, e.Journal)
				}
				if _, ok := rows[i].Fields["duration_ms"]; ok && strings.Contains(e.Message, "stall") {
					if v, _ := record.Lookup(e.Fields, "duration"); v == "" {
						t.Errorf("%s: no duration field in %v", rows[i].Case, e.Fields)
					}
				}
			}
			if withFields < 100 {
				t.Errorf("%d journald entries with fields, want most of 118", withFields)
			}
		})
	}
	for _, r := range readers {
		if diff := gocmp.Diff(all["scan"], all[r], ignoreCursor, ignoreFieldOrder); diff != "" {
			t.Errorf("scan (-) and %s (+) differ:\n%s", r, diff)
		}
	}
}

var ignoreFieldOrder = gocmp.Transformer("sortFields", func(fs []record.Field) []record.Field {
	if fs == nil {
		return nil
	}
	return sortedFields(fs)
})

// TestTracingBadInput: bad.export crashes no reader and loses no entry.
func TestTracingBadInput(t *testing.T) {
	all := readAll(t, readTestdata(t, "tracing", "bad.export"), services, FieldSelect{})
	n := bytes.Count(bytes.TrimSpace(readTestdata(t, "tracing", "bad-expected.jsonl")), []byte("\n")) + 1
	for _, r := range readers {
		if len(all[r]) != n {
			t.Errorf("%s: %d entries, want %d", r, len(all[r]), n)
		}
		if diff := gocmp.Diff(all["scan"], all[r], ignoreCursor, ignoreFieldOrder); diff != "" {
			t.Errorf("scan (-) and %s (+) differ:\n%s", r, diff)
		}
	}
}

// TestFieldSelect: a custom prefix, no prefix, named journal fields, and
// large, binary and invalid UTF-8 values, in every reader.
func TestFieldSelect(t *testing.T) {
	big := strings.Repeat("x", record.MaxFieldValue+100)
	var export []byte
	export = append(export, exportEntry(0, bootA, append(fieldsOf("chainfire.service", "chainfire", 1234),
		[2]string{"MESSAGE", "one"}, [2]string{"PRIORITY", "4"}, [2]string{"TARGET", "chainfire_storage"},
		[2]string{"CODE_FILE", "src/x.rs"}, [2]string{"CODE_LINE", "10"}, [2]string{"SPAN_NAME", "raft"},
		[2]string{"F_DURATION", "2s"}, [2]string{"X_PEER", "store2"}, [2]string{"S0_NAME", "raft"},
		[2]string{"TERM", "3"}, [2]string{"F_", "empty name"}, [2]string{"MY_FIELD", "v"})...)...)
	export = append(export, exportEntry(1, bootA, append(fieldsOf("chainfire.service", "chainfire", 1234),
		[2]string{"MESSAGE", "two"}, [2]string{"F_BIG", big}, [2]string{"X_BIN", "a\x00b\xffc\n"})...)...)
	export = append(export, exportEntry(2, bootA, append(fieldsOf("chainfire.service", "chainfire", 1234),
		[2]string{"MESSAGE", "three"})...)...)
	cut := big[:record.MaxFieldValue]
	f := func(kv ...string) []record.Field {
		var out []record.Field
		for i := 0; i < len(kv); i += 2 {
			out = append(out, record.Field{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		fs      FieldSelect
		fields  [3][]record.Field
		journal [3][]record.Field
	}{
		{"default F_", FieldSelect{}, [3][]record.Field{f("duration", "2s"), f("big", cut)}, [3][]record.Field{}},
		{"X_", FieldSelect{Prefix: "X_"}, [3][]record.Field{f("peer", "store2"), f("bin", "a\x00b\xffc\n")}, [3][]record.Field{}},
		{"none", FieldSelect{NoPrefix: true}, [3][]record.Field{
			f("f_", "empty name", "f_duration", "2s", "my_field", "v", "term", "3", "x_peer", "store2"),
			f("f_big", cut, "x_bin", "a\x00b\xffc\n")}, [3][]record.Field{}},
		{"journal fields", FieldSelect{Journal: []string{"CODE_LINE", "_PID", "TERM", "F_BIG", "NOPE"}},
			[3][]record.Field{f("duration", "2s"), f("big", cut)},
			[3][]record.Field{f("CODE_LINE", "10", "_PID", "1234", "TERM", "3"), f("_PID", "1234", "F_BIG", cut), f("_PID", "1234")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := readAll(t, export, services, tc.fs)
			for _, r := range readers {
				got := all[r]
				if len(got) != 3 {
					t.Fatalf("%s: %d entries, want 3", r, len(got))
				}
				for i, e := range got {
					if diff := gocmp.Diff(sortedFields(tc.fields[i]), sortedFields(e.Fields)); diff != "" {
						t.Errorf("%s: entry %d: Fields (-want +got):\n%s", r, i, diff)
					}
					if diff := gocmp.Diff(tc.journal[i], e.Journal); diff != "" {
						t.Errorf("%s: entry %d: Journal (-want +got):\n%s", r, i, diff)
					}
				}
			}
		})
	}
	if _, err := newFieldSel(FieldSelect{Prefix: "f-"}, nil, nil); err == nil {
		t.Error("prefix f-: no error")
	}
	if _, err := collectJournal(Options{Directory: t.TempDir(), Fields: FieldSelect{Journal: []string{"a b"}}}); err == nil {
		t.Error("journal field \"a b\": no error")
	}
}

// lifecycleRow is a row of testdata/lifecycle/expected.jsonl.
type lifecycleRow struct {
	N           int      `json:"n"`
	Host        string   `json:"host"`
	Realtime    int64    `json:"realtime_usec"`
	Unit        string   `json:"unit"`
	Signature   string   `json:"signature"`
	JournalctlU []string `json:"journalctl_u"`
	Message     string   `json:"message"`
}

type hostTime struct {
	host string
	us   int64
}

// TestLifecycleEntries: for each service, every reader reads exactly what
// journalctl -u shows, plus the core dumps of systemd 252.4 and later and
// the kernel OOM killer's lines about it, with the service's unit; nothing
// of other units.
func TestLifecycleEntries(t *testing.T) {
	export := readTestdata(t, "lifecycle", "lifecycle.export")
	var rows []lifecycleRow
	byKey := make(map[hostTime]lifecycleRow)
	for _, l := range bytes.Split(bytes.TrimSpace(readTestdata(t, "lifecycle", "expected.jsonl")), []byte("\n")) {
		var r lifecycleRow
		if err := json.Unmarshal(l, &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
		byKey[hostTime{r.Host, r.Realtime}] = r
	}
	file := testjournal.Write(t, t.TempDir(), "l.journal", export)
	want := make(map[string]map[hostTime]bool)
	for _, u := range services {
		want[u] = make(map[hostTime]bool)
		// What journalctl -u shows, checked against the fixture's column.
		js := journalctl(t, "--file", file, "-u", u, "-o", "json", "--all")
		for _, l := range bytes.Split(bytes.TrimSpace(js), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			var m struct {
				Host string `json:"_HOSTNAME"`
				RT   string `json:"__REALTIME_TIMESTAMP"`
			}
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatal(err)
			}
			us, _ := strconv.ParseInt(m.RT, 10, 64)
			k := hostTime{m.Host, us}
			if !slices.Contains(byKey[k].JournalctlU, u) {
				t.Errorf("journalctl -u %s shows entry %d, the fixture says it does not", u, byKey[k].N)
			}
			want[u][k] = true
		}
		for _, r := range rows {
			if r.Unit == u && (r.Signature == "unit.core_dumped" || r.Signature == "unit.oom_killed") {
				want[u][hostTime{r.Host, r.Realtime}] = true
			}
		}
	}
	all := readAll(t, export, services, FieldSelect{})
	for _, r := range readers {
		t.Run(r, func(t *testing.T) {
			got := make(map[string]map[hostTime]bool)
			for _, u := range services {
				got[u] = make(map[hostTime]bool)
			}
			for _, e := range all[r] {
				k := hostTime{e.Host, e.Time.UnixMicro()}
				row := byKey[k]
				if got[e.Unit] == nil {
					t.Errorf("entry %d (%q) read with unit %q", row.N, row.Message, e.Unit)
					continue
				}
				got[e.Unit][k] = true
				if !strings.HasPrefix(row.Signature, "unit.") {
					continue
				}
				// An entry about the service carries the fields that
				// classify it.
				if _, ok := record.Lookup(e.Journal, "_TRANSPORT"); !ok || e.Fields != nil {
					t.Errorf("entry %d (%q): Journal %v, Fields %v", row.N, row.Message, e.Journal, e.Fields)
				}
				if strings.Contains(row.Message, "Main process exited") {
					for _, name := range []string{"MESSAGE_ID", "EXIT_CODE", "EXIT_STATUS", "UNIT"} {
						if _, ok := record.Lookup(e.Journal, name); !ok {
							t.Errorf("entry %d (%q): no %s in %v", row.N, row.Message, name, e.Journal)
						}
					}
				}
				if row.Signature == "unit.core_dumped" {
					if v, _ := record.Lookup(e.Journal, "COREDUMP_SIGNAL_NAME"); v == "" {
						t.Errorf("entry %d: no COREDUMP_SIGNAL_NAME in %v", row.N, e.Journal)
					}
				}
			}
			for _, u := range services {
				for k := range want[u] {
					if !got[u][k] {
						t.Errorf("%s: entry %d (%q) not read", u, byKey[k].N, byKey[k].Message)
					}
				}
				for k := range got[u] {
					if !want[u][k] {
						t.Errorf("%s: entry %d (%q) read, not shown by journalctl -u nor a core dump or OOM line", u, byKey[k].N, byKey[k].Message)
					}
				}
			}
		})
	}
	for _, r := range readers {
		if diff := gocmp.Diff(all["scan"], all[r], ignoreCursor, ignoreFieldOrder); diff != "" {
			t.Errorf("scan (-) and %s (+) differ:\n%s", r, diff)
		}
	}
}

func TestOOMUnit(t *testing.T) {
	for _, tc := range []struct{ m, want string }{
		{"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/system.slice/chainfire.service,task_memcg=/system.slice/chainfire.service,task=chainfire,pid=1234,uid=0", "chainfire.service"},
		{"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/system.slice/flaredb.service/sub,task=flaredb,pid=1,uid=0", "flaredb.service"},
		{"oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/system.slice/postgresql@15-main.service,task=chainfire,pid=1,uid=0", ""},
		{"Out of memory: Killed process 5348 (placement-drive) total-vm:1kB, anon-rss:1kB", "placement-driver.service"},
		{"Memory cgroup out of memory: Killed process 4137 (chainfire) total-vm:8123456kB", "chainfire.service"},
		{"Out of memory (oom_kill_allocating_task): Killed process 1 (flaredb) total-vm:1kB", "flaredb.service"},
		{"Out of memory: Killed process 7301 (postgres) total-vm:1kB", ""},
		{"Out of memory: Killed process 7301 (chainfire2) total-vm:1kB", ""},
		{"chainfire invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0", ""},
		{"Out of memory: Killed process (chainfire)", ""},
		{"oom-kill:", ""},
	} {
		if got := oomUnit(tc.m, services, identUnits(services, nil)); got != tc.want {
			t.Errorf("oomUnit(%q) = %q, want %q", tc.m, got, tc.want)
		}
	}
}

func TestAboutUnitForged(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    lcFields
		want string
	}{
		{"pid 1", lcFields{pid: "1", unit: "chainfire.service"}, "chainfire.service"},
		{"forged UNIT", lcFields{pid: "4242", uid: "0", unit: "chainfire.service", sysUnit: "evil.service"}, ""},
		{"coredump as root", lcFields{messageID: coredumpMessageID, uid: "0", coredumpUnit: "flaredb.service"}, "flaredb.service"},
		{"coredump 252.4", lcFields{messageID: coredumpMessageID, uid: "999", coredumpUnit: "flaredb.service", sysUnit: "systemd-coredump@0-42-0.service"}, "flaredb.service"},
		{"coredump helper", lcFields{messageID: coredumpMessageID, uid: "997", comm: "systemd-coredum", coredumpUnit: "flaredb.service"}, "flaredb.service"},
		{"coredump forged", lcFields{messageID: coredumpMessageID, uid: "1000", comm: "systemd-coredum", coredumpUnit: "flaredb.service", sysUnit: "session-4.scope"}, ""},
		{"object as root", lcFields{uid: "0", objectUnit: "chainfire.service"}, "chainfire.service"},
		{"object forged", lcFields{uid: "1000", objectUnit: "chainfire.service"}, ""},
	} {
		if got := aboutUnit(&tc.f, "", services, identUnits(services, nil)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
