//! `gocua-server`: the sync server and its administration commands.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use gocua_server::config::DEFAULT_CONFIG;
use gocua_server::messages::{self, Lang};
use gocua_server::storage::{AuditQuery, Role, Storage, StorageError, TextMatch};
use gocua_server::{Config, admin};
use serde_json::json;

#[derive(Debug, Parser)]
#[command(name = "gocua-server", version, about = "gocua's sync server")]
struct Cli {
    /// A TOML configuration file (see `gocua-server default-config`).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database (overrides the configuration and GOCUA_DATABASE): a
    /// SQLite file, as a path or `sqlite://PATH`, or PostgreSQL as
    /// `postgres://USER:PASSWORD@HOST:PORT/DB`. Admin commands need the
    /// server's: give it on every one.
    #[arg(long, global = true, value_name = "PATH|URL")]
    database: Option<PathBuf>,
    /// Keep the database in DIR/gocua-server.sqlite. Admin commands need the
    /// server's: give the same DIR as `serve` on every one (or set
    /// GOCUA_DATA_DIR once).
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "database")]
    data_dir: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Messages in Vietnamese (vi, the default) or English (en); without
    /// it, English when the locale (LC_ALL, LC_MESSAGES, LANG) is English.
    /// An export's headers and sheet names follow it too (Vietnamese unless
    /// en is given).
    #[arg(long, global = true, value_parser = ["vi", "en"])]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API until Ctrl-C or SIGTERM.
    Serve {
        /// Address and port to listen on (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Print a commented example configuration.
    DefaultConfig,
    /// Apply the database's migrations and exit (replicas started after it
    /// with `migrate_on_start = false` find it ready).
    Migrate,
    #[command(flatten)]
    Operate(Operate),
    /// Administration, directly on the database: give every admin command
    /// the server's --data-dir or --database.
    ///
    /// Admin commands do not ask the running server: they open its database
    /// themselves. Give each the same --data-dir DIR (or --database
    /// PATH|URL, or --config FILE) as `serve`, or set GOCUA_DATA_DIR (or
    /// GOCUA_DATABASE) once in the shell. Without any of them a command
    /// works on ./gocua-server.sqlite, most likely not the server's.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
    /// The indicators of an area (docs/reports.md), straight from the
    /// database's report projection.
    Report {
        /// A province or commune code (2025 list) or a village id; `all` for
        /// the whole country.
        #[arg(long)]
        area: String,
        /// The reporting period, YEAR-MONTH (default: the one containing today).
        #[arg(long)]
        period: Option<String>,
        /// team, village, commune, province or national.
        #[arg(long, default_value = "commune")]
        level: String,
        /// The day the report is made, YEAR-MONTH-DAY (default: today in Vietnam).
        #[arg(long)]
        today: Option<String>,
        /// Records listed for review, at most.
        #[arg(long, default_value_t = 1000)]
        reviews: u32,
    },
    /// A record-level extract of the households of an area for the province,
    /// or with --pii none its indicators as a spreadsheet, straight from the
    /// database (docs/reports.md, "Extracts").
    Export {
        /// A province or commune code (2025 list) or a village id; `all` for
        /// the whole country.
        #[arg(long)]
        area: String,
        /// csv (one file per table, zipped), xlsx or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Personal data: pseudonymized or full; none gives the indicators
        /// (csv or xlsx), as `report` makes them.
        #[arg(long)]
        pii: String,
        /// With --pii none: the reporting period, YEAR-MONTH (default: the
        /// one containing today).
        #[arg(long)]
        period: Option<String>,
        /// With --pii none: team, village, commune (the default), province or
        /// national.
        #[arg(long)]
        level: Option<String>,
        /// With --pii none: the day the report is made, YEAR-MONTH-DAY
        /// (default: today in Vietnam).
        #[arg(long)]
        today: Option<String>,
        /// Only the households whose rows changed after this cursor (the
        /// `cursor` a previous extract gave).
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Sensitive target groups to include, by name (with --pii full).
        #[arg(long, value_delimiter = ',')]
        include_sensitive: Vec<String>,
        /// Write codes and numbers in CSV as plain values, not as Excel text.
        #[arg(long)]
        csv_plain: bool,
        /// The file to write (not left half-written if the export fails).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum Operate {
    /// Take a consistent backup of the database while the server serves
    /// (docs/operations.md, "Backups"); written with owner-only permissions.
    Backup {
        /// The backup file to write (replaced once the new one is complete).
        path: PathBuf,
        /// PostgreSQL: the directory of pg_dump (default: GOCUA_PG_BIN, the
        /// PATH, then the newest /usr/lib/postgresql/VERSION/bin).
        #[arg(long, value_name = "DIR")]
        pg_bin: Option<PathBuf>,
    },
    /// Restore a backup into the configured database, which must be new or
    /// empty; all of it or nothing. Stop the server first.
    Restore {
        /// A file `gocua-server backup` wrote.
        path: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        overwrite: bool,
        /// PostgreSQL: the directory of pg_restore and psql.
        #[arg(long, value_name = "DIR")]
        pg_bin: Option<PathBuf>,
    },
    /// After putting the database back by other means than `restore` (a copy
    /// of the SQLite file, pg_restore by hand, a point-in-time recovery):
    /// leave the feed positions after its end unused, as `restore` does, so
    /// that devices that synced after the copy was taken bootstrap again and
    /// push what it lacks. Run it with every server stopped, once.
    MarkRestored,
    /// Check that every stored change and snapshot loads, that the change
    /// log and its feed are whole and that the report rows match the
    /// households; exits 1 when anything is wrong. Safe while serving.
    Check,
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// (Re)load the embedded administrative units.
    LoadUnits,
    /// Villages.
    Village {
        #[command(subcommand)]
        command: VillageCmd,
    },
    /// Teams: add, list, rename and change their villages.
    Team {
        #[command(subcommand)]
        command: TeamCmd,
    },
    /// Volunteers: add (once per person) and list.
    Volunteer {
        #[command(subcommand)]
        command: VolunteerCmd,
    },
    /// Print a one-time enrollment code for a volunteer's device.
    EnrollCode {
        /// The volunteer's id, or their phone number in any usual form
        /// (0912 345 678, +84912345678).
        #[arg(long, value_name = "ID|PHONE")]
        volunteer: String,
        /// Hours the code stays valid (default from the configuration).
        #[arg(long)]
        ttl_hours: Option<u32>,
    },
    /// Enrolled devices.
    Devices {
        #[command(subcommand)]
        command: DevicesCmd,
    },
    /// Officer and operator accounts: add, list, revoke.
    Account {
        #[command(subcommand)]
        command: AccountCmd,
    },
    /// Print the audit log (the newest entries), in Vietnam time.
    Audit {
        #[arg(long, default_value_t = 200)]
        limit: u32,
        /// Only this actor (`admin`, `device:ID`, `account:ID`), or every
        /// actor of a kind (`device`, `account`).
        #[arg(long)]
        actor: Option<String>,
        /// Only this action (`device_enrolled`, `export_full`, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only entries from then on: YEAR-MONTH-DAY or
        /// "YEAR-MONTH-DAY HOUR:MINUTE", Vietnam time.
        #[arg(long)]
        since: Option<String>,
        /// Only the entries of this area (a province or commune code of the
        /// 2025 list): what a province or commune officer sees of the log.
        #[arg(long)]
        area: Option<String>,
    },
    /// Training sessions of teams, and who attended them.
    Training {
        #[command(subcommand)]
        command: TrainingCmd,
    },
    /// Changes kept aside because the server could not apply them (damaged or
    /// crafted), the newest first: never served to any device.
    Quarantine {
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Fill the report projection (every household's rows, for reports and
    /// exports) again from the bootstrap snapshots alone.
    RebuildReport,
    /// Replace the key extracts' pseudonyms are made with: every pseudonym
    /// changes from the next extract on.
    RotatePseudonymKey,
    /// Set the day reporting periods start on (1: calendar months; 15: the
    /// 15th to the 14th), and count every household again under it.
    ReportPeriods {
        #[arg(long)]
        start_day: u8,
    },
}

#[derive(Debug, Subcommand)]
enum VillageCmd {
    /// Register a village under a commune (code in force since 2025-07-01); prints its id.
    Add {
        #[arg(long)]
        commune: String,
        #[arg(long)]
        name: String,
    },
    /// List villages.
    List {
        #[arg(long)]
        commune: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TeamCmd {
    /// Add a team serving some villages of one commune; prints its id.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        commune: String,
        /// A village id or name (repeat).
        #[arg(long = "village", required = true)]
        villages: Vec<String>,
    },
    /// List teams with their villages, volunteers and devices.
    List {
        #[arg(long)]
        commune: Option<String>,
    },
    /// Rename a team or change the villages it serves. Its devices receive
    /// the households of a village it gains at their next sync.
    Edit {
        /// The team's id (`team list`).
        team: String,
        /// Its new name.
        #[arg(long)]
        name: Option<String>,
        /// A village of the team's commune to serve too, by id or name (repeat).
        #[arg(long = "add-village")]
        add: Vec<String>,
        /// A village to serve no more, by id or name (repeat).
        #[arg(long = "remove-village")]
        remove: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum VolunteerCmd {
    /// Add a volunteer to a team; prints its id. A phone already registered
    /// (or, without a phone, the same name in the team) is refused.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        team: String,
    },
    /// List volunteers.
    List {
        /// Only this team's.
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DevicesCmd {
    /// List devices: enrolled, last seen, last sync, app version, state.
    List,
    /// Revoke a device: its token stops working at once.
    Revoke {
        device_id: String,
        /// Also tell the device, at its next contact, to wipe its data (a
        /// lost or stolen phone). It reports the changes it had not sent
        /// first: see `devices unsent`.
        #[arg(long)]
        wipe: bool,
    },
    /// The changes revoked devices reported they had not sent, kept aside.
    Unsent {
        /// Only this device's reports.
        #[arg(long)]
        device: Option<String>,
    },
    /// Write one report's changes to a file a volunteer's device can take
    /// in with `gocua changes import FILE`, after the operator checked them.
    UnsentExport {
        report_id: i64,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCmd {
    /// Add an account; prints its API token once.
    Add {
        #[arg(long, value_parser = ["officer", "operator"])]
        role: String,
        #[arg(long)]
        name: String,
        /// A province officer's province.
        #[arg(long, conflicts_with = "commune")]
        province: Option<String>,
        /// A commune officer's commune (2025 list): they read it only.
        #[arg(long)]
        commune: Option<String>,
    },
    /// List accounts (never their tokens).
    List,
    /// Revoke an account: its token is refused from the next request on.
    Revoke { account_id: String },
    /// Set the password an account signs in to the web console (/console/)
    /// with, read from GOCUA_PASSWORD or else from standard input (never
    /// from the command line); its open console sessions end.
    Password {
        #[arg(long)]
        account: String,
        /// The name it signs in with (default: the one it has).
        #[arg(long)]
        login: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TrainingCmd {
    /// Record a training session; prints its number.
    Add {
        #[arg(long)]
        topic: String,
        /// The day it was held, YEAR-MONTH-DAY.
        #[arg(long)]
        date: String,
        #[arg(long)]
        place: String,
        /// The team trained.
        #[arg(long, conflicts_with = "commune", required_unless_present = "commune")]
        team: Option<String>,
        /// Or a commune (2025 list), for a session of its teams together.
        #[arg(long)]
        commune: Option<String>,
    },
    /// Record volunteers who attended a session.
    Attend {
        /// The session's number (`training list`).
        #[arg(long)]
        session: i64,
        /// A volunteer's id or phone (repeat).
        #[arg(long = "volunteer", value_name = "ID|PHONE", required = true)]
        volunteers: Vec<String>,
    },
    /// List sessions with how many attended.
    List {
        #[arg(long)]
        commune: Option<String>,
        /// Only sessions held on or after this day, YEAR-MONTH-DAY.
        #[arg(long)]
        since: Option<String>,
    },
}

fn config(cli: &Cli) -> Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    // GOCUA_DATA_DIR, like --data-dir, so that a shell set up once serves
    // `serve` and every admin command; the command line wins.
    let env_dir = std::env::var_os("GOCUA_DATA_DIR")
        .filter(|d| !d.is_empty() && cli.database.is_none())
        .map(PathBuf::from);
    if let Some(dir) = cli.data_dir.as_ref().or(env_dir.as_ref()) {
        config = config.with_data_dir(dir);
    }
    if let Some(db) = &cli.database {
        config.database = db.clone();
    }
    config.check_database()?;
    Ok(config)
}

fn init_logs(filter: &str) {
    gocua_server::logs::init(filter, gocua_server::config::LogFormat::Text);
}

use gocua_server::time_text;

fn print(json_mode: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

/// Applies the migrations the database lacks; on PostgreSQL under the
/// migration lock, so that replicas and operators never race on them.
fn migrate(config: &Config, json_mode: bool, lang: Lang) -> Result<()> {
    init_logs(&format!("warn,{}", config.log));
    let place = config.database_text();
    match config.postgres() {
        Some(mut settings) => {
            settings.migrate = true;
            let done = gocua_server::PgStorage::migrate(&settings)
                .with_context(|| format!("cannot migrate {place}"))?;
            print(
                json_mode,
                json!({"database": place, "from": done.from, "to": done.to}),
                || match (done.from == done.to, lang) {
                    (true, Lang::Vi) => {
                        format!("{place}: đã ở lược đồ mới nhất ({})", done.to)
                    }
                    (true, Lang::En) => format!("{place}: up to date (schema {})", done.to),
                    (false, Lang::Vi) => {
                        format!("{place}: đã nâng lược đồ từ {} lên {}", done.from, done.to)
                    }
                    (false, Lang::En) => {
                        format!("{place}: migrated from schema {} to {}", done.from, done.to)
                    }
                },
            );
        }
        None => {
            // SQLite migrates as it opens, under its own write lock.
            gocua_server::open_database(config)
                .with_context(|| format!("cannot migrate {place}"))?;
            print(json_mode, json!({"database": place}), || {
                format!(
                    "{place}: {}",
                    lang.pick("đã ở lược đồ mới nhất", "up to date")
                )
            });
        }
    }
    Ok(())
}

fn serve(config: Config, listen: Option<String>) -> Result<()> {
    let mut config = config;
    if let Some(l) = listen {
        config.listen = l;
        // `--listen` may now be metrics_listen's port.
        config.check_limits()?;
    }
    gocua_server::logs::init(&config.log, config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Open (and on a fresh database, fill) the database before announcing the
    // address, so that whoever waits for the line finds a server ready.
    tracing::info!(database = %config.database_text(), "opening the database");
    let storage = gocua_server::open_storage(&config)
        .with_context(|| format!("cannot open {}", config.database_text()))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        // The actual address (with --listen 127.0.0.1:0 the port is chosen here),
        // on stdout for the operator and for tests that start the server.
        let addr = listener.local_addr().context("no local address")?;
        let metrics = match config.metrics_listen.as_str() {
            "" => None,
            at => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} (metrics_listen)"))?,
            ),
        };
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "gocua-server listening on http://{addr}");
            if let Some(m) = metrics.as_ref().and_then(|m| m.local_addr().ok()) {
                let _ = writeln!(
                    out,
                    "gocua-server metrics on http://{m}{}",
                    gocua_server::metrics::METRICS_PATH
                );
            }
            let _ = out.flush();
        }
        gocua_server::launch(
            config,
            storage,
            gocua_server::Listeners {
                api: listener,
                metrics,
            },
            gocua_server::shutdown_signal(),
        )
        .await
        .map_err(anyhow::Error::from)
    })
}

fn scope_of(s: &dyn Storage, area: &str) -> Result<gocua_server::storage::AreaScope> {
    use gocua_server::storage::AreaScope;
    if area.eq_ignore_ascii_case("all") {
        return Ok(AreaScope::Country);
    }
    Ok(s.area_scope(area)?.ok_or_else(|| {
        BadInput(format!(
            "unknown area {area:?}: give a province or commune code of the 2025 list, a village id, or all"
        ))
    })?)
}

/// What a report is of: `--level`, `--period` and `--today` read.
struct ReportTerms {
    level: gocua_report::Level,
    period: Option<gocua_report::Period>,
    today: time::Date,
}

fn report_terms(
    level: &str,
    period: Option<&str>,
    today: Option<&str>,
) -> Result<ReportTerms, BadInput> {
    use gocua_report::{Level, Period};
    let level = Level::parse(level).ok_or_else(|| {
        BadInput(format!(
            "unknown level {level:?}: use team, village, commune, province or national"
        ))
    })?;
    let today = match today {
        Some(t) => time::Date::parse(
            t.trim(),
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| BadInput(format!("--today {t:?} is not a day: write YEAR-MONTH-DAY")))?,
        None => gocua_server::report::today(),
    };
    let period = match period {
        Some(p) => Some(Period::parse(p).map_err(|_| {
            BadInput(format!(
                "--period {p:?} is not a reporting period: write YEAR-MONTH, e.g. 2026-11"
            ))
        })?),
        None => None,
    };
    Ok(ReportTerms {
        level,
        period,
        today,
    })
}

fn report(
    config: Config,
    json_mode: bool,
    area: &str,
    period: Option<String>,
    level: &str,
    today: Option<String>,
    reviews: u32,
) -> Result<()> {
    init_logs(&format!("warn,{}", config.log));
    let ReportTerms {
        level,
        period,
        today,
    } = report_terms(level, period.as_deref(), today.as_deref())?;
    let storage = gocua_server::open_database(&config)
        .with_context(|| format!("cannot open {}", config.database_text()))?;
    let s: &dyn Storage = &*storage;
    let scope = scope_of(s, area)?;
    let report = gocua_server::report::indicators(s, &scope, level, period, today, reviews)?;
    if json_mode {
        // Written as it is serialized: a province's report by village is
        // tens of megabytes of JSON.
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(());
    }
    print(false, serde_json::Value::Null, || {
        let mut lines = vec![format!(
            "{} {} ({} to {}), {} level, as of {}",
            area,
            report.period,
            report.first_day,
            report.last_day,
            level.code(),
            report.today
        )];
        for u in &report.units {
            lines.push(format!(
                "{}: households reached {}/{} in the period, {}/{} to date; digital citizens {}/{} (target {}%); volunteers trained {}/{} to date",
                u.unit,
                u.reached_in_period.part,
                u.reached_in_period.whole,
                u.reached_to_date.part,
                u.reached_to_date.whole,
                u.digital_citizens.part,
                u.digital_citizens.whole,
                u.digital_citizens_target_pct,
                u.volunteers_trained.part,
                u.volunteers_trained.whole
            ));
            for f in &u.figures {
                lines.push(format!(
                    "  {} {}: {} in the period, {} to date",
                    serde_json::to_string(&f.indicator).unwrap_or_default(),
                    serde_json::to_string(&f.breakdown).unwrap_or_default(),
                    f.period.map_or("-".to_string(), |n| n.to_string()),
                    f.running_total
                ));
            }
        }
        lines.push(format!("listed for review: {}", report.reviews.len()));
        lines.join("\n")
    });
    Ok(())
}

/// Input that names something wrong the operator can correct (exit 2).
#[derive(Debug)]
struct BadInput(String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

struct ExportArgs {
    area: String,
    format: String,
    pii: String,
    period: Option<String>,
    level: Option<String>,
    today: Option<String>,
    since: u64,
    include_sensitive: Vec<String>,
    lang: String,
    csv_plain: bool,
    out: PathBuf,
}

fn export(config: Config, json_mode: bool, a: ExportArgs) -> Result<()> {
    use gocua_server::export::{
        Format, Pii, PseudonymKey, Request, write_extract, write_indicators,
    };
    use gocua_server::storage::AuditEntry;
    init_logs(&format!("warn,{}", config.log));
    let format = Format::parse(&a.format).ok_or_else(|| {
        BadInput(format!(
            "unknown format {:?}: use csv, xlsx or jsonl",
            a.format
        ))
    })?;
    let pii = Pii::parse(&a.pii).ok_or_else(|| {
        BadInput(format!(
            "unknown PII level {:?}: use none, pseudonymized or full",
            a.pii
        ))
    })?;
    let lang = Lang::parse(&a.lang)
        .ok_or_else(|| BadInput(format!("unknown language {:?}: use vi or en", a.lang)))?;
    // The report's terms mean nothing to a record-level extract: refused
    // rather than ignored, so nobody believes a --period filtered the records.
    let terms = if pii == Pii::None {
        Some(report_terms(
            a.level.as_deref().unwrap_or("commune"),
            a.period.as_deref(),
            a.today.as_deref(),
        )?)
    } else {
        if let Some(option) = [
            ("--period", &a.period),
            ("--level", &a.level),
            ("--today", &a.today),
        ]
        .into_iter()
        .find_map(|(name, v)| v.as_ref().map(|_| name))
        {
            return Err(BadInput(format!(
                "{option} is for the indicators (--pii none); a record-level extract holds every period"
            ))
            .into());
        }
        None
    };
    let storage = gocua_server::open_database(&config)
        .with_context(|| format!("cannot open {}", config.database_text()))?;
    let s: &dyn Storage = &*storage;
    let scope = scope_of(s, &a.area)?;
    let request = Request {
        format,
        pii,
        lang,
        sensitive: a.include_sensitive,
        csv_excel_text: !a.csv_plain,
        sheet_rows: None,
    };
    if let Some(t) = terms {
        if a.since != 0 || !request.sensitive.is_empty() {
            return Err(BadInput(
                "--since and --include-sensitive are for record-level extracts, not the indicators (--pii none)".into(),
            )
            .into());
        }
        let report = gocua_server::report::indicators(
            s,
            &scope,
            t.level,
            t.period,
            t.today,
            gocua_server::report::REVIEWS_LISTED,
        )?;
        let outcome = write_indicators(s, &scope, &report, &request, &a.out)?;
        s.audit(&AuditEntry {
            at: gocua_server::now(),
            actor: "admin".into(),
            action: "report".into(),
            subject: format!("area={}", a.area),
            detail: format!(
                "period={} level={} format={} file={}",
                outcome.period,
                outcome.level,
                outcome.format,
                a.out.display()
            ),
        })?;
        print(json_mode, json!(outcome), || {
            format!(
                "{}: the indicators of {} for {} by {} ({} rows, {} to review)",
                outcome.path.display(),
                a.area,
                outcome.period,
                outcome.level,
                outcome.rows.get("indicators").copied().unwrap_or(0),
                outcome.rows.get("reviews").copied().unwrap_or(0)
            )
        });
        return Ok(());
    }
    request.check()?;
    let key = PseudonymKey::new(s.pseudonym_key()?);
    let outcome = write_extract(s, &scope, a.since, &request, &key, &a.out)?;
    // Who took what personal data, when and how much (Decree 13/2023).
    s.audit(&AuditEntry {
        at: gocua_server::now(),
        actor: "admin".into(),
        action: format!("export_{}", outcome.pii),
        subject: format!("area={}", a.area),
        detail: format!(
            "format={} since={} sensitive={} rows={} file={}",
            outcome.format,
            a.since,
            request.sensitive.join(","),
            serde_json::to_string(&outcome.rows).unwrap_or_default(),
            a.out.display()
        ),
    })?;
    print(json_mode, json!(outcome), || {
        let rows: Vec<String> = outcome
            .rows
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        format!(
            "{}: {} ({}); {} persons without consent on record counted, not written; next cursor {}",
            outcome.path.display(),
            rows.join(", "),
            outcome.pii,
            outcome.persons_without_consent,
            outcome.cursor
        )
    });
    Ok(())
}

fn run_admin(config: Config, json_mode: bool, lang: Lang, cmd: Admin) -> Result<()> {
    admin_command(config, json_mode, lang, cmd).map_err(|e| {
        // Said in the operator's language; input they can correct exits 2.
        if let Some(a) = e.downcast_ref::<admin::AdminError>() {
            let text = messages::admin_error(lang, a);
            return if a.is_bad_input() {
                BadInput(text).into()
            } else {
                anyhow::anyhow!(text)
            };
        }
        if let Some(s) = e.downcast_ref::<StorageError>() {
            let text = messages::storage_error(lang, s);
            return if matches!(s, StorageError::NotFound(_) | StorageError::Invalid(_)) {
                BadInput(text).into()
            } else {
                anyhow::anyhow!(text)
            };
        }
        e
    })
}

fn admin_command(config: Config, json_mode: bool, lang: Lang, cmd: Admin) -> Result<()> {
    init_logs(&format!("warn,{}", config.log));
    let storage = gocua_server::open_database(&config).with_context(|| {
        format!(
            "{} {}",
            lang.pick("không mở được", "cannot open"),
            config.database_text()
        )
    })?;
    // A fresh database gets the administrative units here too, so that an
    // operator may set up villages before the first `serve`.
    if config.load_units && !matches!(cmd, Admin::LoadUnits) && !storage.units_loaded()? {
        storage.load_units()?;
    }
    let s: &dyn Storage = &*storage;
    match cmd {
        Admin::LoadUnits => {
            let n = s.load_units()?;
            print(json_mode, json!(n), || messages::units_loaded(lang, &n));
        }
        Admin::Village {
            command: VillageCmd::Add { commune, name },
        } => {
            let v = admin::add_village(s, &commune, &name)?;
            print(json_mode, json!(v), || v.id.clone());
            // The id alone on standard output, for `V=$(...)`; the words beside it.
            if !json_mode {
                eprintln!("{}", messages::village_added(lang, &v));
            }
        }
        Admin::Village {
            command: VillageCmd::List { commune },
        } => {
            let vs = s.villages(commune.as_deref().map(str::trim))?;
            print(json_mode, json!(vs), || messages::village_list(lang, &vs));
        }
        Admin::Team {
            command:
                TeamCmd::Add {
                    name,
                    commune,
                    villages,
                },
        } => {
            let t = admin::add_team(s, &name, &commune, &villages)?;
            print(json_mode, json!(t), || t.id.clone());
            if !json_mode {
                eprintln!("{}", messages::team_added(lang, &t));
            }
        }
        Admin::Team {
            command: TeamCmd::List { commune },
        } => {
            let ts = admin::teams(s, commune.as_deref())?;
            print(json_mode, json!(ts), || messages::team_list(lang, &ts));
        }
        Admin::Team {
            command:
                TeamCmd::Edit {
                    team,
                    name,
                    add,
                    remove,
                },
        } => {
            let t = admin::edit_team(s, &team, name.as_deref(), &add, &remove)?;
            print(json_mode, json!(t), || {
                messages::team_edited(lang, &t, &add)
            });
        }
        Admin::Volunteer {
            command: VolunteerCmd::Add { name, phone, team },
        } => {
            let v = admin::add_volunteer(s, &name, phone.as_deref(), &team)?;
            print(json_mode, json!(v), || v.id.clone());
            if !json_mode {
                eprintln!("{}", messages::volunteer_added(lang, &v));
            }
        }
        Admin::Volunteer {
            command: VolunteerCmd::List { team },
        } => {
            let vs = admin::volunteers(s, team.as_deref())?;
            print(json_mode, json!(vs), || messages::volunteer_list(lang, &vs));
        }
        Admin::EnrollCode {
            volunteer,
            ttl_hours,
        } => {
            let ttl = ttl_hours.unwrap_or(config.enroll_code_ttl_hours);
            let c = admin::enroll_code_for(s, &volunteer, ttl)?;
            print(
                json_mode,
                json!({
                    "code": c.code.expose(),
                    "volunteer_id": c.volunteer.id,
                    "volunteer_name": c.volunteer.name,
                    "expires_at": time_text(c.expires_at),
                }),
                || c.code.expose().to_string(),
            );
            if !json_mode {
                eprintln!(
                    "{}",
                    messages::enroll_code_valid(lang, &c.volunteer.name, c.expires_at)
                );
            }
        }
        Admin::Devices {
            command: DevicesCmd::List,
        } => {
            let ds = s.devices()?;
            print(json_mode, json!(ds), || messages::device_list(lang, &ds));
        }
        Admin::Devices {
            command: DevicesCmd::Revoke { device_id, wipe },
        } => {
            let id = device_id.trim();
            let changed = s.revoke_device(id, gocua_server::now(), wipe)?;
            print(
                json_mode,
                json!({
                    "device_id": id,
                    "revoked": true,
                    "was_already_revoked": !changed,
                    "wipe_requested": wipe,
                }),
                || messages::device_revoked(lang, id, changed, wipe),
            );
        }
        Admin::Devices {
            command: DevicesCmd::Unsent { device },
        } => {
            let reports = s.unsent_reports(device.as_deref().map(str::trim))?;
            print(json_mode, json!(reports), || {
                messages::unsent_list(lang, &reports)
            });
        }
        Admin::Devices {
            command: DevicesCmd::UnsentExport { report_id, out },
        } => {
            let bundle = s
                .unsent_bundle(report_id)?
                .ok_or_else(|| BadInput(messages::no_unsent_report(lang, report_id)))?;
            std::fs::write(&out, &bundle).with_context(|| {
                format!(
                    "{} {}",
                    lang.pick("không ghi được", "cannot write"),
                    out.display()
                )
            })?;
            let shown = out.display().to_string();
            print(
                json_mode,
                json!({ "report_id": report_id, "out": shown, "bytes": bundle.len() }),
                || messages::unsent_written(lang, report_id, &shown, bundle.len()),
            );
        }
        Admin::Account {
            command:
                AccountCmd::Add {
                    role,
                    name,
                    province,
                    commune,
                },
        } => {
            let role =
                Role::parse(&role).ok_or_else(|| BadInput(messages::bad_role(lang, &role)))?;
            let (account, token) =
                admin::add_any_account(s, role, &name, province.as_deref(), commune.as_deref())?;
            print(
                json_mode,
                json!({ "account": account, "token": token.expose() }),
                || token.expose().to_string(),
            );
            if !json_mode {
                eprintln!("{}", messages::account_created(lang, &account.id));
            }
        }
        Admin::Account {
            command: AccountCmd::Password { account, login },
        } => {
            let password = match std::env::var("GOCUA_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("cannot read the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let login = admin::set_console_password(s, &account, login.as_deref(), &password)?;
            print(
                json_mode,
                json!({ "account_id": account.trim(), "login": login }),
                || messages::console_password_set(lang, account.trim(), &login),
            );
        }
        Admin::Account {
            command: AccountCmd::List,
        } => {
            let accounts = admin::accounts(s)?;
            print(json_mode, json!(accounts), || {
                messages::account_list(lang, &accounts)
            });
        }
        Admin::Account {
            command: AccountCmd::Revoke { account_id },
        } => {
            let id = account_id.trim();
            let changed = admin::revoke_account(s, id)?;
            print(
                json_mode,
                json!({ "account_id": id, "revoked": true, "was_already_revoked": !changed }),
                || messages::account_revoked(lang, id, changed),
            );
        }
        Admin::Audit {
            limit,
            actor,
            action,
            since,
            area,
        } => {
            use gocua_server::storage::{AreaScope, AuditArea};
            let area = match area.as_deref().map(str::trim) {
                None => None,
                Some(code) => match s.area_scope(code)? {
                    Some(AreaScope::Province(p)) => Some(AuditArea::Province(p)),
                    Some(AreaScope::Commune(c)) => Some(AuditArea::Commune(c)),
                    _ => {
                        return Err(BadInput(format!(
                            "unknown area {code:?}: give a province or commune code of the 2025 list"
                        ))
                        .into());
                    }
                },
            };
            let query = AuditQuery {
                actor: actor.map(TextMatch::Is),
                action: action.map(TextMatch::Is),
                from: since.as_deref().map(admin::parse_since).transpose()?,
                area,
                limit,
                ..AuditQuery::default()
            };
            let rows = admin::audit(s, &query)?;
            let names = admin::audit_names(s, &rows)?;
            let value: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    let mut v = json!(r);
                    v["at_text"] = json!(messages::local_time_rfc3339(r.entry.at));
                    // Who and what, by name, where still known.
                    if let Some(n) = names.get(&r.entry.actor) {
                        v["actor_name"] = json!(n);
                    }
                    if let Some(n) = names.get(&r.entry.subject) {
                        v["subject_name"] = json!(n);
                    }
                    v
                })
                .collect();
            print(json_mode, json!(value), || {
                messages::audit_list(lang, &rows, &names)
            });
        }
        Admin::Training {
            command:
                TrainingCmd::Add {
                    topic,
                    date,
                    place,
                    team,
                    commune,
                },
        } => {
            let t = admin::add_training(
                s,
                &topic,
                &date,
                &place,
                team.as_deref(),
                commune.as_deref(),
            )?;
            print(json_mode, json!(t), || t.id.to_string());
        }
        Admin::Training {
            command:
                TrainingCmd::Attend {
                    session,
                    volunteers,
                },
        } => {
            let a = admin::attend_training(s, session, &volunteers)?;
            print(json_mode, json!(a), || messages::attended(lang, &a));
        }
        Admin::Training {
            command: TrainingCmd::List { commune, since },
        } => {
            let rows = admin::trainings(s, commune.as_deref(), since.as_deref())?;
            print(json_mode, json!(rows), || {
                messages::training_list(lang, &rows)
            });
        }
        Admin::Quarantine { limit } => {
            let rows = s.quarantine(limit)?;
            print(json_mode, json!(rows), || {
                messages::quarantine_list(lang, &rows)
            });
        }
        Admin::ReportPeriods { start_day } => {
            if gocua_report::PeriodConfig::starting_on(i64::from(start_day)).is_err() {
                return Err(BadInput(messages::bad_start_day(lang, start_day)).into());
            }
            let households = s.set_report_start_day(start_day)?;
            print(
                json_mode,
                json!({ "start_day": start_day, "households": households }),
                || messages::report_periods_set(lang, start_day, households),
            );
        }
        Admin::RotatePseudonymKey => {
            s.rotate_pseudonym_key()?;
            print(json_mode, json!({ "rotated": true }), || {
                messages::t(lang, messages::T::PseudonymRotated).to_string()
            });
        }
        Admin::RebuildReport => {
            let households = s.rebuild_report()?;
            // Merged households are made whole by the steps the server's
            // materializer would run.
            while gocua_server::report::step(s)? > 0 {}
            print(json_mode, json!({ "households": households }), || {
                messages::report_rebuilt(lang, households)
            });
        }
    }
    Ok(())
}

/// `backup`, `restore` and `check`.
fn operate(config: Config, json_mode: bool, lang: Lang, cmd: Operate) -> Result<()> {
    use gocua_server::backup::{self, PgTools};
    init_logs(&format!("warn,{}", config.log));
    let place = config.database_text();
    match cmd {
        Operate::Backup { path, pg_bin } => {
            let info = backup::backup(&config, &path, &PgTools { dir: pg_bin })?;
            print(
                json_mode,
                json!({ "path": path.display().to_string(), "backup": info }),
                || match lang {
                    Lang::Vi => format!(
                        "đã sao lưu {place} vào {}: {} thay đổi, lược đồ {} ({}); bản sao lưu chứa dữ liệu cá nhân: hãy giữ nó được mã hoá",
                        path.display(),
                        info.changes,
                        info.schema_version,
                        info.backend
                    ),
                    Lang::En => format!(
                        "backed up {place} to {}: {} changes, schema {} ({}); it holds personal data: keep it encrypted",
                        path.display(),
                        info.changes,
                        info.schema_version,
                        info.backend
                    ),
                },
            );
        }
        Operate::Restore {
            path,
            overwrite,
            pg_bin,
        } => {
            let done = backup::restore(&config, &path, overwrite, &PgTools { dir: pg_bin })?;
            print(json_mode, json!(done), || match lang {
                Lang::Vi => format!(
                    "đã khôi phục {} vào {place}: {} thay đổi, sao lưu lúc {} (giờ Việt Nam); máy nào đã đồng bộ sau lúc đó sẽ tải lại và gửi lại những gì máy chủ thiếu",
                    path.display(),
                    done.info.changes,
                    messages::local_time(done.info.taken_at),
                ),
                Lang::En => format!(
                    "restored {} into {place}: {} changes, backed up at {} (Vietnam time); devices that synced after it bootstrap again and push what the server lacks",
                    path.display(),
                    done.info.changes,
                    messages::local_time(done.info.taken_at),
                ),
            });
        }
        Operate::MarkRestored => {
            let storage = gocua_server::open_database(&config)
                .with_context(|| format!("cannot open {place}"))?;
            let audit = gocua_server::storage::AuditEntry {
                at: gocua_server::now(),
                actor: "admin".into(),
                action: "restored".into(),
                subject: String::new(),
                detail: "by other means; feed marked by mark-restored".into(),
            };
            let (after, before) =
                storage.mark_restored(gocua_server::backup::RESTORE_GAP, &audit)?;
            print(
                json_mode,
                json!({ "feed_end": after, "next_position": before + 1 }),
                || match lang {
                    Lang::Vi => format!(
                        "đã đánh dấu {place} là bản khôi phục: các vị trí sau {after} không dùng nữa; máy nào đã đồng bộ sau bản sao này sẽ tải lại và gửi lại những gì máy chủ thiếu"
                    ),
                    Lang::En => format!(
                        "marked {place} as restored: the feed positions after {after} stay unused; devices that synced after this copy was taken bootstrap again and push what the server lacks"
                    ),
                },
            );
        }
        Operate::Check => {
            let storage = gocua_server::open_database(&config)
                .with_context(|| format!("cannot open {place}"))?;
            let report = gocua_server::check::check(&*storage)?;
            print(json_mode, json!(report), || {
                let mut lines: Vec<String> = report
                    .problems
                    .iter()
                    .map(|p| {
                        let at = match (&p.household, p.seq) {
                            (Some(h), Some(s)) => format!("{h} #{s}: "),
                            (Some(h), None) => format!("{h}: "),
                            _ => String::new(),
                        };
                        format!("{at}{}", lang.pick(&p.vi, &p.en))
                    })
                    .collect();
                if report.problems_not_listed > 0 {
                    lines.push(match lang {
                        Lang::Vi => format!("... và {} lỗi khác", report.problems_not_listed),
                        Lang::En => format!("... and {} more problems", report.problems_not_listed),
                    });
                }
                let found = report.problems.len() as u64 + report.problems_not_listed;
                lines.push(match lang {
                    Lang::Vi => format!(
                        "{place}: {} hộ, {} thay đổi, {} bản chụp, {} hộ trong báo cáo: {}",
                        report.households,
                        report.changes,
                        report.snapshots,
                        report.report_rows,
                        if found == 0 { "không có lỗi".to_string() } else { format!("{found} lỗi") },
                    ),
                    Lang::En => format!(
                        "{place}: {} households, {} changes, {} snapshots, {} households in reports: {}",
                        report.households,
                        report.changes,
                        report.snapshots,
                        report.report_rows,
                        if found == 0 { "no problems".to_string() } else { format!("{found} problems") },
                    ),
                });
                lines.join("\n")
            });
            if !report.is_ok() {
                return Err(CheckFailed.into());
            }
        }
    }
    Ok(())
}

/// `check` found problems: already printed, exit 1.
#[derive(Debug)]
struct CheckFailed;

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("kiểm tra thấy lỗi / the check found problems")
    }
}

impl std::error::Error for CheckFailed {}

/// glibc's allocator kept what a flood of connections had used (64-69 MiB of a
/// 102 MiB peak, 15 s after 4,096 held connections closed); jemalloc's background thread
/// gives freed pages back within seconds (21-24 MiB), and the sync load ran
/// as fast or faster (docs/benchmarks.md, "Memory given back").
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json_mode = cli.json;
    let lang_arg = cli.lang.clone();
    let lang = Lang::detect(lang_arg.as_deref());
    let result = match config(&cli) {
        Err(e) => Err(e),
        Ok(config) => match cli.command {
            Command::DefaultConfig => {
                print!("{DEFAULT_CONFIG}");
                Ok(())
            }
            Command::Migrate => migrate(&config, json_mode, lang),
            Command::Serve { listen } => serve(config, listen),
            Command::Admin { command } => run_admin(config, json_mode, lang, command),
            Command::Operate(command) => operate(config, json_mode, lang, command),
            Command::Report {
                area,
                period,
                level,
                today,
                reviews,
            } => report(config, json_mode, &area, period, &level, today, reviews),
            Command::Export {
                area,
                format,
                pii,
                period,
                level,
                today,
                since,
                include_sensitive,
                csv_plain,
                out,
            } => export(
                config,
                json_mode,
                ExportArgs {
                    area,
                    format,
                    pii,
                    period,
                    level,
                    today,
                    since,
                    include_sensitive,
                    // The province's files keep one language whatever the
                    // operator's locale: Vietnamese unless asked.
                    lang: lang_arg.unwrap_or_else(|| "vi".into()),
                    csv_plain,
                    out,
                },
            ),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let reported = e.downcast_ref::<CheckFailed>().is_some();
            if json_mode && reported {
                // The check's own answer says what failed.
            } else if json_mode {
                println!("{}", json!({ "error": format!("{e:#}") }));
            } else {
                eprintln!("gocua-server: {e:#}");
            }
            // Input the operator can correct exits 2, like clap's own errors.
            let bad_input = e.downcast_ref::<BadInput>().is_some()
                || matches!(
                    e.downcast_ref::<gocua_server::backup::BackupError>(),
                    Some(gocua_server::backup::BackupError::Refused { .. })
                )
                || matches!(
                    e.downcast_ref::<gocua_server::export::ExportError>(),
                    Some(
                        gocua_server::export::ExportError::AggregatesOnly
                            | gocua_server::export::ExportError::SensitiveNeedsFull(_)
                            | gocua_server::export::ExportError::UnknownSensitive(_)
                    )
                );
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}
