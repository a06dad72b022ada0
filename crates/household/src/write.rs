//! Writing the household document as gocua does: a genesis change, then the
//! household's id and fields; members and consent records as maps keyed by
//! record id; a visit written once, whole (layout in docs/data-model.md).
//!
//! Form fields are scalars, never collaborative text: a clash on one field keeps
//! every value (`get_all`) and is listed as a conflict instead of one value
//! silently winning. Collections are maps keyed by record id, so records added on
//! two devices never clash.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::model::ServiceOutcome;
use crate::schema::{
    self, CONSENTS, DOC_SCHEMA_VERSION, KIND_HOUSEHOLD, MEMBERS, TARGET_GROUPS, VISITS,
};

/// A scalar field to set, or to delete with `None`.
pub type FieldEdit = (&'static str, Option<ScalarValue>);

/// Who made a change and when: stamped on every commit.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub volunteer_id: String,
    pub at: String,
    pub at_secs: i64,
}

impl Stamp {
    pub fn commit_options(&self, action: &str) -> CommitOptions {
        let message = serde_json::json!({ "action": action, "by": self.volunteer_id }).to_string();
        CommitOptions::default()
            .with_message(message)
            .with_time(self.at_secs)
    }
}

pub fn str_value(s: impl Into<String>) -> Option<ScalarValue> {
    Some(ScalarValue::Str(s.into().into()))
}

pub fn opt_str(s: Option<String>) -> Option<ScalarValue> {
    s.map(|s| ScalarValue::Str(s.into()))
}

pub fn opt_int(i: Option<i64>) -> Option<ScalarValue> {
    i.map(ScalarValue::Int)
}

pub fn opt_bool(b: Option<bool>) -> Option<ScalarValue> {
    b.map(ScalarValue::Boolean)
}

type TxResult<T> = Result<T, automerge::AutomergeError>;

/// Writes `value` over every value `key` holds. Over a conflict, Automerge turns
/// a put of the value already shown into a delete of the other values only, and
/// a concurrent resolution to another value then wins without a clash: deleting
/// first makes the put a new operation that clashes with any concurrent write.
fn put_over<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: ScalarValue,
) -> TxResult<()> {
    if tx.get_all(obj, key)?.len() > 1 {
        tx.delete(obj, key)?;
    }
    tx.put(obj, key, value)
}

fn apply_edits<T: Transactable>(tx: &mut T, obj: &ObjId, edits: &[FieldEdit]) -> TxResult<()> {
    for (key, value) in edits {
        match value {
            Some(v) => put_over(tx, obj, key, v.clone())?,
            None => {
                if tx.get(obj, *key)?.is_some() {
                    tx.delete(obj, *key)?;
                }
            }
        }
    }
    Ok(())
}

fn child_map<T: Transactable>(tx: &T, parent: &ObjId, key: &str) -> TxResult<Option<ObjId>> {
    Ok(match tx.get(parent, key)? {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    })
}

fn ensure_map<T: Transactable>(tx: &mut T, parent: &ObjId, key: &str) -> TxResult<ObjId> {
    match child_map(tx, parent, key)? {
        Some(id) => Ok(id),
        None => tx.put_object(parent, key, ObjType::Map),
    }
}

/// Writes a new household document's first change (its genesis): the kind,
/// the village and the empty collections, and a random nonce so that two
/// households created at the same second differ. The household's id is
/// derived from this change's hash (`gocua_protocol::ids`), so it is written
/// by [`fill_household`], in the next change.
pub fn create_household<T: Transactable>(
    tx: &mut T,
    stamp: &Stamp,
    commune_code: &str,
    village_id: &str,
    nonce: &str,
) -> TxResult<()> {
    tx.put(&ROOT, schema::KIND, KIND_HOUSEHOLD)?;
    tx.put(
        &ROOT,
        schema::SCHEMA_VERSION,
        ScalarValue::Int(DOC_SCHEMA_VERSION),
    )?;
    tx.put(&ROOT, schema::NONCE, nonce)?;
    tx.put(&ROOT, schema::COMMUNE_CODE, commune_code)?;
    tx.put(&ROOT, schema::VILLAGE_ID, village_id)?;
    tx.put(&ROOT, schema::CREATED_AT, stamp.at.as_str())?;
    tx.put(&ROOT, schema::CREATED_BY, stamp.volunteer_id.as_str())?;
    tx.put_object(&ROOT, TARGET_GROUPS, ObjType::Map)?;
    tx.put_object(&ROOT, MEMBERS, ObjType::Map)?;
    tx.put_object(&ROOT, VISITS, ObjType::Map)?;
    tx.put_object(&ROOT, CONSENTS, ObjType::Map)?;
    Ok(())
}

/// The new household's second change: its id and its fields.
pub fn fill_household<T: Transactable>(
    tx: &mut T,
    id: &str,
    edits: &[FieldEdit],
    target_groups: &[String],
) -> TxResult<()> {
    tx.put(&ROOT, schema::ID, id)?;
    apply_edits(tx, &ROOT, edits)?;
    let groups = ensure_map(tx, &ROOT, TARGET_GROUPS)?;
    for g in target_groups {
        tx.put(&groups, g.as_str(), true)?;
    }
    Ok(())
}

