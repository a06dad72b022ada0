//! The local store: the facade a volunteer's app (or the CLI) calls.
//!
//! Every write loads the household's document, commits one Automerge change
//! stamped with the time and the acting volunteer, and in one SQLite transaction
//! appends the change, queues it in the outbox and updates the projection. A
//! failure at any point leaves the store as it was.

mod actor;
pub mod cipher;
mod conflict_origins;
mod corrections;
mod docs;
mod duplicates;
mod import;
mod incoming;
mod legacy;
mod merges;
mod outbox;
mod projection;
mod query;
mod refused;
mod reissue;
mod rejoin;
pub(crate) mod schema;
mod search;
mod visit_rows;
mod wipe;
mod work;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use automerge::{ActorId, Automerge, Change, ChangeHash, ScalarValue};
use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;

use crate::catalogue;
use crate::doc::schema as key;
use crate::doc::{self, FieldEdit, Scope, Stamp};
use crate::error::{Error, Field, Kind, Problem, Result};
use crate::model::record_of;
use crate::model::*;
use crate::validate as v;

pub use cipher::{FileState, StoreKey};
pub use conflict_origins::{ConflictDetail, ValueSetBy};
pub use docs::COMPACT_AFTER;
pub use gocua_protocol::bundle::{self, DocChanges};
pub use merges::Merged;
pub use outbox::AssignmentChange;
pub use refused::{Discarded, RefusedHousehold};
pub use rejoin::Rejoined;
pub use schema::SCHEMA_VERSION;
pub use visit_rows::VisitRow;

/// Where received changes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Another device (file, QR): queued for the server too.
    Peer,
    /// The server; `cursor` is stored with the changes when given.
    Server { cursor: Option<u64> },
}

/// What a store holds of one document: its id and heads (hex change hashes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocHeads {
    pub doc_id: String,
    pub heads: Vec<String>,
}

struct Inner {
    conn: Connection,
    cache: docs::DocCache,
    identity: Option<Identity>,
    /// The actor this store's new changes are made as (see `actor`).
    actor: ActorId,
}

/// An open store. Safe to share between threads; calls are serialized.
pub struct Store {
    inner: Mutex<Inner>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Devices that register the same village name under the same commune, and
/// the server, derive the same id (gocua-protocol's rule).
pub use gocua_protocol::ids::village_id;

impl Store {
    /// Opens the store at `path` with `key`, creating and migrating it as
    /// needed; a plain store opened with a key is encrypted in place first.
    pub fn open(path: impl AsRef<Path>, key: &StoreKey) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = schema::open_connection(&path, key)?;
        let rebuild = schema::migrate(&mut conn, &path)?;
        let identity = query::identity(&conn)?;
        actor::check_file(&conn, &path, identity.as_ref())?;
        let actor = actor::current(&conn, identity.as_ref())?;
        let store = Store {
            inner: Mutex::new(Inner {
                conn,
                cache: docs::DocCache::default(),
                identity,
                actor,
            }),
            path,
        };
        if rebuild {
            store.rebuild_projection()?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave SQLite half-written (the
        // transaction rolls back on drop), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- identity ----

    /// Sets up the device: its volunteer, team and villages.
    pub fn init(&self, req: InitRequest) -> Result<Identity> {
        let mut g = self.lock();
        if let Some(id) = &g.identity {
            return Err(Error::AlreadyInitialized {
                volunteer: id.volunteer_name.clone(),
            });
        }
        let volunteer_name =
            v::required_text(Field::VolunteerName, &req.volunteer_name, v::MAX_NAME)?;
        let volunteer_phone = match req.volunteer_phone.as_deref().map(str::trim) {
            Some(p) if !p.is_empty() => Some(v::phone(p)?),
            _ => None,
        };
        let team_name = v::required_text(Field::TeamName, &req.team_name, v::MAX_NAME)?;
        let commune_code = req.commune_code.trim().to_string();
        if query::commune(&g.conn, &commune_code)?.is_none() {
            return Err(Error::invalid(
                Field::CommuneCode,
                commune_code,
                Problem::UnknownCommune,
            ));
        }
        let mut villages: Vec<String> = Vec::new();
        for name in &req.village_names {
            let n = v::required_text(Field::VillageName, name, v::MAX_NAME)?;
            if !villages
                .iter()
                .any(|x| gocua_text::fold(x) == gocua_text::fold(&n))
            {
                villages.push(n);
            }
        }
        if villages.is_empty() {
            return Err(Error::invalid(Field::VillageName, "", Problem::Required));
        }
        let device_id = new_id();
        let volunteer_id = new_id();
        let team_id = new_id();
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO teams (id, name, commune_code) VALUES (?1, ?2, ?3)",
            params![team_id, team_name, commune_code],
        )?;
        tx.execute(
            "INSERT INTO volunteers (id, name, phone, team_id) VALUES (?1, ?2, ?3, ?4)",
            params![volunteer_id, volunteer_name, volunteer_phone, team_id],
        )?;
        for name in &villages {
            tx.execute(
                "INSERT INTO villages (id, commune_code, name, name_key) VALUES (?1, ?2, ?3, ?4)",
                params![
                    village_id(&commune_code, name),
                    commune_code,
                    name,
                    gocua_text::sort_key(name)
                ],
            )?;
        }
        for (k, val) in [
            ("device_id", &device_id),
            ("volunteer_id", &volunteer_id),
            ("team_id", &team_id),
            ("commune_code", &commune_code),
        ] {
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                params![k, val],
            )?;
        }
        tx.commit()?;
        let identity = query::identity(&g.conn)?.ok_or(Error::NotInitialized)?;
        g.actor = actor::current(&g.conn, Some(&identity))?;
        g.identity = Some(identity.clone());
        Ok(identity)
    }

    pub fn identity(&self) -> Result<Identity> {
        self.lock().identity.clone().ok_or(Error::NotInitialized)
    }

