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
    /// The catalogues of services, outcomes and target groups.
    Catalogue {
        #[arg(value_enum)]
        kind: Option<CatalogueKind>,
        /// With `communes`: the name to look for.
        query: Vec<String>,
    },
    /// Exchange changes with another store without a server.
    #[command(subcommand)]
    Changes(ChangesCmd),
    /// Rewrite the tables used for lists and search from the documents.
    Rebuild,
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
    /// Import JSON Lines made by `gocua household generate`.
    Import {
        file: PathBuf,
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
}
