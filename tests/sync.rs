//! End-to-end sync tests: real `gocua-server` and `gocua` processes on loopback
//! (see `support.rs` for how the binaries are found and built, the server
//! helper and the flaky proxy).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gocua_tests::{
    Backend, Device, Proxy, Server, enrolled_devices, enrolled_devices_at, str_field, text,
    u64_field, wait_for_exit,
};
use serde_json::Value;

const PHONE_A: &str = "0987654321";
const PHONE_C: &str = "0911111111";

/// The ids of the households every scenario in `converge_in_order` touches.
#[derive(Debug)]
struct Shared {
    /// Visited on two devices, its phone changed on two, a member edited.
    hanh: String,
    /// The member added on device 0 and edited on device 1 after a first sync.
    member: String,
    /// Visited on device 2.
    lan: String,
}

/// Asserts every device shows the same thing; returns what device 0 shows.
fn assert_identical(devices: &[&Device], context: &str) -> Value {
    let first = devices[0].visible_state();
    for (i, d) in devices.iter().enumerate().skip(1) {
        let other = d.visible_state();
        if other != first {
            // Name the first household that differs, for a readable failure.
            let a = &first["households"];
            let b = &other["households"];
            let mut diff = String::new();
            for (id, h) in a.as_object().into_iter().flatten() {
                if &b[id] != h {
                    diff = format!("household {id}:\n device 0: {h}\n device {i}: {}", b[id]);
                    break;
                }
            }
            panic!(
                "{context}: device {i} differs from device 0\n{diff}\ndevice 0: {first}\ndevice {i}: {other}"
            );
        }
    }
    first
}

fn sorted_strings(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect();
    out.sort();
    out
}

