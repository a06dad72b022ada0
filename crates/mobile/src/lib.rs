//! field-core for the phone app: the store, sync and exchange through UniFFI,
//! for Kotlin (Android), Swift (iOS) and Python (the tests here).
//! docs/mobile.md says how an app ships it.
//!
//! Threads: a [`FieldStore`] is shared freely between threads (calls are
//! serialized inside); [`FieldStore::sync`] blocks and belongs on a worker
//! thread, while the UI thread keeps reading. No panic crosses the boundary:
//! each call catches one and returns [`GocuaError::Other`] with code
//! `internal`; the store's transaction rolled back, so nothing changed.

mod error;
mod records;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use field_core::messages::Lang;
use field_core::{Store, StoreKey};

pub use error::GocuaError;
pub use records::*;

uniffi::setup_scaffolding!();

type Result<T> = std::result::Result<T, GocuaError>;

/// A new random 256-bit key for a new store, from the operating system: the
/// app keeps it in Android Keystore / iOS Keychain and gives it to
/// [`FieldStore::open`] every time.
#[uniffi::export]
pub fn generate_key() -> Result<Vec<u8>> {
    match StoreKey::generate() {
        Ok(StoreKey::Raw(k)) => Ok(k.to_vec()),
        Ok(_) => Err(error::panicked(Lang::Vi)),
        Err(e) => Err(error::from_core(Lang::Vi, e)),
    }
}

/// Changes the key of the store at `path` (no `FieldStore` may have it open):
/// a copy under the new key replaces it, so an interruption leaves it under
/// the old key or the new one.
#[uniffi::export]
pub fn change_key(
    path: String,
    old_key: Vec<u8>,
    new_key: Vec<u8>,
    language: String,
) -> Result<()> {
    let lang = Lang::from_tag(&language);
    guard(lang, || {
        let old = raw_key(lang, Some(old_key))?;
        let new = raw_key(lang, Some(new_key))?;
        field_core::store::cipher::change_key(std::path::Path::new(&path), &old, &new)
            .map_err(|e| error::from_core(lang, e))
    })
}

/// Told how a sync goes; implemented by the app (a progress bar, a cancel
/// button). Called on the thread that runs the sync.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn progress(&self, progress: SyncProgress);
    /// The server could not be reached on try `attempt` of `attempts`; the
    /// next follows after a pause.
    fn retrying(&self, attempt: u32, attempts: u32);
}

/// Stops a running sync at its next request (or pause); what it did before
/// stays done.
#[derive(Debug, Default, uniffi::Object)]
pub struct SyncCancel {
    cancelled: AtomicBool,
}

#[uniffi::export]
impl SyncCancel {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(SyncCancel::default())
    }

    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// The device's store: households, members, consents, visits, search,
/// conflicts, sync and exchange with other devices.
#[derive(uniffi::Object)]
pub struct FieldStore {
    store: Store,
    lang: Lang,
}

impl std::fmt::Debug for FieldStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldStore")
            .field("store", &self.store)
            .finish()
    }
}

#[uniffi::export]
impl FieldStore {
    /// Opens (creating it if needed) the store at `path`, encrypted with
    /// `key`: 32 bytes from the platform keystore ([`generate_key`] makes
    /// one). `None` keeps a store unencrypted: for tests only. A plain store
    /// opened with a key is encrypted in place. `language` (`vi`, `en`) is
    /// the language of the messages.
    #[uniffi::constructor]
    pub fn open(path: String, key: Option<Vec<u8>>, language: String) -> Result<Arc<Self>> {
        let lang = Lang::from_tag(&language);
        guard(lang, || {
            let key = raw_key(lang, key)?;
            let store = Store::open(&path, &key).map_err(|e| error::from_core(lang, e))?;
            Ok(Arc::new(FieldStore { store, lang }))
        })
    }

    /// Sets the device up offline: its volunteer, team, commune and villages.
    pub fn init(&self, request: InitRequest) -> Result<Identity> {
        self.call(|s| s.init(request.into()).map(Into::into))
    }

    /// Enrolls the device with a sync server with the commune's one-time code.
    pub fn enroll(
        &self,
        server_url: String,
        code: String,
        device_name: String,
    ) -> Result<Identity> {
        self.call(|s| field_core::sync::enroll(s, &server_url, &code, &device_name).map(Into::into))
    }

