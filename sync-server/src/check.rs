//! `gocua-server check`: whether what the database holds is whole. Every
//! stored change and snapshot is loaded with Automerge (isolated, as the
//! push path loads untrusted changes: `crate::isolate`), the change log is
//! checked against itself (hashes, change numbers, dependencies, the feed),
//! and the report projection against the households read from the
//! snapshots. It reads one consistent view while the server serves, one
//! document at a time (`Storage::check_read`), and changes nothing.
//!
//! What it does not flag: work the server has not done yet (a snapshot
//! behind the log, report rows still due), which the materializer catches
//! up on by itself.

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::{Automerge, Change, ChangeHash};
use gocua_household::schema::VILLAGE_ID;

use crate::isolate::isolated;
use crate::storage::{CheckedDoc, FeedBounds, LogTotals, Storage, StorageResult};

/// Problems kept for the answer at most; the rest are counted.
const KEPT: usize = 10_000;

/// One thing found wrong, said in Vietnamese and English.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Machine-readable: what kind of problem.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household: Option<String>,
    /// The change's place in the log, for a problem of one change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub vi: String,
    pub en: String,
}

/// What `check` read and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    pub households: u64,
    pub changes: u64,
    pub snapshots: u64,
    pub report_rows: u64,
    /// Households whose report rows were not compared: still due, or made
    /// with other households' (a merge group).
    pub report_rows_not_compared: u64,
    pub problems: Vec<Problem>,
    /// Problems found beyond the [`KEPT`] listed.
    pub problems_not_listed: u64,
    pub totals: LogTotals,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && self.problems_not_listed == 0
    }

    fn found(
        &mut self,
        code: &'static str,
        household: Option<&str>,
        seq: Option<u64>,
        vi: String,
        en: String,
    ) {
        if self.problems.len() >= KEPT {
            self.problems_not_listed += 1;
            return;
        }
        self.problems.push(Problem {
            code,
            household: household.map(str::to_string),
            seq,
            vi,
            en,
        });
    }
}

