//! A bound on the bytes of request bodies held at once. 150 concurrent 8 MB
//! pushes took the server to 1.29 GB: each body is read whole before it is
//! parsed, so memory followed the number of concurrent pushes. Every request
//! body now draws its bytes, after decompression, from one budget, and keeps
//! them until its answer is made.
//!
//! A request first waits (a bounded time) for a reservation of its declared
//! length, holding nothing while it waits; past the reservation it takes more
//! only if the budget has it at once, and otherwise is answered 503 to retry.
//! So no request waits while holding bytes another one waits for: the budget
//! cannot deadlock, it only makes some pushes come back later.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// Reserved for a body that does not say its length (or is compressed, when
/// the length said is not the length read), and the step it grows by.
const STEP: usize = 64 * 1024;

/// A body larger than this is read into pages mapped for it alone.
/// glibc serves a large allocation from its own mapping only until one is
/// freed; then it raises its threshold and serves the next ones from its
/// heaps, which it keeps: after 150 pushes of 8 MiB the server held 209 MiB
/// for good. (mimalloc, tried instead, kept 246 MiB: it gives pages back
/// only when the threads that freed them allocate again, and an idle
/// server does not.) Below 128 KiB, glibc's first threshold, so a small
/// body's buffer never moves it. (The server binary now runs on jemalloc,
/// which gives freed pages back on a timer; pages of a body's own go back
/// at once, and a flood's bytes never sit in a heap.)
const OWN_PAGES_FROM: usize = 64 * 1024;

/// Reads a body whole, up to `limit` bytes (past it, an error caused by
/// `http_body_util::LengthLimitError`, as `axum::body::to_bytes` gives).
/// A large body's bytes are handed back to the system when the last
/// `Bytes` of it is dropped.
pub async fn collect(body: Body, limit: usize) -> Result<Bytes, axum::Error> {
    let mut body = http_body_util::Limited::new(body, limit);
    let mut small: Vec<u8> = Vec::new();
    let mut large: Option<Mapped> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(axum::Error::new)?.into_data() else {
            continue;
        };
        match &mut large {
            Some(m) => m.append(&data)?,
            None if small.len() + data.len() <= OWN_PAGES_FROM => small.extend_from_slice(&data),
            None => {
                // `Limited` has refused whatever would pass `limit`, so the
                // mapping (address space; pages are taken as written) holds it.
                let mut m = Mapped::new(limit)?;
                m.append(&small)?;
                m.append(&data)?;
                small = Vec::new();
                large = Some(m);
            }
        }
    }
    Ok(match large {
        Some(m) => Bytes::from_owner(m),
        None => Bytes::from(small),
    })
}

/// Bytes in an anonymous mapping of their own.
struct Mapped {
    map: memmap2::MmapMut,
    len: usize,
}

impl Mapped {
    fn new(capacity: usize) -> Result<Mapped, axum::Error> {
        let map = memmap2::MmapMut::map_anon(capacity.max(1)).map_err(axum::Error::new)?;
        Ok(Mapped { map, len: 0 })
    }

    fn append(&mut self, data: &[u8]) -> Result<(), axum::Error> {
        let end = self.len + data.len();
        // Not reached: `Limited` stops a body at the mapping's size.
        let Some(room) = self.map.get_mut(self.len..end) else {
            return Err(axum::Error::new(std::io::Error::other(
                "the body outgrew the room read for it",
            )));
        };
        room.copy_from_slice(data);
        self.len = end;
        Ok(())
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

#[derive(Debug)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
    max_body: usize,
    wait: Duration,
}

/// The body was bigger than its reservation and the budget had no more: the
/// server is busy with other bodies.
#[derive(Debug, thiserror::Error)]
#[error("the server is receiving too much at once")]
pub struct OverBudget;

impl BodyBudget {
    /// `total` bytes shared by all bodies, none larger than `max_body`; a
    /// request waits up to `wait` for its first reservation.
    pub fn new(total: usize, max_body: usize, wait: Duration) -> BodyBudget {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            max_body: max_body.min(total),
            wait,
        }
    }

    /// Bytes of bodies held now.
    pub fn in_use(&self) -> usize {
        self.total - self.bytes.available_permits()
    }

    pub fn total(&self) -> usize {
        self.total
    }
}

