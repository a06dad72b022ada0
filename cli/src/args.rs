//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "gocua",
    version,
    about = "gocua: ghi hộ gia đình và lượt hỗ trợ của Tổ Công nghệ số cộng đồng (offline)"
)]
pub struct Cli {
    /// Data directory (the store is <DIR>/store.sqlite).
    #[arg(long, global = true, env = "GOCUA_HOME", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Machine-readable output: one JSON value per command on stdout; errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Language of messages (default: Vietnamese; English when LANG starts with "en").
    #[arg(long, global = true, value_enum)]
    pub lang: Option<LangArg>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Vi,
    En,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this device: volunteer, team, commune and villages.
    Init(InitArgs),
    /// Households: add, edit, show, list, search, import, generate, export/import documents.
    #[command(subcommand)]
    Household(HouseholdCmd),
    /// Members of a household.
    #[command(subcommand)]
    Member(MemberCmd),
    /// Support visits.
    #[command(subcommand)]
    Visit(VisitCmd),
    /// Consent records.
    #[command(subcommand)]
    Consent(ConsentCmd),
    /// Fields changed concurrently on two devices (list, or resolve).
    Conflicts {
        #[command(subcommand)]
        action: Option<ConflictsCmd>,
    },
    /// Who, where, how many, what is pending.
    Status,
    /// The catalogues of services, outcomes and target groups, and the rules
    /// of the services to offer next (suggestions).
    Catalogue {
        #[arg(value_enum)]
        kind: Option<CatalogueKind>,
        /// With `communes`: the name to look for.
        query: Vec<String>,
        /// Replace the rules of the services to offer next with a province's
        /// own: a JSON file, a list of rules or an object with "suggestions"
        /// (as in the catalogue); checked first, nothing changes if one is bad.
        #[arg(long, value_name = "FILE", conflicts_with = "kind")]
        load_suggestions: Option<PathBuf>,
    },
    /// Exchange changes with another store without a server.
    #[command(subcommand)]
    Changes(ChangesCmd),
    /// Rewrite the tables used for lists and search from the documents.
    Rebuild,
    /// The passphrase that encrypts the data on this device.
    #[command(subcommand)]
    Passphrase(PassphraseCmd),
    /// Households of one village that may be the same one registered twice
    /// (same phone, head name, members, address), with their reasons and score.
    Duplicates {
        /// Only this village (name or id; default: all of this device's).
        #[arg(long)]
        village: Option<String>,
    },
    /// Enroll this device with a sync server using a one-time code from the commune.
    Enroll {
        /// The server's address, e.g. http://192.0.2.10:8080
        #[arg(long)]
        server: String,
        /// The one-time enrollment code (e.g. K7M2-9QXD).
        #[arg(long)]
        code: String,
        /// A name for this device in the server's device list.
        #[arg(long)]
        device_name: Option<String>,
        /// Enroll a device that is enrolled already (a new device id).
        #[arg(long)]
        again: bool,
    },
    /// Send this device's changes to the server, then receive everyone else's.
    Sync,
    /// The indicators over this device's households, offline (docs/reports.md).
    Report(ReportArgs),
    /// Whom to visit next: follow-ups due today and overdue, households never
    /// visited or not visited this period, with the services to offer.
    Todo(TodoArgs),
    /// What you did this period (or your team, with --team): visits,
    /// households, people, services by outcome, follow-ups.
    Summary(SummaryArgs),
    /// For a province officer: download the indicators (json) or a
    /// record-level extract (csv, xlsx, jsonl) of an area from the server.
    Export(ExportArgs),
    /// The whole offline story on throw-away stores: three devices, one village, a clash.
    Demo {
        /// Keep the devices' stores and change files in this directory.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
        /// The gocua-server program to run (default: the one next to gocua,
        /// then the first on PATH).
        #[arg(long, value_name = "FILE", env = "GOCUA_SERVER_BIN")]
        server_bin: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The server's address, e.g. https://gocua.example.vn
    #[arg(long)]
    pub server: String,
    /// The officer account's token (given by the server's operator).
    #[arg(long, env = "GOCUA_TOKEN", hide_env_values = true)]
    pub token: String,
    /// A province or commune code (2025 list) or a village id.
    #[arg(long)]
    pub area: String,
    /// json (the indicators), csv (zipped), xlsx or jsonl (record-level).
    #[arg(long, default_value = "xlsx")]
    pub format: String,
    /// Personal data of a record-level extract: pseudonymized (full only on
    /// the server machine); none gives the indicators as a spreadsheet
    /// (with --format csv or xlsx).
    #[arg(long, default_value = "pseudonymized")]
    pub pii: String,
    /// The indicators' period, YYYY-MM (default: the period of today).
    #[arg(long)]
    pub period: Option<String>,
    /// The indicators' level: team, village, commune (the default), province
    /// or national.
    #[arg(long)]
    pub level: Option<String>,
    /// The day the indicators are made, YYYY-MM-DD (default: today): which
    /// follow-ups are due or overdue.
    #[arg(long)]
    pub today: Option<String>,
    /// Only the households that changed after this cursor (an earlier
    /// extract's, shown when it finished).
    #[arg(long)]
    pub since: Option<u64>,
    /// The file to write (never left half-written).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The reporting period, YYYY-MM, named after the month it ends in
    /// (default: the period of today).
    #[arg(long)]
    pub period: Option<String>,
    /// The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.
    #[arg(long, default_value = "1")]
    pub periods_start_day: String,
    /// team, village, commune, province or national.
    #[arg(long, default_value = "village")]
    pub level: String,
    /// table or json (json is what --json gives).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// The day the report is made, YYYY-MM-DD, for follow-ups due and overdue
    /// (default: today in Vietnam).
    #[arg(long)]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct TodoArgs {
    /// Only one village (its name or id).
    #[arg(long)]
    pub village: Option<String>,
    /// Only the households of a target group (a code of `gocua catalogue groups`).
    #[arg(long)]
    pub group: Option<String>,
    /// Only your own: the follow-ups of visits you recorded or were on, and
    /// households you visited last (never-visited households are the team's).
    #[arg(long)]
    pub mine: bool,
    /// The day of the list, YYYY-MM-DD (default: today in Vietnam).
    #[arg(long)]
    pub today: Option<String>,
    /// The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.
    #[arg(long, default_value = "1")]
    pub periods_start_day: String,
    /// At most this many households (the counts cover them all).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Your own work (the default).
    #[arg(long, conflicts_with = "team")]
    pub mine: bool,
    /// The whole team's work, as this device knows it (synced).
    #[arg(long)]
    pub team: bool,
    /// The period, YYYY-MM, named after the month it ends in (default: the
    /// period of today).
    #[arg(long)]
    pub period: Option<String>,
    /// The day periods start on: 1 for calendar months, 15 for the 15th to the 14th.
    #[arg(long, default_value = "1")]
    pub periods_start_day: String,
    /// Today, YYYY-MM-DD (default: today in Vietnam): the period is the one
    /// of this day.
    #[arg(long)]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long)]
    pub volunteer: String,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub team: String,
    /// Commune code (5 digits, units in force since 1 July 2025).
    #[arg(long)]
    pub commune: String,
    #[arg(long = "village", required = true)]
    pub villages: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum HouseholdCmd {
    Add(HouseholdAddArgs),
    Edit(HouseholdEditArgs),
    Show {
        id: String,
    },
    List {
        #[arg(long)]
        village: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    Search {
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Import JSON Lines made by `gocua household generate`: every line is
    /// checked first (a bad line stores nothing), lines imported before and
    /// households already there are skipped and counted.
    Import {
        file: PathBuf,
        /// Start at this line (1 = the first), e.g. the line an interrupted
        /// import names; lines imported already are skipped anyway.
        #[arg(long, value_name = "N", visible_alias = "tu-dong")]
        from_line: Option<usize>,
        /// Import a line even when a household of the village is
        /// near-certainly the same (it is then named as a warning).
        #[arg(long, visible_alias = "van-them")]
        insist: bool,
    },
    /// Write generated households as JSON Lines to stdout.
    Generate {
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        households: usize,
        #[arg(long = "village")]
        villages: Vec<String>,
    },
    /// Write a household's document as a standard .automerge file.
    ExportDoc {
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Merge a household document from a .automerge file.
    ImportDoc {
        file: PathBuf,
    },
    /// Mark a household as registered by mistake (kept, out of every list
    /// and count); --undo takes the mark back.
    InError(CorrectionArgs),
    /// Merge a household registered twice into the one to keep: that one
    /// gains its members, visits and consents; --undo separates them again.
    Merge(MergeArgs),
}

/// A duplicate household merged into the one to keep, or the merge undone.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The household registered twice (its id then finds the one kept).
    pub from: String,
    /// The household to keep.
    #[arg(required_unless_present = "undo", conflicts_with = "undo")]
    pub into: Option<String>,
    /// Undo the merge of FROM: it stands alone again.
    #[arg(long)]
    pub undo: bool,
}

/// A correction of one record: a reason, or --undo.
#[derive(Debug, Args)]
pub struct CorrectionArgs {
    /// The record's id (or its first characters).
    pub id: String,
    /// Why (kept with the correction).
    #[arg(long, conflicts_with = "undo")]
    pub reason: Option<String>,
    /// Take the correction back.
    #[arg(long)]
    pub undo: bool,
}

#[derive(Debug, Args)]
pub struct HouseholdAddArgs {
    #[arg(long)]
    pub village: Option<String>,
    #[arg(long)]
    pub head: String,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub members: Option<i64>,
    /// A code or a word for it (Vietnamese too): checked by the store.
    #[arg(long)]
    pub devices: Option<String>,
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Add it even when a household of the village is near-certainly the
    /// same (same head and phone ...); see `gocua duplicates`.
    #[arg(long, visible_alias = "van-them")]
    pub insist: bool,
}

#[derive(Debug, Args)]
pub struct HouseholdEditArgs {
    pub id: String,
    #[arg(long)]
    pub village: Option<String>,
    #[arg(long)]
    pub head: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub members: Option<i64>,
    /// smartphone, feature_phone_only, none, or "" to clear.
    #[arg(long)]
    pub devices: Option<String>,
    #[arg(long = "add-group")]
    pub add_groups: Vec<String>,
    #[arg(long = "remove-group")]
    pub remove_groups: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum MemberCmd {
    Add {
        household: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        person: PersonArgs,
    },
    Edit {
        member: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        person: PersonArgs,
    },
    /// Take a member out of the household (moved away, died, entered by
    /// mistake): kept in the record, out of the lists and counts.
    Remove(CorrectionArgs),
}

#[derive(Debug, Args)]
pub struct PersonArgs {
    #[arg(long)]
    pub birth_year: Option<i64>,
    /// male, female, other
    #[arg(long)]
    pub gender: Option<String>,
    /// The 12-digit personal identification number.
    #[arg(long)]
    pub id_number: Option<String>,
    /// none, registered, level1, level2
    #[arg(long)]
    pub vneid: Option<String>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub vneid_activated: Option<bool>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub bank_account: Option<bool>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub public_service_account: Option<bool>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub ehealth_book: Option<bool>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub digital_signature: Option<bool>,
    #[arg(long, value_parser = parse_bool, value_name = "true|false")]
    pub basic_skills: Option<bool>,
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "có" | "co" | "rồi" | "roi" | "đã" | "da" => Ok(true),
        "false" | "no" | "n" | "0" | "không" | "khong" | "chưa" | "chua" => Ok(false),
        // Said in the user's language by `usage`, from the option's description.
        other => Err(format!("{other:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum VisitCmd {
    Record(VisitRecordArgs),
    List {
        household: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Correct a visit: its date, duration, follow-up, feedback or services.
    Edit(VisitEditArgs),
    /// Cancel a visit recorded by mistake: kept in the history, out of
    /// every count.
    Cancel(CorrectionArgs),
}

#[derive(Debug, Args)]
pub struct VisitEditArgs {
    pub visit: String,
    /// "YYYY-MM-DD HH:MM" (Vietnam time) or RFC 3339.
    #[arg(long)]
    pub at: Option<String>,
    /// The new date is a visit entered late (see visit record).
    #[arg(long, visible_alias = "ghi-bu")]
    pub entered_late: bool,
    /// Minutes.
    #[arg(long)]
    pub duration: Option<i64>,
    /// YYYY-MM-DD, or "" to clear.
    #[arg(long)]
    pub follow_up: Option<String>,
    /// The household's feedback, or "" to clear.
    #[arg(long)]
    pub feedback: Option<String>,
    /// CODE[:OUTCOME[:NOTE]]: a service added or its outcome corrected.
    #[arg(long = "service")]
    pub services: Vec<String>,
    /// CODE: a service taken out of the visit.
    #[arg(long = "remove-service")]
    pub remove_services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VisitRecordArgs {
    pub household: String,
    /// CODE[:OUTCOME[:NOTE]] (outcome default: done)
    #[arg(long = "service", required = true)]
    pub services: Vec<String>,
    #[arg(long = "person")]
    pub persons: Vec<String>,
    /// "YYYY-MM-DD HH:MM" (Vietnam time) or RFC 3339; default now.
    #[arg(long)]
    pub at: Option<String>,
    /// Minutes.
    #[arg(long)]
    pub duration: Option<i64>,
    /// YYYY-MM-DD
    #[arg(long)]
    pub follow_up: Option<String>,
    #[arg(long)]
    pub feedback: Option<String>,
    #[arg(long)]
    pub consent: Option<String>,
    #[arg(long = "with")]
    pub with: Vec<String>,
    /// Ghi bù: a visit made earlier, entered late (dated before the
    /// household's registration or more than a year ago).
    #[arg(long, visible_alias = "ghi-bu")]
    pub entered_late: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConsentCmd {
    Record {
        household: String,
        #[arg(long)]
        person: String,
        #[arg(long)]
        purpose: String,
        /// verbal, written, app
        #[arg(long)]
        method: String,
        #[arg(long)]
        at: Option<String>,
    },
    Withdraw {
        consent: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConflictsCmd {
    /// Keep VALUE at PATH of HOUSEHOLD.
    Resolve {
        household: String,
        path: String,
        value: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CatalogueKind {
    Services,
    Outcomes,
    Groups,
    /// The communes in force (2025 list), searched by name.
    Communes,
    /// The rules of the services to offer next.
    Suggestions,
}

#[derive(Debug, Subcommand)]
pub enum PassphraseCmd {
    /// Change it: the current one as always (asked, or GOCUA_PASSPHRASE), the
    /// new one asked twice (or GOCUA_NEW_PASSPHRASE).
    Change,
}

#[derive(Debug, Subcommand)]
pub enum ChangesCmd {
    /// Write the changes the peer lacks (all without --peer-heads).
    Export {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        peer_heads: Option<PathBuf>,
    },
    /// Apply a file written by `changes export`.
    Import { file: PathBuf },
    /// Write what this store holds (for the peer's --peer-heads).
    Heads {
        #[arg(long)]
        out: PathBuf,
    },
    /// List received changes set aside because they could not be applied.
    Quarantined,
    /// List this device's changes the server refused, per household, with
    /// its reason.
    Refused,
    /// Move a household whose changes were refused to one of this device's
    /// villages, keeping everything recorded in it.
    Fix {
        household: String,
        /// One of this device's villages (name or id).
        #[arg(long)]
        village: String,
    },
    /// Drop the changes the server refused for a household: what they
    /// recorded is lost (a household the server never had leaves this
    /// device). Needs --confirm.
    Discard {
        household: String,
        /// Yes, drop them.
        #[arg(long)]
        confirm: bool,
    },
}
