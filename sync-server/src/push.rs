//! The push path's rules, the same for every backend: parse the bundle, find
//! what each change does to the household's village, and decide per document
//! whether the device may store it. No document is loaded.

use automerge::Change;
use automerge::legacy::{Key, ObjectId, OpType};
use gocua_protocol::{Refusal, codes};

use crate::storage::{IncomingChange, IncomingDoc, VillageSet};

/// Input that is refused as a whole, storing nothing (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub code: &'static str,
    pub message: String,
}

/// The root key that files a household under a village.
pub const VILLAGE_KEY: &str = "village_id";

/// Decodes a push body and parses every change. A bundle that cannot be read,
/// a document id that is not a UUID, or a change that is not a valid
/// Automerge change refuses the whole push: a client that sends such bytes is
/// broken, and storing part of its push would hide that.
pub fn inspect(body: &[u8]) -> Result<Vec<IncomingDoc>, BadInput> {
    let docs = gocua_protocol::bundle::decode(body).map_err(|e| BadInput {
        code: codes::BAD_BUNDLE,
        message: e.to_string(),
    })?;
    let mut out: Vec<IncomingDoc> = Vec::with_capacity(docs.len());
    for d in docs {
        if uuid::Uuid::parse_str(&d.doc_id).is_err() {
            return Err(BadInput {
                code: codes::BAD_BUNDLE,
                message: format!("document id {:?} is not a UUID", d.doc_id),
            });
        }
        let mut changes = Vec::with_capacity(d.changes.len());
        let mut village_sets = Vec::new();
        for (i, bytes) in d.changes.into_iter().enumerate() {
            let change = Change::from_bytes(bytes).map_err(|e| BadInput {
                code: codes::BAD_CHANGE,
                message: format!(
                    "document {}: item {i} is not an Automerge change: {e}",
                    d.doc_id
                ),
            })?;
            // `Change::from_bytes` does not check the chunk's checksum (bytes
            // 4..8, the first bytes of the change's hash): a flipped bit
            // would otherwise be stored as a different, valid-looking change.
            let hash = change.hash().0;
            if change.raw_bytes().get(4..8) != Some(&hash[..4]) {
                return Err(BadInput {
                    code: codes::BAD_CHANGE,
                    message: format!(
                        "document {}: item {i} is damaged (its checksum does not match)",
                        d.doc_id
                    ),
                });
            }
            village_sets.extend(village_sets_of(&change));
            changes.push(IncomingChange {
                hash,
                bytes: change.raw_bytes().to_vec(),
            });
        }
        if changes.is_empty() {
            continue;
        }
        // A document named twice in one bundle is one document.
        match out.iter_mut().find(|o| o.doc_id == d.doc_id) {
            Some(o) => {
                o.changes.extend(changes);
                o.village_sets.extend(village_sets);
            }
            None => out.push(IncomingDoc {
                doc_id: d.doc_id,
                changes,
                village_sets,
            }),
        }
    }
    Ok(out)
}

/// What a change does to root `village_id`.
pub fn village_sets_of(change: &Change) -> Vec<VillageSet> {
    change
        .decode()
        .operations
        .into_iter()
        .filter(|op| {
            op.obj == ObjectId::Root && matches!(&op.key, Key::Map(k) if k.as_str() == VILLAGE_KEY)
        })
        .map(|op| match op.action {
            OpType::Put(automerge::ScalarValue::Str(s)) => VillageSet::To(s.to_string()),
            _ => VillageSet::Other,
        })
        .collect()
}

fn refusal(doc: &IncomingDoc, code: &str, message: String) -> Refusal {
    Refusal {
        doc_id: doc.doc_id.clone(),
        code: code.to_string(),
        message,
    }
}

/// A volunteer's device may store a document only in its team's villages:
/// a known document must be filed under one of them, a change may set
/// `village_id` only to one of them, and a document the server does not know
/// must say (in this push) which of them it belongs to. `Ok` is the village to
/// file the changes under.
pub fn device_rule(
    allowed: &[String],
    doc: &IncomingDoc,
    stored: Option<&str>,
) -> Result<String, Refusal> {
    let allowed_has = |v: &str| allowed.iter().any(|a| a == v);
    match stored {
        Some(village) => {
            if !allowed_has(village) {
                return Err(refusal(
                    doc,
                    codes::OUTSIDE_VILLAGES,
                    format!(
                        "household {} belongs to village {village}, which is not one of this device's villages",
                        doc.doc_id
                    ),
                ));
            }
            let mut last = village.to_string();
            for set in &doc.village_sets {
                match set {
                    VillageSet::To(v) if allowed_has(v) => last = v.clone(),
                    VillageSet::To(v) => {
                        return Err(refusal(
                            doc,
                            codes::MOVES_VILLAGE,
                            format!(
                                "household {} would move to village {v}, which is not one of this device's villages",
                                doc.doc_id
                            ),
                        ));
                    }
                    VillageSet::Other => {
                        return Err(refusal(
                            doc,
                            codes::MOVES_VILLAGE,
                            format!(
                                "household {} would lose its village (village_id removed or not text)",
                                doc.doc_id
                            ),
                        ));
                    }
                }
            }
            Ok(last)
        }
        None => {
            let mut last = None;
            for set in &doc.village_sets {
                match set {
                    VillageSet::To(v) if allowed_has(v) => last = Some(v.clone()),
                    VillageSet::To(v) => {
                        return Err(refusal(
                            doc,
                            codes::OUTSIDE_VILLAGES,
                            format!(
                                "household {} is in village {v}, which is not one of this device's villages",
                                doc.doc_id
                            ),
                        ));
                    }
                    VillageSet::Other => {
                        return Err(refusal(
                            doc,
                            codes::UNKNOWN_DOCUMENT,
                            format!("household {} has no valid village_id", doc.doc_id),
                        ));
                    }
                }
            }
            last.ok_or_else(|| {
                refusal(
                    doc,
                    codes::UNKNOWN_DOCUMENT,
                    format!(
                        "the server does not know household {} and these changes do not say its village: push its first change too",
                        doc.doc_id
                    ),
                )
            })
        }
    }
}