fn permits(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn busy() -> Response {
    ApiError::busy("the server is receiving too much at once: try again in a few seconds")
        .into_response()
}

/// Middleware, inside the decompression layer: it counts the bytes the
/// handler reads, not the bytes sent.
pub async fn limit(State(budget): State<Arc<BodyBudget>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // After decompression the length header is gone; a plain body says it.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let first = declared.unwrap_or(STEP).clamp(1, budget.max_body);
    let reserved = match tokio::time::timeout(
        budget.wait,
        budget.bytes.clone().acquire_many_owned(permits(first)),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => return busy(),
    };
    let held = Arc::new(Mutex::new(Held {
        permit: reserved,
        reserved: first,
        read: 0,
    }));
    let (parts, body) = req.into_parts();
    let body = Body::new(Counted {
        inner: body,
        held: held.clone(),
        budget: budget.bytes.clone(),
    });
    let resp = next.run(Request::from_parts(parts, body)).await;
    // The bytes go back once the answer is made (the handler has dropped the
    // body and what it parsed from it).
    drop(held);
    resp
}

#[derive(Debug)]
struct Held {
    permit: OwnedSemaphorePermit,
    reserved: usize,
    read: usize,
}

struct Counted {
    inner: Body,
    held: Arc<Mutex<Held>>,
    budget: Arc<Semaphore>,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            let Ok(mut held) = self.held.lock() else {
                return Poll::Ready(Some(Err(axum::Error::new(OverBudget))));
            };
            held.read += data.len();
            if held.read > held.reserved {
                let more = (held.read - held.reserved).max(STEP);
                match self.budget.clone().try_acquire_many_owned(permits(more)) {
                    Ok(p) => {
                        held.permit.merge(p);
                        held.reserved += more;
                    }
                    Err(_) => return Poll::Ready(Some(Err(axum::Error::new(OverBudget)))),
                }
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn read(body: Result<Bytes, axum::extract::rejection::BytesRejection>) -> Response {
        match body {
            Ok(b) => (StatusCode::OK, b.len().to_string()).into_response(),
            Err(e) if crate::error::caused_by(&e, |e| e.is::<OverBudget>()) => busy(),
            Err(e) => (StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        }
    }

    fn app(budget: Arc<BodyBudget>) -> Router {
        Router::new()
            .route("/", post(read))
            .layer(axum::middleware::from_fn_with_state(budget, limit))
    }

    fn ten_bytes() -> Request {
        Request::post("/")
            .header(header::CONTENT_LENGTH, "10")
            .body(Body::from(vec![1u8; 10]))
            .unwrap()
    }

    fn chunked(chunks: usize, size: usize) -> Body {
        let stream = futures_util::stream::iter(
            (0..chunks).map(move |_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; size]))),
        );
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn bodies_within_the_budget_pass_and_give_it_back() {
        let budget = Arc::new(BodyBudget::new(1 << 20, 1 << 20, Duration::from_millis(50)));
        let resp = app(budget.clone())
            .oneshot(Request::post("/").body(chunked(8, 100_000)).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let text = axum::body::to_bytes(resp.into_body(), 100).await.unwrap();
        assert_eq!(&text[..], b"800000");
        assert_eq!(budget.in_use(), 0, "the bytes went back");
    }

    #[tokio::test]
    async fn a_body_past_the_budget_is_told_to_come_back() {
        let budget = Arc::new(BodyBudget::new(300_000, 1 << 20, Duration::from_millis(50)));
        // Someone else holds most of it.
        let other = budget
            .bytes
            .clone()
            .acquire_many_owned(200_000)
            .await
            .unwrap();
        let resp = app(budget.clone())
            .oneshot(Request::post("/").body(chunked(4, 100_000)).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(budget.in_use(), 200_000, "the refused body holds nothing");
        drop(other);
        assert_eq!(budget.in_use(), 0);
    }

    #[tokio::test]
    async fn a_declared_length_waits_for_room_then_gives_up() {
        let budget = Arc::new(BodyBudget::new(100_000, 100_000, Duration::from_millis(50)));
        let all = budget
            .bytes
            .clone()
            .acquire_many_owned(100_000)
            .await
            .unwrap();
        let resp = app(budget.clone()).oneshot(ten_bytes()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(all);
        let resp = app(budget.clone()).oneshot(ten_bytes()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    }

    /// Chunks of distinct bytes, so a chunk lost, doubled or reordered shows.
    fn numbered(chunks: usize, size: usize) -> (Body, Vec<u8>) {
        let parts: Vec<Vec<u8>> = (0..chunks)
            .map(|c| (0..size).map(|i| (c * 31 + i) as u8).collect())
            .collect();
        let whole = parts.concat();
        let stream = futures_util::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from(p))),
        );
        (Body::from_stream(stream), whole)
    }

    #[tokio::test]
    async fn collect_reads_small_and_large_bodies_whole() {
        // Below the threshold, at it, and past it (into a mapping of its own,
        // the bytes read so far moved across).
        for (chunks, size) in [
            (0, 0),
            (1, 10),
            (4, OWN_PAGES_FROM / 4),
            (3, 50_000),
            (40, 33_333),
        ] {
            let (body, whole) = numbered(chunks, size);
            let got = collect(body, 2 << 20).await.unwrap();
            assert_eq!(got.len(), whole.len(), "{chunks} x {size}");
            assert!(got == whole, "{chunks} x {size}: bytes differ");
        }
    }

    #[tokio::test]
    async fn collect_stops_at_the_limit() {
        for (chunks, size, limit) in [(3, 10_000, 29_999), (10, 100_000, 999_999)] {
            let (body, _) = numbered(chunks, size);
            let e = collect(body, limit).await.unwrap_err();
            assert!(
                crate::error::caused_by(&e, |e| e.is::<http_body_util::LengthLimitError>()),
                "{e}"
            );
        }
        // Exactly the limit is allowed.
        let (body, whole) = numbered(10, 100_000);
        assert_eq!(collect(body, 1_000_000).await.unwrap(), whole);
    }
}
