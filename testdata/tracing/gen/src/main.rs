//! Emits every case of the table below through the real tracing crates, in
//! one shape per run:
//!   tracing-fixture-gen <shape> <service>
//! shapes: full ansi span structured json-text json json-flat journald
//!         journald-nospan
//!         panic-main panic-thread panic-unnamed
//! Each emitted case id is appended to $FIXTURE_MANIFEST ("shape\tcase").
use std::io::Write;
use std::time::Duration;
use tracing::Level;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::prelude::*;

struct Case {
    id: &'static str,
    svc: &'static str,
    /// the runbook text form, fields inline in the message
    text: fn(),
    /// the same event written with structured fields, as a service would
    structured: fn(),
}

macro_rules! case {
    ($id:literal, $svc:literal, $lvl:ident, $target:literal, $text:literal, { $($st:tt)* }) => {
        Case {
            id: $id,
            svc: $svc,
            text: || tracing::event!(target: $target, Level::$lvl, $text),
            structured: || tracing::event!(target: $target, Level::$lvl, $($st)*),
        }
    };
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
    // ---- chainfire
    case!("cf_leader_elected", "chainfire", INFO, "chainfire_raft", "Leader elected, term=3", { term = 3u64, "Leader elected" }),
    case!("cf_election_timeout", "chainfire", WARN, "chainfire_raft", "Election timeout, no heartbeat from leader", { elapsed = ?ms(1500), "Election timeout, no heartbeat from leader" }),
    case!("cf_election_timeout_case", "chainfire", WARN, "chainfire_raft", "election Timeout, no heartbeat from leader", { term = 5u64, "election Timeout, no heartbeat from leader" }),
    case!("cf_no_leader", "chainfire", ERROR, "chainfire_api", "Write failed: no leader elected", { error = %"no leader elected", "Write failed" }),
    case!("cf_peer_unreachable", "chainfire", ERROR, "chainfire_network", "Failed to connect to peer, addr=node2:2380", { addr = %"node2:2380", "Failed to connect to peer" }),
    case!("cf_peer_unreachable_debug", "chainfire", ERROR, "chainfire_network", "Failed to connect to peer, addr=10.0.0.12:2380, error=Connection refused (os error 111)", { addr = ?"10.0.0.12:2380", error = %"Connection refused (os error 111)", "Failed to connect to peer" }),
    case!("cf_connection_error", "chainfire", ERROR, "chainfire_raft", "Failed to send append entries to node3: Connection refused (os error 111)", { to = %"node3", error = %"Connection refused (os error 111)", "Failed to send append entries" }),
    case!("cf_stall_2000ms", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected, duration=2000ms", { duration = ?ms(2000), "RocksDB stall detected" }),
    case!("cf_stall_999ms", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected, duration=999ms", { duration = ?ms(999), "RocksDB stall detected" }),
    case!("cf_stall_1000ms", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected, duration=1000ms", { duration = ?ms(1000), "RocksDB stall detected" }),
    case!("cf_stall_1_5s", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected, duration=1.5s", { duration = ?ms(1500), "RocksDB stall detected" }),
    case!("cf_stall_250us", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected, duration=250µs", { duration = ?Duration::from_micros(250), "RocksDB stall detected" }),
    case!("cf_stall_no_duration", "chainfire", WARN, "chainfire_storage", "RocksDB stall detected", { cf = %"raft", "RocksDB stall detected" }),
    case!("cf_put_99ms", "chainfire", INFO, "chainfire_api", "Handled put request, latency=99ms", { latency = ?ms(99), "Handled put request" }),
    case!("cf_put_100ms", "chainfire", INFO, "chainfire_api", "Handled put request, latency=100ms", { latency = ?ms(100), "Handled put request" }),
    case!("cf_get_499ms", "chainfire", INFO, "chainfire_api", "Handled get request, key=/locks/job-7, latency=499ms", { key = %"/locks/job-7", latency = ?ms(499), "Handled get request" }),
    case!("cf_range_500ms", "chainfire", INFO, "chainfire_api", "Handled range request, latency=500ms", { latency = ?ms(500), "Handled range request" }),
    case!("cf_put_900ms_string", "chainfire", INFO, "chainfire_api", "Handled put request, latency=900ms", { latency = "900ms", "Handled put request" }),
    case!("cf_put_15ms", "chainfire", INFO, "chainfire_api", "Handled put request, latency=15ms", { latency = ?ms(15), "Handled put request" }),
    case!("cf_corrupted_log", "chainfire", ERROR, "chainfire_storage", "corrupted log entry, index=4242, crc mismatch", { index = 4242u64, "corrupted log entry" }),
    case!("cf_replication_lag", "chainfire", WARN, "chainfire_raft", "Replication lag detected, peer=node2, lag=1200", { peer = %"node2", lag = 1200u64, "Replication lag detected" }),
    case!("cf_member_added", "chainfire", INFO, "chainfire_raft", "Added learner, node_id=4", { node_id = 4u64, "Added learner" }),
    case!("cf_committed_entry", "chainfire", INFO, "chainfire_storage", "Committed entry, index=12345", { index = 12345u64, "Committed entry" }),
    case!("cf_raft_config", "chainfire", INFO, "chainfire_raft", "Raft config loaded, election_timeout=1000ms, heartbeat_interval=100ms", { election_timeout = ?ms(1000), heartbeat_interval = ?ms(100), "Raft config loaded" }),
    case!("cf_installed_snapshot", "chainfire", INFO, "chainfire_storage", "Installed snapshot, duration=20ms", { duration = ?ms(20), "Installed snapshot" }),
    case!("cf_wal_disk_full", "chainfire", ERROR, "chainfire_storage", "Failed to append to WAL /var/lib/chainfire/wal/000012.log: No space left on device (os error 28)", { path = %"/var/lib/chainfire/wal/000012.log", error = %"No space left on device (os error 28)", "Failed to append to WAL" }),
    case!("cf_stepped_down", "chainfire", WARN, "chainfire_raft", "Stepped down as leader, term=5, new_leader=node2", { term = 5u64, new_leader = %"node2", "Stepped down as leader" }),
    case!("cf_lease_expired", "chainfire", WARN, "chainfire_lease", "Lease expired, id=1234567890123456", { id = 1234567890123456u64, "Lease expired" }),
    case!("cf_tls_bad_certificate", "chainfire", ERROR, "chainfire_network", "Failed to connect to peer, addr=node2:2380, error=tls: bad certificate", { addr = %"node2:2380", error = %"tls: bad certificate", "Failed to connect to peer" }),
    case!("cf_tls_expired", "chainfire", ERROR, "chainfire_network", "Failed to connect to peer, addr=node2:2380, error=invalid peer certificate: Expired", { addr = %"node2:2380", error = %"invalid peer certificate: Expired", "Failed to connect to peer" }),
    case!("cf_tls_completed", "chainfire", INFO, "chainfire_network", "TLS handshake completed, peer=node2:2380", { peer = %"node2:2380", "TLS handshake completed" }),
    case!("cf_panic_hook", "chainfire", INFO, "chainfire_server", "panic hook installed, thread=main", { thread = "main", "panic hook installed" }),
    case!("cf_debug_heartbeat", "chainfire", DEBUG, "chainfire_raft", "Sent heartbeat, term=5, peers=2, commit=100", { term = 5u64, peers = 2u64, commit = 100u64, "Sent heartbeat" }),
    // ---- flaredb
    case!("fd_pd_registered", "flaredb", INFO, "flaredb_pd_client", "Registered with PD, store_id=1", { store_id = 1u64, "Registered with PD" }),
    case!("fd_pd_register_failed", "flaredb", ERROR, "flaredb_pd_client", "failed to register with PD", { error = %"Connection refused (os error 111)", "failed to register with PD" }),
    case!("fd_pd_heartbeat_failed", "flaredb", WARN, "flaredb_pd_client", "Heartbeat to PD failed, retrying...", { attempt = 3u64, "Heartbeat to PD failed, retrying..." }),
    case!("fd_snapshot_applied", "flaredb", INFO, "flaredb_raft", "Applied snapshot, index=5000", { index = 5000u64, "Applied snapshot" }),
    case!("fd_replication_failed", "flaredb", ERROR, "flaredb_raft", "Failed to replicate log, peer=store2", { peer = %"store2", "Failed to replicate log" }),
    case!("fd_replication_failed_debug", "flaredb", ERROR, "flaredb_raft", "Failed to replicate log, peer=store3, region_id=77", { peer = ?"store3", region_id = 77u64, "Failed to replicate log" }),
    case!("fd_compaction_slow", "flaredb", WARN, "flaredb_storage", "Compaction is slow, duration=30s", { duration = ?Duration::from_secs(30), "Compaction is slow" }),
    case!("fd_stall_1000ms", "flaredb", WARN, "flaredb_storage", "RocksDB stall detected, duration=1000ms", { duration = ?ms(1000), "RocksDB stall detected" }),
    case!("fd_stall_900ns", "flaredb", WARN, "flaredb_storage", "RocksDB stall detected, duration=900ns", { duration = ?Duration::from_nanos(900), "RocksDB stall detected" }),
    case!("fd_query_99ms", "flaredb", INFO, "flaredb_service", "Handled query, rows=1000, latency=99ms", { rows = 1000u64, latency = ?ms(99), "Handled query" }),
    case!("fd_query_100ms", "flaredb", INFO, "flaredb_service", "Handled query, rows=1000, latency=100ms", { rows = 1000u64, latency = ?ms(100), "Handled query" }),
    case!("fd_query_500ms", "flaredb", INFO, "flaredb_service", "Handled query, table=users, rows=12, latency=500ms", { table = %"users", rows = 12u64, latency = ?ms(500), "Handled query" }),
    case!("fd_deadline_exceeded", "flaredb", WARN, "flaredb_service", "Request failed, region_id=17, error=context deadline exceeded", { region_id = 17u64, error = %"context deadline exceeded", "Request failed" }),
    case!("fd_request_timeout", "flaredb", WARN, "flaredb_service", "Request timeout, region_id=12", { region_id = 12u64, "Request timeout" }),
    case!("fd_config_loaded", "flaredb", INFO, "flaredb_config", "Loaded config, slow_log_threshold=1s, request_timeout=30s", { slow_log_threshold = ?Duration::from_secs(1), request_timeout = ?Duration::from_secs(30), "Loaded config" }),
    case!("fd_disk_full", "flaredb", ERROR, "flaredb_storage", "IO error: No space left on device (os error 28), path=/var/lib/flaredb/db/000123.sst", { path = %"/var/lib/flaredb/db/000123.sst", "IO error: No space left on device (os error 28)" }),
    case!("fd_tls_bad_certificate", "flaredb", ERROR, "flaredb_pd_client", "Failed to connect to PD, endpoint=pd2:2379, error=tls: bad certificate", { endpoint = %"pd2:2379", error = %"tls: bad certificate", "Failed to connect to PD" }),
    case!("fd_corrupted_log_unclassified", "flaredb", ERROR, "flaredb_raft", "corrupted log entry, region_id=17, index=4242", { region_id = 17u64, index = 4242u64, "corrupted log entry" }),
    case!("fd_installed_snapshot", "flaredb", INFO, "flaredb_storage", "Installed snapshot, duration=20ms", { duration = ?ms(20), "Installed snapshot" }),
    // ---- placement-driver
    case!("pd_schedule_failed", "placement-driver", WARN, "pd_scheduler", "failed to schedule operator, region_id=42, reason=store 3 is down", { region_id = 42u64, reason = %"store 3 is down", "failed to schedule operator" }),
    case!("pd_store_registered", "placement-driver", INFO, "pd_server", "Store registered, store_id=4, address=10.0.0.14:20160", { store_id = 4u64, address = %"10.0.0.14:20160", "Store registered" }),
    case!("pd_store_registered_no_id", "placement-driver", INFO, "pd_server", "New store registered", { "New store registered" }),
    case!("pd_store_heartbeat", "placement-driver", INFO, "pd_server", "Store heartbeat received, store_id=4, regions=120", { store_id = 4u64, regions = 120u64, "Store heartbeat received" }),
    case!("pd_tls_expired", "placement-driver", ERROR, "pd_server", "TLS handshake failed: sslv3 alert certificate expired", { error = %"sslv3 alert certificate expired", "TLS handshake failed" }),
    case!("pd_enospc", "placement-driver", ERROR, "pd_server", "write WAL: ENOSPC", { error = %"ENOSPC", "write WAL" }),
    case!("pd_unclassified", "placement-driver", ERROR, "pd_server", "Failed to load cluster config from /var/lib/pd/cluster.json", { path = %"/var/lib/pd/cluster.json", "Failed to load cluster config" }),
    ]
}

/// The span a service's event is recorded in. Its fields share names with
/// signature fields (term, node_id, store_id, peer) on purpose: they must
/// never become event fields.
fn with_span(svc: &str, f: fn()) {
    let span = match svc {
        "chainfire" => tracing::info_span!("raft", node_id = 1u64, term = 7u64),
        "flaredb" => tracing::info_span!("raft", region_id = 17u64, store_id = 9u64, peer = %"store9"),
        _ => tracing::info_span!("schedule", name = %"balance-region", store_id = 9u64),
    };
    let _g = span.enter();
    f()
}

/// Nested spans (for the JSON span list): an outer request span.
fn with_spans(svc: &str, f: fn()) {
    let outer = tracing::info_span!("grpc", method = %"put", peer = %"10.0.3.4:40000");
    let _g = outer.enter();
    with_span(svc, f)
}

/// Deterministic timestamps in the same text form as tracing-subscriber's
/// default SystemTime timer (RFC 3339, microseconds, `Z`).
struct FixedTime;
static TICK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
impl FormatTime for FixedTime {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        let n = TICK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let us = 123456 + n * 1000;
        write!(w, "2026-11-26T10:{:02}:{:02}.{:06}Z", (us / 60_000_000) % 60, (us / 1_000_000) % 60, us % 1_000_000)
    }
}

fn manifest(shape: &str, id: &str) {
    if let Ok(p) = std::env::var("FIXTURE_MANIFEST") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap();
        writeln!(f, "{}\t{}", shape, id).unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shape = args.get(1).map(String::as_str).unwrap_or("full");
    let svc = args.get(2).map(String::as_str).unwrap_or("chainfire").to_string();
    let real_time = std::env::var_os("FIXTURE_REAL_TIME").is_some();

    match shape {
        "panic-main" => {
            manifest(shape, "panic_main");
            let v: Option<u32> = None;
            v.unwrap();
            return;
        }
        "panic-thread" => {
            manifest(shape, "panic_thread");
            let h = std::thread::Builder::new()
                .name("raft-worker".into())
                .spawn(|| {
                    let v: Vec<u32> = vec![1, 2, 3];
                    let i = v.len() + 7;
                    println!("{}", v[i]);
                })
                .unwrap();
            let _ = h.join();
            return;
        }
        "panic-unnamed" => {
            manifest(shape, "panic_unnamed");
            let h = std::thread::spawn(|| {
                let r: Result<u32, String> = Err("No space left on device".into());
                r.unwrap()
            });
            let _ = h.join();
            return;
        }
        _ => {}
    }

    let fmt_builder = || tracing_subscriber::fmt().with_max_level(Level::TRACE).with_writer(std::io::stdout);
    match shape {
        "full" | "span" | "structured" | "ansi" => {
            let b = fmt_builder().with_ansi(shape == "ansi");
            if real_time { b.init() } else { b.with_timer(FixedTime).init() }
        }
        "json-text" | "json" | "json-flat" => {
            let b = fmt_builder()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .flatten_event(shape == "json-flat");
            if real_time { b.init() } else { b.with_timer(FixedTime).init() }
        }
        "journald" | "journald-nospan" => {
            let layer = tracing_journald::layer()
                .expect("journald socket")
                .with_syslog_identifier(svc.clone());
            tracing_subscriber::registry().with(layer).init();
        }
        other => panic!("unknown shape {}", other),
    }

    for c in cases().into_iter().filter(|c| c.svc == svc) {
        manifest(shape, c.id);
        match shape {
            "full" | "ansi" => (c.text)(),
            "structured" => (c.structured)(),
            "span" => with_span(&svc, c.text),
            "json-text" => with_spans(&svc, c.text),
            "json" | "json-flat" | "journald" => with_spans(&svc, c.structured),
            "journald-nospan" => (c.structured)(),
            _ => unreachable!(),
        }
    }
}
