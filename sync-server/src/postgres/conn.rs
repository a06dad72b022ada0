//! A synchronous connection to PostgreSQL, as the storage trait needs one.
//!
//! The storage's methods are synchronous and are called from anywhere: from
//! `spawn_blocking` in the server, but also straight from async tests and
//! from the admin commands. A client that runs its own runtime per call
//! (the `postgres` crate) panics inside another runtime, so the backend owns
//! one small tokio runtime that drives every connection's socket, and the
//! calling thread only waits on the client's request channel with a plain
//! executor, which is allowed on any thread (it blocks it, as a SQLite call
//! does).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::storage::{StorageError, StorageResult};

pub(crate) type Param<'a> = &'a (dyn ToSql + Sync);

/// Maps a client error: a serialization failure, a deadlock, a lock or
/// statement timeout is `Busy` (try again); anything else `Backend`.
pub(crate) fn db_err(e: tokio_postgres::Error) -> StorageError {
    let busy = matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::QUERY_CANCELED
            || *c == SqlState::LOCK_NOT_AVAILABLE
            || *c == SqlState::TOO_MANY_CONNECTIONS
    );
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    if busy {
        StorageError::Busy(text)
    } else {
        StorageError::Backend(text)
    }
}

/// Reads column `i` of a row, a wrong type being an error, not a panic.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> StorageResult<T> {
    row.try_get(i)
        .map_err(|e| StorageError::Incompatible(format!("column {i}: {e}")))
}

/// What a connection is opened with.
#[derive(Clone)]
pub(crate) struct ConnectOptions {
    pub config: tokio_postgres::Config,
    /// Each statement is cancelled by the server after this long.
    pub statement_timeout: Duration,
    /// Waiting for a row lock gives up after this long.
    pub lock_timeout: Duration,
    pub runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration may hold a password: only where it points.
        f.debug_struct("ConnectOptions")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// One statement of a [`PgConn::pipeline`].
pub(crate) enum Op<'a> {
    /// Simple-protocol text (no parameters, no rows): SAVEPOINT, RELEASE.
    Batch(&'static str),
    Query(&'static str, &'a [Param<'a>]),
}

/// One connection, with the statements it prepared.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The connection's task on the backend's runtime; ends when it closes.
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("closed", &self.client.is_closed())
            .finish()
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn wait<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

impl PgConn {
    pub(crate) fn connect(options: &ConnectOptions) -> StorageResult<PgConn> {
        let config = options.config.clone();
        let joined = wait(
            options
                .runtime
                .spawn(async move { config.connect(NoTls).await }),
        );
        let (client, connection) = joined
            .map_err(|e| StorageError::Backend(format!("connecting: {e}")))?
            .map_err(db_err)?;
        let task = options.runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection closed");
            }
        });
        let mut conn = PgConn {
            client,
            statements: HashMap::new(),
            task: Arc::new(task),
        };
        conn.batch(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET TIME ZONE 'UTC'",
            options.statement_timeout.as_millis(),
            options.lock_timeout.as_millis()
        ))?;
        Ok(conn)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The statement for `sql`, prepared once per connection.
    fn statement(&mut self, sql: &'static str) -> StorageResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = wait(self.client.prepare(sql)).map_err(db_err)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn batch(&mut self, sql: &str) -> StorageResult<()> {
        wait(self.client.batch_execute(sql)).map_err(db_err)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Vec<Row>> {
        self.try_query(sql, params).map_err(db_err)
    }

    pub(crate) fn try_query(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let st = match self.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = wait(self.client.prepare(sql))?;
                self.statements.insert(sql, s.clone());
                s
            }
        };
        wait(self.client.query(&st, params))
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Option<Row>> {
        let st = self.statement(sql)?;
        wait(self.client.query_opt(&st, params)).map_err(db_err)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Row> {
        let st = self.statement(sql)?;
        wait(self.client.query_one(&st, params)).map_err(db_err)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<u64> {
        self.try_execute(sql, params).map_err(db_err)
    }

    /// `execute`, the client's error kept for the caller to look at.
    pub(crate) fn try_execute(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<u64, tokio_postgres::Error> {
        let st = match self.statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = wait(self.client.prepare(sql))?;
                self.statements.insert(sql, s.clone());
                s
            }
        };
        wait(self.client.execute(&st, params))
    }

    /// Sends every statement of `ops` before waiting for the first answer
    /// (the protocol's pipelining): one round trip for all of them. Their
    /// rows, in order (none for a `Batch`); the first error if any failed
    /// (those after a failure in a transaction fail too).
    pub(crate) fn pipeline(&mut self, ops: &[Op<'_>]) -> StorageResult<Vec<Vec<Row>>> {
        let mut statements = Vec::with_capacity(ops.len());
        for op in ops {
            statements.push(match op {
                Op::Query(sql, _) => Some(self.statement(sql)?),
                Op::Batch(_) => None,
            });
        }
        let client = &self.client;
        let answers = wait(futures_util::future::join_all(
            ops.iter().zip(&statements).map(|(op, st)| async move {
                match (op, st) {
                    (Op::Query(_, params), Some(st)) => client.query(st, params).await,
                    (Op::Batch(sql), _) => client.batch_execute(sql).await.map(|()| Vec::new()),
                    (Op::Query(..), None) => Ok(Vec::new()),
                }
            }),
        ));
        answers.into_iter().map(|a| a.map_err(db_err)).collect()
    }

    /// Calls `f` with each row as it arrives, none kept: for results larger
    /// than memory should hold (extracts, bootstrap).
    pub(crate) fn for_each(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut f: impl FnMut(&Row) -> StorageResult<()>,
    ) -> StorageResult<()> {
        let client = &self.client;
        wait(async move {
            let st = client.prepare(sql).await.map_err(db_err)?;
            let rows = client
                .query_raw(&st, params.iter().copied())
                .await
                .map_err(db_err)?;
            futures_util::pin_mut!(rows);
            while let Some(row) = rows.next().await {
                f(&row.map_err(db_err)?)?;
            }
            Ok(())
        })
    }

    /// Runs `f` in a transaction: committed if it returns `Ok`, rolled back
    /// otherwise (and if the commit fails, nothing of it is kept).
    pub(crate) fn transaction<T>(
        &mut self,
        read_only: bool,
        f: impl FnOnce(&mut PgConn) -> StorageResult<T>,
    ) -> StorageResult<T> {
        self.batch(if read_only {
            // One snapshot for every statement of the read.
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        })?;
        match f(self) {
            Ok(v) => {
                self.batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                // A broken connection rolls back by itself when it closes.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Opens and checks the pool's connections.
#[derive(Debug)]
pub(crate) struct Manager {
    pub options: ConnectOptions,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = StorageError;

    fn connect(&self) -> Result<PgConn, StorageError> {
        PgConn::connect(&self.options)
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), StorageError> {
        conn.batch("")
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.is_closed()
    }
}