    /// The entries of a catalogue: `service`, `outcome` or `target_group`.
    pub fn catalogue(&self, kind: &str) -> Result<Vec<CatalogueEntry>> {
        catalogue::list(&self.lock().conn, kind)
    }

    // ---- households ----

    pub fn add_household(&self, input: NewHousehold) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let village = query::resolve_village(&ident, &input.village)?;
        let (edits, groups) = household_fields(&g.conn, &input)?;
        let stamp = stamp(&ident);
        // The first change fixes the kind and the village; the id is derived
        // from its hash, so nobody can claim this id without it.
        let (id, document, changes) = doc::new_household(
            g.actor.clone(),
            &stamp,
            &village.commune_code,
            &village.id,
            &edits,
            &groups,
        )?;
        persist_local(&mut g, &id, document, None, changes, &stamp, Touch::New)?
            .household
            .ok_or_else(|| Error::NotFound {
                kind: Kind::Household,
                id,
            })
    }

    pub fn edit_household(&self, household: &str, edit: HouseholdEdit) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let id = query::resolve(&g.conn, Kind::Household, household, None)?;
        let mut edits: Vec<FieldEdit> = Vec::new();
        if let Some(vname) = &edit.village {
            let village = query::resolve_village(&ident, vname)?;
            edits.push((key::VILLAGE_ID, doc::str_value(village.id)));
            edits.push((key::COMMUNE_CODE, doc::str_value(village.commune_code)));
        }
        if let Some(a) = &edit.address {
            let a = v::optional_text(Field::Address, Some(a), v::MAX_ADDRESS)?;
            edits.push((key::ADDRESS, doc::str_value(a.unwrap_or_default())));
        }
        if let Some(n) = &edit.head_name {
            edits.push((
                key::HEAD_NAME,
                doc::str_value(v::required_text(Field::HeadName, n, v::MAX_NAME)?),
            ));
        }
        if let Some(p) = &edit.phone {
            edits.push((key::PHONE, doc::opt_str(opt_phone(Some(p))?)));
        }
        if let Some(n) = edit.member_count {
            edits.push((
                key::MEMBER_COUNT,
                doc::opt_int(Some(v::in_range(Field::MemberCount, n, 1, 100)?)),
            ));
        }
        if let Some(d) = &edit.device_access {
            let d = opt_word(
                Field::DeviceAccess,
                Some(d),
                DeviceAccess::parse_input,
                DeviceAccess::WORDS,
            )?;
            edits.push((
                key::DEVICE_ACCESS,
                doc::opt_str(d.map(|d| d.as_str().to_string())),
            ));
        }
        let add = check_codes(
            &g.conn,
            catalogue::TARGET_GROUP,
            Field::TargetGroup,
            &edit.add_target_groups,
        )?;
        let remove: Vec<String> = edit
            .remove_target_groups
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        let stamp = stamp(&ident);
        write_doc(&mut g, &id, &stamp, "household.edit", Touch::Root, |tx| {
            doc::edit_household(tx, &edits, &add, &remove)
        })?
        .household
        .ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id,
        })
    }

    /// The whole household, read from its document.
    pub fn household(&self, household: &str) -> Result<Household> {
        let mut g = self.lock();
        let id = query::resolve(&g.conn, Kind::Household, household, None)?;
        let actor = g.actor.clone();
        let Inner {
            conn,
            cache,
            identity,
            ..
        } = &mut *g;
        let document = docs::load(conn, cache, &id, &actor)?.ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id: id.clone(),
        })?;
        let h = doc::read_household_as(&document, &id, Scope::All).map_err(|reason| {
            Error::BadDocument {
                id: id.clone(),
                reason: reason.to_string(),
            }
        });
        cache.put(&id, document);
        let mut read = merges::store_reader(conn, cache, &actor);
        let mut h = merges::composed(conn, &mut read, h?)?;
        h.problems = projection::with_codes(conn, &h)?;
        h.outside_villages = identity.as_ref().is_some_and(|i| !serves(i, &h.village_id));
        Ok(h)
    }

    /// Every household read from its document, `limit` at a time in id order
    /// after `after` (the previous page's `next`), for reports over the whole
    /// store without holding a village in memory. A document that does not
    /// read as a household is named in `unreadable`, not an error: one bad
    /// document must not stop a team leader's report.
    pub fn households_page(&self, after: Option<&str>, limit: u32) -> Result<HouseholdPage> {
        let mut g = self.lock();
        let actor = g.actor.clone();
        let Inner {
            conn,
            cache,
            identity,
            ..
        } = &mut *g;
        let ids: Vec<String> = {
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM documents WHERE kind = 'household' AND id > ?1 ORDER BY id LIMIT ?2",
            )?;
            stmt.query_map(params![after.unwrap_or(""), limit.max(1)], |r| r.get(0))?
                .collect::<std::result::Result<_, _>>()?
        };
        let mut page = HouseholdPage {
            households: Vec::with_capacity(ids.len()),
            unreadable: Vec::new(),
            next: None,
        };
        for id in &ids {
            // A household merged into another is part of that one's record.
            if query::merged_into(conn, id)?.is_some() {
                continue;
            }
            let read = match docs::load(conn, cache, id, &actor) {
                Ok(Some(document)) => doc::read_household_as(&document, id, Scope::All).ok(),
                Ok(None) | Err(Error::BadDocument { .. }) => None,
                Err(e) => return Err(e),
            };
            let read = match read {
                Some(h) => Some(merges::composed(
                    conn,
                    &mut merges::store_reader(conn, cache, &actor),
                    h,
                )?),
                None => None,
            };
            match read {
                Some(mut h) => {
                    h.outside_villages =
                        identity.as_ref().is_some_and(|i| !serves(i, &h.village_id));
                    page.households.push(h);
                }
                None => page.unreadable.push(id.clone()),
            }
        }
        if ids.len() >= limit.max(1) as usize {
            page.next = ids.last().cloned();
        }
        Ok(page)
    }

    pub fn list_households(
        &self,
        village: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HouseholdSummary>> {
        let g = self.lock();
        let village_id = match village {
            Some(name) if !name.trim().is_empty() => {
                let ident = g.identity.as_ref().ok_or(Error::NotInitialized)?;
                Some(query::resolve_village(ident, name)?.id)
            }
            _ => None,
        };
        // The work list: a household that moved to a village this device
        // does not serve is no longer its volunteers' to visit.
        query::list(&g.conn, village_id.as_deref(), None, true, limit)
    }

    /// Households whose head, members, address or phone match every word of
    /// `query`, ignoring tones and marks, best first (the order is
    /// [`crate::search`]'s); `total` counts them all, `limit` cuts the list.
    /// Households outside the device's villages (moved away) are found too,
    /// marked, so that a volunteer looking for one learns it moved.
    pub fn search(&self, query_text: &str, limit: u32) -> Result<SearchResults> {
        search::run(&self.lock().conn, query_text, limit)
    }

    // ---- members ----

    pub fn add_member(&self, household: &str, input: NewPerson) -> Result<Person> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let hid = query::resolve(&g.conn, Kind::Household, household, None)?;
        let name = v::required_text(Field::Name, &input.name, v::MAX_NAME)?;
        let edits = person_edits(
            Some(name),
            input.birth_year,
            input.gender.as_deref(),
            input.id_number.as_deref(),
            &input.skills,
            None,
        )?;
        let pid = new_id();
        let stamp = stamp(&ident);
        let mut all = edits;
        all.push((key::member::CREATED_AT, doc::str_value(stamp.at.clone())));
        all.push((
            key::member::CREATED_BY,
            doc::str_value(stamp.volunteer_id.clone()),
        ));
        let w = write_doc(
            &mut g,
            &hid,
            &stamp,
            "member.add",
            Touch::Person(&pid),
            |tx| doc::put_record(tx, doc::MEMBERS, &pid, &all),
        )?;
        w.person.ok_or_else(|| Error::NotFound {
            kind: Kind::Person,
            id: pid,
        })
    }

    pub fn edit_member(&self, member: &str, input: PersonEdit) -> Result<Person> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let pid = query::resolve(&g.conn, Kind::Person, member, None)?;
        let hid = query::household_of(&g.conn, Kind::Person, &pid)?;
        let current = self_household(&mut g, &hid)?;
        let existing = current
            .members
            .iter()
            .find(|m| m.id == pid)
            .ok_or_else(|| Error::NotFound {
                kind: Kind::Person,
                id: pid.clone(),
            })?;
        let name = input
            .name
            .as_deref()
            .map(|n| v::required_text(Field::Name, n, v::MAX_NAME))
            .transpose()?;
        let edits = person_edits(
            name,
            input.birth_year,
            input.gender.as_deref(),
            input.id_number.as_deref(),
            &input.skills,
            Some(existing),
        )?;
        let stamp = stamp(&ident);
        let w = write_doc(
            &mut g,
            &hid,
            &stamp,
            "member.edit",
            Touch::Person(&pid),
            |tx| doc::put_record(tx, doc::MEMBERS, &pid, &edits),
        )?;
        w.person.ok_or_else(|| Error::NotFound {
            kind: Kind::Person,
            id: pid,
        })
    }

    // ---- visits ----

    pub fn record_visit(&self, household: &str, input: NewVisit) -> Result<Visit> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let hid = query::resolve(&g.conn, Kind::Household, household, None)?;
        if input.services.is_empty() {
            return Err(Error::invalid(Field::ServiceCode, "", Problem::NoService));
        }
        let services = check_services(&g.conn, &input.services)?;
        let mut person_ids = Vec::new();
        for p in &input.person_ids {
            let pid = query::resolve(&g.conn, Kind::Person, p, Some(&hid))?;
            if !person_ids.contains(&pid) {
                person_ids.push(pid);
            }
        }
        let consent_id = match input.consent_id.as_deref().map(str::trim) {
            Some(c) if !c.is_empty() => {
                let cid = query::resolve(&g.conn, Kind::Consent, c, Some(&hid))?;
                if query::consent_withdrawn(&g.conn, &cid)? {
                    return Err(Error::invalid(
                        Field::ConsentId,
                        cid,
                        Problem::AlreadyWithdrawn,
                    ));
                }
                Some(cid)
            }
            _ => None,
        };
        let stamp = stamp(&ident);
        let visited_at = match input.visited_at.as_deref() {
            Some(t) if !t.trim().is_empty() => v::moment(Field::VisitedAt, t)?,
            _ => stamp.at.clone(),
        };
        let registered = query::registered_at(&g.conn, &hid)?;
        v::visit_moment(
            &visited_at,
            time::OffsetDateTime::now_utc(),
            registered.as_deref(),
            input.entered_late,
        )
        .map_err(|mut e| {
            // Say the time as it was typed, not as stored (UTC).
            if let Some(t) = input.visited_at.as_deref() {
                e.value = t.trim().to_string();
            }
            e
        })?;
        let duration = input
            .duration_minutes
            .map(|d| v::in_range(Field::DurationMinutes, d, 0, 24 * 60))
            .transpose()?;
        let follow_up = match input.follow_up_on.as_deref() {
            Some(d) if !d.trim().is_empty() => {
                Some(v::follow_up(v::date(Field::FollowUpOn, d)?, &visited_at)?.to_string())
            }
            _ => None,
        };
        let feedback = v::optional_note(Field::Value, input.feedback.as_deref())?;
        let mut volunteers = vec![ident.volunteer_id.clone()];
        for o in &input.other_volunteer_ids {
            let o = o.trim().to_string();
            if !o.is_empty() && !volunteers.contains(&o) {
                volunteers.push(o);
            }
        }
        let vid = new_id();
        let edits: Vec<FieldEdit> = vec![
            (key::visit::VISITED_AT, doc::str_value(visited_at.clone())),
            (key::visit::TEAM_ID, doc::str_value(ident.team_id.clone())),
            (key::visit::DURATION_MINUTES, doc::opt_int(duration)),
            (key::visit::FOLLOW_UP_ON, doc::opt_str(follow_up.clone())),
            (key::visit::FEEDBACK, doc::opt_str(feedback.clone())),
            (key::visit::CONSENT_ID, doc::opt_str(consent_id.clone())),
            (key::visit::RECORDED_AT, doc::str_value(stamp.at.clone())),
            (
                key::visit::RECORDED_BY,
                doc::str_value(stamp.volunteer_id.clone()),
            ),
        ];
        let visit = doc::visit_as_written(Visit {
            id: vid.clone(),
            visited_at,
            team_id: ident.team_id.clone(),
            volunteer_ids: volunteers.clone(),
            person_ids: person_ids.clone(),
            services: services.clone(),
            duration_minutes: duration,
            follow_up_on: follow_up,
            feedback,
            consent_id,
            recorded_at: stamp.at.clone(),
            recorded_by: stamp.volunteer_id.clone(),
            cancelled: None,
            edited: None,
        });
        write_doc(
            &mut g,
            &hid,
            &stamp,
            "visit.record",
            Touch::Visit(Box::new(visit.clone())),
            |tx| doc::put_visit(tx, &vid, &edits, &volunteers, &person_ids, &services),
        )?;
        Ok(visit)
    }

    pub fn list_visits(&self, household: Option<&str>, limit: u32) -> Result<Vec<Visit>> {
        let g = self.lock();
        let hid = household
            .map(|h| query::resolve(&g.conn, Kind::Household, h, None))
            .transpose()?;
        query::visits(&g.conn, hid.as_deref(), limit)
    }

    // ---- consent ----

    pub fn record_consent(&self, household: &str, input: NewConsent) -> Result<Consent> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let hid = query::resolve(&g.conn, Kind::Household, household, None)?;
        let pid = query::resolve(&g.conn, Kind::Person, &input.person_id, Some(&hid))?;
        let purpose = v::required_text(Field::Purpose, &input.purpose, v::MAX_ADDRESS)?;
        let method = v::word(
            Field::ConsentMethod,
            &input.method,
            ConsentMethod::parse_input,
            ConsentMethod::WORDS,
        )?;
        let stamp = stamp(&ident);
        let given_at = match input.given_at.as_deref() {
            Some(t) if !t.trim().is_empty() => v::moment(Field::GivenAt, t)?,
            _ => stamp.at.clone(),
        };
        let cid = new_id();
        let edits: Vec<FieldEdit> = vec![
            (key::consent::PERSON_ID, doc::str_value(pid)),
            (key::consent::PURPOSE, doc::str_value(purpose)),
            (key::consent::METHOD, doc::str_value(method.as_str())),
            (key::consent::GIVEN_AT, doc::str_value(given_at)),
            (
                key::consent::RECORDED_BY,
                doc::str_value(stamp.volunteer_id.clone()),
            ),
        ];
        let w = write_doc(
            &mut g,
            &hid,
            &stamp,
            "consent.record",
            Touch::Consent(&cid),
            |tx| doc::put_record(tx, doc::CONSENTS, &cid, &edits),
        )?;
        w.consent.ok_or_else(|| Error::NotFound {
            kind: Kind::Consent,
            id: cid,
        })
    }

    pub fn withdraw_consent(&self, consent: &str, reason: Option<String>) -> Result<Consent> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let cid = query::resolve(&g.conn, Kind::Consent, consent, None)?;
        if query::consent_withdrawn(&g.conn, &cid)? {
            return Err(Error::invalid(
                Field::ConsentId,
                cid,
                Problem::AlreadyWithdrawn,
            ));
        }
        let hid = query::household_of(&g.conn, Kind::Consent, &cid)?;
        let reason = v::optional_note(Field::Value, reason.as_deref())?;
        let stamp = stamp(&ident);
        let edits: Vec<FieldEdit> = vec![
            (key::consent::WITHDRAWN_AT, doc::str_value(stamp.at.clone())),
            (
                key::consent::WITHDRAWN_BY,
                doc::str_value(stamp.volunteer_id.clone()),
            ),
            (key::consent::WITHDRAWAL_REASON, doc::opt_str(reason)),
        ];
        let w = write_doc(
            &mut g,
            &hid,
            &stamp,
            "consent.withdraw",
            Touch::Consent(&cid),
            |tx| doc::put_record(tx, doc::CONSENTS, &cid, &edits),
        )?;
        w.consent.ok_or_else(|| Error::NotFound {
            kind: Kind::Consent,
            id: cid,
        })
    }

    // ---- conflicts ----

    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        query::conflicts(&self.lock().conn)
    }

    /// Every household's problems: values that break the schema or a rule that
    /// entry enforces (see [`HouseholdProblem`]).
    pub fn problems(&self) -> Result<Vec<HouseholdProblem>> {
        query::problems(&self.lock().conn, None)
    }

    /// Keeps `value` (one of the conflicting values) at `path` of a household.
    pub fn resolve_conflict(&self, household: &str, path: &str, value: &str) -> Result<Household> {
        let mut g = self.lock();
        let ident = g.identity.clone().ok_or(Error::NotInitialized)?;
        let hid = query::resolve_own(&g.conn, Kind::Household, household, None)?;
        let conflict = query::conflicts(&g.conn)?
            .into_iter()
            .find(|c| c.household_id == hid && c.path == path)
            .ok_or_else(|| Error::invalid(Field::Path, path, Problem::NoConflict))?;
        // A household is named by its short id as well.
        let value = match conflict
            .values
            .iter()
            .filter(|x| path == key::MERGED_INTO && x.ends_with(value.trim()))
            .collect::<Vec<_>>()
            .as_slice()
        {
            [one] if !value.trim().is_empty() => one.to_string(),
            _ => value.to_string(),
        };
        let value = value.as_str();
        if !conflict.values.iter().any(|x| x == value) {
            return Err(Error::invalid(
                Field::Value,
                value,
                Problem::NotAConflictValue {
                    values: conflict.values,
                },
            ));
        }
        if path == key::MERGED_INTO {
            // Two merges of this household made at once, into different
            // households: the one kept is merged into again, whole.
            let into = query::resolve_own(&g.conn, Kind::Household, value, None)?;
            merges::write_merge(&mut g, &ident, &hid, &into, "conflict.resolve")?;
            drop(g);
            return self.household(&hid);
        }
        let scalar = conflict_scalar(path, value);
        check_resolution(&mut g, &hid, path, value, &scalar)?;
        let stamp = stamp(&ident);
        write_doc(
            &mut g,
            &hid,
            &stamp,
            "conflict.resolve",
            Touch::Path(path),
            |tx| doc::put_path(tx, path, scalar).map(|_| ()),
        )?;
        drop(g);
        self.household(&hid)
    }

    // ---- status and maintenance ----

    pub fn status(&self) -> Result<StoreStatus> {
        query::status(&self.lock().conn)
    }

    /// Rewrites every projection row from the documents alone.
    pub fn rebuild_projection(&self) -> Result<u64> {
        let mut g = self.lock();
        let actor = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for table in schema::PROJECTION_TABLES {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
        }
        let ids: Vec<String> = docs::all_heads(&tx)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut marked = Vec::new();
        for id in &ids {
            let document = docs::load(&tx, cache, id, &actor)?.ok_or_else(|| Error::NotFound {
                kind: Kind::Household,
                id: id.clone(),
            })?;
            let h = doc::read_household_as(&document, id, Scope::All).map_err(|reason| {
                Error::BadDocument {
                    id: id.clone(),
                    reason: reason.to_string(),
                }
            })?;
            projection::project_full(&tx, &h)?;
            if h.merged.is_some() {
                marked.push(id.clone());
            }
        }
        if !marked.is_empty() {
            merges::reproject(&tx, &mut merges::store_reader(&tx, cache, &actor), &marked)?;
        }
        tx.commit()?;
        Ok(ids.len() as u64)
    }

    /// Every projection row as text, in a fixed order (to compare two stores).
    pub fn projection_dump(&self) -> Result<Vec<String>> {
        projection::dump(&self.lock().conn)
    }

    /// SQLite's own check of the file.
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .lock()
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    // ---- exchange without a server ----

    /// What this store holds: each document's heads.
    pub fn doc_heads(&self) -> Result<Vec<DocHeads>> {
        let g = self.lock();
        Ok(docs::all_heads(&g.conn)?
            .into_iter()
            .map(|(doc_id, heads)| DocHeads {
                doc_id,
                heads: heads
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
            .collect())
    }

    /// The changes this store has that a store holding `peer` lacks (all changes
    /// when `peer` is `None`), as a bundle for [`Store::import_changes`].
    pub fn export_changes(&self, peer: Option<&[DocHeads]>) -> Result<Vec<u8>> {
        let mut g = self.lock();
        let actor = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let mut out = Vec::new();
        for (id, heads) in docs::all_heads(conn)? {
            let theirs: Option<&DocHeads> = peer.and_then(|p| p.iter().find(|d| d.doc_id == id));
            if let Some(t) = theirs {
                let mut hs = t.heads.clone();
                hs.sort();
                if hs.join(",") == heads {
                    continue;
                }
            }
            let Some(document) = docs::load(conn, cache, &id, &actor)? else {
                continue;
            };
            let have: Vec<ChangeHash> = theirs
                .map(|t| {
                    t.heads
                        .iter()
                        .filter_map(|h| h.parse::<ChangeHash>().ok())
                        .filter(|h| document.get_change_meta_by_hash(h).is_some())
                        .collect()
                })
                .unwrap_or_default();
            let changes: Vec<Vec<u8>> = document
                .get_changes(&have)
                .iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect();
            cache.put(&id, document);
            if !changes.is_empty() {
                out.push(DocChanges {
                    doc_id: id,
                    changes,
                });
            }
        }
        Ok(bundle::encode(&out))
    }

    /// Applies a bundle from [`Store::export_changes`]. A bundle that cannot be
    /// decoded changes nothing; within one, a change that cannot be applied is
    /// quarantined (with those that depend on it) and the rest is applied.
    pub fn import_changes(&self, bytes: &[u8]) -> Result<ImportReport> {
        let docs = bundle::decode(bytes).map_err(|e| Error::BadChanges(e.0))?;
        self.apply_doc_changes(docs, Origin::Peer)
    }

    /// The full id of household `wanted` (a full id or its last characters),
    /// itself even when it was merged into another: the id of its own
    /// document.
    pub fn own_household_id(&self, wanted: &str) -> Result<String> {
        query::resolve_own(&self.lock().conn, Kind::Household, wanted, None)
    }

    /// Writes a household's document as a standard `.automerge` file's bytes.
    pub fn export_doc(&self, household: &str) -> Result<Vec<u8>> {
        let mut g = self.lock();
        let id = query::resolve_own(&g.conn, Kind::Household, household, None)?;
        let actor = g.actor.clone();
        let Inner { conn, cache, .. } = &mut *g;
        let document = docs::load(conn, cache, &id, &actor)?.ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id: id.clone(),
        })?;
        let bytes = document.save();
        cache.put(&id, document);
        Ok(bytes)
    }

    /// Merges a household document read from a `.automerge` file.
    pub fn import_doc(&self, bytes: &[u8]) -> Result<(String, ImportReport)> {
        // Untrusted bytes: Automerge may panic on them instead of refusing.
        let read = crate::isolate::isolate(|| -> Result<(String, Vec<Vec<u8>>)> {
            let document = Automerge::load(bytes).map_err(|e| Error::BadChanges(e.to_string()))?;
            let all = document.get_changes(&[]);
            // Named by its first change, whatever its `id` field says.
            let id = all
                .iter()
                .find(|c| c.deps().is_empty())
                .map(|c| gocua_protocol::ids::derived_doc_id(&c.hash().0))
                .ok_or_else(|| Error::BadChanges("the document has no first change".into()))?;
            doc::read_household_as(&document, &id, Scope::All)
                .map_err(|e| Error::BadChanges(e.to_string()))?;
            let changes = all.iter().map(|c| c.raw_bytes().to_vec()).collect();
            Ok((id, changes))
        });
        let (id, changes) = read.map_err(|p| {
            Error::BadChanges(format!("Automerge could not read the document: {p}"))
        })??;
        let report = self.apply_doc_changes(
            vec![DocChanges {
                doc_id: id.clone(),
                changes,
            }],
            Origin::Peer,
        )?;
        Ok((id, report))
    }
}

