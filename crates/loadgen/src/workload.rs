//! The devices' work, built before the timed phase: one Automerge document per
//! household made the way field-core makes it (`doc::new_household`, then
//! `doc::put_visit` per visit, each commit stamped, the device's id as actor),
//! cut into push bodies the way the client cuts its outbox.

use std::io::Write;

use automerge::{ActorId, Automerge};
use field_core::doc::{self, FieldEdit, Stamp};
use gocua_protocol::bundle::{self, DocChanges};
use uuid::Uuid;

/// The client gzips bodies larger than this.
pub use gocua_protocol::COMPRESS_OVER;

/// One device's identity as the server enrolled it.
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    pub device_id: String,
    pub token: String,
    pub volunteer_id: String,
    pub team_id: String,
    pub village: usize,
    pub village_id: String,
    pub village_name: String,
    pub commune_code: String,
}

/// A push request body, ready to send.
#[derive(Debug, Clone)]
pub struct PushBody {
    pub body: Vec<u8>,
    pub gzipped: bool,
    pub changes: u64,
    pub visits: u64,
    /// The bundle's size before compression.
    pub raw_len: usize,
}

#[derive(Debug, Clone, Default)]
pub struct DeviceWork {
    pub pushes: Vec<PushBody>,
    pub households: u64,
    pub visits: u64,
    pub changes: u64,
    pub change_bytes: u64,
}

fn actor_for(device_id: &str) -> ActorId {
    match Uuid::parse_str(device_id) {
        Ok(u) => ActorId::from(u.as_bytes().as_slice()),
        Err(_) => ActorId::from(device_id.as_bytes()),
    }
}