/// Three devices, one village; a first sync, then offline edits that touch the
/// same household on several devices; then sync in `order` (twice round, then a
/// third round that must bring nothing).
fn converge_in_order(backend: Backend, order: [usize; 3]) {
    let started = Instant::now();
    let server = Server::start_on(backend);
    let (_team, devices) = enrolled_devices(&server, 3);
    let [d0, d1, d2] = [&devices[0], &devices[1], &devices[2]];

    // Device 0 registers two households and a member, and syncs; the others'
    // first sync brings them.
    let hanh = d0.add_household(&[
        "--head",
        "Nguyễn Văn Hạnh",
        "--address",
        "Xóm 3, Thôn Đông",
        "--phone",
        "0912345678",
        "--members",
        "4",
    ]);
    let member = str_field(
        &d0.json(&[
            "member",
            "add",
            &hanh,
            "--name",
            "Trần Thị Thủy",
            "--birth-year",
            "1958",
            "--gender",
            "female",
            "--vneid",
            "none",
        ]),
        "id",
    );
    let lan = d0.add_household(&["--head", "Đàm Thị Lan", "--address", "Xóm 1"]);
    let shared = Shared { hanh, member, lan };
    let first = d0.sync();
    assert!(u64_field(&first, "sent") > 0, "{first}");
    for d in [d1, d2] {
        let r = d.sync();
        assert_eq!(r["bootstrapped"], true, "{r}");
        assert_eq!(d.household_ids().len(), 2);
        let h = d.json(&["household", "show", &shared.hanh]);
        assert_eq!(h["members"][0]["id"], shared.member.as_str(), "{h}");
    }

    // Offline.
    let mut visits_recorded = 0;
    // Device 0: a new household, a visit to Hạnh's, Hạnh's phone changed.
    d0.add_household(&["--head", "Lê Văn Tám", "--phone", "0905111222"]);
    d0.ok(&[
        "visit",
        "record",
        &shared.hanh,
        "--service",
        "vneid_activate:done",
        "--person",
        &shared.member,
        "--at",
        "2026-03-02 09:30",
        "--entered-late",
    ]);
    visits_recorded += 1;
    d0.ok(&["household", "edit", &shared.hanh, "--phone", PHONE_A]);
    // Device 1: a new household with a visit, a visit to Hạnh's, the member
    // (added on device 0) edited.
    let tu = d1.add_household(&["--head", "Hà Văn Tú", "--members", "2"]);
    d1.ok(&["visit", "record", &tu, "--service", "ehealth_book"]);
    d1.ok(&[
        "visit",
        "record",
        &shared.hanh,
        "--service",
        "bank_account:blocked:cần công an xã",
        "--at",
        "2026-03-02 14:00",
        "--entered-late",
    ]);
    visits_recorded += 2;
    d1.ok(&[
        "member",
        "edit",
        &shared.member,
        "--vneid",
        "level2",
        "--bank-account",
        "true",
    ]);
    // Device 2: a new household, a visit to Lan's, Hạnh's phone changed too, a
    // second member for Hạnh's.
    d2.add_household(&["--head", "Giàng Thị Mai", "--address", "Xóm Cuối"]);
    d2.ok(&[
        "visit",
        "record",
        &shared.lan,
        "--service",
        "scam_awareness",
        "--at",
        "2026-03-03 08:00",
        "--entered-late",
    ]);
    visits_recorded += 1;
    d2.ok(&["household", "edit", &shared.hanh, "--phone", PHONE_C]);
    d2.ok(&[
        "member",
        "add",
        &shared.hanh,
        "--name",
        "Nguyễn Văn Phúc",
        "--birth-year",
        "2010",
        "--gender",
        "male",
    ]);

    // Back in coverage, in `order`: the first round sends everything, the
    // second brings everyone what was sent after them.
    for round in 1..=2 {
        for &i in &order {
            let r = devices[i].sync();
            assert_eq!(r["refused"], serde_json::json!([]), "round {round}: {r}");
            assert_eq!(r["pending_changes"], 0, "round {round}: {r}");
        }
    }
    // Nothing is left to exchange.
    for &i in &order {
        let r = devices[i].sync();
        assert_eq!(
            (u64_field(&r, "sent"), u64_field(&r, "received")),
            (0, 0),
            "order {order:?}: a third round still exchanged changes: {r}"
        );
    }

    let all: Vec<&Device> = devices.iter().collect();
    let state = assert_identical(&all, &format!("order {order:?}"));

    // Nothing lost.
    let list = state["list"].as_array().cloned().unwrap_or_default();
    let mut names: Vec<String> = list.iter().map(|h| str_field(h, "head_name")).collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "Giàng Thị Mai",
            "Hà Văn Tú",
            "Lê Văn Tám",
            "Nguyễn Văn Hạnh",
            "Đàm Thị Lan"
        ],
        "order {order:?}"
    );
    assert_eq!(state["counts"]["visits"], visits_recorded, "{state}");
    assert_eq!(state["counts"]["households"], 5);
    let hanh = &state["households"][&shared.hanh];
    assert_eq!(hanh["visits"].as_array().map(Vec::len), Some(2), "{hanh}");
    let members = hanh["members"].as_array().cloned().unwrap_or_default();
    assert_eq!(members.len(), 2, "{hanh}");
    let thuy = members
        .iter()
        .find(|m| m["id"] == shared.member.as_str())
        .unwrap_or_else(|| panic!("member lost: {hanh}"));
    assert_eq!(thuy["birth_year"], 1958, "{thuy}");
    assert_eq!(
        thuy["skills"]["vneid_level"], "level2",
        "device 1's edit lost: {thuy}"
    );
    assert_eq!(
        thuy["skills"]["bank_account"], true,
        "device 1's edit lost: {thuy}"
    );
    assert_eq!(
        state["households"][&shared.lan]["visits"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The clash is kept with both values, and listed on every device.
    let conflicts = state["conflicts"].as_array().cloned().unwrap_or_default();
    assert_eq!(conflicts.len(), 1, "{}", state["conflicts"]);
    assert_eq!(conflicts[0]["household_id"], shared.hanh.as_str());
    assert_eq!(conflicts[0]["path"], "phone");
    assert_eq!(
        sorted_strings(&conflicts[0]["values"]),
        vec![PHONE_C, PHONE_A]
    );
    assert_eq!(
        conflicts[0]["values"][0], hanh["phone"],
        "the first value is the one shown"
    );
    for d in &all {
        assert_eq!(d.json(&["status"])["pending_changes"], 0);
    }
    eprintln!("order {order:?}: converged in {:?}", started.elapsed());
    every_replica_served(&server);
}

/// On several replicas, the balancer gave each some of the connections: the
/// devices' requests did reach more than one.
fn every_replica_served(server: &Server) {
    let spread = server.balanced();
    assert!(
        !server.is_postgres() || (spread.len() > 1 && spread.iter().all(|n| *n > 0)),
        "connections by replica: {spread:?}"
    );
}

const TWO_REPLICAS: Backend = Backend::Postgres { replicas: 2 };

#[test]
fn three_devices_converge_order_012() {
    converge_in_order(Backend::Sqlite, [0, 1, 2]);
}

#[test]
fn three_devices_converge_order_012_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [0, 1, 2]);
}

