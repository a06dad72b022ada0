//! A device restored from a copy of its data folder (finding 6 of the
//! integrity issue): it gets back what it had sent after the copy was taken,
//! its new edits are not numbered like the lost ones, and nobody else's sync
//! breaks. Real `gocua-server` and `gocua` processes on loopback.

use std::path::Path;

use gocua_tests::{COMMAND_TIMEOUT, Device, Server, Team, str_field, text, u64_field};
use serde_json::Value;

/// Copies every file of `from` into `to` (a data folder: the store and any
/// journal beside it). In place, the restored store file keeps the file
/// identity of the one it replaces, as a restore onto the same phone may;
/// otherwise the files are new.
fn copy_folder(from: &Path, to: &Path, in_place: bool) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    if !in_place {
        for entry in std::fs::read_dir(to).unwrap_or_else(|e| panic!("read {}: {e}", to.display()))
        {
            let p = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if p.is_file() {
                std::fs::remove_file(&p).unwrap_or_else(|e| panic!("rm {}: {e}", p.display()));
            }
        }
    }
    // A journal the copy does not have must not be replayed onto it.
    for entry in std::fs::read_dir(to).unwrap_or_else(|e| panic!("read {}: {e}", to.display())) {
        let p = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        if p.is_file() && !from.join(name.unwrap_or_default()).exists() {
            std::fs::remove_file(&p).unwrap_or_else(|e| panic!("rm {}: {e}", p.display()));
        }
    }
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let p = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if p.is_file() {
            let target = to.join(p.file_name().unwrap_or_default());
            std::fs::copy(&p, &target)
                .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", p.display(), target.display()));
        }
    }
}

fn visits_of(d: &Device, household: &str) -> usize {
    let h = d.json(&["household", "show", household]);
    h["visits"]
        .as_array()
        .unwrap_or_else(|| panic!("no visits list: {h}"))
        .len()
}

fn assert_clean_sync(r: &Value, who: &str) {
    assert_eq!(r["refused"], serde_json::json!([]), "{who}: {r}");
    assert_eq!(u64_field(r, "quarantined"), 0, "{who}: {r}");
    assert_eq!(u64_field(r, "quarantined_by_server"), 0, "{who}: {r}");
    assert_eq!(u64_field(r, "waiting"), 0, "{who}: {r}");
}

/// Restored over its own files: the store cannot tell it is a copy until the
/// server sends it what the lost phone pushed; then it reissues its new work
/// under a new actor.
#[test]
fn a_device_restored_in_place_gets_its_visits_back_and_breaks_nobody() {
    restore_scenario(true);
}

/// Restored as new files: the store sees on opening that it is a copy and
/// takes a new actor before it makes any change.
#[test]
fn a_device_restored_as_new_files_gets_its_visits_back_and_breaks_nobody() {
    restore_scenario(false);
}

fn restore_scenario(in_place: bool) {
    let server = Server::start();
    let team = Team::create(&server, "Thôn Đông");
    let restored = team.enroll(&server, &server.url());
    let other = team.enroll(&server, &server.url());

    let hanh = restored.add_household(&["--head", "Nguyễn Văn Hạnh", "--phone", "0912000111"]);
    restored.ok(&["visit", "record", &hanh, "--service", "vneid_activate:done"]);
    assert_clean_sync(&restored.sync(), "first sync");
    assert_clean_sync(&other.sync(), "other, first sync");

    // The copy is taken here.
    let backup = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    copy_folder(restored.home(), backup.path(), false);

    // After the copy: five visits, synced, then the phone is lost.
    for service in [
        "ehealth_book",
        "bank_account",
        "scam_awareness",
        "public_service_portal",
        "vneid_register",
    ] {
        restored.ok(&["visit", "record", &hanh, "--service", service]);
    }
    let r = restored.sync();
    assert_clean_sync(&r, "sync before the loss");
    assert_eq!(visits_of(&restored, &hanh), 6);

    // Restored from the copy, in place.
    copy_folder(backup.path(), restored.home(), in_place);
    assert_eq!(visits_of(&restored, &hanh), 1, "the copy is older");
    // New work on the restored phone, before it syncs: numbered from the copy.
    restored.ok(&["visit", "record", &hanh, "--service", "ehealth_book"]);
    restored.ok(&["household", "edit", &hanh, "--phone", "0987654321"]);

    if in_place {
        // The volunteer is told, in plain words, that nothing was lost.
        let out = restored.run_timeout(&["--lang", "en", "sync"], COMMAND_TIMEOUT);
        let said = text(&out.stdout);
        assert!(out.status.success(), "{said}\n{}", text(&out.stderr));
        let reissued: u64 = said
            .split("This device's data is a copy (restored from a backup, or copied from another device): ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no word of the copy: {said}"));
        assert!(reissued >= 2, "{said}");
        assert!(said.contains("Nothing was lost."), "{said}");
        assert!(!said.contains("refused"), "{said}");
    } else {
        let r = restored.sync();
        assert_clean_sync(&r, "restored, first sync");
        assert!(
            u64_field(&r, "received") >= 5,
            "its five visits come back: {r}"
        );
        // Its new work was made under a new actor from the start.
        assert_eq!(u64_field(&r, "reissued"), 0, "{r}");
        assert_eq!(r["actor_renewed"], false, "{r}");
    }
    assert_eq!(visits_of(&restored, &hanh), 7);

    // Everyone else keeps syncing and sees everything.
    let r = other.sync();
    assert_clean_sync(&r, "other, after the restore");
    assert_eq!(visits_of(&other, &hanh), 7);
    let fresh = team.enroll(&server, &server.url());
    let r = fresh.sync();
    assert_clean_sync(&r, "fresh device");
    assert_eq!(visits_of(&fresh, &hanh), 7);
    let shown = fresh.json(&["household", "show", &hanh]);
    assert_eq!(shown["phone"], "0987654321", "{shown}");
    assert_clean_sync(&restored.sync(), "restored, second sync");
    for d in [&restored, &other, &fresh] {
        assert_eq!(d.counts(), restored.counts());
        assert_eq!(d.json(&["status"])["pending_changes"], 0);
    }
    assert_eq!(
        restored.doc_heads(),
        other.doc_heads(),
        "same documents everywhere"
    );
    assert_eq!(fresh.doc_heads(), other.doc_heads());

    // Nothing was set aside on the server, and its materializer kept up.
    let q = server.admin(&["quarantine"]);
    assert_eq!(q.as_array().map(Vec::len), Some(0), "{q}");
    let log = server.log();
    assert!(
        !log.contains("left out of the snapshot"),
        "server log: {}",
        text(log.as_bytes())
    );
    assert_eq!(str_field(&shown, "id"), hanh);
}