/// Checks everything `storage` holds; the report says what is wrong (an
/// error is returned only when the database cannot be read).
pub fn check(storage: &dyn Storage) -> StorageResult<CheckReport> {
    // Read before the documents: the watermark and the restored stretches
    // only move forward, so what holds for these holds for the later read.
    let watermark = storage.materialized_seq()?;
    let bounds = storage.feed_bounds()?;
    let mut report = CheckReport::default();
    let totals = storage.check_read(&mut |d| {
        check_doc(&mut report, &d, watermark, &bounds);
        Ok(())
    })?;
    check_totals(&mut report, &totals);
    report.totals = totals;
    Ok(report)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_doc(r: &mut CheckReport, d: &CheckedDoc, watermark: u64, bounds: &FeedBounds) {
    let id = Some(d.doc_id.as_str());
    r.households += 1;
    r.changes += d.changes.len() as u64;

    // ---- the log: each change, and the document they make ----
    let mut known: HashSet<ChangeHash> = HashSet::new();
    let mut by_seq: HashMap<u64, ChangeHash> = HashMap::new();
    let mut parsed: Vec<Change> = Vec::with_capacity(d.changes.len());
    let mut firsts = 0;
    for c in &d.changes {
        let seq = Some(c.seq);
        let bytes = c.bytes.clone();
        let change = match isolated(move || Change::from_bytes(bytes)) {
            Ok(Ok(ch)) => ch,
            Ok(Err(e)) => {
                r.found(
                    "change_unreadable",
                    id,
                    seq,
                    format!("thay đổi số {} không đọc được: {e}", c.seq),
                    format!("change {} does not load: {e}", c.seq),
                );
                continue;
            }
            Err(panic) => {
                r.found(
                    "change_unreadable",
                    id,
                    seq,
                    format!("thay đổi số {} làm Automerge lỗi: {panic}", c.seq),
                    format!("change {} makes Automerge fail: {panic}", c.seq),
                );
                continue;
            }
        };
        let hash = change.hash();
        if hash.0.as_slice() != c.hash.as_slice() {
            r.found(
                "change_hash",
                id,
                seq,
                format!(
                    "thay đổi số {}: mã băm lưu ({}) khác mã băm của nội dung ({hash})",
                    c.seq,
                    hex(&c.hash)
                ),
                format!(
                    "change {}: the stored hash ({}) is not the hash of its bytes ({hash})",
                    c.seq,
                    hex(&c.hash)
                ),
            );
        }
        let actor = change.actor_id().to_bytes().to_vec();
        if c.actor.as_deref() != Some(actor.as_slice()) || c.actor_seq != Some(change.seq()) {
            r.found(
                "change_number",
                id,
                seq,
                format!(
                    "thay đổi số {}: số hiệu lưu (tác giả, thứ tự) khác số hiệu trong thay đổi",
                    c.seq
                ),
                format!(
                    "change {}: the stored change number (actor, sequence) is not the change's own",
                    c.seq
                ),
            );
        }
        let missing = change.deps().iter().filter(|h| !known.contains(h)).count();
        if missing > 0 {
            r.found(
                "change_dependency",
                id,
                seq,
                format!(
                    "thay đổi số {}: {missing} thay đổi nó phụ thuộc không có trong nhật ký trước nó",
                    c.seq
                ),
                format!(
                    "change {}: {missing} of the changes it depends on are not in the log before it",
                    c.seq
                ),
            );
        }
        if change.deps().is_empty() {
            firsts += 1;
            if gocua_protocol::ids::derived_doc_id(&hash.0) != d.doc_id {
                r.found(
                    "household_id",
                    id,
                    seq,
                    "thay đổi đầu tiên không tạo ra hộ với mã này".into(),
                    "the first change does not create the household under this id".into(),
                );
            }
        }
        known.insert(hash);
        by_seq.insert(c.seq, hash);
        parsed.push(change);
    }
    if firsts != 1 && !d.changes.is_empty() {
        r.found(
            "household_first_change",
            id,
            None,
            format!("hộ có {firsts} thay đổi đầu tiên (phải có đúng một)"),
            format!("the household has {firsts} first changes (it must have exactly one)"),
        );
    }
    let last_seq = d.changes.last().map_or(0, |c| c.seq);
    if d.version != last_seq {
        r.found(
            "household_version",
            id,
            None,
            format!(
                "phiên bản lưu của hộ ({}) khác số của thay đổi cuối ({last_seq})",
                d.version
            ),
            format!(
                "the household's stored version ({}) is not its last change's seq ({last_seq})",
                d.version
            ),
        );
    }
    let built = isolated(move || -> Result<Automerge, String> {
        let mut doc = Automerge::new();
        doc.apply_changes(parsed).map_err(|e| e.to_string())?;
        // As a device that bootstraps from it will: saved, then loaded.
        Automerge::load(&doc.save_nocompress()).map_err(|e| e.to_string())?;
        Ok(doc)
    });
    match built {
        Ok(Ok(doc)) => {
            let village = gocua_household::root_scalar_str(&doc, VILLAGE_ID);
            if village.as_deref() != Some(d.village_id.as_str()) {
                r.found(
                    "household_village",
                    id,
                    None,
                    format!(
                        "thôn lưu của hộ ({}) khác thôn trong dữ liệu của hộ ({})",
                        d.village_id,
                        village.as_deref().unwrap_or("không có")
                    ),
                    format!(
                        "the household's stored village ({}) is not the one its changes set ({})",
                        d.village_id,
                        village.as_deref().unwrap_or("none")
                    ),
                );
            }
        }
        Ok(Err(e)) | Err(e) => r.found(
            "household_unloadable",
            id,
            None,
            format!("các thay đổi của hộ không tạo thành tài liệu đọc được: {e}"),
            format!("the household's changes do not make a document that loads: {e}"),
        ),
    }

    // ---- the feed: every change reaches the household's village ----
    let fed: HashSet<u64> = d
        .feed
        .iter()
        .filter(|(_, v, _)| *v == d.village_id)
        .map(|(_, _, s)| *s)
        .collect();
    let unfed = d.changes.iter().filter(|c| !fed.contains(&c.seq)).count();
    if unfed > 0 {
        r.found(
            "feed_missing",
            id,
            None,
            format!(
                "{unfed} thay đổi của hộ không được gửi tới thôn của hộ: máy trong thôn không nhận được"
            ),
            format!(
                "{unfed} of the household's changes are not fed to its village: its devices never pull them"
            ),
        );
    }
    for (position, _, seq) in &d.feed {
        if bounds
            .restored
            .iter()
            .any(|&(after, before)| *position > after && *position < before)
        {
            r.found(
                "feed_restored_position",
                id,
                Some(*seq),
                format!("vị trí {position} nằm trong khoảng bỏ trống khi khôi phục"),
                format!("position {position} lies in a stretch a restore left unused"),
            );
        }
    }

    // ---- the snapshot: what bootstrap serves ----
    let snapshot_doc = match &d.snapshot {
        None => {
            if d.changes.first().is_some_and(|c| c.seq <= watermark) {
                r.found(
                    "snapshot_missing",
                    id,
                    None,
                    "hộ không có bản chụp dù bộ dựng đã xử lý các thay đổi của hộ".into(),
                    "the household has no snapshot though the materializer has passed its changes"
                        .into(),
                );
            }
            None
        }
        Some(s) => {
            r.snapshots += 1;
            // `covered_seq` is the materializer's watermark when it saved
            // the snapshot: any seq of the log, often beyond the household's.
            if s.covered_seq >= d.version && s.village_id != d.village_id {
                r.found(
                    "snapshot_village",
                    id,
                    None,
                    format!(
                        "bản chụp ở thôn {} còn hộ ở thôn {}",
                        s.village_id, d.village_id
                    ),
                    format!(
                        "the snapshot is filed under village {} and the household under {}",
                        s.village_id, d.village_id
                    ),
                );
            }
            let pending: HashSet<u64> = s.pending.iter().map(|(seq, _)| *seq).collect();
            let covered: BTreeSet<ChangeHash> = d
                .changes
                .iter()
                .filter(|c| c.seq <= s.covered_seq && !pending.contains(&c.seq))
                .filter_map(|c| by_seq.get(&c.seq).copied())
                .collect();
            match &s.bytes {
                None => {
                    if !covered.is_empty() {
                        r.found(
                            "snapshot_incomplete",
                            id,
                            None,
                            format!(
                                "bản chụp trống thiếu {} thay đổi nó ghi là đã gồm",
                                covered.len()
                            ),
                            format!(
                                "the empty snapshot lacks {} changes it claims to cover",
                                covered.len()
                            ),
                        );
                    }
                    None
                }
                Some(bytes) => {
                    let bytes = bytes.clone();
                    match isolated(move || Automerge::load(&bytes)) {
                        Ok(Ok(doc)) => {
                            let held: HashSet<ChangeHash> =
                                doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
                            let foreign = held.iter().filter(|h| !known.contains(h)).count();
                            if foreign > 0 {
                                r.found(
                                    "snapshot_foreign",
                                    id,
                                    None,
                                    format!(
                                        "bản chụp chứa {foreign} thay đổi không có trong nhật ký"
                                    ),
                                    format!(
                                        "the snapshot holds {foreign} changes the log does not"
                                    ),
                                );
                            }
                            let lacking = covered.iter().filter(|h| !held.contains(h)).count();
                            if lacking > 0 {
                                r.found(
                                    "snapshot_incomplete",
                                    id,
                                    None,
                                    format!("bản chụp thiếu {lacking} thay đổi nó ghi là đã gồm"),
                                    format!(
                                        "the snapshot lacks {lacking} changes it claims to cover"
                                    ),
                                );
                            }
                            Some(doc)
                        }
                        Ok(Err(e)) => {
                            r.found(
                                "snapshot_unreadable",
                                id,
                                None,
                                format!("bản chụp không đọc được: {e}"),
                                format!("the snapshot does not load: {e}"),
                            );
                            None
                        }
                        Err(panic) => {
                            r.found(
                                "snapshot_unreadable",
                                id,
                                None,
                                format!("bản chụp làm Automerge lỗi: {panic}"),
                                format!("the snapshot makes Automerge fail: {panic}"),
                            );
                            None
                        }
                    }
                }
            }
        }
    };

    // ---- the report projection: rows as the snapshot reads ----
    if d.report.is_some() {
        r.report_rows += 1;
    }
    if d.report_due || d.merged {
        r.report_rows_not_compared += 1;
        return;
    }
    let expected = snapshot_doc
        .as_ref()
        .and_then(|doc| crate::report::record_of(&d.doc_id, doc));
    match (expected, &d.report) {
        (None, None) => {}
        (Some(_), None) => r.found(
            "report_missing",
            id,
            None,
            "hộ không có dòng nào trong số liệu báo cáo: báo cáo thiếu hộ này".into(),
            "the household has no report rows: reports leave it out".into(),
        ),
        (None, Some(_)) => r.found(
            "report_unexpected",
            id,
            None,
            "số liệu báo cáo có dòng của một hộ mà bản chụp không đọc ra là hộ".into(),
            "the report projection has rows of a household its snapshot does not read as".into(),
        ),
        (Some(rec), Some(row)) => {
            let h = &rec.household;
            let mut persons: Vec<String> = h.members.iter().map(|p| p.id.clone()).collect();
            persons.sort();
            let mut visits: Vec<String> = h.visits.iter().map(|v| v.id.clone()).collect();
            visits.sort();
            let mut differ = Vec::new();
            if row.village_id != h.village_id {
                differ.push(("thôn", "village"));
            }
            if row.head_name != h.head_name {
                differ.push(("chủ hộ", "household head"));
            }
            if row.persons != persons {
                differ.push(("thành viên", "members"));
            }
            if row.visits != visits {
                differ.push(("lần thăm", "visits"));
            }
            if !differ.is_empty() {
                let vi: Vec<&str> = differ.iter().map(|d| d.0).collect();
                let en: Vec<&str> = differ.iter().map(|d| d.1).collect();
                r.found(
                    "report_mismatch",
                    id,
                    None,
                    format!(
                        "số liệu báo cáo khác dữ liệu của hộ ({}): chạy `gocua-server admin rebuild-report`",
                        vi.join(", ")
                    ),
                    format!(
                        "the report rows differ from the household ({}): run `gocua-server admin rebuild-report`",
                        en.join(", ")
                    ),
                );
            }
        }
    }
}

fn check_totals(r: &mut CheckReport, t: &LogTotals) {
    if t.highest_seq > t.last_seq {
        r.found(
            "log_counter",
            None,
            None,
            format!(
                "nhật ký có thay đổi số {} vượt bộ đếm ({}): thay đổi mới sẽ bị đánh trùng số",
                t.highest_seq, t.last_seq
            ),
            format!(
                "the log holds seq {} beyond its counter ({}): new changes would be numbered again",
                t.highest_seq, t.last_seq
            ),
        );
    }
    if t.highest_position > t.feed.end {
        r.found(
            "feed_counter",
            None,
            None,
            format!(
                "luồng kéo có vị trí {} vượt bộ đếm ({})",
                t.highest_position, t.feed.end
            ),
            format!(
                "the feed holds position {} beyond its counter ({})",
                t.highest_position, t.feed.end
            ),
        );
    }
    if t.materialized_seq > t.last_seq {
        r.found(
            "materializer_watermark",
            None,
            None,
            format!(
                "bộ dựng ghi đã xử lý tới {} nhưng nhật ký chỉ tới {}",
                t.materialized_seq, t.last_seq
            ),
            format!(
                "the materializer's watermark ({}) is beyond the log ({})",
                t.materialized_seq, t.last_seq
            ),
        );
    }
    for (n, code, vi, en) in [
        (
            t.changes_without_document,
            "orphan_changes",
            "thay đổi thuộc hộ không tồn tại",
            "changes of a household the database does not hold",
        ),
        (
            t.feed_without_change,
            "orphan_feed",
            "dòng của luồng kéo trỏ tới thay đổi không tồn tại",
            "feed rows naming a change the log does not hold",
        ),
        (
            t.snapshots_without_document,
            "orphan_snapshots",
            "bản chụp của hộ không tồn tại",
            "snapshots of a household the database does not hold",
        ),
        (
            t.report_rows_without_document,
            "orphan_report_rows",
            "dòng báo cáo của hộ không tồn tại",
            "report rows of a household the database does not hold",
        ),
    ] {
        if n > 0 {
            r.found(code, None, None, format!("{n} {vi}"), format!("{n} {en}"));
        }
    }
}
