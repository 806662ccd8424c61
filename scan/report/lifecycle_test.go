package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/centra-cloud/cflogd/patterns"
	"github.com/centra-cloud/cflogd/record"
)

// lifeEv is a lifecycle event of unit on host.
func lifeEv(at time.Duration, host, unit, sig string, sev record.Severity, msg string, fields map[string]any) record.Event {
	e := ev(at, sig, sev, unit, msg, fields)
	e.Host = host
	if sig == ruleCrashLoop {
		e.Derived, e.Count, e.Window = true, 3, "10m"
		e.Summary = "Crash loop: the main process exited 3 times within 10m"
	}
	return e
}

// oomKill is one OOM kill as the journal has it: the kernel's two lines,
// systemd's "killed by the OOM killer", the exit, "Failed with result
// 'oom-kill'" and the restart, within 100ms.
func oomKill(at time.Duration, host, unit string, restart int64) []record.Event {
	ms := time.Millisecond
	return []record.Event{
		lifeEv(at, host, unit, sigOOMKilled, record.Critical, "oom-kill:constraint=CONSTRAINT_MEMCG,task=chainfire,pid=4137,uid=0", map[string]any{"pid": int64(4137)}),
		lifeEv(at, host, unit, sigOOMKilled, record.Critical, "Memory cgroup out of memory: Killed process 4137 (chainfire)", map[string]any{"pid": int64(4137)}),
		lifeEv(at+2*ms, host, unit, sigOOMKilled, record.Critical, unit+": A process of this unit has been killed by the OOM killer.", map[string]any{}),
		lifeEv(at+2*ms, host, unit, sigProcessExited, record.Error, unit+": Main process exited, code=killed, status=9/KILL", map[string]any{"exit_code": "killed", "exit_status": int64(9)}),
		lifeEv(at+3*ms, host, unit, sigOOMKilled, record.Critical, unit+": Failed with result 'oom-kill'.", map[string]any{}),
		lifeEv(at+100*ms, host, unit, sigRestart, record.Warning, unit+": Scheduled restart job", map[string]any{"restarts": restart}),
	}
}

// coreDump is a crash with a core dump and its restart.
func coreDump(at time.Duration, host, unit string, restart int64) []record.Event {
	return []record.Event{
		lifeEv(at, host, unit, sigProcessExited, record.Error, unit+": Main process exited, code=dumped, status=11/SEGV", map[string]any{"exit_code": "dumped", "exit_status": int64(11)}),
		lifeEv(at+100*time.Millisecond, host, unit, sigRestart, record.Warning, unit+": Scheduled restart job", map[string]any{"restarts": restart}),
		lifeEv(at+400*time.Millisecond, host, unit, sigCoreDumped, record.Critical, "Process 4174 (chainfire) of user 0 dumped core.", map[string]any{"signal": "SIGSEGV"}),
	}
}

// crash is an exit with status 1 and its restart.
func crash(at time.Duration, host, unit string, restart int64) []record.Event {
	return []record.Event{
		lifeEv(at, host, unit, sigProcessExited, record.Error, unit+": Main process exited, code=exited, status=1/FAILURE", map[string]any{"exit_code": "exited", "exit_status": int64(1)}),
		lifeEv(at+100*time.Millisecond, host, unit, sigRestart, record.Warning, unit+": Scheduled restart job", map[string]any{"restarts": restart}),
	}
}

// lifecycleFixture: on host a, chainfire is OOM-killed twice (the second
// time only systemd's message was read) and dumps core once; flaredb on
// host b crash-loops; placement-driver on b restarts once with its counter
// at 7 and then fails to start twice; a RocksDB stall on a.
func lifecycleFixture(a, b string) []record.Event {
	const cf, fd, pd = "chainfire.service", "flaredb.service", "placement-driver.service"
	var evs []record.Event
	evs = append(evs, oomKill(2*time.Minute, a, cf, 1)...)
	evs = append(evs, coreDump(15*time.Minute, a, cf, 2)...)
	evs = append(evs,
		lifeEv(30*time.Minute, a, cf, sigOOMKilled, record.Critical, cf+": A process of this unit has been killed by the OOM killer.", map[string]any{}),
		lifeEv(30*time.Minute, a, cf, sigProcessExited, record.Error, cf+": Main process exited, code=killed, status=9/KILL", map[string]any{"exit_code": "killed", "exit_status": int64(9)}),
		lifeEv(30*time.Minute+100*time.Millisecond, a, cf, sigRestart, record.Warning, cf+": Scheduled restart job", map[string]any{"restarts": int64(3)}),
		ev(31*time.Minute, "chainfire.rocksdb_stall", record.Error, cf, "WARN chainfire_storage: RocksDB stall detected, duration=2000ms", map[string]any{"duration_ms": int64(2000)}),
	)
	evs[len(evs)-1].Host = a
	for i := range 3 {
		evs = append(evs, crash(time.Duration(40+2*i)*time.Minute, b, fd, int64(i+1))...)
	}
	evs = append(evs, lifeEv(44*time.Minute, b, fd, ruleCrashLoop, record.Critical, "", nil))
	evs = append(evs, crash(50*time.Minute, b, pd, 7)...)
	evs = append(evs,
		lifeEv(52*time.Minute, b, pd, sigStartFailed, record.Critical, pd+": Start request repeated too quickly.", map[string]any{}),
		lifeEv(52*time.Minute, b, pd, sigStartFailed, record.Critical, "Failed to start placement-driver.service - FlareDB Placement Driver.", map[string]any{}),
	)
	return evs
}

