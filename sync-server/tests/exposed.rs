//! A server facing the internet: slow and idle clients, floods of wrong
//! enrollment codes, many large bodies at once. Each test holds the server to
//! a bound a bug would break, and checks real devices are still served.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use gocua_protocol::{BUNDLE_CONTENT_TYPE, HEADER_PROTOCOL, codes};
use gocua_server::admin;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr_of(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// A push's request line and headers, declaring `length` bytes of body.
fn push_head(token: &str, length: usize) -> String {
    format!(
        "POST /v1/push HTTP/1.1\r\nHost: x\r\n{HEADER_PROTOCOL}: 2\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {BUNDLE_CONTENT_TYPE}\r\nContent-Length: {length}\r\n\r\n"
    )
}

/// Reads until the server closes the connection; what it sent.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server did not close the connection in time");
    got
}

#[test]
fn half_sent_headers_and_idle_connections_are_closed_and_devices_still_served() {
    run("half_sent_headers", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| {
            c.max_connections = 8;
            c.header_timeout_seconds = 1;
        })
        .await;
        // Eight slow clients fill every connection the server allows.
        let mut slow = Vec::new();
        for _ in 0..8 {
            let mut t = TcpStream::connect(addr_of(&s)).await.unwrap();
            t.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            slow.push(t);
        }
        // A device arriving now waits for a slot, and is answered once the
        // slow ones run out of time.
        let started = tokio::time::Instant::now();
        let r = client().get(s.url("/v1/info")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "answered in {:?}",
            started.elapsed()
        );
        for mut t in slow {
            // Closed (hyper may answer 408 first), not left open.
            let got = until_closed(&mut t, Duration::from_secs(10)).await;
            let text = String::from_utf8_lossy(&got);
            assert!(got.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
        }
        // A kept-alive connection left idle after its answer is closed too.
        let mut idle = TcpStream::connect(addr_of(&s)).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let got = until_closed(&mut idle, Duration::from_secs(10)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.ends_with("ok"), "{text}");
        s.stop().await;
    });
}

#[test]
fn half_sent_headers_from_many_addresses_give_way_to_a_device() {
    run("cap_eviction", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| {
            c.max_connections = 8;
            c.max_connections_per_address = 4;
            // Long enough that only eviction can free a slot here.
            c.header_timeout_seconds = 60;
        })
        .await;
        // A real client with a kept-alive connection between requests: it
        // has sent a request, so it is never closed for another.
        let mut kept = TcpStream::connect(addr_of(&s)).await.unwrap();
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = kept.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        // Seven attackers on seven addresses, under the per-address limit,
        // take the other slots.
        let mut slow = Vec::new();
        for i in 0..7u8 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket
                .bind(std::net::SocketAddr::from(([127, 0, 1, 1 + i], 0)))
                .unwrap();
            let mut t = socket.connect(addr_of(&s).parse().unwrap()).await.unwrap();
            t.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            slow.push(t);
        }
        // A device is answered long before the header timeout: the oldest
        // half-sent connection is closed for it.
        let started = tokio::time::Instant::now();
        let device = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap();
        let r = device.get(s.url("/v1/info")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "answered in {:?}",
            started.elapsed()
        );
        let got = until_closed(&mut slow[0], Duration::from_secs(10)).await;
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
        // The kept-alive client still has its connection.
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = kept.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        s.stop().await;
    });
}

#[test]
fn one_address_cannot_hold_every_connection() {
    run("per_address", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| {
            c.max_connections = 64;
            c.max_connections_per_address = 4;
            // Long enough that only the limit can close a connection here.
            c.header_timeout_seconds = 60;
        })
        .await;
        let mut slow = Vec::new();
        for _ in 0..4 {
            let mut t = TcpStream::connect(addr_of(&s)).await.unwrap();
            t.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            slow.push(t);
        }
        // The fifth from the same address is closed at once, unanswered.
        let mut fifth = TcpStream::connect(addr_of(&s)).await.unwrap();
        let _ = fifth
            .write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let got = until_closed(&mut fifth, Duration::from_secs(10)).await;
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
        // Another address (all of 127/8 is this machine's) is served at once.
        let other = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap();
        let r = other.get(s.url("/v1/info")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        // Once the slow ones close, the address gets its slots back.
        drop(slow);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = client().get(s.url("/v1/info")).send().await;
            if matches!(&r, Ok(r) if r.status() == 200) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the address never got its slots back: {r:?}"
            );
            tokio::task::yield_now().await;
        }
        s.stop().await;
    });
}

