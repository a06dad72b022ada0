//! The household document: one Automerge document per household, holding its
//! members, visits and consent records (layout in docs/data-model.md).
//!
//! Form fields are scalars, never collaborative text: a clash on one field keeps
//! every value (`get_all`) and is listed as a [`Conflict`] instead of one value
//! silently winning. Collections are maps keyed by record id, so records added on
//! two devices never clash.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::model::{
    Conflict, Consent, ConsentMethod, DOC_SCHEMA_VERSION, DeviceAccess, Gender, Household, Person,
    SKILL_FLAGS, ServiceOutcome, Skills, Visit, VneidLevel,
};

pub const MEMBERS: &str = "members";
pub const VISITS: &str = "visits";
pub const CONSENTS: &str = "consents";
pub const TARGET_GROUPS: &str = "target_groups";
pub const KIND_HOUSEHOLD: &str = "household";

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

fn apply_edits<T: Transactable>(tx: &mut T, obj: &ObjId, edits: &[FieldEdit]) -> TxResult<()> {
    for (key, value) in edits {
        match value {
            Some(v) => tx.put(obj, *key, v.clone())?,
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
    tx.put(&ROOT, "kind", KIND_HOUSEHOLD)?;
    tx.put(
        &ROOT,
        "schema_version",
        ScalarValue::Int(DOC_SCHEMA_VERSION),
    )?;
    tx.put(&ROOT, "nonce", nonce)?;
    tx.put(&ROOT, "commune_code", commune_code)?;
    tx.put(&ROOT, "village_id", village_id)?;
    tx.put(&ROOT, "created_at", stamp.at.as_str())?;
    tx.put(&ROOT, "created_by", stamp.volunteer_id.as_str())?;
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
    tx.put(&ROOT, "id", id)?;
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
    tx.put(&visit, "volunteer_ids", volunteer_ids.join(","))?;
    if !person_ids.is_empty() {
        tx.put(&visit, "person_ids", person_ids.join(","))?;
    }
    let svcs = tx.put_object(&visit, "services", ObjType::Map)?;
    for s in services {
        tx.put(&svcs, s.service.as_str(), s.outcome.as_str())?;
    }
    if services.iter().any(|s| s.note.is_some()) {
        let notes = tx.put_object(&visit, "service_notes", ObjType::Map)?;
        for s in services {
            if let Some(note) = &s.note {
                tx.put(&notes, s.service.as_str(), note.as_str())?;
            }
        }
    }
    Ok(())
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
    tx.put(&obj, *last, value)?;
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

// ---- reading ----

fn scalar(v: &Value<'_>) -> Option<ScalarValue> {
    match v {
        Value::Scalar(s) => Some(s.as_ref().clone()),
        Value::Object(_) => None,
    }
}

/// How a scalar reads as text, for conflicts and for tolerant reads.
pub fn scalar_text(s: &ScalarValue) -> String {
    match s {
        ScalarValue::Str(s) => s.to_string(),
        ScalarValue::Int(i) => i.to_string(),
        ScalarValue::Uint(u) => u.to_string(),
        ScalarValue::F64(f) => f.to_string(),
        ScalarValue::Boolean(b) => b.to_string(),
        ScalarValue::Timestamp(t) => t.to_string(),
        ScalarValue::Counter(c) => i64::from(c).to_string(),
        ScalarValue::Null => "null".into(),
        other => format!("{other}"),
    }
}

pub fn get_str<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            ScalarValue::Null => None,
            other => Some(scalar_text(other)),
        },
        _ => None,
    }
}

fn get_int<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Int(i) => Some(*i),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            ScalarValue::Str(s) => s.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn get_bool<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<bool> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Boolean(b) => Some(*b),
            _ => None,
        },
        _ => None,
    }
}

pub fn get_map<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// The keys of a map whose value is `true` (sets of ids and codes), sorted.
fn key_set<D: ReadDoc>(doc: &D, obj: Option<&ObjId>) -> Vec<String> {
    let Some(obj) = obj else { return Vec::new() };
    let mut keys: Vec<String> = doc
        .keys(obj)
        .filter(|k| get_bool(doc, obj, k) == Some(true))
        .collect();
    keys.sort();
    keys
}

/// Reads a household from its document. Tolerant of fields it does not know or of
/// the wrong type (a peer may run another version): they read as absent.
pub fn read_household<D: ReadDoc>(doc: &D) -> Result<Household, String> {
    read_household_part(doc, Scope::All)
}

