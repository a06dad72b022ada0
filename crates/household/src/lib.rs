//! gocua-household: the household document, the one place its schema lives.
//!
//! One Automerge document per household holds its members, visits and consent
//! records (docs/data-model.md). This crate writes it as gocua does, reads it
//! by its schema into plain records (tolerating what other implementations
//! write, listing what breaks a rule as a problem) and checks it against the
//! rules entry enforces. Devices (field-core) and the server use it alike, so
//! the two read every document the same way; neither depends on the other.
//!
//! No storage here: field-core keeps its SQLite store, the server its storage
//! trait. The flattening of a household into rows ([`rows`]) is plain data
//! that either side's projection writes to its own tables.

pub mod catalogue;
pub mod conflicts;
pub mod invalid;
pub mod merge;
pub mod model;
pub mod problems;
pub mod read;
pub mod rows;
pub mod schema;
pub mod suggest;
pub mod validate;
pub mod write;

pub use conflicts::{conflict_at_path, conflicts};
pub use invalid::{Field, Invalid, Problem};
pub use model::*;
pub use read::{
    ReadError, Scope, get_map, get_str, read_consent, read_household, read_household_as,
    read_household_part, read_person, read_visit, record, root_problems, root_scalar_str,
    root_scalar_str_at, scalar_text, visit_as_written, written_visit_problems,
};
pub use schema::{
    CONSENTS, DOC_SCHEMA_VERSION, KIND_HOUSEHOLD, MEMBERS, TARGET_GROUPS, VISITS, is_record_id,
};
pub use write::{
    FieldEdit, Stamp, clear_merge, commit, copy_map, create_household, edit_household, edit_visit,
    fill_household, new_household, opt_bool, opt_int, opt_str, put_merge, put_path, put_record,
    put_visit, str_value,
};