#[test]
fn a_body_that_stops_arriving_is_answered_408() {
    run("body_stops", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| c.body_timeout_seconds = 1).await;
        let storage = admin_storage(&db.database);
        let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
        let c = client();
        let dev = device(&c, &s, storage.as_ref(), &t.volunteer_id).await;
        let mut conn = TcpStream::connect(addr_of(&s)).await.unwrap();
        conn.write_all(push_head(&dev.token, 100_000).as_bytes())
            .await
            .unwrap();
        conn.write_all(&[0u8; 1000]).await.unwrap();
        let got = until_closed(&mut conn, Duration::from_secs(20)).await;
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("stopped arriving"), "{text}");
        // Nothing was stored, and the device still syncs.
        assert_eq!(storage.change_count().unwrap(), 0);
        s.stop().await;
    });
}

#[test]
fn wrong_codes_are_limited_per_address_and_summarised_in_the_audit_log() {
    run("wrong_codes", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| {
            c.enroll_attempts_per_address = 20;
            c.enroll_attempts_per_code = 0;
        })
        .await;
        let storage = admin_storage(&db.database);
        let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
        let c = client();
        let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
        let mut retry_after = None;
        for i in 0..300 {
            let r = enroll(&c, &s, &format!("WRONG-{i:04}")).await;
            if r.status() == 429 {
                retry_after = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
                let (_, body) = error_of(r).await;
                assert_eq!(body.error, codes::RATE_LIMITED);
                assert!(body.message.contains("wait"), "{}", body.message);
                *statuses.entry(429).or_default() += 1;
            } else {
                *statuses.entry(r.status().as_u16()).or_default() += 1;
            }
        }
        // The burst (20) is refused as wrong, the rest as too many; a few may
        // have been let through as the minute's allowance refills.
        let wrong = statuses.get(&401).copied().unwrap_or(0);
        assert!((20..=25).contains(&wrong), "{statuses:?}");
        assert_eq!(wrong + statuses.get(&429).copied().unwrap_or(0), 300);
        let wait = retry_after.expect("429 says when to come back");
        assert!((1..=60).contains(&wait), "{wait}");
        // A real code from the same address waits its turn too ...
        let (code, _) = admin::new_enroll_code(storage.as_ref(), &t.volunteer_id, 1).unwrap();
        assert_eq!(enroll(&c, &s, code.expose()).await.status(), 429);
        s.stop().await;
        // ... and the audit log has a row per wrong code tried, and one for
        // the flood, not one per refused attempt.
        let log = storage.audit_log(10_000).unwrap();
        let refused = log
            .iter()
            .filter(|r| r.entry.action == "enroll_refused")
            .count() as u32;
        assert_eq!(refused, wrong);
        let floods: Vec<_> = log
            .iter()
            .filter(|r| r.entry.action == "enroll_throttled")
            .collect();
        assert_eq!(floods.len(), 1, "{floods:?}");
        assert_eq!(floods[0].entry.subject, "address:127.0.0.1");
        assert!(
            floods[0]
                .entry
                .detail
                .starts_with(&format!("refused={} ", 300 - wrong + 1)),
            "{}",
            floods[0].entry.detail
        );
    });
}