/// A new household document, as every gocua writer makes it: its genesis,
/// then its id and fields. Returns the id, the document and its two changes.
pub fn new_household(
    actor: automerge::ActorId,
    stamp: &Stamp,
    commune_code: &str,
    village_id: &str,
    edits: &[FieldEdit],
    target_groups: &[String],
) -> TxResult<(String, Automerge, Vec<automerge::Change>)> {
    let mut document = Automerge::new().with_actor(actor);
    let nonce = uuid::Uuid::now_v7().to_string();
    let genesis = commit(&mut document, stamp, "household.add", |tx| {
        create_household(tx, stamp, commune_code, village_id, &nonce)
    })?
    .ok_or(automerge::AutomergeError::Fail)?;
    let id = gocua_protocol::ids::derived_doc_id(&genesis.hash().0);
    let fill = commit(&mut document, stamp, "household.add", |tx| {
        fill_household(tx, &id, edits, target_groups)
    })?;
    let changes = std::iter::once(genesis).chain(fill).collect();
    Ok((id, document, changes))
}

pub fn edit_household<T: Transactable>(
    tx: &mut T,
    edits: &[FieldEdit],
    add_groups: &[String],
    remove_groups: &[String],
) -> TxResult<()> {
    apply_edits(tx, &ROOT, edits)?;
    if !add_groups.is_empty() || !remove_groups.is_empty() {
        let groups = ensure_map(tx, &ROOT, TARGET_GROUPS)?;
        for g in add_groups {
            tx.put(&groups, g.as_str(), true)?;
        }
        for g in remove_groups {
            if tx.get(&groups, g.as_str())?.is_some() {
                tx.delete(&groups, g.as_str())?;
            }
        }
    }
    Ok(())
}

/// Adds or edits the record `id` of a collection (members, consents).
pub fn put_record<T: Transactable>(
    tx: &mut T,
    collection: &str,
    id: &str,
    edits: &[FieldEdit],
) -> TxResult<()> {
    let coll = ensure_map(tx, &ROOT, collection)?;
    let rec = ensure_map(tx, &coll, id)?;
    apply_edits(tx, &rec, edits)
}

/// A visit: scalar fields, the volunteers' and people's ids as comma-separated
/// scalars (a visit is written once, by one device), its services as a map of
/// code to outcome and, when there are any, a map of code to note. Few
/// operations per visit keep recording one cheap.
pub fn put_visit<T: Transactable>(
    tx: &mut T,
    id: &str,
    edits: &[FieldEdit],
    volunteer_ids: &[String],
    person_ids: &[String],
    services: &[ServiceOutcome],
) -> TxResult<()> {
    let visits = ensure_map(tx, &ROOT, VISITS)?;
    let visit = tx.put_object(&visits, id, ObjType::Map)?;
    apply_edits(tx, &visit, edits)?;
    tx.put(
        &visit,
        schema::visit::VOLUNTEER_IDS,
        volunteer_ids.join(","),
    )?;
    if !person_ids.is_empty() {
        tx.put(&visit, schema::visit::PERSON_IDS, person_ids.join(","))?;
    }
    let svcs = tx.put_object(&visit, schema::visit::SERVICES, ObjType::Map)?;
    for s in services {
        tx.put(&svcs, s.service.as_str(), s.outcome.as_str())?;
    }
    if services.iter().any(|s| s.note.is_some()) {
        let notes = tx.put_object(&visit, schema::visit::SERVICE_NOTES, ObjType::Map)?;
        for s in services {
            if let Some(note) = &s.note {
                tx.put(&notes, s.service.as_str(), note.as_str())?;
            }
        }
    }
    Ok(())
}

/// Corrects a visit: its scalar fields, and services set (`services`, with
/// their notes) or taken out (`remove_services`). A service is a key of the
/// visit's services map, so two devices correcting different services of one
/// visit never clash, and the same one clash as any field does.
pub fn edit_visit<T: Transactable>(
    tx: &mut T,
    id: &str,
    edits: &[FieldEdit],
    services: &[ServiceOutcome],
    remove_services: &[String],
) -> TxResult<()> {
    let visits = ensure_map(tx, &ROOT, VISITS)?;
    let visit = ensure_map(tx, &visits, id)?;
    apply_edits(tx, &visit, edits)?;
    if !services.is_empty() || !remove_services.is_empty() {
        let svcs = ensure_map(tx, &visit, schema::visit::SERVICES)?;
        for s in services {
            put_over(tx, &svcs, &s.service, s.outcome.as_str().into())?;
        }
        for code in remove_services {
            if tx.get(&svcs, code.as_str())?.is_some() {
                tx.delete(&svcs, code.as_str())?;
            }
        }
        let has_notes = services.iter().any(|s| s.note.is_some());
        let notes = match child_map(tx, &visit, schema::visit::SERVICE_NOTES)? {
            Some(n) => Some(n),
            None if has_notes => {
                Some(tx.put_object(&visit, schema::visit::SERVICE_NOTES, ObjType::Map)?)
            }
            None => None,
        };
        if let Some(notes) = notes {
            for s in services {
                if let Some(note) = &s.note {
                    put_over(tx, &notes, &s.service, note.as_str().into())?;
                }
            }
            for code in remove_services {
                if tx.get(&notes, code.as_str())?.is_some() {
                    tx.delete(&notes, code.as_str())?;
                }
            }
        }
    }
    Ok(())
}

