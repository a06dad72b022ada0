//! Conflicts: fields of a household document that two devices changed
//! concurrently. Automerge keeps every value; gocua shows one (the same on
//! every device) and lists the field, with every distinct value, for a decision.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::model::Conflict;
use crate::read::{Scope, get_map, path_at, value_text};
use crate::schema::VISITS;

/// The fields of the document that hold more than one value, sorted by path.
pub fn conflicts<D: ReadDoc>(doc: &D, household_id: &str, scope: Scope) -> Vec<Conflict> {
    let mut out = Vec::new();
    let mut stack: Vec<(ObjId, String)> = vec![(ROOT, String::new())];
    while let Some((obj, prefix)) = stack.pop() {
        // Without visits, the visits map is not walked.
        if prefix == VISITS && scope == Scope::WithoutVisits {
            continue;
        }
        for key in doc.keys(&obj) {
            let path = path_at(&prefix, &key);
            if let Some(c) = conflict_at(doc, household_id, &obj, &key, &path) {
                out.push(c);
            }
            if let Ok(Some((Value::Object(ObjType::Map), child))) = doc.get(&obj, key.as_str()) {
                stack.push((child, path));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The conflict at one key, if it holds several different values. Two devices
/// that resolved a clash the same way each wrote the value: that is no clash.
fn conflict_at<D: ReadDoc>(
    doc: &D,
    household_id: &str,
    obj: &ObjId,
    key: &str,
    path: &str,
) -> Option<Conflict> {
    let values = doc.get_all(obj, key).unwrap_or_default();
    if values.len() < 2 {
        return None;
    }
    let winner = doc.get(obj, key).ok().flatten().map(|(_, id)| id);
    let mut texts: Vec<(bool, String)> = values
        .iter()
        .map(|(v, id)| {
            let text = value_text(doc, v, id);
            (Some(id) != winner.as_ref(), text)
        })
        .collect();
    texts.sort();
    let mut shown: Vec<String> = Vec::with_capacity(texts.len());
    for (_, t) in texts {
        if !shown.contains(&t) {
            shown.push(t);
        }
    }
    if shown.len() < 2 {
        return None;
    }
    Some(Conflict {
        household_id: household_id.to_string(),
        path: path.to_string(),
        values: shown,
    })
}

/// Whether the conflict at `path` is still there (re-checked after a local write).
pub fn conflict_at_path<D: ReadDoc>(doc: &D, household_id: &str, path: &str) -> Option<Conflict> {
    let parts: Vec<&str> = path.split('/').collect();
    let (last, parents) = parts.split_last()?;
    let mut obj = ROOT;
    for p in parents {
        obj = get_map(doc, &obj, p)?;
    }
    conflict_at(doc, household_id, &obj, last, path)
}