// ---- helpers shared by the writes ----

fn stamp(ident: &Identity) -> Stamp {
    let now = time::OffsetDateTime::now_utc();
    Stamp {
        volunteer_id: ident.volunteer_id.clone(),
        at: v::format_utc(now).unwrap_or_default(),
        at_secs: now.unix_timestamp(),
    }
}

fn opt_phone(p: Option<&str>) -> Result<Option<String>> {
    match p.map(str::trim) {
        Some(p) if !p.is_empty() => Ok(Some(v::phone(p)?)),
        _ => Ok(None),
    }
}

fn opt_word<T>(
    field: Field,
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    words: &[&'static str],
) -> Result<Option<T>> {
    match value.map(str::trim) {
        Some(w) if !w.is_empty() => Ok(Some(v::word(field, w, parse, words)?)),
        _ => Ok(None),
    }
}

fn check_codes(
    conn: &Connection,
    kind: &str,
    field: Field,
    codes: &[String],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for c in codes {
        let c = catalogue::check(conn, kind, field, c)?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

fn person_edits(
    name: Option<String>,
    birth_year: Option<i64>,
    gender: Option<&str>,
    id_number: Option<&str>,
    skills: &SkillsEdit,
    existing: Option<&Person>,
) -> Result<Vec<FieldEdit>> {
    let mut edits: Vec<FieldEdit> = Vec::new();
    if let Some(n) = name {
        edits.push((key::member::NAME, doc::str_value(n)));
    }
    let year = birth_year
        .map(|y| v::birth_year(y, v::this_year()))
        .transpose()?;
    if let Some(y) = year {
        edits.push((key::member::BIRTH_YEAR, doc::opt_int(Some(y))));
    }
    let gender_value = match gender {
        Some(g) => opt_word(Field::Gender, Some(g), Gender::parse_input, Gender::WORDS)?,
        None => existing.and_then(|p| p.gender),
    };
    if gender.is_some() {
        edits.push((
            key::member::GENDER,
            doc::opt_str(gender_value.map(|g| g.as_str().to_string())),
        ));
    }
    let effective_year = year.or_else(|| existing.and_then(|p| p.birth_year));
    let number = match id_number.map(str::trim) {
        Some("") => Some(None),
        Some(n) => Some(Some(v::id_number(n, effective_year, gender_value)?)),
        None => None,
    };
    match number {
        Some(n) => edits.push((key::member::ID_NUMBER, doc::opt_str(n))),
        None => {
            // A changed birth year or gender must still agree with a stored number.
            if let Some(n) = existing.and_then(|p| p.id_number.as_deref())
                && (year.is_some() || gender.is_some())
            {
                v::id_number(n, effective_year, gender_value)?;
            }
        }
    }
    if let Some(l) = skills.vneid_level.as_deref() {
        let level = opt_word(
            Field::VneidLevel,
            Some(l),
            VneidLevel::parse_input,
            VneidLevel::WORDS,
        )?;
        edits.push((
            key::member::VNEID_LEVEL,
            doc::opt_str(level.map(|l| l.as_str().to_string())),
        ));
    }
    for (key, val) in skills.flags() {
        if let Some(b) = val {
            edits.push((key, doc::opt_bool(Some(b))));
        }
    }
    Ok(edits)
}

/// How a chosen conflict value is written back: numbers and flags keep their type.
fn conflict_scalar(path: &str, value: &str) -> ScalarValue {
    let last = path.rsplit('/').next().unwrap_or(path);
    match last {
        k if key::INT_KEYS.contains(&k) => match value.parse::<i64>() {
            Ok(i) => ScalarValue::Int(i),
            Err(_) => ScalarValue::Str(value.into()),
        },
        k if SKILL_FLAGS.contains(&k) => match value {
            "true" => ScalarValue::Boolean(true),
            "false" => ScalarValue::Boolean(false),
            _ => ScalarValue::Str(value.into()),
        },
        _ => ScalarValue::Str(value.into()),
    }
}

/// Refuses a resolution whose value breaks a rule given the rest of the merged
/// record (an ID number that does not match the merged birth year and gender):
/// the record is checked with the value written in a transaction rolled back.
fn check_resolution(
    g: &mut Inner,
    hid: &str,
    path: &str,
    value: &str,
    scalar: &ScalarValue,
) -> Result<()> {
    let actor = g.actor.clone();
    let Inner { conn, cache, .. } = g;
    let mut document = docs::load(conn, cache, hid, &actor)?.ok_or_else(|| Error::NotFound {
        kind: Kind::Household,
        id: hid.to_string(),
    })?;
    let checked = {
        let mut tx = document.transaction();
        let found = doc::put_path(&mut tx, path, scalar.clone())
            .map_err(Error::from)
            .and_then(|_| record_problems(conn, &tx, hid, path));
        tx.rollback();
        found
    };
    cache.put(hid, document);
    let key = path.rsplit('/').next().unwrap_or(path);
    match checked?
        .into_iter()
        .find(|p| p.path == path || p.fields.iter().any(|f| f == key))
    {
        Some(p) => Err(Error::BreaksRule(Box::new(crate::error::BrokenRule {
            path: path.to_string(),
            value: value.to_string(),
            fields: p.fields,
            problem: p.problem,
            found: p.value,
        }))),
        None => Ok(()),
    }
}

/// The problems of the record `path` belongs to, read from `document`.
fn record_problems<D: automerge::ReadDoc>(
    conn: &Connection,
    document: &D,
    hid: &str,
    path: &str,
) -> Result<Vec<HouseholdProblem>> {
    let record = record_of(path);
    let mut parts = record.splitn(2, '/');
    let found = match (parts.next(), parts.next()) {
        (Some(doc::MEMBERS), Some(id)) => doc::record(document, doc::MEMBERS, id)
            .map(|obj| doc::read_person(document, hid, id.to_string(), &obj).1),
        (Some(doc::CONSENTS), Some(id)) => doc::record(document, doc::CONSENTS, id)
            .map(|obj| doc::read_consent(document, hid, id.to_string(), &obj).1),
        (Some(doc::VISITS), Some(id)) => match doc::record(document, doc::VISITS, id) {
            Some(obj) => {
                let (v, mut list) = doc::read_visit(document, hid, id.to_string(), &obj);
                projection::merge_problems(
                    &mut list,
                    projection::code_problems(conn, hid, &[], &[&v])?,
                );
                Some(list)
            }
            None => None,
        },
        _ => {
            let h = doc::read_household_as(document, hid, Scope::WithoutVisits)
                .map_err(bad_doc(hid))?;
            let mut list = doc::root_problems(&h);
            projection::merge_problems(
                &mut list,
                projection::code_problems(conn, hid, &h.target_groups, &[])?,
            );
            Some(list)
        }
    };
    Ok(found.unwrap_or_default())
}

/// The household read from its document (members, consents, no visits).
fn self_household(g: &mut Inner, hid: &str) -> Result<Household> {
    let actor = g.actor.clone();
    let document =
        docs::load(&g.conn, &mut g.cache, hid, &actor)?.ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id: hid.to_string(),
        })?;
    let h = doc::read_household_as(&document, hid, Scope::WithoutVisits).map_err(|reason| {
        Error::BadDocument {
            id: hid.to_string(),
            reason: reason.to_string(),
        }
    });
    g.cache.put(hid, document);
    h
}

/// A new household's fields, checked: its document edits and its target
/// groups (what `add_household` and an import write alike).
fn household_fields(
    conn: &Connection,
    input: &NewHousehold,
) -> Result<(Vec<FieldEdit>, Vec<String>)> {
    let head_name = v::required_text(Field::HeadName, &input.head_name, v::MAX_NAME)?;
    let address = v::optional_text(Field::Address, Some(&input.address), v::MAX_ADDRESS)?;
    let phone = opt_phone(input.phone.as_deref())?;
    let member_count = input
        .member_count
        .map(|n| v::in_range(Field::MemberCount, n, 1, 100))
        .transpose()?;
    let device_access = opt_word(
        Field::DeviceAccess,
        input.device_access.as_deref(),
        DeviceAccess::parse_input,
        DeviceAccess::WORDS,
    )?;
    let groups = check_codes(
        conn,
        catalogue::TARGET_GROUP,
        Field::TargetGroup,
        &input.target_groups,
    )?;
    let edits: Vec<FieldEdit> = vec![
        (key::HEAD_NAME, doc::str_value(head_name)),
        (key::ADDRESS, doc::str_value(address.unwrap_or_default())),
        (key::PHONE, doc::opt_str(phone)),
        (key::MEMBER_COUNT, doc::opt_int(member_count)),
        (
            key::DEVICE_ACCESS,
            doc::opt_str(device_access.map(|d| d.as_str().to_string())),
        ),
    ];
    Ok((edits, groups))
}

/// Services and outcomes checked against the catalogue; a service named
/// twice keeps its last outcome.
fn check_services(conn: &Connection, list: &[ServiceOutcome]) -> Result<Vec<ServiceOutcome>> {
    let mut services = Vec::with_capacity(list.len());
    for s in list {
        let service = catalogue::check(conn, catalogue::SERVICE, Field::ServiceCode, &s.service)?;
        let outcome = catalogue::check(conn, catalogue::OUTCOME, Field::OutcomeCode, &s.outcome)?;
        let note = v::optional_note(Field::Value, s.note.as_deref())?;
        services.retain(|x: &ServiceOutcome| x.service != service);
        services.push(ServiceOutcome {
            service,
            outcome,
            note,
        });
    }
    Ok(services)
}

/// What a local write touched, and so what is read back and projected.
enum Touch<'a> {
    /// A new household document.
    New,
    /// The household's own fields.
    Root,
    Person(&'a str),
    Consent(&'a str),
    /// A new visit, as written (nothing is read back).
    Visit(Box<Visit>),
    /// One field, at a conflict path.
    Path(&'a str),
}

/// The records a local write returns.
#[derive(Default)]
struct Written {
    household: Option<Household>,
    person: Option<Person>,
    consent: Option<Consent>,
}

/// Loads household `hid`, commits `f` on it and persists the change.
fn write_doc<F>(
    g: &mut Inner,
    hid: &str,
    stamp: &Stamp,
    action: &str,
    touch: Touch<'_>,
    f: F,
) -> Result<Written>
where
    F: FnOnce(
        &mut automerge::transaction::Transaction<'_>,
    ) -> Result<(), automerge::AutomergeError>,
{
    // A household that moved to a village this device does not serve is a
    // read-only record here: the server would refuse the change, and the
    // volunteers of its new village now look after it.
    if let Some(village) = query::village_of(&g.conn, hid)?
        && let Some(ident) = &g.identity
        && !serves(ident, &village)
    {
        return Err(Error::OutsideVillages {
            id: hid.to_string(),
        });
    }
    if action != corrections::UNMARK_IN_ERROR && query::in_error(&g.conn, hid)? {
        return Err(Error::invalid(
            Field::HouseholdId,
            hid,
            Problem::MarkedInError,
        ));
    }
    let actor = g.actor.clone();
    let mut document =
        docs::load(&g.conn, &mut g.cache, hid, &actor)?.ok_or_else(|| Error::NotFound {
            kind: Kind::Household,
            id: hid.to_string(),
        })?;
    let before = docs::heads_text(&document.get_heads());
    let changes = match doc::commit(&mut document, stamp, action, f) {
        Ok(c) => c.into_iter().collect(),
        Err(e) => {
            g.cache.evict(hid);
            return Err(e.into());
        }
    };
    persist_local(g, hid, document, Some(before), changes, stamp, touch)
}

/// Whether the device serves this village.
fn serves(ident: &Identity, village_id: &str) -> bool {
    ident.villages.iter().any(|v| v.id == village_id)
}

fn bad_doc<E: std::fmt::Display>(hid: &str) -> impl Fn(E) -> Error + '_ {
    move |reason| Error::BadDocument {
        id: hid.to_string(),
        reason: reason.to_string(),
    }
}

/// One SQLite transaction: the change, the outbox row and the projection of
/// what the write touched. `before` is the heads the document was loaded at
/// (`None` for a new one).
fn persist_local(
    g: &mut Inner,
    hid: &str,
    document: Automerge,
    before: Option<String>,
    changes: Vec<Change>,
    stamp: &Stamp,
    touch: Touch<'_>,
) -> Result<Written> {
    // A resolved path is projected as the part it belongs to; a visit's is read
    // back, with the problems reading finds.
    let mut read_visit_problems = None;
    let touch = match touch {
        Touch::Path(path) => {
            let mut parts = path.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(doc::MEMBERS), Some(id)) => Touch::Person(id),
                (Some(doc::CONSENTS), Some(id)) => Touch::Consent(id),
                (Some(doc::VISITS), Some(id)) => match doc::record(&document, doc::VISITS, id) {
                    Some(obj) => {
                        let (v, list) = doc::read_visit(&document, hid, id.to_string(), &obj);
                        read_visit_problems = Some(list);
                        Touch::Visit(Box::new(v))
                    }
                    None => Touch::Root,
                },
                _ => Touch::Root,
            }
        }
        t => t,
    };
    let mut written = Written::default();
    let mut visit = None;
    // The record the write touched and its problems, re-checked: a local write
    // changes no other record's.
    let (record, mut record_problems) = match touch {
        Touch::New | Touch::Root | Touch::Path(_) => {
            let h = doc::read_household_as(&document, hid, Scope::WithoutVisits)
                .map_err(bad_doc(hid))?;
            let list = doc::root_problems(&h);
            written.household = Some(h);
            (String::new(), list)
        }
        Touch::Person(pid) => {
            let obj = doc::record(&document, doc::MEMBERS, pid)
                .ok_or_else(|| bad_doc(hid)(format!("member {pid} missing after write")))?;
            let (p, list) = doc::read_person(&document, hid, pid.to_string(), &obj);
            written.person = Some(p);
            (format!("{}/{pid}", doc::MEMBERS), list)
        }
        Touch::Consent(cid) => {
            let obj = doc::record(&document, doc::CONSENTS, cid)
                .ok_or_else(|| bad_doc(hid)(format!("consent {cid} missing after write")))?;
            let (c, list) = doc::read_consent(&document, hid, cid.to_string(), &obj);
            written.consent = Some(c);
            (format!("{}/{cid}", doc::CONSENTS), list)
        }
        Touch::Visit(v) => {
            let list = read_visit_problems
                .unwrap_or_else(|| doc::written_visit_problems(&document, hid, &v));
            let record = format!("{}/{}", doc::VISITS, v.id);
            visit = Some(v);
            (record, list)
        }
    };
    if let Some(h) = &mut written.household {
        projection::merge_problems(
            &mut h.problems,
            projection::code_problems(&g.conn, hid, &h.target_groups, &[])?,
        );
    }
    if let Some(v) = &visit {
        projection::merge_problems(
            &mut record_problems,
            projection::code_problems(&g.conn, hid, &[], &[v])?,
        );
    } else if let Some(h) = &written.household {
        record_problems = doc::root_problems(h);
    }
    if changes.is_empty() {
        g.cache.put(hid, document);
        return Ok(written);
    };
    let actor = g.actor.clone();
    let result = (|| -> Result<()> {
        let tx = g
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have written this document since we loaded it.
        if docs::stored_heads(&tx, hid)? != before {
            return Err(Error::BadDocument {
                id: hid.to_string(),
                reason: "changed by another process meanwhile; try again".into(),
            });
        }
        docs::append(&tx, hid, &document, &changes, &stamp.at)?;
        for change in &changes {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (hash, doc_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![change.hash().to_string(), hid, stamp.at])?;
        }
        // A household of a merge group is projected with its group: where
        // each counts may have changed, and its records show under another.
        let grouped = before.is_some()
            && (written
                .household
                .as_ref()
                .is_some_and(|h| h.merged.is_some())
                || merges::grouped(&tx, hid)?);
        if grouped {
            let mut read = |id: &str| -> Result<Option<Household>> {
                if id == hid {
                    return Ok(doc::read_household_as(&document, hid, Scope::All).ok());
                }
                merges::store_reader(&tx, &mut g.cache, &actor)(id)
            };
            merges::reproject(&tx, &mut read, &[hid.to_string()])?;
        } else if before.is_none() {
            if let Some(h) = &written.household {
                projection::project_full(&tx, h)?;
            }
        } else if let Some(h) = &written.household {
            projection::upsert_root(&tx, h)?;
            projection::refresh_search(&tx, hid)?;
        } else if let Some(p) = &written.person {
            projection::upsert_person(&tx, hid, p)?;
            projection::refresh_search(&tx, hid)?;
        } else if let Some(c) = &written.consent {
            projection::upsert_consent(&tx, hid, c)?;
        } else if let Some(v) = &visit {
            projection::upsert_visit(&tx, hid, v)?;
        }
        if before.is_some() && !grouped {
            projection::replace_problems(&tx, hid, &record, &record_problems)?;
        }
        projection::recheck_conflicts(&tx, &document, hid)?;
        tx.commit()?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            g.cache.put(hid, document);
            Ok(written)
        }
        Err(e) => {
            g.cache.evict(hid);
            Err(e)
        }
    }
}
