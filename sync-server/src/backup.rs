//! `gocua-server backup` and `restore` (docs/operations.md, "Backups").
//!
//! A backup is one consistent view of the database taken while the server
//! serves, written with owner-only permissions through a temporary file
//! renamed once complete:
//!
//! - SQLite: the database file itself, copied page by page by SQLite's
//!   online backup in one read transaction (writers go on meanwhile), with a
//!   table `gocua_backup` saying what it is.
//! - PostgreSQL: `pg_dump`'s custom archive of a snapshot the command
//!   exports from its own REPEATABLE READ transaction (in which it also
//!   reads what the header says), after a header line: `GOCUA-BACKUP/1`
//!   and the JSON [`BackupInfo`].
//!
//! A restore goes into a fresh database (or, when told, over one), never
//! leaving it half-restored: SQLite prepares a copy beside the target and
//! renames it into place (or copies it in with one SQLite backup
//! transaction); PostgreSQL runs the whole restore in one transaction. In
//! that same transaction the restore leaves the feed positions after the
//! backup's end unused for a long stretch ([`RESTORE_GAP`]): a device that
//! synced after the backup holds a cursor in it and is answered
//! `cursor_expired` instead of silently skipping what is fed at those
//! positions again (`FeedBounds::expired`).

use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, Database};
use crate::storage::StorageError;

/// The stretch of feed positions a restore leaves unused: more than any
/// database hands out between a backup and its restore.
pub const RESTORE_GAP: u64 = 1 << 40;

/// The first line of a PostgreSQL backup file.
pub const PG_MAGIC: &[u8] = b"GOCUA-BACKUP/1\n";
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// The version of [`BackupInfo`]'s layout.
pub const FORMAT: u32 = 1;

/// What a backup file says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    pub format: u32,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database's schema version (SQLite's `user_version`, PostgreSQL's
    /// highest `schema_migrations` row).
    pub schema_version: i64,
    pub server_version: String,
    /// Unix seconds.
    pub taken_at: i64,
    /// Changes in the log.
    pub changes: u64,
    /// The last feed position it holds.
    pub feed_end: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub info: BackupInfo,
    /// The schema the database is at now (migrated if the backup's was older).
    pub schema_version: i64,
    /// Positions after `after` and before `before` are left unused.
    pub feed_after: u64,
    pub feed_before: u64,
    /// The target held data that the restore replaced (`--overwrite`).
    pub replaced: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The operator can correct it (exit 2): said in Vietnamese, then English.
    #[error("{vi}\n{en}")]
    Refused { vi: String, en: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// `pg_dump`, `pg_restore` or `psql` failed.
    #[error("{0}")]
    Tool(String),
}

pub type BackupResult<T> = Result<T, BackupError>;

pub(crate) fn refused(vi: impl Into<String>, en: impl Into<String>) -> BackupError {
    BackupError::Refused {
        vi: vi.into(),
        en: en.into(),
    }
}

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> BackupError {
    BackupError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Creates `path` empty, readable and writable by its owner only: a backup
/// holds every household's personal data.
pub(crate) fn create_private(path: &Path) -> BackupResult<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).read(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| io_err(path, e))
}

/// `dir/.NAME.SUFFIX`, beside `path` (so that a rename replaces it).
pub(crate) fn beside(path: &Path, suffix: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{suffix}"))
}

/// Makes the rename of a finished file durable.
pub(crate) fn sync_dir(path: &Path) -> BackupResult<()> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    #[cfg(unix)]
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(&dir, e))?;
    Ok(())
}

/// Where the PostgreSQL client programs are: `--pg-bin`, `GOCUA_PG_BIN`,
/// the `PATH`, then the newest `/usr/lib/postgresql/VERSION/bin`.
#[derive(Debug, Clone, Default)]
pub struct PgTools {
    pub dir: Option<PathBuf>,
}

impl PgTools {
    pub(crate) fn find(&self, name: &str) -> BackupResult<PathBuf> {
        let given = self
            .dir
            .clone()
            .or_else(|| std::env::var_os("GOCUA_PG_BIN").map(PathBuf::from));
        if let Some(dir) = given {
            let p = dir.join(name);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(refused(
                    format!("không có {name} trong {}", dir.display()),
                    format!(
                        "no {name} in {}: give the directory of PostgreSQL's client programs with --pg-bin",
                        dir.display()
                    ),
                ))
            };
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let p = dir.join(name);
                if p.is_file() {
                    return Ok(p);
                }
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let p = e.path().join("bin").join(name);
                p.is_file().then_some((v, p))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, p)| p).ok_or_else(|| {
            refused(
                format!("không tìm thấy {name} của PostgreSQL: cài gói postgresql-client, hoặc chỉ thư mục của nó bằng --pg-bin"),
                format!("PostgreSQL's {name} was not found: install the PostgreSQL client programs, or give their directory with --pg-bin"),
            )
        })
    }
}