// TestRenderLifecycle: a line per service (and host in a fleet) with its
// crashes, OOM kills (one per kill, however many lines tell of it), core
// dumps, restarts and crash loops, above the derived events and the
// signatures.
func TestRenderLifecycle(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b string
		want []string
	}{
		{"lifecycle", "node01", "node01", []string{
			"lifecycle  chainfire.service: 3 crashes (2 OOM kills, 1 core dump), 3 restarts\n",
			"lifecycle  flaredb.service: 3 crashes, 3 restarts; crash loop at 10:44:00\n",
			"lifecycle  placement-driver.service: 1 crash, 1 restart (restart counter at 7), 2 failed starts\n",
		}},
		{"lifecycle-fleet", "node01", "node02", []string{
			"lifecycle  chainfire.service on node01: 3 crashes (2 OOM kills, 1 core dump), 3 restarts\n",
			"lifecycle  flaredb.service on node02: 3 crashes, 3 restarts; crash loop at 10:44:00\n",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{Since: t0, Until: t0.Add(time.Hour), MinSeverity: record.Warning, Home: home})
			evs := lifecycleFixture(tt.a, tt.b)
			for i := range evs {
				r.EntryOn(evs[i].Time.Time, evs[i].Host)
				r.Add(&evs[i])
			}
			var buf bytes.Buffer
			if err := r.Render(&buf, Header{Units: patterns.BuiltinServices().Units(), Source: "local journal"}, Style{Width: 120, Location: time.UTC}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			golden(t, filepath.Join("testdata", tt.name+".golden"), out)
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
			life, derived, sigs := strings.Index(out, "lifecycle  "), strings.Index(out, "derived events"), strings.Index(out, "COUNT  SEVERITY")
			if life < 0 || derived < life || sigs < derived {
				t.Errorf("want the lifecycle lines, then the derived events, then the signatures:\n%s", out)
			}
		})
	}
}

// TestLifecycleCounts: what the lines count, whatever the severity asked
// for; OOM kills apart by oomGap or more are two, lines of one kill one.
func TestLifecycleCounts(t *testing.T) {
	const cf = "chainfire.service"
	oom := func(at time.Duration) record.Event {
		return lifeEv(at, "node01", cf, sigOOMKilled, record.Critical, "", nil)
	}
	for _, tt := range []struct {
		name string
		evs  []record.Event
		want string
	}{
		{"one kill, four lines", oomKill(0, "node01", cf, 1), "1 crash (1 OOM kill), 1 restart"},
		{"kills oomGap apart", []record.Event{oom(0), oom(oomGap), oom(oomGap + time.Second)}, "2 OOM kills"},
		{"out of order", []record.Event{oom(time.Minute), oom(0), oom(time.Minute + time.Second)}, "2 OOM kills"},
		{"no time", []record.Event{oom(-t0.Sub(time.Time{})), oom(-t0.Sub(time.Time{}))}, "1 OOM kill"},
		{"watchdog", []record.Event{
			lifeEv(0, "node01", cf, sigWatchdogTimeout, record.Error, "", nil),
			lifeEv(time.Minute, "node01", cf, sigProcessExited, record.Error, "", nil),
		}, "1 crash (1 watchdog timeout)"},
		{"crash loops", []record.Event{
			lifeEv(time.Minute, "node01", cf, ruleCrashLoop, record.Critical, "", nil),
			lifeEv(2*time.Minute, "node01", cf, ruleCrashLoop, record.Critical, "", nil),
			lifeEv(3*time.Minute, "node01", cf, ruleCrashLoop, record.Critical, "", nil),
			lifeEv(4*time.Minute, "node01", cf, ruleCrashLoop, record.Critical, "", nil),
		}, "crash loops at 10:01:00, 10:02:00, 10:03:00, +1 more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{MinSeverity: record.Critical, Home: home})
			for i := range tt.evs {
				r.Add(&tt.evs[i])
			}
			var buf bytes.Buffer
			r.life.render(&buf, false, "15:04:05", time.UTC)
			if diff := cmp.Diff("\nlifecycle  chainfire.service: "+tt.want+"\n", buf.String()); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

// TestLifecycleNone: no lifecycle line without lifecycle events.
func TestLifecycleNone(t *testing.T) {
	r := New(Options{MinSeverity: record.Warning, Home: home})
	evs := fixture()
	for i := range evs {
		r.Add(&evs[i])
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, Header{}, Style{Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "lifecycle") {
		t.Errorf("a lifecycle line without lifecycle events:\n%s", buf.String())
	}
}
