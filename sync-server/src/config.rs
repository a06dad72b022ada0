//! The server's settings: defaults in code, an optional TOML file, then
//! `GOCUA_`-prefixed environment variables.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The commented example printed by `gocua-server default-config`.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

pub const DEFAULT_DATABASE: &str = "gocua-server.sqlite";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub database: PathBuf,
    pub max_body_bytes: usize,
    pub enroll_code_ttl_hours: u32,
    pub log: String,
    pub pull_page_bytes: usize,
    pub reader_connections: usize,
    pub load_units: bool,
    pub database_pool: u32,
    pub statement_timeout_seconds: u64,
    pub migrate_on_start: bool,
    pub max_connections: usize,
    /// Connections open at once from one client address (an IPv6 address
    /// by its /64); 0: no limit. Not applied behind a proxy
    /// (`client_address_header` set): there every connection is the proxy's.
    pub max_connections_per_address: usize,
    pub header_timeout_seconds: u64,
    pub body_timeout_seconds: u64,
    pub shutdown_grace_seconds: u64,
    pub body_budget_bytes: usize,
    pub enroll_attempts_per_address: u32,
    pub enroll_attempts_per_code: u32,
    pub client_address_header: String,
    /// Where Prometheus scrapes `/metrics`; empty: nowhere.
    pub metrics_listen: String,
    pub log_format: LogFormat,
    pub console_secure_cookie: bool,
    pub console_session_hours: u32,
    pub login_attempts_per_address: u32,
    pub login_attempts_per_login: u32,
}

/// How the log is written (`log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for a person reading a terminal or the journal.
    #[default]
    Text,
    /// One JSON object a line, for a log collector.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<LogFormat, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(ConfigError(format!(
                "log_format {s:?} is not a log format: give \"text\" or \"json\""
            ))),
        }
    }
}

