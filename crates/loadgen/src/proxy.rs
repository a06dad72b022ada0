//! A counting TCP proxy on loopback: every byte of every connection between
//! the load generator (or a real client) and the server passes through it and
//! is counted, headers and all. TCP/IP framing (SYN/ACK, segment headers) is
//! not application payload and is not counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes sent by clients (`up`) and by the server (`down`), and connections.
#[derive(Debug, Default)]
pub struct Counters {
    up: AtomicU64,
    down: AtomicU64,
    connections: AtomicU64,
}

/// A reading of the counters; subtract two to get what happened between them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Traffic {
    pub up: u64,
    pub down: u64,
    pub connections: u64,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.up + self.down
    }

    pub fn since(&self, earlier: Traffic) -> Traffic {
        Traffic {
            up: self.up.saturating_sub(earlier.up),
            down: self.down.saturating_sub(earlier.down),
            connections: self.connections.saturating_sub(earlier.connections),
        }
    }
}

impl Counters {
    pub fn read(&self) -> Traffic {
        Traffic {
            up: self.up.load(Ordering::Relaxed),
            down: self.down.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
        }
    }
}

/// The proxy: listens on 127.0.0.1, forwards to `target`. Stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        Proxy::balancing(vec![target]).await
    }

    /// Forwards connection n to `targets[n % len]`: a TCP load balancer in
    /// front of several replicas, counting as `start` does.
    pub async fn balancing(targets: Vec<SocketAddr>) -> std::io::Result<Proxy> {
        if targets.is_empty() {
            return Err(std::io::Error::other("a proxy needs a target"));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let n = c.connections.fetch_add(1, Ordering::Relaxed);
                let target = targets[(n as usize) % targets.len()];
                let c = c.clone();
                conns.spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let c2 = c.clone();
                    tokio::join!(
                        pipe(cr, sw, move |n| {
                            c.up.fetch_add(n, Ordering::Relaxed);
                        }),
                        pipe(sr, cw, move |n| {
                            c2.down.fetch_add(n, Ordering::Relaxed);
                        })
                    );
                });
                // Reap finished connections so the set does not grow.
                while conns.try_join_next().is_some() {}
            }
        });
        Ok(Proxy {
            addr,
            counters,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn traffic(&self) -> Traffic {
        self.counters.read()
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: impl Fn(u64)) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                count(n as u64);
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