/// Makes the map `dst` hold what `src`'s map `src_obj` holds, keys in `skip`
/// aside: maps are copied key by key (created where missing), scalars put
/// where they differ, text objects put as strings, keys `src` lacks deleted.
/// Lists are not part of the household layout and are left alone. Used to
/// carry a household's state onto another base (a refused move redone).
pub fn copy_map<T: Transactable, D: ReadDoc>(
    tx: &mut T,
    dst: &ObjId,
    src: &D,
    src_obj: &ObjId,
    skip: &[&str],
) -> TxResult<()> {
    let keys: Vec<String> = src.keys(src_obj).collect();
    for key in &keys {
        if skip.contains(&key.as_str()) {
            continue;
        }
        match src.get(src_obj, key.as_str())? {
            Some((Value::Object(ObjType::Map), child)) => {
                let target = ensure_map(tx, dst, key)?;
                copy_map(tx, &target, src, &child, &[])?;
            }
            Some((Value::Object(ObjType::Text), child)) => {
                let text = src.text(&child)?;
                put_if_other(tx, dst, key, ScalarValue::Str(text.into()))?;
            }
            Some((Value::Scalar(value), _)) => {
                put_if_other(tx, dst, key, value.into_owned())?;
            }
            _ => {}
        }
    }
    let extra: Vec<String> = tx
        .keys(dst)
        .filter(|k| !keys.contains(k) && !skip.contains(&k.as_str()))
        .collect();
    for key in extra {
        tx.delete(dst, key.as_str())?;
    }
    Ok(())
}

fn put_if_other<T: Transactable>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: ScalarValue,
) -> TxResult<()> {
    let same = matches!(
        tx.get(obj, key)?,
        Some((Value::Scalar(ref v), _)) if v.as_ref() == &value
    ) && tx.get_all(obj, key)?.len() == 1;
    if same {
        return Ok(());
    }
    put_over(tx, obj, key, value)
}

/// Sets the value at a `/`-separated path (to resolve a conflict).
pub fn put_path<T: Transactable>(tx: &mut T, path: &str, value: ScalarValue) -> TxResult<bool> {
    let parts: Vec<&str> = path.split('/').collect();
    let Some((last, parents)) = parts.split_last() else {
        return Ok(false);
    };
    let mut obj = ROOT;
    for p in parents {
        match child_map(tx, &obj, p)? {
            Some(id) => obj = id,
            None => return Ok(false),
        }
    }
    put_over(tx, &obj, last, value)?;
    Ok(true)
}

/// Commits `f` on `doc` stamped with `action`; returns the new change, if any.
pub fn commit<F>(
    doc: &mut Automerge,
    stamp: &Stamp,
    action: &str,
    f: F,
) -> Result<Option<automerge::Change>, automerge::AutomergeError>
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> TxResult<()>,
{
    let opts = stamp.commit_options(action);
    match doc.transact_with(|_| opts, f) {
        Ok(success) => Ok(match success.hash {
            Some(hash) => doc.get_change_by_hash(&hash),
            None => None,
        }),
        Err(failure) => Err(failure.error),
    }
}

/// Marks this household merged into `into` ([`crate::merge`]): the mark is
/// put whole, as a new map, so that two merges made at once on two devices
/// keep one of them whole rather than a mix of both.
pub fn put_merge<T: Transactable>(
    tx: &mut T,
    into: &str,
    stamp: &Stamp,
    members: &std::collections::BTreeMap<String, String>,
) -> TxResult<()> {
    use crate::schema::merge as m;
    let obj = tx.put_object(ROOT, schema::MERGED_INTO, ObjType::Map)?;
    tx.put(&obj, m::INTO, into)?;
    tx.put(&obj, m::AT, stamp.at.as_str())?;
    tx.put(&obj, m::BY, stamp.volunteer_id.as_str())?;
    let pairs = tx.put_object(&obj, m::MEMBERS, ObjType::Map)?;
    for (here, there) in members {
        tx.put(&pairs, here.as_str(), there.as_str())?;
    }
    Ok(())
}

/// Undoes a merge: the household stands alone again, with its own records.
pub fn clear_merge<T: Transactable>(tx: &mut T) -> TxResult<()> {
    if tx.get(ROOT, schema::MERGED_INTO)?.is_some() {
        tx.delete(ROOT, schema::MERGED_INTO)?;
    }
    Ok(())
}
