//! Reading the household document by its schema (docs/data-model.md, "What a
//! reader must tolerate"): what another implementation wrote is read where it
//! can be, and what breaks the schema or a rule is listed as a problem, never
//! hidden and never a reason to stop.

use automerge::{ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::conflicts::conflicts;
use crate::invalid::Problem;
use crate::model::{
    Consent, ConsentMethod, Correction, DeviceAccess, Gender, Household, HouseholdProblem, Person,
    SKILL_FLAGS, ServiceOutcome, Skills, Visit, VneidLevel,
};
use crate::problems::{self, Problems};
use crate::schema::{
    self, CONSENTS, KIND_HOUSEHOLD, MEMBERS, TARGET_GROUPS, VISITS, consent, is_record_id, member,
    visit,
};

/// Why a document is not read as a household: every other fault is a problem
/// listed with the household.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("not a household document (kind {kind:?})")]
    NotAHousehold { kind: Option<String> },
    /// The document says another id than the one it is stored under.
    #[error("its id field says {found:?}")]
    OtherId { found: String },
    #[error("the document has no id")]
    NoId,
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

/// A value as text, whatever its type (the values of a conflict).
pub(crate) fn value_text<D: ReadDoc>(doc: &D, value: &Value<'_>, id: &ObjId) -> String {
    found_text(&found_value(doc, value, id))
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

    /// A correction, present when its time is (`[at, by, reason]` keys; an
    /// empty key is not read).
    fn correction(&mut self, obj: &ObjId, prefix: &str, keys: [&str; 3]) -> Option<Correction> {
        let at = self.str(obj, prefix, keys[0])?;
        Some(Correction {
            at,
            by: self.str(obj, prefix, keys[1]).unwrap_or_default(),
            reason: if keys[2].is_empty() {
                None
            } else {
                self.str(obj, prefix, keys[2])
            },
        })
    }

    /// The household's merge mark ([`crate::merge`]); one without the
    /// household it names is a problem, and no merge.
    fn merge(&mut self, root: &ObjId) -> Option<crate::merge::Merge> {
        use crate::schema::merge as m;
        let obj = self.map(root, "", schema::MERGED_INTO)?;
        let prefix = schema::MERGED_INTO;
        let Some(into) = self.str(&obj, prefix, m::INTO).filter(|s| !s.is_empty()) else {
            self.out.add(
                path_at(prefix, m::INTO),
                &[m::INTO],
                Problem::Required,
                String::new(),
            );
            return None;
        };
        let mut members = std::collections::BTreeMap::new();
        if let Some(pairs) = self.map(&obj, prefix, m::MEMBERS) {
            let at = path_at(prefix, m::MEMBERS);
            let keys: Vec<String> = self.doc.keys(&pairs).collect();
            for k in keys {
                if let Some(v) = self.str(&pairs, &at, &k)
                    && is_record_id(&k)
                    && is_record_id(&v)
                {
                    members.insert(k, v);
                }
            }
        }
        Some(crate::merge::Merge {
            into,
            at: self.str(&obj, prefix, m::AT).unwrap_or_default(),
            by: self.str(&obj, prefix, m::BY).unwrap_or_default(),
            members,
        })
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

pub(crate) fn path_at(prefix: &str, key: &str) -> String {
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
pub fn read_household<D: ReadDoc>(doc: &D) -> Result<Household, ReadError> {
    read_household_part(doc, Scope::All)
}

/// Reads a household with or without its visits, and the conflicts and problems
/// of that part.
pub fn read_household_part<D: ReadDoc>(doc: &D, scope: Scope) -> Result<Household, ReadError> {
    read_household_of(doc, None, scope)
}

/// Reads household `id` (the document's id, known from where it is stored).
/// A document holding only its first change has no `id` field yet (the id is
/// derived from that change's hash): it reads as `id`.
pub fn read_household_as<D: ReadDoc>(
    doc: &D,
    id: &str,
    scope: Scope,
) -> Result<Household, ReadError> {
    read_household_of(doc, Some(id), scope)
}

fn read_household_of<D: ReadDoc>(
    doc: &D,
    known: Option<&str>,
    scope: Scope,
) -> Result<Household, ReadError> {
    let root = ROOT;
    let kind = get_str(doc, &root, schema::KIND);
    if kind.as_deref() != Some(KIND_HOUSEHOLD) {
        return Err(ReadError::NotAHousehold { kind });
    }
    let id = match (get_str(doc, &root, schema::ID), known) {
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
            return Err(ReadError::OtherId { found });
        }
        (Some(found), _) => found,
        (None, Some(k)) if gocua_protocol::ids::is_derived(k) => k.to_string(),
        (None, _) => return Err(ReadError::NoId),
    };
    let mut out = Problems::new(&id);
    let mut r = Reader { doc, out: &mut out };
    let members_obj = r.map(&root, "", MEMBERS);
    let visits_obj = r.map(&root, "", VISITS);
    let consents_obj = r.map(&root, "", CONSENTS);
    let groups_obj = r.map(&root, "", TARGET_GROUPS);
    let merged = r.merge(&root);

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
        schema_version: r.int(&root, "", schema::SCHEMA_VERSION).unwrap_or(0),
        commune_code: r.str(&root, "", schema::COMMUNE_CODE).unwrap_or_default(),
        village_id: r.str(&root, "", schema::VILLAGE_ID).unwrap_or_default(),
        address: r.str(&root, "", schema::ADDRESS).unwrap_or_default(),
        head_name: r.str(&root, "", schema::HEAD_NAME).unwrap_or_default(),
        phone: r.str(&root, "", schema::PHONE),
        member_count: r.int(&root, "", schema::MEMBER_COUNT),
        device_access: r.word(
            &root,
            "",
            schema::DEVICE_ACCESS,
            DeviceAccess::parse,
            DeviceAccess::WORDS,
        ),
        target_groups: r.key_set(groups_obj.as_ref(), TARGET_GROUPS),
        created_at: r.str(&root, "", schema::CREATED_AT).unwrap_or_default(),
        created_by: r.str(&root, "", schema::CREATED_BY).unwrap_or_default(),
        conflicts: conflicts(doc, &id, scope),
        problems: Vec::new(),
        outside_villages: false,
        in_error: r.correction(
            &root,
            "",
            [
                schema::IN_ERROR_AT,
                schema::IN_ERROR_BY,
                schema::IN_ERROR_REASON,
            ],
        ),
        merged,
        absorbed: Vec::new(),
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
    let consent_of = |cid: &str| {
        h.consents
            .iter()
            .find(|c| c.id == cid)
            .map(problems::ConsentState::of)
    };
    for c in &h.consents {
        problems::consent(&mut out, &format!("{CONSENTS}/{}", c.id), c, &has_member);
    }
    for v in &h.visits {
        problems::visit(
            &mut out,
            &format!("{VISITS}/{}", v.id),
            v,
            &has_member,
            &consent_of,
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

/// A root field that holds a scalar string, and nothing else (not a text
/// object): what the server's integrity rules read (`kind`, `id`,
/// `village_id`), unlike the tolerant reader above.
pub fn root_scalar_str<D: ReadDoc>(doc: &D, key: &str) -> Option<String> {
    scalar_str(doc.get(ROOT, key).ok()??.0)
}

/// [`root_scalar_str`] as the document was at `heads`: what the author of a
/// change with these dependencies saw.
pub fn root_scalar_str_at<D: ReadDoc>(
    doc: &D,
    key: &str,
    heads: &[automerge::ChangeHash],
) -> Option<String> {
    scalar_str(doc.get_at(ROOT, key, heads).ok()??.0)
}

fn scalar_str(value: Value<'_>) -> Option<String> {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        Value::Object(_) => None,
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
            member::VNEID_LEVEL,
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
        name: r.str(obj, &prefix, member::NAME).unwrap_or_default(),
        birth_year: r.int(obj, &prefix, member::BIRTH_YEAR),
        gender: r.word(obj, &prefix, member::GENDER, Gender::parse, Gender::WORDS),
        id_number: r.str(obj, &prefix, member::ID_NUMBER),
        skills,
        created_at: r.str(obj, &prefix, member::CREATED_AT).unwrap_or_default(),
        created_by: r.str(obj, &prefix, member::CREATED_BY).unwrap_or_default(),
        removed: r.correction(
            obj,
            &prefix,
            [
                member::REMOVED_AT,
                member::REMOVED_BY,
                member::REMOVAL_REASON,
            ],
        ),
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
        &consent_state(doc),
    );
    (v, out.into_sorted())
}

fn visit_with<D: ReadDoc>(r: &mut Reader<'_, '_, D>, id: String, obj: &ObjId) -> Visit {
    let prefix = format!("{VISITS}/{id}");
    let notes = r.map(obj, &prefix, visit::SERVICE_NOTES);
    let notes_prefix = format!("{prefix}/{}", visit::SERVICE_NOTES);
    let svc_prefix = format!("{prefix}/{}", visit::SERVICES);
    let mut services: Vec<ServiceOutcome> = Vec::new();
    if let Some(svcs) = r.map(obj, &prefix, visit::SERVICES) {
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
        visited_at: r.str(obj, &prefix, visit::VISITED_AT).unwrap_or_default(),
        team_id: r.str(obj, &prefix, visit::TEAM_ID).unwrap_or_default(),
        volunteer_ids: id_list(r.str(obj, &prefix, visit::VOLUNTEER_IDS)),
        person_ids: id_list(r.str(obj, &prefix, visit::PERSON_IDS)),
        services,
        duration_minutes: r.int(obj, &prefix, visit::DURATION_MINUTES),
        follow_up_on: r.str(obj, &prefix, visit::FOLLOW_UP_ON),
        feedback: r.str(obj, &prefix, visit::FEEDBACK),
        consent_id: r.str(obj, &prefix, visit::CONSENT_ID),
        recorded_at: r.str(obj, &prefix, visit::RECORDED_AT).unwrap_or_default(),
        recorded_by: r.str(obj, &prefix, visit::RECORDED_BY).unwrap_or_default(),
        cancelled: r.correction(
            obj,
            &prefix,
            [
                visit::CANCELLED_AT,
                visit::CANCELLED_BY,
                visit::CANCEL_REASON,
            ],
        ),
        edited: r.correction(obj, &prefix, [visit::EDITED_AT, visit::EDITED_BY, ""]),
        id,
    }
}

/// The visit as [`read_visit`] would read it back after
/// [`put_visit`](crate::write::put_visit).
pub fn visit_as_written(mut v: Visit) -> Visit {
    v.volunteer_ids = id_list(Some(v.volunteer_ids.join(",")));
    v.person_ids = id_list(Some(v.person_ids.join(",")));
    v.services.sort_by(|a, b| a.service.cmp(&b.service));
    v
}

/// The problems of a visit as written by this device (nothing is read back):
/// the rules alone, since what [`put_visit`](crate::write::put_visit) writes
/// fits the schema.
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
        &consent_state(doc),
    );
    out.into_sorted()
}

/// The state of consent records as the visit rules need it, read from the
/// document (a visit read alone).
fn consent_state<D: ReadDoc>(doc: &D) -> impl Fn(&str) -> Option<problems::ConsentState> + '_ {
    move |cid: &str| {
        if !is_record_id(cid) {
            return None;
        }
        let obj = record(doc, CONSENTS, cid)?;
        Some(problems::ConsentState {
            withdrawn_at: get_str(doc, &obj, consent::WITHDRAWN_AT),
        })
    }
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
        person_id: r.str(obj, &prefix, consent::PERSON_ID).unwrap_or_default(),
        purpose: r.str(obj, &prefix, consent::PURPOSE).unwrap_or_default(),
        // Shown as verbal when unreadable, and listed as a problem.
        method: r
            .word(
                obj,
                &prefix,
                consent::METHOD,
                ConsentMethod::parse,
                ConsentMethod::WORDS,
            )
            .unwrap_or(ConsentMethod::Verbal),
        given_at: r.str(obj, &prefix, consent::GIVEN_AT).unwrap_or_default(),
        recorded_by: r
            .str(obj, &prefix, consent::RECORDED_BY)
            .unwrap_or_default(),
        withdrawn_at: r.str(obj, &prefix, consent::WITHDRAWN_AT),
        withdrawn_by: r.str(obj, &prefix, consent::WITHDRAWN_BY),
        withdrawal_reason: r.str(obj, &prefix, consent::WITHDRAWAL_REASON),
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

/// Which part of a document to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything.
    All,
    /// Everything but the visits (a long history would cost every write).
    WithoutVisits,
}

#[cfg(test)]
mod tests {
    use automerge::Automerge;
    use automerge::transaction::Transactable;

    use super::*;
    use crate::write::{
        Stamp, commit, create_household, edit_household, fill_household, put_path, str_value,
    };

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
    fn root_fields_for_the_integrity_rules_are_scalar_strings_only() {
        let mut d = new_doc(4);
        let before = d.get_heads();
        commit(&mut d, &stamp("v"), "x", |tx| {
            tx.put(&ROOT, schema::VILLAGE_ID, "v1")?;
            let kind = tx.put_object(&ROOT, schema::KIND, ObjType::Text)?;
            tx.splice_text(&kind, 0, 0, KIND_HOUSEHOLD)
        })
        .unwrap();
        let first = d.get_heads();
        commit(&mut d, &stamp("v"), "x", |tx| {
            tx.put(&ROOT, schema::VILLAGE_ID, "v2")
        })
        .unwrap();
        assert_eq!(
            root_scalar_str(&d, schema::VILLAGE_ID).as_deref(),
            Some("v2")
        );
        assert_eq!(
            root_scalar_str_at(&d, schema::VILLAGE_ID, &first).as_deref(),
            Some("v1")
        );
        assert_eq!(root_scalar_str_at(&d, schema::VILLAGE_ID, &before), None);
        // A text object is read by the tolerant reader, not by these.
        assert_eq!(root_scalar_str(&d, schema::KIND), None);
        assert_eq!(
            get_str(&d, &ROOT, schema::KIND).as_deref(),
            Some(KIND_HOUSEHOLD)
        );
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