/// Reads a household with or without its visits, and the conflicts of that part.
pub fn read_household_part<D: ReadDoc>(doc: &D, scope: Scope) -> Result<Household, String> {
    let root = ROOT;
    let kind = get_str(doc, &root, "kind");
    if kind.as_deref() != Some(KIND_HOUSEHOLD) {
        return Err(format!("not a household document (kind {kind:?})"));
    }
    let id = get_str(doc, &root, "id").ok_or("the document has no id")?;
    let members_obj = get_map(doc, &root, MEMBERS);
    let visits_obj = get_map(doc, &root, VISITS);
    let consents_obj = get_map(doc, &root, CONSENTS);

    let mut members: Vec<Person> = records(doc, members_obj.as_ref())
        .map(|(pid, obj)| read_person(doc, pid, &obj))
        .collect();
    members.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let mut visits: Vec<Visit> = match scope {
        Scope::All => records(doc, visits_obj.as_ref())
            .map(|(vid, obj)| read_visit(doc, vid, &obj))
            .collect(),
        Scope::WithoutVisits => Vec::new(),
    };
    visits.sort_by(|a, b| (&a.visited_at, &a.id).cmp(&(&b.visited_at, &b.id)));
    let mut consents: Vec<Consent> = records(doc, consents_obj.as_ref())
        .map(|(cid, obj)| read_consent(doc, cid, &obj))
        .collect();
    consents.sort_by(|a, b| (&a.given_at, &a.id).cmp(&(&b.given_at, &b.id)));

    Ok(Household {
        schema_version: get_int(doc, &root, "schema_version").unwrap_or(0),
        commune_code: get_str(doc, &root, "commune_code").unwrap_or_default(),
        village_id: get_str(doc, &root, "village_id").unwrap_or_default(),
        address: get_str(doc, &root, "address").unwrap_or_default(),
        head_name: get_str(doc, &root, "head_name").unwrap_or_default(),
        phone: get_str(doc, &root, "phone"),
        member_count: get_int(doc, &root, "member_count"),
        device_access: get_str(doc, &root, "device_access")
            .as_deref()
            .and_then(DeviceAccess::parse),
        target_groups: key_set(doc, get_map(doc, &root, TARGET_GROUPS).as_ref()),
        created_at: get_str(doc, &root, "created_at").unwrap_or_default(),
        created_by: get_str(doc, &root, "created_by").unwrap_or_default(),
        conflicts: conflicts(doc, &id, scope),
        id,
        members,
        visits,
        consents,
    })
}

/// The (id, object) pairs of a collection map.
pub fn records<'a, D: ReadDoc>(
    doc: &'a D,
    coll: Option<&'a ObjId>,
) -> impl Iterator<Item = (String, ObjId)> + 'a {
    coll.into_iter().flat_map(move |c| {
        doc.keys(c)
            .filter_map(move |k| get_map(doc, c, &k).map(|obj| (k, obj)))
    })
}

pub fn read_person<D: ReadDoc>(doc: &D, id: String, obj: &ObjId) -> Person {
    let mut skills = Skills {
        vneid_level: get_str(doc, obj, "vneid_level")
            .as_deref()
            .and_then(VneidLevel::parse),
        ..Skills::default()
    };
    for key in SKILL_FLAGS {
        skills.set_flag(key, get_bool(doc, obj, key));
    }
    Person {
        id,
        name: get_str(doc, obj, "name").unwrap_or_default(),
        birth_year: get_int(doc, obj, "birth_year"),
        gender: get_str(doc, obj, "gender")
            .as_deref()
            .and_then(Gender::parse),
        id_number: get_str(doc, obj, "id_number"),
        skills,
        created_at: get_str(doc, obj, "created_at").unwrap_or_default(),
        created_by: get_str(doc, obj, "created_by").unwrap_or_default(),
    }
}

