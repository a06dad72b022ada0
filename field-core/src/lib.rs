//! field-core: the device side of gocua.
//!
//! A local SQLite store of households, their members, consent records and support
//! sessions (visits), each household one Automerge document so that edits made
//! offline on several devices merge without losing anything. The facade is
//! [`Store`]; its types are plain owned records so that it can be exposed to
//! Android and iOS apps through UniFFI.

pub mod catalogue;
pub mod duplicates;
pub mod error;
mod isolate;
pub mod messages;
pub mod model;
pub mod search;
pub mod store;
pub mod sync;
pub mod work;

/// The household document's schema, shared with the server: writing it,
/// reading it, its rules (gocua-household).
pub use gocua_household as doc;
pub use gocua_household::{problems, validate};

pub use error::{BrokenRule, Error, Field, Invalid, Kind, Problem, Result};
pub use model::*;
pub use store::{
    AssignmentChange, ConflictDetail, Discarded, DocChanges, DocHeads, RefusedHousehold,
    SCHEMA_VERSION, Store, StoreKey, ValueSetBy, VisitRow,
};
pub use sync::{SyncObserver, SyncPhase, SyncReport};
