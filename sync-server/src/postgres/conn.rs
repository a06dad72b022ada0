//! A synchronous connection to PostgreSQL, as the storage trait needs one.
//!
//! The storage's methods are synchronous and are called from `spawn_blocking`
//! threads in the server, and also straight from async tests and the admin
//! commands. Each connection owns a small current-thread tokio runtime and
//! its socket: a call drives the connection and waits for its answer on the
//! calling thread itself, as the `postgres` crate does, so a round trip costs
//! no thread hand-over (which measured as most of the server's CPU when a
//! shared runtime thread drove every socket). Called on a multi-thread
//! runtime's worker (async tests, admin commands), the call first tells the
//! runtime that this thread blocks.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{Client, Connection, NoTls, Row, Socket, Statement};

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

/// A parameter a [`Deferred`] statement owns (or borrows for `'a`).
pub(crate) type Owned<'a> = Box<dyn ToSql + Sync + 'a>;

/// Statements whose answers nobody waits for, sent together by
/// [`PgConn::run_deferred`]: a batch of many small writes costs a few round
/// trips instead of one each, which on PostgreSQL (unlike SQLite in the
/// process) is most of their cost.
#[derive(Default)]
pub(crate) struct Deferred<'a> {
    ops: Vec<(&'static str, Vec<Owned<'a>>)>,
}

impl<'a> Deferred<'a> {
    pub(crate) fn push(&mut self, sql: &'static str, params: Vec<Owned<'a>>) {
        self.ops.push((sql, params));
    }
}

/// `vec![Box::new(a) as Owned, ...]` for [`Deferred::push`].
macro_rules! owned {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as $crate::postgres::conn::Owned<'_>),*]
    };
}
pub(crate) use owned;

/// Statements sent at once by [`PgConn::run_deferred`]: the answers the
/// server keeps for them stay small.
const DEFERRED_CHUNK: usize = 1_000;

/// One connection, with the statements it prepared.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    io: Io,
}

/// What drives a connection's socket: its runtime and its protocol task.
struct Io {
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    connection: Pin<Box<Connection<Socket, NoTlsStream>>>,
    /// The connection ended (closed by the server, or broken).
    ended: bool,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Drop for Io {
    fn drop(&mut self) {
        // Dropped anywhere, async code included, where a runtime's ordinary
        // drop (which waits for its blocking threads) is not allowed.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Io {
    /// Runs `f` to completion on this thread, driving the connection
    /// meanwhile. If the connection ends first (the server closed it, or
    /// went away) this is an error: the connection, which still holds the
    /// request queue, would otherwise leave `f` waiting for ever.
    fn wait<F: Future>(&mut self, f: F) -> StorageResult<F::Output> {
        let Io {
            runtime,
            connection,
            ended,
        } = self;
        let Some(runtime) = runtime.as_ref() else {
            return Err(closed());
        };
        if *ended {
            return Err(closed());
        }
        let run = async move {
            let mut f = std::pin::pin!(f);
            std::future::poll_fn(|cx| {
                if let Poll::Ready(v) = f.as_mut().poll(cx) {
                    return Poll::Ready(Ok(v));
                }
                match connection.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(r) => {
                        if let Err(e) = &r {
                            tracing::warn!(error = %e, "PostgreSQL connection closed");
                        }
                        *ended = true;
                        // What the connection read last may have finished `f`.
                        match f.as_mut().poll(cx) {
                            Poll::Ready(v) => Poll::Ready(Ok(v)),
                            Poll::Pending => Poll::Ready(Err(closed())),
                        }
                    }
                }
            })
            .await
        };
        on_this_thread(runtime, run)?
    }
}

fn closed() -> StorageError {
    StorageError::Busy("the database connection closed".into())
}

/// `runtime.block_on(f)` on the calling thread; inside a multi-thread
/// runtime (tests) after telling it this thread blocks. A current-thread
/// runtime cannot lend its only thread: the caller must use
/// `spawn_blocking`, as the server does.
fn on_this_thread<F: Future>(runtime: &tokio::runtime::Runtime, f: F) -> StorageResult<F::Output> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Err(_) => Ok(runtime.block_on(f)),
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| runtime.block_on(f)))
        }
        Ok(_) => Err(StorageError::Backend(
            "the PostgreSQL storage was called on a current-thread async runtime: call it from spawn_blocking".into(),
        )),
    }
}

