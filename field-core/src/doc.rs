//! The household document: one Automerge document per household, holding its
//! members, visits and consent records (layout in docs/data-model.md).
//!
//! Form fields are scalars, never collaborative text: a clash on one field keeps
//! every value (`get_all`) and is listed as a [`Conflict`] instead of one value
//! silently winning. Collections are maps keyed by record id, so records added on
//! two devices never clash.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::error::Problem;
use crate::model::{
    Conflict, Consent, ConsentMethod, DOC_SCHEMA_VERSION, DeviceAccess, Gender, Household,
    HouseholdProblem, Person, SKILL_FLAGS, ServiceOutcome, Skills, Visit, VneidLevel,
};
use crate::problems::{self, Problems};

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

// ---- reading ----

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

/// A value as found in the document, before the schema says what it should be.
enum Found {
    Absent,
    /// A scalar string, or a text object (Automerge JS writes strings as text
    /// by default): both read as their string.
    Str(String),
    /// An integer: signed, unsigned or a counter.
    Int(i64),
    F64(f64),
    Bool(bool),
    /// Anything else: its type's name and its value as text.
    Other(&'static str, String),
}

fn found<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Found {
    match doc.get(obj, key) {
        Ok(Some((value, id))) => found_value(doc, &value, &id),
        _ => Found::Absent,
    }
}

fn found_value<D: ReadDoc>(doc: &D, value: &Value<'_>, id: &ObjId) -> Found {
    match value {
        Value::Object(ObjType::Text) => match doc.text(id) {
            Ok(t) => Found::Str(t),
            Err(_) => Found::Other("text", String::new()),
        },
        Value::Object(ObjType::Map) => Found::Other("map", String::new()),
        Value::Object(ObjType::Table) => Found::Other("table", String::new()),
        Value::Object(ObjType::List) => Found::Other("list", String::new()),
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => Found::Str(s.to_string()),
            ScalarValue::Null => Found::Absent,
            ScalarValue::Int(i) => Found::Int(*i),
            ScalarValue::Uint(u) => match i64::try_from(*u) {
                Ok(i) => Found::Int(i),
                Err(_) => Found::Other("uint", u.to_string()),
            },
            ScalarValue::Counter(c) => Found::Int(i64::from(c)),
            ScalarValue::F64(f) => Found::F64(*f),
            ScalarValue::Boolean(b) => Found::Bool(*b),
            ScalarValue::Timestamp(t) => Found::Other("timestamp", t.to_string()),
            ScalarValue::Bytes(_) => Found::Other("bytes", String::new()),
            other => Found::Other("unknown", scalar_text(other)),
        },
    }
}

fn found_name(f: &Found) -> &'static str {
    match f {
        Found::Absent => "nothing",
        Found::Str(_) => "string",
        Found::Int(_) => "integer",
        Found::F64(_) => "float",
        Found::Bool(_) => "boolean",
        Found::Other(name, _) => name,
    }
}

fn found_text(f: &Found) -> String {
    match f {
        Found::Absent => String::new(),
        Found::Str(s) => s.clone(),
        Found::Int(i) => i.to_string(),
        Found::F64(x) => x.to_string(),
        Found::Bool(b) => b.to_string(),
        Found::Other(_, t) => t.clone(),
    }
}

/// Reads fields by the schema: a value of another type than the schema says is
/// reported as a problem at its path and reads as absent, never silently.
struct Reader<'d, 'p, D> {
    doc: &'d D,
    out: &'d mut Problems<'p>,
}

impl<D: ReadDoc> Reader<'_, '_, D> {
    fn wrong(&mut self, path: String, key: &str, expected: &str, f: &Found) {
        self.out.add(
            path,
            &[key],
            Problem::WrongType {
                expected: expected.into(),
                found: found_name(f).into(),
            },
            found_text(f),
        );
    }

    fn str(&mut self, obj: &ObjId, prefix: &str, key: &str) -> Option<String> {
        match found(self.doc, obj, key) {
            Found::Absent => None,
            Found::Str(s) => Some(s),
            other => {
                self.wrong(path_at(prefix, key), key, "string", &other);
                None
            }
        }
    }

