//! Conflicts: fields of a household document that two devices changed
//! concurrently. Automerge keeps every value; gocua shows one (the same on
//! every device) and lists the field, with every distinct value, for a decision.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::model::Conflict;
use crate::read::{Scope, get_map, path_at, value_text};
use crate::schema::{self, VISITS};

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
            let text = shown_text(doc, key, v, id);
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

/// A value as a conflict shows it. Two merge marks made at once are maps:
/// what tells them apart is the household each names (the same household
/// twice is no conflict).
fn shown_text<D: ReadDoc>(doc: &D, key: &str, v: &Value<'_>, id: &ObjId) -> String {
    if key == schema::MERGED_INTO
        && matches!(v, Value::Object(ObjType::Map))
        && let Some(into) = crate::read::get_str(doc, id, schema::merge::INTO)
    {
        return into;
    }
    value_text(doc, v, id)
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

/// One value of a field in conflict, with the change that set it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValueOrigin {
    pub value: String,
    /// The volunteer id the change's message names (`"by"`), if it does.
    pub by: Option<String>,
    /// The change's time, seconds since 1970 (0 when the writer gave none).
    pub at_secs: i64,
}

/// The values at `path`, in the order [`conflicts`] lists them, each with who
/// set it and when: the change holding the value's operation, its commit
/// message's `"by"` and its time (see `Stamp::commit_options`). A value set
/// alike by several changes is given with the latest of them.
pub fn value_origins(doc: &automerge::Automerge, path: &str) -> Vec<ValueOrigin> {
    let parts: Vec<&str> = path.split('/').collect();
    let Some((last, parents)) = parts.split_last() else {
        return Vec::new();
    };
    let mut obj = ROOT;
    for p in parents {
        match get_map(doc, &obj, p) {
            Some(o) => obj = o,
            None => return Vec::new(),
        }
    }
    let values = doc.get_all(&obj, *last).unwrap_or_default();
    let winner = doc.get(&obj, *last).ok().flatten().map(|(_, id)| id);
    let changes = doc.get_changes(&[]);
    let mut found: Vec<(bool, ValueOrigin)> = Vec::new();
    for (v, id) in &values {
        let value = shown_text(doc, last, v, id);
        let change = match id {
            automerge::ObjId::Id(counter, actor, _) => changes.iter().find(|c| {
                c.actor_id() == actor
                    && (c.start_op().get()..c.start_op().get() + c.len() as u64).contains(counter)
            }),
            automerge::ObjId::Root => None,
        };
        let by = change.and_then(|c| {
            let message: serde_json::Value = serde_json::from_str(c.message()?).ok()?;
            message.get("by")?.as_str().map(str::to_string)
        });
        let origin = ValueOrigin {
            value,
            by,
            at_secs: change.map_or(0, |c| c.timestamp()),
        };
        let shown_later = Some(id) != winner.as_ref();
        match found.iter_mut().find(|(_, o)| o.value == origin.value) {
            Some((later, o)) => {
                *later &= shown_later;
                if o.at_secs < origin.at_secs {
                    *o = origin;
                }
            }
            None => found.push((shown_later, origin)),
        }
    }
    found.sort_by(|a, b| (a.0, &a.1.value).cmp(&(b.0, &b.1.value)));
    found.into_iter().map(|(_, o)| o).collect()
}