/// Takes a backup of the configured database into `out`.
pub fn backup(config: &Config, out: &Path, tools: &PgTools) -> BackupResult<BackupInfo> {
    if out.is_dir() {
        return Err(refused(
            format!("{} là một thư mục: hãy cho tên tệp sao lưu", out.display()),
            format!(
                "{} is a directory: give the backup file's name",
                out.display()
            ),
        ));
    }
    let partial = beside(out, "partial");
    // Left by a backup that was stopped: ours, by its name.
    let _ = std::fs::remove_file(&partial);
    let taken = match config.backend() {
        Database::Sqlite(db) => crate::sqlite::backup::backup(&db, &partial),
        Database::Postgres(_) => match config.postgres() {
            Some(settings) => {
                let dump = tools.find("pg_dump")?;
                crate::postgres::backup::backup(&settings, &partial, &dump)
            }
            None => Err(BackupError::Tool("no PostgreSQL settings".into())),
        },
    };
    let info = match taken {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(|e| io_err(out, e))?;
    sync_dir(out)?;
    Ok(info)
}

/// Reads what a backup file says of itself, without restoring it.
pub fn read_info(file: &Path) -> BackupResult<BackupInfo> {
    if !file.is_file() {
        return Err(refused(
            format!("không có tệp {}", file.display()),
            format!(
                "there is no file {}: give the backup file's path",
                file.display()
            ),
        ));
    }
    let mut f = File::open(file).map_err(|e| io_err(file, e))?;
    let mut head = [0u8; 16];
    let n = f.read(&mut head).map_err(|e| io_err(file, e))?;
    if n == SQLITE_MAGIC.len() && head == SQLITE_MAGIC {
        return crate::sqlite::backup::read_info(file);
    }
    if head[..n].starts_with(PG_MAGIC) {
        let mut reader = std::io::BufReader::new(File::open(file).map_err(|e| io_err(file, e))?);
        return read_pg_header(&mut reader, file);
    }
    Err(not_a_backup(file))
}

pub(crate) fn not_a_backup(file: &Path) -> BackupError {
    refused(
        format!("{} không phải tệp sao lưu của gocua-server", file.display()),
        format!(
            "{} is not a gocua-server backup (one `gocua-server backup` wrote)",
            file.display()
        ),
    )
}

/// Reads a PostgreSQL backup's header, leaving `reader` at the archive.
pub(crate) fn read_pg_header(reader: &mut impl BufRead, file: &Path) -> BackupResult<BackupInfo> {
    let mut magic = Vec::new();
    reader
        .read_until(b'\n', &mut magic)
        .map_err(|e| io_err(file, e))?;
    if magic != PG_MAGIC {
        return Err(not_a_backup(file));
    }
    let mut line = Vec::new();
    // The header line is small; a file that has none is not a backup.
    reader
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .map_err(|e| io_err(file, e))?;
    serde_json::from_slice(&line).map_err(|_| not_a_backup(file))
}

pub(crate) fn write_pg_header(out: &mut impl Write, info: &BackupInfo) -> std::io::Result<()> {
    out.write_all(PG_MAGIC)?;
    serde_json::to_writer(&mut *out, info)?;
    out.write_all(b"\n")
}

/// Refuses a backup this server cannot restore into `backend`.
pub(crate) fn check_restorable(info: &BackupInfo, backend: &str, latest: i64) -> BackupResult<()> {
    if info.format > FORMAT {
        return Err(refused(
            format!(
                "tệp sao lưu do gocua-server mới hơn tạo (định dạng {}): hãy cập nhật gocua-server",
                info.format
            ),
            format!(
                "the backup was written by a newer gocua-server (format {}): update gocua-server",
                info.format
            ),
        ));
    }
    if info.backend != backend {
        return Err(refused(
            format!(
                "đây là bản sao lưu cơ sở dữ liệu {}, không khôi phục được vào {backend}: chỉ --database tới một cơ sở dữ liệu {}",
                info.backend, info.backend
            ),
            format!(
                "this is a backup of a {} database; it cannot be restored into {backend}: point --database to a {} database",
                info.backend, info.backend
            ),
        ));
    }
    if info.schema_version > latest {
        return Err(refused(
            format!(
                "bản sao lưu có lược đồ {} mới hơn lược đồ {latest} của gocua-server này: hãy khôi phục bằng gocua-server mới hơn",
                info.schema_version
            ),
            format!(
                "the backup is at schema {}, newer than this gocua-server's {latest}: restore it with a newer gocua-server",
                info.schema_version
            ),
        ));
    }
    Ok(())
}

pub(crate) fn not_empty(place: &str) -> BackupError {
    refused(
        format!(
            "{place} đã có dữ liệu: khôi phục sẽ xoá dữ liệu đó. Hãy khôi phục vào một cơ sở dữ liệu mới, hoặc thêm --overwrite nếu chắc chắn (dừng máy chủ trước)"
        ),
        format!(
            "{place} already holds data, which a restore would replace: restore into a fresh database, or add --overwrite if you are sure (stop the server first)"
        ),
    )
}

/// Restores `file` into the configured database.
pub fn restore(
    config: &Config,
    file: &Path,
    overwrite: bool,
    tools: &PgTools,
) -> BackupResult<Restored> {
    let info = read_info(file)?;
    match config.backend() {
        Database::Sqlite(db) => crate::sqlite::backup::restore(&info, file, &db, overwrite),
        Database::Postgres(_) => {
            let settings = config
                .postgres()
                .ok_or_else(|| BackupError::Tool("no PostgreSQL settings".into()))?;
            let pg_restore = tools.find("pg_restore")?;
            let psql = tools.find("psql")?;
            crate::postgres::backup::restore(&info, file, &settings, overwrite, &pg_restore, &psql)
        }
    }
}

/// The audit entry a restore writes into the restored database.
pub(crate) fn restore_audit(info: &BackupInfo, file: &Path) -> crate::storage::AuditEntry {
    crate::storage::AuditEntry {
        at: crate::now(),
        actor: "admin".into(),
        action: "restored".into(),
        subject: format!("file={}", file.display()),
        detail: format!(
            "backend={} schema={} taken_at={} changes={} feed_end={}",
            info.backend,
            info.schema_version,
            crate::time_text(info.taken_at),
            info.changes,
            info.feed_end
        ),
    }
}