fn id_list(text: Option<String>) -> Vec<String> {
    let mut ids: Vec<String> = text
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

pub fn read_visit<D: ReadDoc>(doc: &D, id: String, obj: &ObjId) -> Visit {
    let notes = get_map(doc, obj, "service_notes");
    let mut services: Vec<ServiceOutcome> = match get_map(doc, obj, "services") {
        Some(svcs) => doc
            .keys(&svcs)
            .map(|code| ServiceOutcome {
                outcome: get_str(doc, &svcs, &code).unwrap_or_default(),
                note: notes.as_ref().and_then(|n| get_str(doc, n, &code)),
                service: code,
            })
            .collect(),
        None => Vec::new(),
    };
    services.sort_by(|a, b| a.service.cmp(&b.service));
    Visit {
        id,
        visited_at: get_str(doc, obj, "visited_at").unwrap_or_default(),
        team_id: get_str(doc, obj, "team_id").unwrap_or_default(),
        volunteer_ids: id_list(get_str(doc, obj, "volunteer_ids")),
        person_ids: id_list(get_str(doc, obj, "person_ids")),
        services,
        duration_minutes: get_int(doc, obj, "duration_minutes"),
        follow_up_on: get_str(doc, obj, "follow_up_on"),
        feedback: get_str(doc, obj, "feedback"),
        consent_id: get_str(doc, obj, "consent_id"),
        recorded_at: get_str(doc, obj, "recorded_at").unwrap_or_default(),
        recorded_by: get_str(doc, obj, "recorded_by").unwrap_or_default(),
    }
}

/// The visit as [`read_visit`] would read it back after [`put_visit`].
pub fn visit_as_written(mut v: Visit) -> Visit {
    v.volunteer_ids = id_list(Some(v.volunteer_ids.join(",")));
    v.person_ids = id_list(Some(v.person_ids.join(",")));
    v.services.sort_by(|a, b| a.service.cmp(&b.service));
    v
}

/// One record of a collection (members, visits, consents), if present.
pub fn record<D: ReadDoc>(doc: &D, collection: &str, id: &str) -> Option<ObjId> {
    get_map(doc, &get_map(doc, &ROOT, collection)?, id)
}

pub fn read_consent<D: ReadDoc>(doc: &D, id: String, obj: &ObjId) -> Consent {
    Consent {
        id,
        person_id: get_str(doc, obj, "person_id").unwrap_or_default(),
        purpose: get_str(doc, obj, "purpose").unwrap_or_default(),
        method: get_str(doc, obj, "method")
            .as_deref()
            .and_then(ConsentMethod::parse)
            .unwrap_or(ConsentMethod::Verbal),
        given_at: get_str(doc, obj, "given_at").unwrap_or_default(),
        recorded_by: get_str(doc, obj, "recorded_by").unwrap_or_default(),
        withdrawn_at: get_str(doc, obj, "withdrawn_at"),
        withdrawn_by: get_str(doc, obj, "withdrawn_by"),
        withdrawal_reason: get_str(doc, obj, "withdrawal_reason"),
    }
}

// ---- conflicts ----

/// Which part of a document to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    All,
    /// Everything but the visits (a long history would cost every write).
    WithoutVisits,
}

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
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}/{key}")
            };
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

/// The conflict at one key, if it holds several values.
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
            let text = scalar(v).map(|s| scalar_text(&s)).unwrap_or_default();
            (Some(id) != winner.as_ref(), text)
        })
        .collect();
    texts.sort();
    Some(Conflict {
        household_id: household_id.to_string(),
        path: path.to_string(),
        values: texts.into_iter().map(|(_, t)| t).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(v: &str) -> Stamp {
        Stamp {
            volunteer_id: v.into(),
            at: "2026-11-23T02:00:00Z".into(),
            at_secs: 1_795_399_200,
        }
    }

    fn new_doc(actor: u8) -> Automerge {
        Automerge::new().with_actor(automerge::ActorId::from(vec![actor; 16]))
    }

    #[test]
    fn concurrent_edits_of_one_field_are_kept_as_a_conflict() {
        let mut a = new_doc(1);
        commit(&mut a, &stamp("v1"), "household.add", |tx| {
            create_household(tx, &stamp("v1"), "00097", "v", "n")?;
            fill_household(tx, "h1", &[("phone", str_value("0912345678"))], &[])
        })
        .unwrap();
        let mut b = a.fork().with_actor(automerge::ActorId::from(vec![2; 16]));
        commit(&mut a, &stamp("v1"), "household.edit", |tx| {
            edit_household(tx, &[("phone", str_value("0911111111"))], &[], &[])
        })
        .unwrap();
        commit(&mut b, &stamp("v2"), "household.edit", |tx| {
            edit_household(tx, &[("phone", str_value("0922222222"))], &[], &[])
        })
        .unwrap();
        a.merge(&mut b).unwrap();
        let h = read_household(&a).unwrap();
        assert_eq!(h.conflicts.len(), 1);
        let c = &h.conflicts[0];
        assert_eq!(c.path, "phone");
        assert_eq!(c.values.len(), 2);
        assert_eq!(
            Some(&c.values[0]),
            h.phone.as_ref(),
            "the shown value comes first"
        );
        assert!(c.values.contains(&"0911111111".to_string()));
        assert!(c.values.contains(&"0922222222".to_string()));

        // Resolving writes one value over both.
        commit(&mut a, &stamp("v1"), "conflict.resolve", |tx| {
            put_path(tx, "phone", ScalarValue::Str("0922222222".into())).map(|_| ())
        })
        .unwrap();
        let h = read_household(&a).unwrap();
        assert!(h.conflicts.is_empty());
        assert_eq!(h.phone.as_deref(), Some("0922222222"));
    }

    #[test]
    fn a_document_of_another_kind_is_refused() {
        let mut d = new_doc(3);
        commit(&mut d, &stamp("v"), "x", |tx| {
            tx.put(&ROOT, "kind", "note").map(|_| ())
        })
        .unwrap();
        assert!(read_household(&d).is_err());
    }
}