/// Where the database is, as `database` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// The URL, password included: never print it (`postgres::redacted`).
    Postgres(String),
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database: PathBuf::from(DEFAULT_DATABASE),
            max_body_bytes: 8 * 1024 * 1024,
            enroll_code_ttl_hours: 72,
            log: "info".into(),
            pull_page_bytes: 1024 * 1024,
            reader_connections: 4,
            load_units: true,
            database_pool: 16,
            statement_timeout_seconds: 30,
            migrate_on_start: true,
            max_connections: 4096,
            max_connections_per_address: 256,
            header_timeout_seconds: 15,
            body_timeout_seconds: 30,
            shutdown_grace_seconds: 30,
            body_budget_bytes: 128 * 1024 * 1024,
            enroll_attempts_per_address: 60,
            enroll_attempts_per_code: 10,
            client_address_header: String::new(),
            metrics_listen: String::new(),
            log_format: LogFormat::Text,
            console_secure_cookie: true,
            console_session_hours: 12,
            login_attempts_per_address: 5,
            login_attempts_per_login: 5,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
                Config::from_toml(&text)
                    .map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.check_limits()?;
        Ok(config)
    }

    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
        config.client_address_header = config.client_address_header.trim().to_ascii_lowercase();
        Ok(config)
    }

    /// Applies `GOCUA_*` overrides read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| ConfigError(format!("{key}={v:?} is not a number")))
        }
        if let Some(v) = var("GOCUA_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("GOCUA_DATABASE") {
            self.database = PathBuf::from(v);
        }
        if let Some(v) = var("GOCUA_MAX_BODY_BYTES") {
            self.max_body_bytes = num("GOCUA_MAX_BODY_BYTES", &v)?;
        }
        if let Some(v) = var("GOCUA_ENROLL_CODE_TTL_HOURS") {
            self.enroll_code_ttl_hours = num("GOCUA_ENROLL_CODE_TTL_HOURS", &v)?;
        }
        if let Some(v) = var("GOCUA_LOG") {
            self.log = v;
        }
        if let Some(v) = var("GOCUA_PULL_PAGE_BYTES") {
            self.pull_page_bytes = num("GOCUA_PULL_PAGE_BYTES", &v)?;
        }
        if let Some(v) = var("GOCUA_READER_CONNECTIONS") {
            self.reader_connections = num("GOCUA_READER_CONNECTIONS", &v)?;
        }
        fn flag(key: &str, v: &str) -> Result<bool, ConfigError> {
            match v.trim() {
                "1" | "true" | "yes" => Ok(true),
                "0" | "false" | "no" => Ok(false),
                _ => Err(ConfigError(format!("{key}={v:?} is not true or false"))),
            }
        }
        if let Some(v) = var("GOCUA_LOAD_UNITS") {
            self.load_units = flag("GOCUA_LOAD_UNITS", &v)?;
        }
        if let Some(v) = var("GOCUA_DATABASE_POOL") {
            self.database_pool = num("GOCUA_DATABASE_POOL", &v)?;
        }
        if let Some(v) = var("GOCUA_STATEMENT_TIMEOUT_SECONDS") {
            self.statement_timeout_seconds = num("GOCUA_STATEMENT_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = var("GOCUA_MIGRATE_ON_START") {
            self.migrate_on_start = flag("GOCUA_MIGRATE_ON_START", &v)?;
        }
        if let Some(v) = var("GOCUA_MAX_CONNECTIONS") {
            self.max_connections = num("GOCUA_MAX_CONNECTIONS", &v)?;
        }
        if let Some(v) = var("GOCUA_MAX_CONNECTIONS_PER_ADDRESS") {
            self.max_connections_per_address = num("GOCUA_MAX_CONNECTIONS_PER_ADDRESS", &v)?;
        }
        if let Some(v) = var("GOCUA_HEADER_TIMEOUT_SECONDS") {
            self.header_timeout_seconds = num("GOCUA_HEADER_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = var("GOCUA_BODY_TIMEOUT_SECONDS") {
            self.body_timeout_seconds = num("GOCUA_BODY_TIMEOUT_SECONDS", &v)?;
        }
        if let Some(v) = var("GOCUA_SHUTDOWN_GRACE_SECONDS") {
            self.shutdown_grace_seconds = num("GOCUA_SHUTDOWN_GRACE_SECONDS", &v)?;
        }
        if let Some(v) = var("GOCUA_BODY_BUDGET_BYTES") {
            self.body_budget_bytes = num("GOCUA_BODY_BUDGET_BYTES", &v)?;
        }
        if let Some(v) = var("GOCUA_ENROLL_ATTEMPTS_PER_ADDRESS") {
            self.enroll_attempts_per_address = num("GOCUA_ENROLL_ATTEMPTS_PER_ADDRESS", &v)?;
        }
        if let Some(v) = var("GOCUA_ENROLL_ATTEMPTS_PER_CODE") {
            self.enroll_attempts_per_code = num("GOCUA_ENROLL_ATTEMPTS_PER_CODE", &v)?;
        }
        if let Some(v) = var("GOCUA_CLIENT_ADDRESS_HEADER") {
            self.client_address_header = v.trim().to_ascii_lowercase();
        }
        if let Some(v) = var("GOCUA_METRICS_LISTEN") {
            self.metrics_listen = v.trim().to_string();
        }
        if let Some(v) = var("GOCUA_LOG_FORMAT") {
            self.log_format = v.parse()?;
        }
        if let Some(v) = var("GOCUA_CONSOLE_SECURE_COOKIE") {
            self.console_secure_cookie = flag("GOCUA_CONSOLE_SECURE_COOKIE", &v)?;
        }
        if let Some(v) = var("GOCUA_CONSOLE_SESSION_HOURS") {
            self.console_session_hours = num("GOCUA_CONSOLE_SESSION_HOURS", &v)?;
        }
        if let Some(v) = var("GOCUA_LOGIN_ATTEMPTS_PER_ADDRESS") {
            self.login_attempts_per_address = num("GOCUA_LOGIN_ATTEMPTS_PER_ADDRESS", &v)?;
        }
        if let Some(v) = var("GOCUA_LOGIN_ATTEMPTS_PER_LOGIN") {
            self.login_attempts_per_login = num("GOCUA_LOGIN_ATTEMPTS_PER_LOGIN", &v)?;
        }
        Ok(())
    }

    /// The database `database` names: `postgres://` or `postgresql://` URLs
    /// are PostgreSQL; `sqlite://PATH` and any other text a SQLite file.
    pub fn backend(&self) -> Database {
        let text = self.database.to_string_lossy();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Database::Postgres(text.into_owned());
        }
        match text.strip_prefix("sqlite://") {
            Some(path) => Database::Sqlite(PathBuf::from(path)),
            None => Database::Sqlite(self.database.clone()),
        }
    }

    /// Refuses limits that cannot work together.
    pub fn check_limits(&self) -> Result<(), ConfigError> {
        if self.body_budget_bytes < self.max_body_bytes {
            return Err(ConfigError(format!(
                "body_budget_bytes ({}) is smaller than max_body_bytes ({}): a push of the largest \
                 size could never be received; raise body_budget_bytes or lower max_body_bytes",
                self.body_budget_bytes, self.max_body_bytes
            )));
        }
        if self.body_budget_bytes > u32::MAX as usize {
            return Err(ConfigError(format!(
                "body_budget_bytes ({}) is over {}: give at most 4 GiB",
                self.body_budget_bytes,
                u32::MAX
            )));
        }
        if self.console_session_hours == 0 {
            return Err(ConfigError(
                "console_session_hours must be at least 1".into(),
            ));
        }
        if self.max_connections == 0
            || self.header_timeout_seconds == 0
            || self.body_timeout_seconds == 0
        {
            return Err(ConfigError(
                "max_connections, header_timeout_seconds and body_timeout_seconds must be at least 1".into(),
            ));
        }
        if !self.client_address_header.is_empty()
            && axum::http::HeaderName::from_bytes(self.client_address_header.as_bytes()).is_err()
        {
            return Err(ConfigError(format!(
                "client_address_header {:?} is not a header name (e.g. \"x-forwarded-for\")",
                self.client_address_header
            )));
        }
        self.check_metrics_listen()
    }

    /// Refuses metrics on the API's port: they say how busy the server is
    /// and which errors it answers, for the operator only.
    fn check_metrics_listen(&self) -> Result<(), ConfigError> {
        let metrics = self.metrics_listen.trim();
        if metrics.is_empty() {
            return Ok(());
        }
        let same = match (
            metrics.parse::<std::net::SocketAddr>(),
            self.listen.trim().parse::<std::net::SocketAddr>(),
        ) {
            (Ok(m), Ok(l)) => {
                m.port() == l.port()
                    && m.port() != 0
                    && (m.ip() == l.ip() || m.ip().is_unspecified() || l.ip().is_unspecified())
            }
            _ => metrics.eq_ignore_ascii_case(self.listen.trim()),
        };
        if same {
            return Err(ConfigError(format!(
                "metrics_listen ({metrics}) is the API's address (listen = {}): metrics are \
                 served on a port of their own; give another port, e.g. \"127.0.0.1:9180\", \
                 or leave metrics_listen empty",
                self.listen
            )));
        }
        Ok(())
    }

    /// Refuses a `scheme://` this server does not know (`mysql://...` would
    /// otherwise be taken for a SQLite file of that name and created).
    pub fn check_database(&self) -> Result<(), ConfigError> {
        let text = self.database.to_string_lossy();
        match text.split_once("://") {
            Some(("postgres" | "postgresql" | "sqlite", _)) | None => Ok(()),
            Some((scheme, _)) => Err(ConfigError(format!(
                "database {text:?}: `{scheme}://` is not a database this server uses; \
                 give a SQLite file (a path or sqlite://PATH) or a PostgreSQL URL \
                 (postgres://USER@HOST/DATABASE)"
            ))),
        }
    }

    /// The database for messages and logs: a PostgreSQL URL without its
    /// password.
    pub fn database_text(&self) -> String {
        match self.backend() {
            Database::Sqlite(p) => p.display().to_string(),
            Database::Postgres(url) => crate::postgres::redacted(&url),
        }
    }

    /// How the PostgreSQL backend connects, if `database` names one.
    pub fn postgres(&self) -> Option<crate::postgres::PgSettings> {
        match self.backend() {
            Database::Postgres(url) => Some(crate::postgres::PgSettings {
                url,
                pool_size: self.database_pool,
                statement_timeout: std::time::Duration::from_secs(
                    self.statement_timeout_seconds.max(1),
                ),
                migrate: self.migrate_on_start,
            }),
            Database::Sqlite(_) => None,
        }
    }

    /// A configuration for a server whose database lives in `dir`.
    pub fn with_data_dir(mut self, dir: &Path) -> Config {
        self.database = dir.join(DEFAULT_DATABASE);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_the_default() {
        assert_eq!(
            Config::from_toml(DEFAULT_CONFIG).unwrap(),
            Config::default()
        );
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
    }

    #[test]
    fn environment_overrides_and_unknown_keys() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "GOCUA_LISTEN" => Some("0.0.0.0:9000".into()),
            "GOCUA_MAX_BODY_BYTES" => Some("1024".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.max_body_bytes, 1024);
        assert!(
            c.apply_env(|k| (k == "GOCUA_ENROLL_CODE_TTL_HOURS").then(|| "soon".into()))
                .is_err()
        );
        assert!(Config::from_toml("listne = \"x\"").is_err());
        let small = Config::from_toml("body_budget_bytes = 1000")
            .unwrap()
            .check_limits()
            .unwrap_err();
        assert!(small.0.contains("max_body_bytes"), "{}", small.0);
        let spaced = Config::from_toml("client_address_header = \"x forwarded\"").unwrap();
        assert!(spaced.check_limits().is_err());
        assert!(Config::default().check_limits().is_ok());
        let c = Config::from_toml("client_address_header = \"X-Forwarded-For\"").unwrap();
        assert_eq!(c.client_address_header, "x-forwarded-for");
    }

    #[test]
    fn the_database_names_its_backend() {
        let with = |db: &str| Config {
            database: PathBuf::from(db),
            ..Config::default()
        };
        assert_eq!(
            with("data/s.sqlite").backend(),
            Database::Sqlite(PathBuf::from("data/s.sqlite"))
        );
        assert_eq!(
            with("sqlite:///var/lib/gocua/s.sqlite").backend(),
            Database::Sqlite(PathBuf::from("/var/lib/gocua/s.sqlite"))
        );
        let url = "postgres://gocua:secret@db.internal:5433/gocua";
        assert_eq!(with(url).backend(), Database::Postgres(url.into()));
        assert!(matches!(
            with("postgresql://localhost/gocua").backend(),
            Database::Postgres(_)
        ));
        assert!(with(url).check_database().is_ok());
        assert!(with("data/s.sqlite").check_database().is_ok());
        let refused = with("mysql://db/gocua").check_database().unwrap_err();
        assert!(refused.0.contains("`mysql://`"), "{}", refused.0);
        let text = with(url).database_text();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("db.internal:5433/gocua"), "{text}");
    }

    #[test]
    fn metrics_have_a_port_of_their_own_and_logs_a_known_format() {
        let with = |listen: &str, metrics: &str| Config {
            listen: listen.into(),
            metrics_listen: metrics.into(),
            ..Config::default()
        };
        assert!(with("127.0.0.1:8080", "").check_limits().is_ok());
        assert!(
            with("127.0.0.1:8080", "127.0.0.1:9180")
                .check_limits()
                .is_ok()
        );
        // Port 0 is a port chosen at start: never the same as the API's.
        assert!(with("127.0.0.1:0", "127.0.0.1:0").check_limits().is_ok());
        for (listen, metrics) in [
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("0.0.0.0:8080", "127.0.0.1:8080"),
            ("127.0.0.1:8080", "0.0.0.0:8080"),
            ("localhost:8080", "localhost:8080"),
        ] {
            let refused = with(listen, metrics).check_limits().unwrap_err();
            assert!(refused.0.contains("port of their own"), "{}", refused.0);
        }
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "GOCUA_LOG_FORMAT" => Some("JSON".into()),
            "GOCUA_METRICS_LISTEN" => Some(" 127.0.0.1:9180 ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.metrics_listen, "127.0.0.1:9180");
        let bad = c
            .apply_env(|k| (k == "GOCUA_LOG_FORMAT").then(|| "yaml".into()))
            .unwrap_err();
        assert!(bad.0.contains("\"json\""), "{}", bad.0);
        assert!(Config::from_toml("log_format = \"yaml\"").is_err());
        assert_eq!(
            Config::from_toml("log_format = \"json\"")
                .unwrap()
                .log_format,
            LogFormat::Json
        );
    }
}
