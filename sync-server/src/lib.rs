//! gocua's sync server: devices enroll with a one-time code, push the
//! Automerge changes they made offline into a change log, and pull the changes
//! of their villages after a cursor; new devices bootstrap from document
//! snapshots. See sync-server/README.md.

pub mod admin;
pub mod api;
pub mod backup;
pub mod body_budget;
pub mod check;
pub mod config;
pub mod console;
pub mod error;
pub mod export;
pub mod group_commit;
pub mod isolate;
pub mod logs;
pub mod materializer;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod postgres;
pub mod province;
pub mod push;
pub mod report;
pub mod secrets;
pub mod seen;
pub mod serve;
pub mod sqlite;
pub mod storage;
pub mod throttle;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

pub use config::Config;
pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;
pub use storage::{Storage, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("server: {0}")]
    Task(String),
}

/// How often refused floods of attempts are written to the audit log.
const FLOOD_SUMMARY_EVERY: Duration = Duration::from_secs(60);

/// Seconds since the Unix epoch, the unit of every stored time.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A stored time as RFC 3339 (UTC), for people and the audit log.
pub fn time_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// Opens the configured database, migrating it, and loads the administrative
/// units into an empty one.
pub fn open_storage(config: &Config) -> Result<Arc<dyn Storage>, ServerError> {
    let storage = open_database(config)?;
    if config.load_units && !storage.units_loaded()? {
        let loaded = storage.load_units()?;
        tracing::info!(
            communes = loaded.communes,
            legacy_communes = loaded.legacy_communes,
            "administrative units loaded"
        );
    }
    Ok(storage)
}

/// Opens the database `config.database` names (SQLite or PostgreSQL), as
/// the admin commands do: migrated, nothing loaded.
pub fn open_database(config: &Config) -> Result<Arc<dyn Storage>, ServerError> {
    Ok(match config.postgres() {
        Some(settings) => Arc::new(PgStorage::open(&settings)?),
        None => {
            let config::Database::Sqlite(path) = config.backend() else {
                return Err(ServerError::Task("no database configured".into()));
            };
            Arc::new(SqliteStorage::open(&path, config.reader_connections)?)
        }
    })
}

/// Serves on `listener` until `shutdown` completes, then finishes the requests
/// in flight and stops the materializer. Tests bind 127.0.0.1:0 and pass the
/// listener here.
pub async fn launch_with_listener(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let c = config.clone();
    let storage = tokio::task::spawn_blocking(move || open_storage(&c))
        .await
        .map_err(|e| ServerError::Task(e.to_string()))??;
    launch_with_storage(config, storage, listener, shutdown).await
}

/// Like [`launch_with_listener`] with a storage already open; binds
/// `metrics_listen` if it is set.
pub async fn launch_with_storage(
    config: Config,
    storage: Arc<dyn Storage>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let metrics = match config.metrics_listen.as_str() {
        "" => None,
        at => Some(TcpListener::bind(at).await?),
    };
    let listeners = Listeners {
        api: listener,
        metrics,
    };
    launch(config, storage, listeners, shutdown).await
}

/// The sockets a server answers on.
#[derive(Debug)]
pub struct Listeners {
    /// The sync API.
    pub api: TcpListener,
    /// `GET /metrics` for Prometheus (`metrics_listen`), if wanted.
    pub metrics: Option<TcpListener>,
}

/// Connections the metrics listener keeps open at once: a few scrapers.
const METRICS_CONNECTIONS: usize = 64;

/// Serves the API (and the metrics) until `shutdown` completes, then
/// finishes the requests in flight and stops the materializer.
pub async fn launch(
    config: Config,
    storage: Arc<dyn Storage>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = listeners.api;
    let wake = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let materializer = tokio::spawn(materializer::run(
        storage.clone(),
        wake.clone(),
        stop_rx.clone(),
    ));
    // Catch up with anything pushed before a restart.
    wake.notify_one();
    let limits = serve::ConnLimits {
        max_connections: config.max_connections,
        // Behind a proxy every peer is the proxy: it limits by client.
        per_address: if config.client_address_header.is_empty() {
            config.max_connections_per_address
        } else {
            0
        },
        header_timeout: Duration::from_secs(config.header_timeout_seconds),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
    };
    let state = api::AppState::new(storage, config, wake);
    let floods = tokio::spawn(throttle::write_floods(
        state.clone(),
        FLOOD_SUMMARY_EVERY,
        stop_rx,
    ));
    let connections = state.connections.clone();
    // Scraped until the API's requests in flight are done: the drain shows.
    let metrics = listeners.metrics.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, path = metrics::METRICS_PATH, "metrics listening");
        }
        let limits = serve::ConnLimits {
            max_connections: METRICS_CONNECTIONS,
            ..limits.clone()
        };
        let mut stop = stop_tx.subscribe();
        tokio::spawn(serve::serve(
            l,
            metrics::router(&state),
            limits,
            Arc::new(serve::ConnCount::default()),
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        ))
    });
    let app = api::router(state);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, version = api::SERVER_VERSION, "gocua-server listening");
    }
    let served = serve::serve(listener, app, limits, connections, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(m) = metrics {
        match m.await {
            Ok(Err(e)) => tracing::error!(error = %e, "metrics listener failed"),
            Err(e) => tracing::error!(error = %e, "metrics listener task failed"),
            Ok(Ok(())) => {}
        }
    }
    if let Err(e) = materializer.await {
        tracing::error!(error = %e, "materializer task failed");
    }
    if let Err(e) = floods.await {
        tracing::error!(error = %e, "audit of refused attempts failed");
    }
    tracing::info!("gocua-server stopped");
    served.map_err(ServerError::from)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