/// Gzips like the client: only bodies over 1 KiB, and only when it helps.
pub fn gzip_like_client(body: Vec<u8>, enabled: bool) -> (Vec<u8>, bool) {
    if !enabled || body.len() <= COMPRESS_OVER {
        return (body, false);
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    match enc.write_all(&body).and_then(|_| enc.finish()) {
        Ok(z) if z.len() < body.len() => (z, true),
        _ => (body, false),
    }
}

/// Builds `visits` visits in households of `per_household` visits for one
/// device, cut into pushes of about `per_push` visits (a household's creation
/// rides with its first visits).
pub fn build(
    dev: &DeviceIdentity,
    seed: u64,
    visits: usize,
    per_household: usize,
    per_push: usize,
    gzip: bool,
) -> anyhow::Result<(DeviceWork, LastDoc)> {
    let per_household = per_household.max(1);
    let per_push = per_push.max(1);
    let households = visits.div_ceil(per_household);
    let records =
        gocua_village_gen::generate(seed, std::slice::from_ref(&dev.village_name), households);
    let now = time::OffsetDateTime::now_utc();
    let stamp = Stamp {
        volunteer_id: dev.volunteer_id.clone(),
        at: field_core::validate::format_utc(now).unwrap_or_default(),
        at_secs: now.unix_timestamp(),
    };
    let actor = actor_for(&dev.device_id);
    let mut work = DeviceWork::default();
    let mut batch: Vec<DocChanges> = Vec::new();
    let mut batch_visits = 0u64;
    let mut batch_changes = 0u64;
    let mut left = visits;
    let mut last: LastDoc = None;
    let seal = |batch: &mut Vec<DocChanges>, v: &mut u64, c: &mut u64, w: &mut DeviceWork| {
        if batch.is_empty() {
            return;
        }
        let raw = bundle::encode(batch);
        let raw_len = raw.len();
        let (body, gzipped) = gzip_like_client(raw, gzip);
        w.pushes.push(PushBody {
            body,
            gzipped,
            changes: *c,
            visits: *v,
            raw_len,
        });
        batch.clear();
        *v = 0;
        *c = 0;
    };
    for (i, rec) in records.iter().enumerate() {
        let h = &rec.household;
        let edits: Vec<FieldEdit> = vec![
            ("head_name", doc::str_value(h.head_name.clone())),
            ("address", doc::str_value(h.address.clone())),
            ("phone", doc::opt_str(h.phone.clone())),
            ("member_count", doc::opt_int(h.member_count)),
            ("device_access", doc::opt_str(h.device_access.clone())),
        ];
        let (hid, mut document, first) = doc::new_household(
            actor.clone(),
            &stamp,
            &dev.commune_code,
            &dev.village_id,
            &edits,
            &h.target_groups,
        )?;
        // The household's creation: its first change and its fields.
        let creation = first.len();
        let mut changes: Vec<Vec<u8>> = first.iter().map(|c| c.raw_bytes().to_vec()).collect();
        let n = per_household.min(left);
        left -= n;
        let mut household_visits = 0u64;
        for k in 0..n {
            // The generator's visits of this household, or of the next ones.
            let src = rec
                .visits
                .get(k)
                .or_else(|| records.get((i + k) % records.len())?.visits.first())
                .map(|v| v.visit.clone())
                .unwrap_or_default();
            let vid = Uuid::now_v7().to_string();
            let mut services = src.services.clone();
            if services.is_empty() {
                services.push(field_core::ServiceOutcome {
                    service: "vneid_activate".into(),
                    outcome: "done".into(),
                    note: None,
                });
            }
            let visit_edits: Vec<FieldEdit> = vec![
                (
                    "visited_at",
                    doc::str_value(src.visited_at.clone().unwrap_or_else(|| stamp.at.clone())),
                ),
                ("team_id", doc::str_value(dev.team_id.clone())),
                ("duration_minutes", doc::opt_int(src.duration_minutes)),
                ("follow_up_on", doc::opt_str(src.follow_up_on.clone())),
                ("feedback", doc::opt_str(src.feedback.clone())),
                ("consent_id", None),
                ("recorded_at", doc::str_value(stamp.at.clone())),
                ("recorded_by", doc::str_value(stamp.volunteer_id.clone())),
            ];
            let volunteers = vec![dev.volunteer_id.clone()];
            if let Some(c) = doc::commit(&mut document, &stamp, "visit.record", |tx| {
                doc::put_visit(tx, &vid, &visit_edits, &volunteers, &[], &services)
            })? {
                changes.push(c.raw_bytes().to_vec());
                household_visits += 1;
            }
        }
        work.households += 1;
        work.visits += household_visits;
        work.changes += changes.len() as u64;
        work.change_bytes += changes.iter().map(|c| c.len() as u64).sum::<u64>();
        // The household's changes (its creation first), cut where a push is
        // full of visits.
        let mut part = Vec::new();
        for (k, c) in changes.into_iter().enumerate() {
            part.push(c);
            batch_changes += 1;
            if k >= creation {
                batch_visits += 1;
            }
            if batch_visits as usize >= per_push {
                batch.push(DocChanges {
                    doc_id: hid.clone(),
                    changes: std::mem::take(&mut part),
                });
                seal(&mut batch, &mut batch_visits, &mut batch_changes, &mut work);
            }
        }
        if !part.is_empty() {
            batch.push(DocChanges {
                doc_id: hid.clone(),
                changes: part,
            });
        }
        last = Some((hid, document, stamp.clone()));
    }
    seal(&mut batch, &mut batch_visits, &mut batch_changes, &mut work);
    Ok((work, last))
}

/// A device's last household document, to add one more visit to later.
pub type LastDoc = Option<(String, Automerge, Stamp)>;

/// Builds every device's work on all cores; keeps the first device's last
/// document.
pub fn build_all(
    devices: &[DeviceIdentity],
    seed: u64,
    visits: usize,
    per_household: usize,
    per_push: usize,
    gzip: bool,
) -> anyhow::Result<Vec<(DeviceWork, LastDoc)>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(devices.len().max(1));
    let chunk = devices.len().div_ceil(threads).max(1);
    let parts: Vec<anyhow::Result<Vec<(DeviceWork, LastDoc)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .chunks(chunk)
            .enumerate()
            .map(|(c, devs)| {
                s.spawn(move || {
                    devs.iter()
                        .enumerate()
                        .map(|(k, d)| {
                            let i = c * chunk + k;
                            let (w, last) = build(
                                d,
                                seed.wrapping_add(i as u64),
                                visits,
                                per_household,
                                per_push,
                                gzip,
                            )?;
                            Ok((w, if i == 0 { last } else { None }))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a builder thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(devices.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// One more visit in `last`'s household, as a push body of that one change.
pub fn one_more_visit(
    last: (String, Automerge, Stamp),
    dev: &DeviceIdentity,
    gzip: bool,
) -> anyhow::Result<PushBody> {
    let (hid, mut document, stamp) = last;
    let vid = Uuid::now_v7().to_string();
    let edits: Vec<FieldEdit> = vec![
        ("visited_at", doc::str_value(stamp.at.clone())),
        ("team_id", doc::str_value(dev.team_id.clone())),
        ("duration_minutes", doc::opt_int(Some(20))),
        ("recorded_at", doc::str_value(stamp.at.clone())),
        ("recorded_by", doc::str_value(stamp.volunteer_id.clone())),
    ];
    let services = vec![field_core::ServiceOutcome {
        service: "vneid_activate".into(),
        outcome: "done".into(),
        note: None,
    }];
    let volunteers = vec![dev.volunteer_id.clone()];
    let change = doc::commit(&mut document, &stamp, "visit.record", |tx| {
        doc::put_visit(tx, &vid, &edits, &volunteers, &[], &services)
    })?
    .ok_or_else(|| anyhow::anyhow!("the visit made no change"))?;
    let raw = bundle::encode(&[DocChanges {
        doc_id: hid,
        changes: vec![change.raw_bytes().to_vec()],
    }]);
    let raw_len = raw.len();
    let (body, gzipped) = gzip_like_client(raw, gzip);
    Ok(PushBody {
        body,
        gzipped,
        changes: 1,
        visits: 1,
        raw_len,
    })
}
