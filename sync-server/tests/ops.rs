//! The operator's side (docs/operations.md, "Metrics", "Logs", "The API
//! description", "Facing the internet"): the `gocua-server` binary's
//! metrics listener counts what the server did, its JSON log has one event
//! per request and no personal data, SIGTERM lets a request in flight
//! finish, and `/v1/openapi.json` describes the router's routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use gocua_protocol::{BUNDLE_CONTENT_TYPE, HEADER_PROTOCOL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A `gocua-server serve` process with its metrics on a port of their own
/// and its log, as JSON, in a file.
struct Server {
    child: Child,
    api: TestServer,
    metrics: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(db: &TestDb) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_gocua-server"))
            .arg("--database")
            .arg(&db.database)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("RUST_LOG")
            .env("GOCUA_METRICS_LISTEN", "127.0.0.1:0")
            .env("GOCUA_LOG_FORMAT", "json")
            .env("GOCUA_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut api = None;
        let mut metrics = None;
        while api.is_none() || metrics.is_none() {
            let line = lines
                .next()
                .expect("the server exited before listening")
                .unwrap();
            if let Some(a) = line.strip_prefix("gocua-server listening on ") {
                api = Some(a.trim().to_string());
            } else if let Some(m) = line.strip_prefix("gocua-server metrics on ") {
                metrics = Some(m.trim().to_string());
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            api: TestServer::at(api.unwrap()),
            metrics: metrics.unwrap(),
            log,
            _dir: dir,
        }
    }

    async fn scrape(&self) -> Scrape {
        let r = client().get(&self.metrics).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
        Scrape::parse(&r.text().await.unwrap())
    }

    /// Scrapes until `done` holds of the metrics (within 60 s).
    async fn scrape_until(&self, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.scrape().await;
            if done(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: never seen in\n{}",
                s.text
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit (within 60 s); its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// Waits until the log has a line containing `text` (within 60 s).
    async fn logged(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !self.log_text().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "never logged {text:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One scrape: every sample by its name and labels.
struct Scrape {
    text: String,
    samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = BTreeMap::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let mut labels: Vec<(String, String)> = labels
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once('=').unwrap();
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            labels.sort();
            samples.insert((name.to_string(), labels), value.parse().unwrap());
        }
        Scrape {
            text: text.to_string(),
            samples,
        }
    }

    /// The sample `name{labels}`, 0 when the series does not exist yet.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.samples
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    fn requests(&self, route: &str, method: &str, status: &str) -> f64 {
        self.get(
            "gocua_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    }

    /// Every value the label `label` takes in any series.
    fn label_values(&self, label: &str) -> Vec<String> {
        self.samples
            .keys()
            .flat_map(|(_, ls)| {
                ls.iter()
                    .filter(|(k, _)| k == label)
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }
}

async fn metrics_count_what_the_server_did(db: TestDb) {
    let mut server = Server::start(&db);
    let s = &server.api;
    let storage = admin_storage(&db.database);
    let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
    let c = client();
    let before = server.scrape().await;
    assert_eq!(before.get("gocua_database_up", &[]), 1.0, "{}", before.text);
    assert_eq!(before.requests("/v1/push", "POST", "200"), 0.0);

    // An enrollment, a wrong code, a push, a pull and refused requests.
    let (code, _) =
        gocua_server::admin::new_enroll_code(storage.as_ref(), &t.volunteer_id, 1).unwrap();
    let enrolled = enroll(&c, s, code.expose()).await;
    assert_eq!(enrolled.status(), 200);
    let dev: gocua_protocol::EnrollResponse = enrolled.json().await.unwrap();
    assert_eq!(enroll(&c, s, "WRONG-CODE").await.status(), 401);
    let (doc_id, _, genesis) = new_household(&t.villages[0]);
    let body = one(&doc_id, vec![genesis]);
    let pushed = push(&c, s, &dev.token, body.clone()).await;
    assert_eq!(pushed.stored, 1);
    let page = c
        .get(s.url("/v1/pull?cursor=0&mine_after=0"))
        .header(HEADER_PROTOCOL, "2")
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.bytes().await.unwrap();
    assert_eq!(
        gocua_protocol::bundle::decode(&page).unwrap()[0]
            .changes
            .len(),
        1
    );
    let no_token = c
        .post(s.url("/v1/push"))
        .header(HEADER_PROTOCOL, "2")
        .header("content-type", BUNDLE_CONTENT_TYPE)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let old_app = c
        .get(s.url("/v1/pull"))
        .header(HEADER_PROTOCOL, "1")
        .bearer_auth(&dev.token)
        .send()
        .await
        .unwrap();
    assert_eq!(old_app.status(), 426);
    let refusal_bytes = old_app.bytes().await.unwrap().len();
    let lost = c.get(s.url("/v1/no/such/place")).send().await.unwrap();
    assert_eq!(lost.status(), 404);
    // The public port has no metrics, and the metrics port no API.
    let public = c.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let metrics_base = server.metrics.trim_end_matches("/metrics").to_string();
    let api_on_metrics = c
        .get(format!("{metrics_base}/v1/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(api_on_metrics.status(), 404);

    // The materializer folds the change in: no lag left.
    let m = server
        .scrape_until("the materializer caught up", |m| {
            m.get("gocua_materialized_seq", &[]) == 1.0
        })
        .await;
    let text = &m.text;
    assert_eq!(m.get("gocua_change_log_seq", &[]), 1.0, "{text}");
    assert_eq!(m.get("gocua_materializer_lag_changes", &[]), 0.0, "{text}");
    assert_eq!(m.requests("/v1/enroll", "POST", "200"), 1.0, "{text}");
    assert_eq!(m.requests("/v1/enroll", "POST", "401"), 1.0, "{text}");
    assert_eq!(m.requests("/v1/push", "POST", "200"), 1.0, "{text}");
    assert_eq!(m.requests("/v1/push", "POST", "401"), 1.0, "{text}");
    assert_eq!(m.requests("/v1/pull", "GET", "200"), 1.0, "{text}");
    assert_eq!(m.requests("/v1/pull", "GET", "426"), 1.0, "{text}");
    // The two 404s are one unmatched route: no raw path is ever a label.
    assert_eq!(m.requests("unmatched", "GET", "404"), 2.0, "{text}");
    for route in m.label_values("route") {
        assert!(
            route == "unmatched"
                || gocua_server::api::route_table()
                    .iter()
                    .any(|(p, _)| *p == route),
            "a route label that is no route: {route}"
        );
    }
    let enrollments = |result| m.get("gocua_enrollments_total", &[("result", result)]);
    assert_eq!(enrollments("enrolled"), 1.0, "{text}");
    assert_eq!(enrollments("unknown"), 1.0, "{text}");
    let refusals = |code| m.get("gocua_refusals_total", &[("code", code)]);
    assert_eq!(refusals("enrollment_code_invalid"), 1.0, "{text}");
    assert_eq!(refusals("unauthorized"), 1.0, "{text}");
    assert_eq!(refusals("protocol_mismatch"), 1.0, "{text}");
    assert_eq!(refusals("not_found"), 2.0, "{text}");
    assert_eq!(m.get("gocua_push_batches_total", &[]), 1.0, "{text}");
    assert_eq!(
        m.get("gocua_push_changes_total", &[("result", "stored")]),
        1.0,
        "{text}"
    );
    assert_eq!(m.get("gocua_pull_batches_total", &[]), 1.0, "{text}");
    assert_eq!(m.get("gocua_pull_changes_total", &[]), 1.0, "{text}");
    // Bytes as they crossed the wire, both ways (neither was compressed:
    // each is under the protocol's threshold). The push without a token
    // was refused before its body was read: none of it counts.
    let push_route = [("route", "/v1/push")];
    let pull_route = [("route", "/v1/pull")];
    assert_eq!(
        m.get("gocua_http_request_bytes_total", &push_route),
        body.len() as f64,
        "{text}"
    );
    assert_eq!(
        m.get("gocua_http_response_bytes_total", &pull_route),
        (page.len() + refusal_bytes) as f64,
        "{text}"
    );
    let timed = m.get("gocua_http_request_duration_seconds_count", &push_route);
    assert_eq!(timed, 2.0, "{text}");
    assert!(m.get("gocua_http_request_duration_seconds_sum", &push_route) > 0.0);
    assert_eq!(
        m.get(
            "gocua_http_request_duration_seconds_bucket",
            &[("route", "/v1/push"), ("le", "+Inf")]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(m.get("gocua_http_requests_in_flight", &[]), 0.0, "{text}");
    assert_eq!(
        m.get(
            "gocua_build_info",
            &[("version", gocua_server::api::SERVER_VERSION)]
        ),
        1.0,
        "{text}"
    );
    // The database's connections: all of them known, none lent out now.
    let pools: &[(&str, f64)] = if db.is_postgres() {
        &[("postgres", 16.0)]
    } else {
        &[("sqlite_writer", 1.0), ("sqlite_reader", 4.0)]
    };
    for (pool, max) in pools {
        let max_of = m.get("gocua_db_connections_max", &[("pool", pool)]);
        assert_eq!(max_of, *max, "{pool}: {text}");
        let idle = m.get("gocua_db_connections", &[("pool", pool), ("state", "idle")]);
        let in_use = m.get(
            "gocua_db_connections",
            &[("pool", pool), ("state", "in_use")],
        );
        assert!(idle >= 1.0 && idle + in_use <= *max, "{pool}: {text}");
    }

    server.terminate();
    assert_eq!(server.exit_code(), Some(0), "{}", server.log_text());

    // The log: JSON lines, one event per API request with its route and
    // who made it, and none of the secrets or personal data that passed.
    let log = server.log_text();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["target"] == "gocua_server::request")
        .collect();
    assert_eq!(requests.len(), 8, "{log}");
    let event = |route: &str, status: u64| one_event(&requests, route, status, &log);
    let enrolled = event("/v1/enroll", 200);
    assert_eq!(enrolled["device"], dev.device_id.as_str());
    assert_eq!(enrolled["method"], "POST");
    let pushed = event("/v1/push", 200);
    assert_eq!(pushed["device"], dev.device_id.as_str());
    assert_eq!(pushed["bytes_in"], body.len() as u64);
    assert!(pushed["latency_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(event("/v1/pull", 200)["bytes_out"], page.len() as u64);
    let refused = event("/v1/push", 401);
    assert_eq!(refused["error"], "unauthorized");
    assert!(refused.get("device").is_none(), "{refused}");
    assert_eq!(event("/v1/enroll", 401)["error"], "enrollment_code_invalid");
    for secret in [
        dev.token.as_str(),
        code.expose(),
        "WRONG-CODE",
        "Nguyễn Thị Lan",
        "0912345678",
        "Điện thoại của Lan",
        "Thôn A",
        "/v1/no/such/place",
    ] {
        assert!(!log.contains(secret), "{secret:?} in the log:\n{log}");
    }
}

/// The one request event of `route` answered `status`.
fn one_event<'a>(
    requests: &[&'a serde_json::Value],
    route: &str,
    status: u64,
    log: &str,
) -> &'a serde_json::Value {
    let found: Vec<&serde_json::Value> = requests
        .iter()
        .copied()
        .filter(|e| e["route"] == route && e["status"] == status)
        .collect();
    assert_eq!(found.len(), 1, "{route} {status}: {log}");
    found[0]
}

/// A push's request line and headers, declaring `length` bytes of body.
fn push_head(addr: &str, token: &str, length: usize) -> String {
    format!(
        "POST /v1/push HTTP/1.1\r\nHost: {addr}\r\n{HEADER_PROTOCOL}: 2\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {BUNDLE_CONTENT_TYPE}\r\nContent-Length: {length}\r\n\r\n"
    )
}

async fn sigterm_lets_a_push_in_flight_finish(db: TestDb) {
    let mut server = Server::start(&db);
    let storage = admin_storage(&db.database);
    let t = team(storage.as_ref(), "Tổ 1", &["Thôn A"]);
    let c = client();
    let dev = device(&c, &server.api, storage.as_ref(), &t.volunteer_id).await;
    let (doc_id, _, genesis) = new_household(&t.villages[0]);
    let body = one(&doc_id, vec![genesis]);
    let addr = server.api.base.trim_start_matches("http://").to_string();
    // Half a push, then SIGTERM while the server waits for the rest.
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    conn.write_all(push_head(&addr, &dev.token, body.len()).as_bytes())
        .await
        .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    conn.write_all(first).await.unwrap();
    server
        .scrape_until("the push in flight", |m| {
            m.get("gocua_http_requests_in_flight", &[]) == 1.0
        })
        .await;
    server.terminate();
    server.logged("shutting down").await;
    // No new connection is taken once the shutdown began ...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ... but the push in flight is received, stored and answered.
    conn.write_all(rest).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), conn.read_to_end(&mut answer))
        .await
        .expect("no answer to the push in flight")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = answer.split("\r\n\r\n").nth(1).unwrap();
    let pushed: gocua_protocol::PushResponse = serde_json::from_str(json).unwrap();
    assert_eq!(pushed.stored, 1, "{answer}");
    assert_eq!(server.exit_code(), Some(0), "{}", server.log_text());
    assert_eq!(storage.change_count().unwrap(), 1);
}

async fn the_served_description_is_the_routers(db: TestDb) {
    let s = TestServer::start(&db).await;
    let c = client();
    let r = c.get(s.url("/v1/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let described = gocua_server::openapi::described(&doc);
    assert_eq!(described, gocua_server::openapi::routed());
    // The running router agrees: each path answers the methods described
    // (a 405's Allow lists them) and no other.
    let mut methods: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, method) in &described {
        methods
            .entry(path.clone())
            .or_default()
            .push(method.to_uppercase());
    }
    for (path, described) in methods {
        let r = c
            .patch(s.url(&path))
            .header(HEADER_PROTOCOL, "2")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "PATCH {path}");
        let allow = r.headers()["allow"].to_str().unwrap().to_string();
        let mut allowed: Vec<String> = allow
            .split(',')
            .map(|m| m.trim().to_string())
            .filter(|m| m != "HEAD")
            .collect();
        allowed.sort();
        let mut want = described.clone();
        want.sort();
        assert_eq!(allowed, want, "{path}: Allow: {allow}");
    }
    s.stop().await;
}

common::on_both!(
    metrics_count_what_the_server_did,
    sigterm_lets_a_push_in_flight_finish,
    the_served_description_is_the_routers,
);