#[test]
fn three_devices_converge_order_021() {
    converge_in_order(Backend::Sqlite, [0, 2, 1]);
}

#[test]
fn three_devices_converge_order_021_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [0, 2, 1]);
}

#[test]
fn three_devices_converge_order_102() {
    converge_in_order(Backend::Sqlite, [1, 0, 2]);
}

#[test]
fn three_devices_converge_order_102_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [1, 0, 2]);
}

#[test]
fn three_devices_converge_order_120() {
    converge_in_order(Backend::Sqlite, [1, 2, 0]);
}

#[test]
fn three_devices_converge_order_120_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [1, 2, 0]);
}

#[test]
fn three_devices_converge_order_201() {
    converge_in_order(Backend::Sqlite, [2, 0, 1]);
}

#[test]
fn three_devices_converge_order_201_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [2, 0, 1]);
}

#[test]
fn three_devices_converge_order_210() {
    converge_in_order(Backend::Sqlite, [2, 1, 0]);
}

#[test]
fn three_devices_converge_order_210_on_two_postgres_replicas() {
    converge_in_order(TWO_REPLICAS, [2, 1, 0]);
}

/// Imports `n` generated households (seed `seed`); returns the changes waiting.
fn import_generated(d: &Device, seed: u64, n: usize) -> u64 {
    let generated = d.ok(&[
        "household",
        "generate",
        "--seed",
        &seed.to_string(),
        "--households",
        &n.to_string(),
    ]);
    let file = d.write(&format!("village-{seed}.jsonl"), generated.as_bytes());
    d.ok(&["household", "import", &file]);
    u64_field(&d.json(&["status"]), "pending_changes")
}

/// The changes the server holds, each checked to be there once.
fn server_changes(server: &Server) -> u64 {
    let [rows, distinct] =
        server.query_ints("SELECT count(*), count(DISTINCT hash) FROM changes")[..]
    else {
        panic!("two numbers expected")
    };
    assert_eq!(rows, distinct, "a change stored twice");
    rows as u64
}