    pub fn identity(&self) -> Result<Identity> {
        self.call(|s| s.identity().map(Into::into))
    }

    pub fn add_household(&self, input: NewHousehold) -> Result<Household> {
        let lang = self.lang;
        self.call(|s| {
            s.add_household(input.into())
                .map(|h| records::household(lang, h))
        })
    }

    pub fn edit_household(&self, household: String, edit: HouseholdEdit) -> Result<Household> {
        let lang = self.lang;
        self.call(|s| {
            s.edit_household(&household, edit.into())
                .map(|h| records::household(lang, h))
        })
    }

    /// A household by its id (or its last characters), whole.
    pub fn household(&self, household: String) -> Result<Household> {
        let lang = self.lang;
        self.call(|s| s.household(&household).map(|h| records::household(lang, h)))
    }

    /// The households of this device's villages (or of one, by name or id).
    pub fn list_households(
        &self,
        village: Option<String>,
        limit: u32,
    ) -> Result<Vec<HouseholdSummary>> {
        self.call(|s| {
            s.list_households(village.as_deref(), limit)
                .map(|l| l.into_iter().map(Into::into).collect())
        })
    }

    /// Households by name, phone or address: tones, case and typing forms
    /// do not matter.
    pub fn search(&self, query: String, limit: u32) -> Result<SearchResults> {
        self.call(|s| {
            s.search(&query, limit).map(|r| SearchResults {
                total: r.total,
                households: r
                    .households
                    .into_iter()
                    .map(|h| h.household.into())
                    .collect(),
            })
        })
    }

    pub fn add_member(&self, household: String, input: NewPerson) -> Result<Person> {
        self.call(|s| s.add_member(&household, input.into()).map(Into::into))
    }

    pub fn edit_member(&self, member: String, edit: PersonEdit) -> Result<Person> {
        self.call(|s| s.edit_member(&member, edit.into()).map(Into::into))
    }

    pub fn record_consent(&self, household: String, input: NewConsent) -> Result<Consent> {
        self.call(|s| s.record_consent(&household, input.into()).map(Into::into))
    }

    pub fn withdraw_consent(&self, consent: String, reason: Option<String>) -> Result<Consent> {
        self.call(|s| s.withdraw_consent(&consent, reason).map(Into::into))
    }

    pub fn record_visit(&self, household: String, input: NewVisit) -> Result<Visit> {
        self.call(|s| s.record_visit(&household, input.into()).map(Into::into))
    }

    /// Visits, newest first: of one household, or of all.
    pub fn list_visits(&self, household: Option<String>, limit: u32) -> Result<Vec<Visit>> {
        self.call(|s| {
            s.list_visits(household.as_deref(), limit)
                .map(|l| l.into_iter().map(Into::into).collect())
        })
    }

