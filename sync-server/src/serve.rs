//! The accept loop. `axum::serve` sets no header or idle timeout and no cap on
//! connections: 20,000 clients holding half-sent headers used up the server's
//! file descriptors and it stopped answering devices until they closed. Here
//! every connection has a deadline for its request headers (which hyper also
//! applies to the wait for the next request on a kept-alive connection, so it
//! is the idle timeout too), and the open connections are capped below the
//! open-file limit: past the cap new connections wait in the kernel's backlog
//! while the slow ones run out of time.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// File descriptors kept for the database, logs and extracts beside the
/// connections.
const RESERVED_FILES: u64 = 256;

#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub max_connections: usize,
    /// Open at once from one address (`crate::throttle`'s buckets); 0: no
    /// limit.
    pub per_address: usize,
    /// For a request's headers, and for the next request on an idle
    /// kept-alive connection.
    pub header_timeout: Duration,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// Connections open now, for the metrics and the tests.
#[derive(Debug, Default)]
pub struct ConnCount(AtomicUsize);

impl ConnCount {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Connections open now per client address. Past the cap every slot is
/// shared; without this one address holding slow connections takes them all
/// and devices wait in the backlog behind it.
#[derive(Debug, Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

impl PerAddress {
    /// Counts a connection from `peer` in, unless its address has `limit`.
    fn enter(self: &Arc<Self>, peer: std::net::IpAddr, limit: usize) -> Option<AddressSlot> {
        let key = crate::throttle::bucket(peer);
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        if limit > 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            key,
        })
    }
}

/// One connection counted against its address until dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: std::net::IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .table
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Connections that have not yet sent a whole request's headers, oldest
/// first: when every connection the server allows is taken, the oldest of
/// these is closed for a new one. Spread over many addresses, half-sent
/// headers filled the cap and a device waited out the whole header timeout
/// (19.5 s, docs/benchmarks.md); a client that has sent a request is never
/// closed for another.
#[derive(Debug, Default)]
struct Unstarted {
    next: AtomicU64,
    waiting: std::sync::Mutex<std::collections::BTreeMap<u64, (Instant, CancellationToken)>>,
}

/// A connection younger than this is not closed for another: a phone on a
/// slow network may take that long to send its headers.
const EVICTABLE_AFTER: Duration = Duration::from_secs(2);

impl Unstarted {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<u64, (Instant, CancellationToken)>>
    {
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn enter(&self) -> (u64, CancellationToken) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let token = CancellationToken::new();
        self.lock().insert(id, (Instant::now(), token.clone()));
        (id, token)
    }

    fn started(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the oldest connection old enough to close; if none is, how
    /// long until the oldest will be.
    fn evict_oldest(&self) -> Result<(), Option<Duration>> {
        let mut waiting = self.lock();
        let Some(entry) = waiting.first_entry() else {
            return Err(None);
        };
        let age = entry.get().0.elapsed();
        if age < EVICTABLE_AFTER {
            return Err(Some(EVICTABLE_AFTER - age));
        }
        let (_, token) = entry.remove();
        token.cancel();
        Ok(())
    }
}

/// The cap actually used: the configured one, lowered to what the open-file
/// limit allows once raised as far as the system lets a process.
pub fn connection_cap(configured: usize) -> usize {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit");
            return configured;
        }
    };
    let allowed = files.saturating_sub(RESERVED_FILES).max(16);
    let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
    if allowed < configured {
        tracing::warn!(
            configured,
            allowed,
            open_files = files,
            "max_connections lowered to fit the open-file limit (raise it with `ulimit -n` or LimitNOFILE=)"
        );
    }
    configured.min(allowed)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests
/// in flight finish for up to `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    open: Arc<ConnCount>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = connection_cap(limits.max_connections);
    let permits = Arc::new(Semaphore::new(cap));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper's read buffer grows to about 400 KiB on a large body; per
        // connection, past glibc's 128 KiB threshold, those buffers are what
        // a flood of large pushes left in the server's heap.
        .max_buf_size(64 * 1024)
        .keep_alive(true);
    tokio::pin!(shutdown);
    let per_address = Arc::new(PerAddress::default());
    // Said at most once a minute: a flood reaches the cap again and again.
    let mut warned: Option<tokio::time::Instant> = None;
    let mut warned_address: Option<tokio::time::Instant> = None;
    let unstarted = Arc::new(Unstarted::default());
    loop {
        // Accepted before a slot is found (one file beyond the cap, inside
        // RESERVED_FILES): only a connection that is really waiting closes
        // an older one.
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, most likely: waiting lets
                    // connections close instead of spinning on the error.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = per_address.enter(peer.ip(), limits.per_address) else {
            // Closed at once: its slot goes to another address.
            if warned_address.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                warned_address = Some(tokio::time::Instant::now());
                tracing::warn!(
                    max_connections_per_address = limits.per_address,
                    "an address reached its connection limit: its new connections are closed"
                );
            }
            drop(stream);
            continue;
        };
        let permit = loop {
            if let Ok(p) = permits.clone().try_acquire_owned() {
                break Some(p);
            }
            if warned.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                warned = Some(tokio::time::Instant::now());
                tracing::warn!(
                    max_connections = cap,
                    "connection cap reached: the oldest connections still sending headers are closed for new ones"
                );
            }
            let until_evictable = match unstarted.evict_oldest() {
                // Its slot comes back as its task ends.
                Ok(()) => None,
                Err(wait) => wait,
            };
            tokio::select! {
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => break Some(p),
                    Err(_) => break None,
                },
                () = tokio::time::sleep(until_evictable.unwrap_or(Duration::MAX)),
                    if until_evictable.is_some() => {}
                () = &mut shutdown => break None,
            }
        };
        let Some(permit) = permit else { break };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let (id, evicted) = unstarted.enter();
        let started = unstarted.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            started.started(id);
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let open = open.clone();
        open.0.fetch_add(1, Ordering::Relaxed);
        let unstarted = unstarted.clone();
        tokio::spawn(async move {
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        // Timeouts and clients going away: nothing the operator can act on.
                        tracing::debug!(%peer, error = %e, "connection ended");
                    }
                }
                // Dropping the connection closes it.
                () = evicted.cancelled() => {
                    tracing::debug!(%peer, "closed for a newer connection: its headers never came");
                }
            }
            unstarted.started(id);
            open.0.fetch_sub(1, Ordering::Relaxed);
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(
                open = open.get(),
                "shutdown: connections still open after the grace period are cut"
            );
        }
    }
    Ok(())
}

/// Errors of one connection that went away before it was accepted.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// The client's address for limits and the audit log: the peer, or behind a
/// proxy the last address the proxy wrote into `header` (the ones before it
/// are the client's own claims).
pub fn client_address(
    header: Option<&str>,
    headers: &axum::http::HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<std::net::IpAddr> {
    if let Some(name) = header.filter(|h| !h.is_empty()) {
        let from_proxy = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            // Not an earlier entry when the last is unreadable: those are
            // the client's.
            .and_then(|a| parse_address(a.trim()));
        if from_proxy.is_some() {
            return from_proxy;
        }
    }
    peer.map(|p| p.ip())
}

fn parse_address(text: &str) -> Option<std::net::IpAddr> {
    text.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn the_address_is_the_one_the_proxy_wrote() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let got = client_address(Some("x-forwarded-for"), &h, Some(peer));
        assert_eq!(got, Some("203.0.113.7".parse().unwrap()));
        // Without the setting the header is the client's claim: ignored.
        assert_eq!(client_address(None, &h, Some(peer)), Some(peer.ip()));
        // A header with nothing readable falls back to the peer.
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, junk"));
        assert_eq!(
            client_address(Some("x-forwarded-for"), &h, Some(peer)),
            Some(peer.ip())
        );
        h.insert("x-real-ip", HeaderValue::from_static("[2001:db8::1]:443"));
        assert_eq!(
            client_address(Some("x-real-ip"), &h, Some(peer)),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