/// Starts `gocua sync` on `d`, SIGKILLs the server as soon as `trigger` fires
/// (the sync still running), restarts it on the same database and port, and
/// waits for the interrupted sync to end (it retries by itself and may succeed
/// or give up). Returns its report when it succeeded.
fn kill_server_during_sync(
    server: &mut Server,
    d: &Device,
    trigger: &std::sync::mpsc::Receiver<()>,
) -> Option<Value> {
    let mut sync = d.spawn(&["--json", "sync"]);
    if let Err(e) = trigger.recv_timeout(Duration::from_secs(60)) {
        let _ = sync.kill();
        let _ = sync.wait();
        panic!("the trigger never fired: {e}");
    }
    let still_running = matches!(sync.try_wait(), Ok(None));
    server.kill9();
    assert!(
        still_running,
        "gocua sync ended before the server was killed"
    );
    server.restart();
    let status = wait_for_exit(&mut sync, Duration::from_secs(120))
        .unwrap_or_else(|| panic!("the interrupted gocua sync did not end"));
    let mut stdout = String::new();
    if let Some(mut o) = sync.stdout.take() {
        use std::io::Read;
        let _ = o.read_to_string(&mut stdout);
    }
    eprintln!("interrupted sync: {status}, {}", stdout.trim());
    status
        .success()
        .then(|| serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")))
}

/// The server is SIGKILLed while a device pushes a few hundred households, once
/// before it stored the push and once after (its answer lost), and restarted on
/// the same database each time: nothing is lost, nothing is stored twice.
#[test]
fn server_killed_during_push_loses_and_duplicates_nothing() {
    server_killed_during_push_loses_and_duplicates_nothing_on(Backend::Sqlite);
}

#[test]
fn server_killed_during_push_loses_and_duplicates_nothing_on_two_postgres_replicas() {
    server_killed_during_push_loses_and_duplicates_nothing_on(TWO_REPLICAS);
}

fn server_killed_during_push_loses_and_duplicates_nothing_on(backend: Backend) {
    let mut server = Server::start_on(backend);
    // The device talks to the server through a proxy that tells when the first
    // request bytes have reached the server, or cuts the server's answer.
    let proxy = Proxy::transparent(server.addr());
    let (team, devices) = enrolled_devices_at(&server, &proxy.url(), 1);
    let a = &devices[0];

    // 1. Killed while the push is in flight.
    let pending = import_generated(a, 7, 300);
    assert!(pending > 300, "{pending} changes for 300 households");
    let trigger = proxy.notify_first_push();
    let interrupted = kill_server_during_sync(&mut server, a, &trigger);
    let (report, runs) = a.sync_until_ok(5);
    eprintln!("sync after the restart ({runs} run(s)): {report}");
    let status = a.json(&["status"]);
    assert_eq!(status["pending_changes"], 0, "{status}");
    assert_eq!(status["refused_changes"], 0, "{status}");
    assert_eq!(status["households"], 300);
    assert_eq!(
        server_changes(&server),
        pending,
        "the server should hold exactly the changes the device had to send"
    );
    drop(interrupted);

    // 2. Killed after storing a push whose answer never reached the device: the
    //    device sends it again, and the server counts it as already there.
    let pending2 = import_generated(a, 8, 300);
    let trigger = proxy.cut_next_push_answer();
    let interrupted = kill_server_during_sync(&mut server, a, &trigger);
    let (report, runs) = a.sync_until_ok(5);
    eprintln!("sync after the restart ({runs} run(s)): {report}");
    let duplicates: u64 = interrupted
        .iter()
        .chain([&report])
        .map(|r| u64_field(r, "already_on_server"))
        .sum();
    assert!(
        duplicates > 0,
        "the push stored before the kill was not reported as already on the server"
    );
    let status = a.json(&["status"]);
    assert_eq!(status["pending_changes"], 0, "{status}");
    assert_eq!(status["households"], 600);
    assert_eq!(server_changes(&server), pending + pending2);

    // A device enrolled afterwards gets everything, once.
    let b = team.enroll(&server, &server.url());
    let first = b.sync();
    assert_eq!(first["bootstrapped"], true, "{first}");
    let counts_a = a.counts();
    let counts_b = b.counts();
    assert_eq!(counts_a, counts_b);
    assert_eq!(a.list_all(), b.list_all());
    let heads_a = a.doc_heads();
    assert_eq!(heads_a.len(), 600);
    assert_eq!(heads_a, b.doc_heads(), "documents differ");
    let again = b.sync();
    assert_eq!(
        (u64_field(&again, "sent"), u64_field(&again, "received")),
        (0, 0),
        "{again}"
    );
    assert_eq!(b.counts(), counts_b, "pulling twice changed the store");
    let again_a = a.sync();
    assert_eq!(u64_field(&again_a, "received"), 0, "{again_a}");
    assert_eq!(a.counts(), counts_a);
    assert_eq!(server_changes(&server), pending + pending2);
}

/// Devices record visits and sync repeatedly through a proxy that cuts
/// connections at random points; they converge, every visit kept.
#[test]
fn flaky_network_converges() {
    flaky_network_converges_on(Backend::Sqlite);
}

#[test]
fn flaky_network_converges_on_two_postgres_replicas() {
    flaky_network_converges_on(TWO_REPLICAS);
}

fn flaky_network_converges_on(backend: Backend) {
    let server = Server::start_on(backend);
    let proxy = Proxy::transparent(server.addr());
    let (_team, devices) = enrolled_devices_at(&server, &proxy.url(), 3);
    let households: Vec<String> = ["Nguyễn Văn Hạnh", "Đàm Thị Lan", "Lò Văn Pá"]
        .iter()
        .map(|h| devices[0].add_household(&["--head", h]))
        .collect();
    devices[0].sync();
    for d in &devices[1..] {
        d.sync();
    }

    proxy.set_drop_probability(0.35);
    let services = ["vneid_activate", "ehealth_book", "scam_awareness"];
    let mut recorded = 0u64;
    let mut runs = 0;
    let mut duplicates = 0;
    for round in 0..3 {
        for (i, d) in devices.iter().enumerate() {
            for k in 0..2 {
                let h = &households[(i + k + round) % households.len()];
                d.ok(&[
                    "visit",
                    "record",
                    h,
                    "--service",
                    services[(round + k) % services.len()],
                ]);
                recorded += 1;
            }
            let (r, n) = d.sync_until_ok(10);
            runs += n;
            duplicates += u64_field(&r, "already_on_server");
        }
    }
    // Two more rounds bring everyone everything, still through the flaky proxy.
    for _ in 0..2 {
        for d in &devices {
            let (r, n) = d.sync_until_ok(10);
            runs += n;
            duplicates += u64_field(&r, "already_on_server");
        }
    }
    let dropped = proxy.dropped();
    eprintln!(
        "flaky proxy: {} connections, {dropped} cut; {runs} gocua sync runs; {duplicates} changes sent again",
        proxy.connections()
    );
    assert!(
        dropped > 0,
        "the proxy never cut a connection: a useless test"
    );

    let all: Vec<&Device> = devices.iter().collect();
    let state = assert_identical(&all, "after the flaky network");
    assert_eq!(state["counts"]["visits"], recorded, "{}", state["counts"]);
    for d in &devices {
        assert_eq!(d.json(&["status"])["pending_changes"], 0);
    }
    // Each visit once on the server: what device 0 shows per household adds up.
    let per_household: u64 = state["households"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, h)| h["visits"].as_array().map_or(0, |v| v.len() as u64))
        .sum();
    assert_eq!(per_household, recorded);

    // A clean network now: nothing more to exchange.
    proxy.set_drop_probability(0.0);
    for d in &devices {
        let r = d.sync();
        assert_eq!(
            (u64_field(&r, "sent"), u64_field(&r, "received")),
            (0, 0),
            "{r}"
        );
    }
    every_replica_served(&server);
}