    fn int(&mut self, obj: &ObjId, prefix: &str, key: &str) -> Option<i64> {
        match found(self.doc, obj, key) {
            Found::Absent => None,
            Found::Int(i) => Some(i),
            // A JavaScript number that holds a whole number.
            Found::F64(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(x as i64),
            other => {
                self.wrong(path_at(prefix, key), key, "integer", &other);
                None
            }
        }
    }

    fn bool(&mut self, obj: &ObjId, prefix: &str, key: &str) -> Option<bool> {
        match found(self.doc, obj, key) {
            Found::Absent => None,
            Found::Bool(b) => Some(b),
            other => {
                self.wrong(path_at(prefix, key), key, "boolean", &other);
                None
            }
        }
    }

    /// One of a fixed set of words; another word is a problem.
    fn word<T>(
        &mut self,
        obj: &ObjId,
        prefix: &str,
        key: &str,
        parse: fn(&str) -> Option<T>,
        words: &[&str],
    ) -> Option<T> {
        let w = self.str(obj, prefix, key)?;
        let parsed = parse(&w);
        if parsed.is_none() {
            self.out.add(
                path_at(prefix, key),
                &[key],
                Problem::NotOneOf {
                    allowed: words.iter().map(|w| w.to_string()).collect(),
                },
                w,
            );
        }
        parsed
    }

    /// A map; another type is a problem.
    fn map(&mut self, obj: &ObjId, prefix: &str, key: &str) -> Option<ObjId> {
        match self.doc.get(obj, key) {
            Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
            Ok(Some((value, id))) => {
                let f = found_value(self.doc, &value, &id);
                if !matches!(f, Found::Absent) {
                    self.wrong(path_at(prefix, key), key, "map", &f);
                }
                None
            }
            _ => None,
        }
    }

    /// The keys of a map of `<key>: true` (sets of codes), sorted.
    fn key_set(&mut self, obj: Option<&ObjId>, prefix: &str) -> Vec<String> {
        let Some(obj) = obj else { return Vec::new() };
        let mut keys: Vec<String> = Vec::new();
        for k in self.doc.keys(obj) {
            if self.bool(obj, prefix, &k) == Some(true) {
                keys.push(k);
            }
        }
        keys.sort();
        keys
    }

    /// The records of a collection whose keys are UUIDs; other keys and values
    /// that are not maps are problems, and their records are left out rather
    /// than shown as blank ones.
    fn records(&mut self, coll: Option<&ObjId>, name: &str) -> Vec<(String, ObjId)> {
        let Some(coll) = coll else { return Vec::new() };
        let mut out = Vec::new();
        for key in self.doc.keys(coll) {
            let path = format!("{name}/{key}");
            if !is_record_id(&key) {
                self.out
                    .add(path, &["id"], Problem::NotAUuid, key.to_string());
                continue;
            }
            if let Some(obj) = self.map(coll, name, &key) {
                out.push((key, obj));
            }
        }
        out
    }
}

/// Record ids are UUIDs in their hyphenated form.
pub fn is_record_id(key: &str) -> bool {
    key.len() == 36 && uuid::Uuid::parse_str(key).is_ok()
}

fn path_at(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// Reads a household from its document, by the schema (docs/data-model.md):
/// fields it does not know are ignored (a newer peer may add some); known fields
/// of another type, records under keys that are not UUIDs and records that break
/// a rule are listed in `problems`.
pub fn read_household<D: ReadDoc>(doc: &D) -> Result<Household, String> {
    read_household_part(doc, Scope::All)
}

/// Reads a household with or without its visits, and the conflicts and problems
/// of that part.
pub fn read_household_part<D: ReadDoc>(doc: &D, scope: Scope) -> Result<Household, String> {
    read_household_of(doc, None, scope)
}

/// Reads household `id` (the document's id, known from where it is stored).
/// A document holding only its first change has no `id` field yet (the id is
/// derived from that change's hash): it reads as `id`.
pub fn read_household_as<D: ReadDoc>(doc: &D, id: &str, scope: Scope) -> Result<Household, String> {
    read_household_of(doc, Some(id), scope)
}

fn read_household_of<D: ReadDoc>(
    doc: &D,
    known: Option<&str>,
    scope: Scope,
) -> Result<Household, String> {
    let root = ROOT;
    let kind = get_str(doc, &root, "kind");
    if kind.as_deref() != Some(KIND_HOUSEHOLD) {
        return Err(format!("not a household document (kind {kind:?})"));
    }
    let id = match (get_str(doc, &root, "id"), known) {
        // A household created by protocol 1 under a random id, renamed since
        // to the id derived from its first change: the field keeps the old id.
        (Some(found), Some(k))
            if found != k
                && gocua_protocol::ids::is_derived(k)
                && !gocua_protocol::ids::is_derived(&found) =>
        {
            k.to_string()
        }
        (Some(found), Some(k)) if found != k => {
            return Err(format!("its id field says {found:?}"));
        }
        (Some(found), _) => found,
        (None, Some(k)) if gocua_protocol::ids::is_derived(k) => k.to_string(),
        (None, _) => return Err("the document has no id".into()),
    };
    let mut out = Problems::new(&id);
    let mut r = Reader { doc, out: &mut out };
    let members_obj = r.map(&root, "", MEMBERS);
    let visits_obj = r.map(&root, "", VISITS);
    let consents_obj = r.map(&root, "", CONSENTS);
    let groups_obj = r.map(&root, "", TARGET_GROUPS);

    let mut members: Vec<Person> = r
        .records(members_obj.as_ref(), MEMBERS)
        .into_iter()
        .map(|(pid, obj)| person_with(&mut r, pid, &obj))
        .collect();
    members.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let mut visits: Vec<Visit> = match scope {
        Scope::All => r
            .records(visits_obj.as_ref(), VISITS)
            .into_iter()
            .map(|(vid, obj)| visit_with(&mut r, vid, &obj))
            .collect(),
        Scope::WithoutVisits => Vec::new(),
    };
    visits.sort_by(|a, b| (&a.visited_at, &a.id).cmp(&(&b.visited_at, &b.id)));
    let mut consents: Vec<Consent> = r
        .records(consents_obj.as_ref(), CONSENTS)
        .into_iter()
        .map(|(cid, obj)| consent_with(&mut r, cid, &obj))
        .collect();
    consents.sort_by(|a, b| (&a.given_at, &a.id).cmp(&(&b.given_at, &b.id)));

    let mut h = Household {
        schema_version: r.int(&root, "", "schema_version").unwrap_or(0),
        commune_code: r.str(&root, "", "commune_code").unwrap_or_default(),
        village_id: r.str(&root, "", "village_id").unwrap_or_default(),
        address: r.str(&root, "", "address").unwrap_or_default(),
        head_name: r.str(&root, "", "head_name").unwrap_or_default(),
        phone: r.str(&root, "", "phone"),
        member_count: r.int(&root, "", "member_count"),
        device_access: r.word(
            &root,
            "",
            "device_access",
            DeviceAccess::parse,
            DeviceAccess::WORDS,
        ),
        target_groups: r.key_set(groups_obj.as_ref(), TARGET_GROUPS),
        created_at: r.str(&root, "", "created_at").unwrap_or_default(),
        created_by: r.str(&root, "", "created_by").unwrap_or_default(),
        conflicts: conflicts(doc, &id, scope),
        problems: Vec::new(),
        outside_villages: false,
        id: id.clone(),
        members,
        visits,
        consents,
    };
    problems::root(&mut out, &h);
    for p in &h.members {
        problems::person(&mut out, &format!("{MEMBERS}/{}", p.id), p);
    }
    let has_member = |pid: &str| h.members.iter().any(|m| m.id == pid);
    let has_consent = |cid: &str| h.consents.iter().any(|c| c.id == cid);
    for c in &h.consents {
        problems::consent(&mut out, &format!("{CONSENTS}/{}", c.id), c, &has_member);
    }
    for v in &h.visits {
        problems::visit(
            &mut out,
            &format!("{VISITS}/{}", v.id),
            v,
            &has_member,
            &has_consent,
        );
    }
    h.problems = out.into_sorted();
    Ok(h)
}

/// A string field read leniently (the document's own `kind` and `id`).
pub fn get_str<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<String> {
    match found(doc, obj, key) {
        Found::Str(s) => Some(s),
        _ => None,
    }
}

pub fn get_map<D: ReadDoc>(doc: &D, obj: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(obj, key).ok()?? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// One member and the problems of that record alone (a local write re-checks
/// only what it touched).
pub fn read_person<D: ReadDoc>(
    doc: &D,
    household_id: &str,
    id: String,
    obj: &ObjId,
) -> (Person, Vec<HouseholdProblem>) {
    let mut out = Problems::new(household_id);
    let p = person_with(&mut Reader { doc, out: &mut out }, id, obj);
    problems::person(&mut out, &format!("{MEMBERS}/{}", p.id), &p);
    (p, out.into_sorted())
}

fn person_with<D: ReadDoc>(r: &mut Reader<'_, '_, D>, id: String, obj: &ObjId) -> Person {
    let prefix = format!("{MEMBERS}/{id}");
    let mut skills = Skills {
        vneid_level: r.word(
            obj,
            &prefix,
            "vneid_level",
            VneidLevel::parse,
            VneidLevel::WORDS,
        ),
        ..Skills::default()
    };
    for key in SKILL_FLAGS {
        let b = r.bool(obj, &prefix, key);
        skills.set_flag(key, b);
    }
    Person {
        name: r.str(obj, &prefix, "name").unwrap_or_default(),
        birth_year: r.int(obj, &prefix, "birth_year"),
        gender: r.word(obj, &prefix, "gender", Gender::parse, Gender::WORDS),
        id_number: r.str(obj, &prefix, "id_number"),
        skills,
        created_at: r.str(obj, &prefix, "created_at").unwrap_or_default(),
        created_by: r.str(obj, &prefix, "created_by").unwrap_or_default(),
        id,
    }
}

fn id_list(text: Option<String>) -> Vec<String> {
    let mut ids: Vec<String> = text
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// One visit and the problems of that record alone.
pub fn read_visit<D: ReadDoc>(
    doc: &D,
    household_id: &str,
    id: String,
    obj: &ObjId,
) -> (Visit, Vec<HouseholdProblem>) {
    let mut out = Problems::new(household_id);
    let v = visit_with(&mut Reader { doc, out: &mut out }, id, obj);
    let exists =
        |coll: &'static str| move |rid: &str| is_record_id(rid) && record(doc, coll, rid).is_some();
    problems::visit(
        &mut out,
        &format!("{VISITS}/{}", v.id),
        &v,
        &exists(MEMBERS),
        &exists(CONSENTS),
    );
    (v, out.into_sorted())
}

fn visit_with<D: ReadDoc>(r: &mut Reader<'_, '_, D>, id: String, obj: &ObjId) -> Visit {
    let prefix = format!("{VISITS}/{id}");
    let notes = r.map(obj, &prefix, "service_notes");
    let notes_prefix = format!("{prefix}/service_notes");
    let svc_prefix = format!("{prefix}/services");
    let mut services: Vec<ServiceOutcome> = Vec::new();
    if let Some(svcs) = r.map(obj, &prefix, "services") {
        for code in r.doc.keys(&svcs) {
            let Some(outcome) = r.str(&svcs, &svc_prefix, &code) else {
                // Unreadable: reported above; a blank outcome would hide that.
                continue;
            };
            services.push(ServiceOutcome {
                outcome,
                note: notes.as_ref().and_then(|n| r.str(n, &notes_prefix, &code)),
                service: code,
            });
        }
    }
    services.sort_by(|a, b| a.service.cmp(&b.service));
    Visit {
        visited_at: r.str(obj, &prefix, "visited_at").unwrap_or_default(),
        team_id: r.str(obj, &prefix, "team_id").unwrap_or_default(),
        volunteer_ids: id_list(r.str(obj, &prefix, "volunteer_ids")),
        person_ids: id_list(r.str(obj, &prefix, "person_ids")),
        services,
        duration_minutes: r.int(obj, &prefix, "duration_minutes"),
        follow_up_on: r.str(obj, &prefix, "follow_up_on"),
        feedback: r.str(obj, &prefix, "feedback"),
        consent_id: r.str(obj, &prefix, "consent_id"),
        recorded_at: r.str(obj, &prefix, "recorded_at").unwrap_or_default(),
        recorded_by: r.str(obj, &prefix, "recorded_by").unwrap_or_default(),
        id,
    }
}

/// The visit as [`read_visit`] would read it back after [`put_visit`].
pub fn visit_as_written(mut v: Visit) -> Visit {
    v.volunteer_ids = id_list(Some(v.volunteer_ids.join(",")));
    v.person_ids = id_list(Some(v.person_ids.join(",")));
    v.services.sort_by(|a, b| a.service.cmp(&b.service));
    v
}

/// The problems of a visit as written by this device (nothing is read back):
/// the rules alone, since what [`put_visit`] writes fits the schema.
pub fn written_visit_problems<D: ReadDoc>(
    doc: &D,
    household_id: &str,
    v: &Visit,
) -> Vec<HouseholdProblem> {
    let mut out = Problems::new(household_id);
    let exists =
        |coll: &'static str| move |rid: &str| is_record_id(rid) && record(doc, coll, rid).is_some();
    problems::visit(
        &mut out,
        &format!("{VISITS}/{}", v.id),
        v,
        &exists(MEMBERS),
        &exists(CONSENTS),
    );
    out.into_sorted()
}

/// One record of a collection (members, visits, consents), if present.
pub fn record<D: ReadDoc>(doc: &D, collection: &str, id: &str) -> Option<ObjId> {
    get_map(doc, &get_map(doc, &ROOT, collection)?, id)
}

/// One consent record and the problems of that record alone.
pub fn read_consent<D: ReadDoc>(
    doc: &D,
    household_id: &str,
    id: String,
    obj: &ObjId,
) -> (Consent, Vec<HouseholdProblem>) {
    let mut out = Problems::new(household_id);
    let c = consent_with(&mut Reader { doc, out: &mut out }, id, obj);
    let has_member = |pid: &str| is_record_id(pid) && record(doc, MEMBERS, pid).is_some();
    problems::consent(&mut out, &format!("{CONSENTS}/{}", c.id), &c, &has_member);
    (c, out.into_sorted())
}

fn consent_with<D: ReadDoc>(r: &mut Reader<'_, '_, D>, id: String, obj: &ObjId) -> Consent {
    let prefix = format!("{CONSENTS}/{id}");
    Consent {
        person_id: r.str(obj, &prefix, "person_id").unwrap_or_default(),
        purpose: r.str(obj, &prefix, "purpose").unwrap_or_default(),
        // Shown as verbal when unreadable, and listed as a problem.
        method: r
            .word(
                obj,
                &prefix,
                "method",
                ConsentMethod::parse,
                ConsentMethod::WORDS,
            )
            .unwrap_or(ConsentMethod::Verbal),
        given_at: r.str(obj, &prefix, "given_at").unwrap_or_default(),
        recorded_by: r.str(obj, &prefix, "recorded_by").unwrap_or_default(),
        withdrawn_at: r.str(obj, &prefix, "withdrawn_at"),
        withdrawn_by: r.str(obj, &prefix, "withdrawn_by"),
        withdrawal_reason: r.str(obj, &prefix, "withdrawal_reason"),
        id,
    }
}

/// The problems of the household's own fields (a local edit of them re-checks
/// only these): read from `h` as [`read_household_part`] made it.
pub fn root_problems(h: &Household) -> Vec<HouseholdProblem> {
    h.problems
        .iter()
        .filter(|p| p.record().is_empty())
        .cloned()
        .collect()
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
            let text = found_text(&found_value(doc, v, id));
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