impl PgConn {
    pub(crate) fn connect(options: &ConnectOptions) -> StorageResult<PgConn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StorageError::Backend(format!("cannot start a database runtime: {e}")))?;
        let config = options.config.clone();
        let connected = on_this_thread(&runtime, async move { config.connect(NoTls).await });
        let (client, connection) = match connected {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                runtime.shutdown_background();
                return Err(db_err(e));
            }
            Err(e) => {
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let mut conn = PgConn {
            client,
            statements: HashMap::new(),
            io: Io {
                runtime: Some(runtime),
                connection: Box::pin(connection),
                ended: false,
            },
        };
        conn.batch(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET TIME ZONE 'UTC'",
            options.statement_timeout.as_millis(),
            options.lock_timeout.as_millis()
        ))?;
        Ok(conn)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.io.ended || self.client.is_closed()
    }

    /// The statement for `sql`, prepared once per connection.
    fn statement(&mut self, sql: &'static str) -> StorageResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.io.wait(self.client.prepare(sql))?.map_err(db_err)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn batch(&mut self, sql: &str) -> StorageResult<()> {
        self.io
            .wait(self.client.batch_execute(sql))?
            .map_err(db_err)
    }

    pub(crate) fn query(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Vec<Row>> {
        let st = self.statement(sql)?;
        self.io
            .wait(self.client.query(&st, params))?
            .map_err(db_err)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Option<Row>> {
        let st = self.statement(sql)?;
        self.io
            .wait(self.client.query_opt(&st, params))?
            .map_err(db_err)
    }

    pub(crate) fn query_one(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<Row> {
        let st = self.statement(sql)?;
        self.io
            .wait(self.client.query_one(&st, params))?
            .map_err(db_err)
    }

    pub(crate) fn execute(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> StorageResult<u64> {
        let st = self.statement(sql)?;
        self.io
            .wait(self.client.execute(&st, params))?
            .map_err(db_err)
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
        let answers = self.io.wait(futures_util::future::join_all(
            ops.iter().zip(&statements).map(|(op, st)| async move {
                match (op, st) {
                    (Op::Query(_, params), Some(st)) => client.query(st, params).await,
                    (Op::Batch(sql), _) => client.batch_execute(sql).await.map(|()| Vec::new()),
                    (Op::Query(..), None) => Ok(Vec::new()),
                }
            }),
        ))?;
        answers.into_iter().map(|a| a.map_err(db_err)).collect()
    }

    /// Sends `d`'s statements, in order, a chunk at a time; the first error
    /// if any failed.
    pub(crate) fn run_deferred(&mut self, d: Deferred<'_>) -> StorageResult<()> {
        for chunk in d.ops.chunks(DEFERRED_CHUNK) {
            let params: Vec<Vec<Param<'_>>> = chunk
                .iter()
                .map(|(_, ps)| ps.iter().map(|p| &**p as Param<'_>).collect())
                .collect();
            let ops: Vec<Op<'_>> = chunk
                .iter()
                .zip(&params)
                .map(|((sql, _), ps)| Op::Query(sql, ps))
                .collect();
            self.pipeline(&ops)?;
        }
        Ok(())
    }

    /// Calls `f` with each row as it arrives, none kept: for results larger
    /// than memory should hold (extracts, bootstrap). `f` runs between
    /// waits, outside the connection's runtime, so it may block on another
    /// runtime (the bootstrap hands chunks to the server's).
    pub(crate) fn for_each(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut f: impl FnMut(&Row) -> StorageResult<()>,
    ) -> StorageResult<()> {
        let st = self.io.wait(self.client.prepare(sql))?.map_err(db_err)?;
        let rows = self
            .io
            .wait(self.client.query_raw(&st, params.iter().copied()))?
            .map_err(db_err)?;
        let mut rows = std::pin::pin!(rows);
        // Stopping early drops the stream: the connection discards the rest
        // of the rows as it reads them, before its next answer.
        while let Some(row) = self.io.wait(rows.next())? {
            f(&row.map_err(db_err)?)?;
        }
        Ok(())
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