/// A revoked device cannot sync, is told so (in Vietnamese by default), and
/// keeps its data.
#[test]
fn revoked_device_is_refused_and_keeps_its_data() {
    revoked_device_is_refused_and_keeps_its_data_on(Backend::Sqlite);
}

#[test]
fn revoked_device_is_refused_and_keeps_its_data_on_two_postgres_replicas() {
    revoked_device_is_refused_and_keeps_its_data_on(TWO_REPLICAS);
}

fn revoked_device_is_refused_and_keeps_its_data_on(backend: Backend) {
    let server = Server::start_on(backend);
    let (_team, devices) = enrolled_devices(&server, 2);
    let [a, b] = [&devices[0], &devices[1]];
    let hid = a.add_household(&["--head", "Nguyễn Văn Hạnh", "--phone", "0912345678"]);
    a.ok(&["visit", "record", &hid, "--service", "vneid_activate"]);
    a.sync();
    b.sync();
    // Work done after the last sync, waiting to be sent.
    a.ok(&["visit", "record", &hid, "--service", "ehealth_book"]);
    let kept = a.add_household(&["--head", "Đàm Thị Lan"]);

    let id = a.device_id();
    let revoked = server.admin(&["devices", "revoke", &id]);
    assert_eq!(revoked["revoked"], true, "{revoked}");
    assert_eq!(revoked["was_already_revoked"], false, "{revoked}");
    let listed = server.admin(&["devices", "list"]);
    let entry = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {listed}"));
    assert!(entry["revoked_at"].is_i64(), "{entry}");

    let before = (a.visible_state(), a.json(&["status"]));
    let pending = u64_field(&before.1, "pending_changes");
    assert!(pending > 0);

    let out = a.try_sync();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a revoked device synced: {stderr}");
    let err: Value = serde_json::from_str(stderr.trim())
        .unwrap_or_else(|e| panic!("--json error is not JSON ({e}): {stderr}"));
    assert_eq!(err["error"], "device_revoked", "{err}");

    let out = a.run(&["sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("thu hồi"),
        "not said in Vietnamese: {stderr}"
    );
    assert!(stderr.contains("không bị xóa"), "{stderr}");
    let out = a.run(&["--lang", "en", "sync"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("revoked"), "{stderr}");

    // Nothing on the device changed, the unsent work still waits.
    let after = (a.visible_state(), a.json(&["status"]));
    assert_eq!(after, before, "a refused sync changed the device");
    a.json(&["household", "show", &kept]);

    // The server stored nothing from it; the other device is unaffected.
    let r = b.sync();
    assert_eq!(u64_field(&r, "received"), 0, "{r}");
    assert_eq!(b.json(&["status"])["households"], 1);
    let h = b.json(&["household", "show", &hid]);
    assert_eq!(h["visits"].as_array().map(Vec::len), Some(1), "{h}");

    // Revoking again says so.
    let again = server.admin(&["devices", "revoke", &id]);
    assert_eq!(again["was_already_revoked"], true, "{again}");
    let heads: BTreeMap<String, Value> = a.doc_heads();
    assert_eq!(heads.len(), 2);
}