    /// Fields changed on two devices, both values kept, waiting for a decision.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let lang = self.lang;
        self.call(|s| {
            s.conflicts().map(|l| {
                l.into_iter()
                    .map(|c| Conflict {
                        label: field_core::messages::path_label(lang, &c.path),
                        household_id: c.household_id,
                        path: c.path,
                        values: c.values,
                    })
                    .collect()
            })
        })
    }

    /// Keeps `value` (one of the conflict's) at `path` of the household.
    pub fn resolve_conflict(
        &self,
        household: String,
        path: String,
        value: String,
    ) -> Result<Household> {
        let lang = self.lang;
        self.call(|s| {
            s.resolve_conflict(&household, &path, &value)
                .map(|h| records::household(lang, h))
        })
    }

    /// A catalogue: `service`, `outcome` or `target_group`.
    pub fn catalogue(&self, kind: String) -> Result<Vec<CatalogueEntry>> {
        use field_core::doc::catalogue::{OUTCOME, SERVICE, TARGET_GROUP};
        if ![SERVICE, OUTCOME, TARGET_GROUP].contains(&kind.as_str()) {
            return Err(GocuaError::Invalid {
                field: "kind".into(),
                problem: "not_one_of".into(),
                message: match self.lang {
                    Lang::Vi => format!(
                        "không có danh mục \"{kind}\": chọn {SERVICE}, {OUTCOME} hoặc {TARGET_GROUP}."
                    ),
                    Lang::En => format!(
                        "no catalogue \"{kind}\": choose {SERVICE}, {OUTCOME} or {TARGET_GROUP}."
                    ),
                },
            });
        }
        self.call(|s| {
            s.catalogue(&kind).map(|l| {
                l.into_iter()
                    .map(|e| CatalogueEntry {
                        code: e.code,
                        name_vi: e.name_vi,
                        name_en: e.name_en,
                    })
                    .collect()
            })
        })
    }

    pub fn status(&self) -> Result<StoreStatus> {
        self.call(|s| s.status().map(Into::into))
    }

    /// What this device holds, for another device to say what it lacks.
    pub fn doc_heads(&self) -> Result<Vec<DocHeads>> {
        self.call(|s| {
            s.doc_heads()
                .map(|l| l.into_iter().map(Into::into).collect())
        })
    }

    /// The changes a device holding `peer` lacks (all with `None`), as bytes
    /// to hand over by file, Bluetooth or QR codes.
    pub fn export_changes(&self, peer: Option<Vec<DocHeads>>) -> Result<Vec<u8>> {
        self.call(|s| {
            let peer: Option<Vec<field_core::DocHeads>> =
                peer.map(|p| p.into_iter().map(Into::into).collect());
            s.export_changes(peer.as_deref())
        })
    }

    /// Takes in another device's changes; what cannot be applied is set
    /// aside (quarantined), the rest applied.
    pub fn import_changes(&self, bytes: Vec<u8>) -> Result<ImportReport> {
        self.call(|s| s.import_changes(&bytes).map(Into::into))
    }

    /// Receives the others' work and sends this device's: blocks, for a
    /// worker thread. `listener` hears the progress; `cancel` stops it at the
    /// next request. A revoked device told to wipe reports what it had not
    /// sent, then wipes its data: [`GocuaError::Revoked`] with `wiped`.
    pub fn sync(
        &self,
        listener: Option<Arc<dyn SyncListener>>,
        cancel: Option<Arc<SyncCancel>>,
    ) -> Result<SyncReport> {
        let observer = Observer { listener, cancel };
        self.call(|s| field_core::sync::sync(s, Some(&observer)).map(Into::into))
    }
}

impl FieldStore {
    fn call<T>(&self, f: impl FnOnce(&Store) -> field_core::Result<T>) -> Result<T> {
        let lang = self.lang;
        guard(lang, || {
            f(&self.store).map_err(|e| error::from_core(lang, e))
        })
    }
}

/// Runs `f`, turning a panic into an error: none crosses into the app.
fn guard<T>(lang: Lang, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            tracing::error!("a panic was caught at the binding's boundary");
            Err(error::panicked(lang))
        }
    }
}

fn raw_key(lang: Lang, key: Option<Vec<u8>>) -> Result<StoreKey> {
    match key {
        None => Ok(StoreKey::Unencrypted),
        Some(bytes) => {
            let raw: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| GocuaError::WrongKey {
                    message: match lang {
                        Lang::Vi => {
                            format!("khoá phải dài 32 byte (khoá này {} byte).", bytes.len())
                        }
                        Lang::En => format!(
                            "the key must be 32 bytes long (this one is {}).",
                            bytes.len()
                        ),
                    },
                })?;
            Ok(StoreKey::Raw(raw))
        }
    }
}

struct Observer {
    listener: Option<Arc<dyn SyncListener>>,
    cancel: Option<Arc<SyncCancel>>,
}

impl field_core::SyncObserver for Observer {
    fn progress(&self, phase: field_core::SyncPhase, done: u64, total: u64) {
        if let Some(l) = &self.listener {
            let phase = match phase {
                field_core::SyncPhase::Bootstrap => "bootstrap",
                field_core::SyncPhase::Pull => "pull",
                field_core::SyncPhase::Push => "push",
            };
            l.progress(SyncProgress {
                phase: phase.into(),
                done,
                total,
            });
        }
    }

    fn retrying(&self, attempt: u32, attempts: u32) {
        if let Some(l) = &self.listener {
            l.retrying(attempt, attempts);
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }
}