#[test]
fn one_code_tried_too_often_is_limited_whatever_the_address() {
    run("one_code", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start_with(&db.database, |c| {
            c.enroll_attempts_per_code = 3;
            // Behind a proxy: the address is the header's.
            c.client_address_header = "x-forwarded-for".into();
        })
        .await;
        let storage = admin_storage(&db.database);
        let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
        let c = client();
        let (code, _) = admin::new_enroll_code(storage.as_ref(), &t.volunteer_id, 1).unwrap();
        let try_from = |address: &str| {
            c.post(s.url("/v1/enroll"))
                .header(HEADER_PROTOCOL, "2")
                .header("x-forwarded-for", address)
                .json(&gocua_protocol::EnrollRequest {
                    code: code.expose().to_string(),
                    device_name: "máy".into(),
                    request_id: None,
                })
                .send()
        };
        let first = try_from("198.51.100.1").await.unwrap();
        assert_eq!(first.status(), 200);
        for a in ["198.51.100.2", "198.51.100.3"] {
            assert_eq!(try_from(a).await.unwrap().status(), 403, "used");
        }
        assert_eq!(try_from("198.51.100.4").await.unwrap().status(), 429);
        s.stop().await;
        let log = storage.audit_log(1000).unwrap();
        let flood = log
            .iter()
            .find(|r| r.entry.action == "enroll_throttled")
            .unwrap();
        assert!(
            flood.entry.subject.starts_with("code:"),
            "{}",
            flood.entry.subject
        );
        assert!(
            flood.entry.detail.starts_with("refused=1 "),
            "{}",
            flood.entry.detail
        );
    });
}

#[test]
fn bodies_in_flight_are_bounded_and_the_rest_told_to_retry() {
    run("bodies_bounded", || async {
        let db = TestDb::sqlite();
        let budget = 1024 * 1024;
        let s = TestServer::start_with(&db.database, |c| {
            c.max_body_bytes = budget;
            c.body_budget_bytes = budget;
            c.body_timeout_seconds = 2;
        })
        .await;
        let storage = admin_storage(&db.database);
        let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
        let c = client();
        let dev = device(&c, &s, storage.as_ref(), &t.volunteer_id).await;
        // One push declares the whole budget and sends it slowly.
        let mut holder = TcpStream::connect(addr_of(&s)).await.unwrap();
        holder
            .write_all(push_head(&dev.token, budget).as_bytes())
            .await
            .unwrap();
        holder.write_all(&[0u8; 1024]).await.unwrap();
        // A byte now and then: never slow enough for the body timeout.
        let trickle = tokio::spawn(async move {
            loop {
                if holder.write_all(&[0u8]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
        // The holder's reservation is taken once its headers are read.
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Another push finds no room: told to come back, with nothing stored.
        let (id, _doc, change) = new_household(&t.villages[0]);
        let r = push_raw(&c, &s, &dev.token, one(&id, vec![change.clone()])).await;
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key("retry-after"));
        let (_, body) = error_of(r).await;
        assert_eq!(body.error, codes::UNAVAILABLE);
        assert_eq!(storage.change_count().unwrap(), 0);
        // Once the holder is gone, the same push goes through.
        trickle.abort();
        let _ = trickle.await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let r = push_raw(&c, &s, &dev.token, one(&id, vec![change.clone()])).await;
            if r.status() == 200 {
                break;
            }
            assert_eq!(r.status(), 503);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the budget was not given back"
            );
        }
        assert_eq!(storage.change_count().unwrap(), 1);
        s.stop().await;
    });
}

#[test]
fn liveness_and_readiness() {
    run("liveness_and_readiness", || async {
        let db = TestDb::sqlite();
        let s = TestServer::start(&db.database).await;
        let c = client();
        for path in ["/healthz", "/readyz", "/health"] {
            let r = c.get(s.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(r.text().await.unwrap(), "ok");
        }
        // Another server's migration moves the schema on: not ready, alive.
        let conn = rusqlite::Connection::open(&db.database).unwrap();
        let schema: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let r = c.get(s.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        let (_, body) = error_of(r).await;
        assert!(body.message.contains("schema 999"), "{}", body.message);
        assert_eq!(c.get(s.url("/healthz")).send().await.unwrap().status(), 200);
        conn.pragma_update(None, "user_version", schema).unwrap();
        drop(conn);
        assert_eq!(c.get(s.url("/readyz")).send().await.unwrap().status(), 200);
        s.stop().await;
    });
}
