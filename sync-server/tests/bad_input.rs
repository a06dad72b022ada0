//! A corpus of bad requests for every endpoint (issue 11): wrong and
//! missing tokens, revoked devices, malformed and oversized bodies, gzip
//! bombs, another village's documents, cursor and limit abuse, invalid JSON
//! and Unicode, wrong methods and paths. Each case is one line of a table;
//! after each the answer must be the documented status and error code
//! (docs/protocol.md), nothing may have been stored, and a good device must
//! still push and pull.
//!
//! Not repeated here: damaged and arbitrary change bytes pushed by the
//! thousand (`push_bytes.rs`, `integrity.rs`), the bundle reader over
//! arbitrary bytes (`crates/protocol/tests/bundle_bytes.rs`), slow bodies,
//! the body budget and enrollment rate limits (`exposed.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;

use automerge::Automerge;
use common::*;
use gocua_protocol::bundle::{self, DocChanges, MAGIC};
use gocua_protocol::{
    BUNDLE_CONTENT_TYPE, EnrollResponse, ErrorBody, HEADER_CURSOR, HEADER_MORE, HEADER_PROTOCOL,
    PushResponse, codes, paths, reasons,
};
use gocua_server::admin;
use gocua_server::storage::Role;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

/// Small, so that oversized bodies and bombs cost little: the limit is
/// applied by the same code whatever its value.
const MAX_BODY: usize = 256 * 1024;
/// `MAX_ENROLL_BODY` in api.rs.
const MAX_ENROLL_BODY: usize = 16 * 1024;

/// Whose token a request carries.
#[derive(Debug, Clone, Copy)]
enum Who {
    Nobody,
    /// This `Authorization` header, as bytes.
    Raw(&'static [u8]),
    /// A device of team A, the one kept serving.
    Good,
    /// Another device of team A.
    Peer,
    Revoked,
    /// Revoked and told to wipe its data.
    Wiped,
    /// A province officer of the commune's province.
    Officer,
    /// A province officer of another province.
    FarOfficer,
    Operator,
}

#[derive(Debug)]
enum Want {
    /// This status, and `{ error, reason }`.
    Error(u16, &'static str, Option<&'static str>),
    /// A push answered 200 with every document refused with this code.
    Refused(&'static str),
    /// A pull page of `changes` changes (`None`: all the reader can see),
    /// `more`, and the cursor it gives (`None`: the last one included).
    Page {
        changes: Option<usize>,
        more: bool,
        cursor: Option<u64>,
    },
    /// 200 and a bundle that reads.
    Bundle,
}

struct Case {
    name: String,
    method: Method,
    path: String,
    who: Who,
    /// `gocua-protocol`; `None` leaves it out.
    protocol: Option<&'static str>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    want: Want,
}

fn case(name: &str, method: Method, path: impl Into<String>) -> Case {
    Case {
        name: name.to_string(),
        method,
        path: path.into(),
        who: Who::Nobody,
        protocol: Some("2"),
        headers: Vec::new(),
        body: Vec::new(),
        want: Want::Bundle,
    }
}

impl Case {
    fn who(mut self, who: Who) -> Case {
        self.who = who;
        self
    }
    fn protocol(mut self, v: Option<&'static str>) -> Case {
        self.protocol = v;
        self
    }
    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Case {
        self.headers.push((name, value.into()));
        self
    }
    fn body(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = body.into();
        self
    }
    fn bundle(self, body: Vec<u8>) -> Case {
        self.header("content-type", BUNDLE_CONTENT_TYPE).body(body)
    }
    fn json(self, body: impl Into<Vec<u8>>) -> Case {
        self.header("content-type", "application/json").body(body)
    }
    fn gzip(self) -> Case {
        self.header("content-encoding", "gzip")
    }
    fn fails(mut self, status: u16, code: &'static str) -> Case {
        self.want = Want::Error(status, code, None);
        self
    }
    fn because(mut self, reason: &'static str) -> Case {
        if let Want::Error(_, _, r) = &mut self.want {
            *r = Some(reason);
        }
        self
    }
    fn refused(mut self, code: &'static str) -> Case {
        self.want = Want::Refused(code);
        self
    }
    fn page(mut self, changes: Option<usize>, more: bool, cursor: Option<u64>) -> Case {
        self.want = Want::Page {
            changes,
            more,
            cursor,
        };
        self
    }
}

/// A server with two teams of the commune, devices in every state, officer
/// and operator accounts, and a household in each team's village.
struct World {
    db: TestDb,
    s: TestServer,
    c: reqwest::Client,
    good: EnrollResponse,
    /// Of team A too: pulls what `good` pushes.
    peer: EnrollResponse,
    revoked: EnrollResponse,
    wiped: EnrollResponse,
    officer: String,
    far_officer: String,
    operator: String,
    /// An enrollment code no case may use up.
    code: String,
    village: String,
    other_village: String,
    /// Team A's household, and the document as team A holds it.
    hid: String,
    doc: Automerge,
    /// Team B's household.
    other_hid: String,
    other_doc: Automerge,
}

async fn world(db: TestDb) -> World {
    let s = TestServer::start_with(&db, |c| c.max_body_bytes = MAX_BODY).await;
    let st = admin_storage(&db);
    let a = team(st.as_ref(), "Tổ 1", &["Thôn Đông"]);
    let b = team(st.as_ref(), "Tổ 2", &["Thôn Bắc"]);
    let c = client();
    let good = device(&c, &s, st.as_ref(), &a.volunteer_id).await;
    let peer = device(&c, &s, st.as_ref(), &a.volunteer_id).await;
    let revoked = device(&c, &s, st.as_ref(), &a.volunteer_id).await;
    let wiped = device(&c, &s, st.as_ref(), &a.volunteer_id).await;
    let b_dev = device(&c, &s, st.as_ref(), &b.volunteer_id).await;
    let now = gocua_server::now();
    assert!(st.revoke_device(&revoked.device_id, now, false).unwrap());
    assert!(st.revoke_device(&wiped.device_id, now, true).unwrap());
    let province = st.commune_province(COMMUNE).unwrap().unwrap();
    let far = if province == "01" { "04" } else { "01" };
    let (_, officer) =
        admin::add_account(st.as_ref(), Role::Officer, "Sở", Some(&province)).unwrap();
    let (_, far_officer) =
        admin::add_account(st.as_ref(), Role::Officer, "Nơi khác", Some(far)).unwrap();
    let (_, operator) = admin::add_account(st.as_ref(), Role::Operator, "Vận hành", None).unwrap();
    let (code, _) = admin::new_enroll_code(st.as_ref(), &a.volunteer_id, 1).unwrap();

    let (hid, mut doc, first) = new_household(&a.villages[0]);
    let second = edit(&mut doc, "phone", "0912000111");
    let p = push(&c, &s, &good.token, one(&hid, vec![first, second])).await;
    assert_eq!((p.stored, p.refused.len()), (2, 0), "{p:?}");
    let (other_hid, other_doc, other_first) = new_household(&b.villages[0]);
    let p = push(&c, &s, &b_dev.token, one(&other_hid, vec![other_first])).await;
    assert_eq!((p.stored, p.refused.len()), (1, 0), "{p:?}");
    World {
        db,
        s,
        c,
        good,
        peer,
        revoked,
        wiped,
        officer: officer.expose().to_string(),
        far_officer: far_officer.expose().to_string(),
        operator: operator.expose().to_string(),
        code: code.expose().to_string(),
        village: a.villages[0].clone(),
        other_village: b.villages[0].clone(),
        hid,
        doc,
        other_hid,
        other_doc,
    }
}

impl World {
    fn token(&self, who: Who) -> Option<Vec<u8>> {
        let bearer = |t: &str| Some(format!("Bearer {t}").into_bytes());
        match who {
            Who::Nobody => None,
            Who::Raw(v) => Some(v.to_vec()),
            Who::Good => bearer(&self.good.token),
            Who::Peer => bearer(&self.peer.token),
            Who::Revoked => bearer(&self.revoked.token),
            Who::Wiped => bearer(&self.wiped.token),
            Who::Officer => bearer(&self.officer),
            Who::FarOfficer => bearer(&self.far_officer),
            Who::Operator => bearer(&self.operator),
        }
    }

    /// A new household of team A's village: a push of it that passes would
    /// store it, so a refusal that let it through shows.
    fn fresh(&self) -> Vec<u8> {
        let (id, _, first) = new_household(&self.village);
        one(&id, vec![first])
    }

    /// A genuine edit of team A's household.
    fn edit(&self, key: &str, value: &str) -> Vec<u8> {
        let mut fork = self.doc.fork();
        edit(&mut fork, key, value)
    }

    /// Everything that may not change when a request is refused, and the
    /// last audit entry.
    fn stored(&self) -> (String, i64) {
        let counts = self.db.rows(
            "SELECT (SELECT count(*) FROM changes), (SELECT count(*) FROM documents), \
             (SELECT count(*) FROM quarantine), (SELECT count(*) FROM feed), \
             (SELECT count(*) FROM devices), (SELECT count(*) FROM devices WHERE revoked_at IS NULL), \
             (SELECT count(*) FROM enroll_codes WHERE used_at IS NULL), \
             (SELECT count(*) FROM unsent_reports), (SELECT count(*) FROM accounts)",
        );
        let audit = self.db.int("SELECT coalesce(max(id), 0) FROM audit");
        (counts.join("\n"), audit)
    }

    async fn send(&self, k: &Case) -> reqwest::Response {
        let mut req = self.c.request(k.method.clone(), self.s.url(&k.path));
        if let Some(v) = k.protocol {
            req = req.header(HEADER_PROTOCOL, v);
        }
        if let Some(auth) = self.token(k.who) {
            req = req.header("authorization", HeaderValue::from_bytes(&auth).unwrap());
        }
        for (name, value) in &k.headers {
            req = req.header(
                HeaderName::from_static(name),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        if !k.body.is_empty() {
            req = req.body(k.body.clone());
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("{}: no answer: {e}", k.name))
    }

    /// Every change `peer` can pull from `cursor`, in one page.
    async fn visible(&self, cursor: u64) -> usize {
        let page = pull(&self.c, &self.s, &self.peer.token, cursor, 1000).await;
        assert!(!page.more);
        page.docs.iter().map(|d| d.changes.len()).sum()
    }
}

/// Audit entries a refusal may write: the refusals themselves.
const REFUSALS_AUDITED: &[&str] = &[
    "revoked_access_refused",
    "enroll_refused",
    "push_refused",
    "report_refused",
    "export_refused",
];

async fn check(w: &World, k: &Case) {
    let name = &k.name;
    let r = w.send(k).await;
    let status = r.status().as_u16();
    assert_eq!(
        r.headers().get(HEADER_PROTOCOL).map(|v| v.as_bytes()),
        Some(&b"2"[..]),
        "{name}: every answer says the protocol"
    );
    match &k.want {
        Want::Error(want, code, reason) => {
            let allow = r.headers().get("allow").cloned();
            let ctype = r.headers().get("content-type").cloned();
            let text = r.text().await.unwrap();
            assert_eq!(status, *want, "{name}: {text}");
            assert!(
                ctype.is_some_and(|v| v.as_bytes().starts_with(b"application/json")),
                "{name}: not JSON: {text}"
            );
            let e: ErrorBody = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: not an error body ({e}): {text}"));
            assert_eq!(
                (e.error.as_str(), e.reason.as_deref()),
                (*code, *reason),
                "{name}: {text}"
            );
            assert!(!e.message.is_empty(), "{name}");
            if status == 405 {
                assert!(allow.is_some(), "{name}: a 405 says what is allowed");
            }
        }
        Want::Refused(code) => {
            let text = r.text().await.unwrap();
            assert_eq!(status, 200, "{name}: {text}");
            let p: PushResponse = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (p.stored, p.duplicates, p.quarantined),
                (0, 0, 0),
                "{name}: {p:?}"
            );
            assert!(!p.refused.is_empty(), "{name}: {p:?}");
            assert!(p.refused.iter().all(|f| f.code == *code), "{name}: {p:?}");
        }
        Want::Page {
            changes,
            more,
            cursor,
        } => {
            assert_eq!(status, 200, "{name}");
            let header = |h: &str| {
                r.headers()
                    .get(h)
                    .unwrap_or_else(|| panic!("{name}: no {h}"))
                    .to_str()
                    .unwrap()
                    .to_string()
            };
            let got_cursor: u64 = header(HEADER_CURSOR).parse().unwrap();
            let got_more = header(HEADER_MORE) == "1";
            let docs = bundle::decode(&r.bytes().await.unwrap()).unwrap();
            let got: usize = docs.iter().map(|d| d.changes.len()).sum();
            let all = w.visible(0).await;
            assert_eq!(got, changes.unwrap_or(all), "{name}");
            assert_eq!(got_more, *more, "{name}");
            if let Some(c) = cursor {
                assert_eq!(got_cursor, *c, "{name}");
            } else {
                assert!(got_cursor > 0, "{name}");
            }
        }
        Want::Bundle => {
            assert_eq!(status, 200, "{name}");
            bundle::decode(&r.bytes().await.unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// Runs every case of `cases`; after each, nothing was stored and a good
/// device still pushes and pulls.
async fn run_corpus(db: TestDb, cases: fn(&World) -> Vec<Case>) {
    let w = world(db).await;
    let cases = cases(&w);
    let mut cursor = pull(&w.c, &w.s, &w.peer.token, 0, 1000).await.cursor;
    for (i, k) in cases.iter().enumerate() {
        let (before, audit) = w.stored();
        check(&w, k).await;
        let (after, _) = w.stored();
        assert_eq!(after, before, "{}: something was stored", k.name);
        let written =
            w.db.rows(&format!("SELECT action FROM audit WHERE id > {audit}"));
        assert!(
            written
                .iter()
                .all(|a| REFUSALS_AUDITED.contains(&a.as_str())),
            "{}: audited {written:?}",
            k.name
        );

        let change = w.edit("address", &format!("Xóm {i}"));
        let p = push(&w.c, &w.s, &w.good.token, one(&w.hid, vec![change.clone()])).await;
        assert_eq!(
            (p.stored, p.refused.len()),
            (1, 0),
            "after {}: {p:?}",
            k.name
        );
        let page = pull(&w.c, &w.s, &w.peer.token, cursor, 1000).await;
        assert_eq!(
            page.docs,
            vec![DocChanges {
                doc_id: w.hid.clone(),
                changes: vec![change],
            }],
            "after {}",
            k.name
        );
        cursor = page.cursor;
    }
    // The code the enroll cases sent with bad names was not used up.
    let r = enroll(&w.c, &w.s, &w.code).await;
    assert_eq!(r.status(), 200);
    w.s.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Small on the wire, sixteen times the body limit once decompressed.
fn bomb() -> Vec<u8> {
    let mut plain = MAGIC.to_vec();
    plain.resize(16 * MAX_BODY, 0);
    let g = gzip(&plain);
    assert!(g.len() < MAX_BODY / 8, "{}", g.len());
    g
}

/// Bytes 4..8 of a chunk are the start of the SHA-256 of what follows: a
/// byte changed after them without fixing them is a wrong checksum.
fn wrong_checksum(mut change: Vec<u8>) -> Vec<u8> {
    let n = change.len();
    change[n - 1] ^= 0x01;
    change
}

/// A bundle's bytes by hand: (id length, id, count, [(length, bytes)]).
fn raw_bundle(id_len: u16, id: &[u8], count: u32, items: &[(u32, &[u8])]) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend_from_slice(&id_len.to_be_bytes());
    b.extend_from_slice(id);
    b.extend_from_slice(&count.to_be_bytes());
    for (len, bytes) in items {
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(bytes);
    }
    b
}

fn cat(a: &str, b: &[u8]) -> Vec<u8> {
    [a.as_bytes(), b].concat()
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;

/// Tokens, protocol versions, methods and paths, on every endpoint.
#[rustfmt::skip] // One line a case.
fn tokens_and_routes(w: &World) -> Vec<Case> {
    use Who::*;
    let report = format!("{}?area={COMMUNE}", paths::REPORT);
    let export = format!("{}?area={COMMUNE}&pii=pseudonymized", paths::EXPORT);
    let pull = format!("{}?cursor=0", paths::PULL);
    // The endpoints that take a token, with a request they would grant.
    let guarded: Vec<(&str, Method, String, Vec<u8>)> = vec![
        ("push", POST, paths::PUSH.into(), w.fresh()),
        ("unsent", POST, paths::UNSENT.into(), w.fresh()),
        ("pull", GET, pull.clone(), Vec::new()),
        ("bootstrap", GET, paths::BOOTSTRAP.into(), Vec::new()),
        ("assignment", GET, paths::ASSIGNMENT.into(), Vec::new()),
        ("report", GET, report.clone(), Vec::new()),
        ("export", GET, export.clone(), Vec::new()),
    ];
    let huge_token: &'static [u8] =
        Box::leak(format!("Bearer {}", "x".repeat(8000)).into_boxed_str()).as_bytes();
    let mut cases = Vec::new();
    for (e, method, path, body) in guarded {
        let k = |what: &str| {
            let mut k = case(&format!("{e}: {what}"), method.clone(), path.clone());
            if !body.is_empty() {
                k = k.bundle(body.clone());
            }
            k
        };
        cases.extend([
            k("no token").fails(401, codes::UNAUTHORIZED).because(reasons::NO_TOKEN),
            k("basic auth").who(Raw(b"Basic Z29jdWE6Z29jdWE=")).fails(401, codes::UNAUTHORIZED).because(reasons::NO_TOKEN),
            k("bearer without token").who(Raw(b"Bearer ")).fails(401, codes::UNAUTHORIZED).because(reasons::NO_TOKEN),
            k("bearer, no space").who(Raw(b"Bearer")).fails(401, codes::UNAUTHORIZED).because(reasons::NO_TOKEN),
            k("token not ASCII").who(Raw(b"Bearer \xff\xfe")).fails(401, codes::UNAUTHORIZED).because(reasons::NO_TOKEN),
            k("wrong token").who(Raw(b"Bearer 0123456789abcdef")).fails(401, codes::UNAUTHORIZED).because(reasons::UNKNOWN_TOKEN),
            k("huge token").who(Raw(huge_token)).fails(401, codes::UNAUTHORIZED).because(reasons::UNKNOWN_TOKEN),
            k("no protocol header").who(Good).protocol(None).fails(426, codes::PROTOCOL_MISMATCH),
            k("protocol 1").who(Good).protocol(Some("1")).fails(426, codes::PROTOCOL_MISMATCH),
            k("protocol 2.0").who(Good).protocol(Some("2.0")).fails(426, codes::PROTOCOL_MISMATCH),
        ]);
        if e != "unsent" {
            cases.extend([
                k("revoked device").who(Revoked).fails(403, codes::DEVICE_REVOKED),
                k("device told to wipe").who(Wiped).fails(403, codes::DEVICE_REVOKED).because(reasons::WIPE),
            ]);
        }
    }
    cases.extend([
        // Who may do what.
        case("push: an officer", POST, paths::PUSH).who(Officer).bundle(w.fresh()).fails(403, codes::FORBIDDEN).because(reasons::NOT_A_DEVICE),
        case("push: an operator", POST, paths::PUSH).who(Operator).bundle(w.fresh()).fails(403, codes::FORBIDDEN).because(reasons::NOT_A_DEVICE),
        case("unsent: a device not revoked", POST, paths::UNSENT).who(Good).bundle(w.fresh()).fails(400, codes::BAD_REQUEST).because(reasons::NOT_REVOKED),
        case("unsent: an officer", POST, paths::UNSENT).who(Officer).bundle(w.fresh()).fails(403, codes::FORBIDDEN).because(reasons::NOT_A_DEVICE),
        case("pull: an operator", GET, pull.clone()).who(Operator).fails(403, codes::FORBIDDEN).because(reasons::CANNOT_READ_HOUSEHOLDS),
        case("bootstrap: an operator", GET, paths::BOOTSTRAP).who(Operator).fails(403, codes::FORBIDDEN).because(reasons::CANNOT_READ_HOUSEHOLDS),
        case("assignment: an officer", GET, paths::ASSIGNMENT).who(Officer).fails(403, codes::FORBIDDEN).because(reasons::NOT_A_DEVICE),
        case("POST assignment", POST, paths::ASSIGNMENT).who(Good).fails(405, codes::BAD_REQUEST),
        case("report: a device", GET, report.clone()).who(Good).fails(403, codes::FORBIDDEN).because(reasons::NOT_AN_OFFICER),
        case("report: an operator", GET, report.clone()).who(Operator).fails(403, codes::FORBIDDEN).because(reasons::NOT_AN_OFFICER),
        case("export: a device", GET, export.clone()).who(Good).fails(403, codes::FORBIDDEN).because(reasons::NOT_AN_OFFICER),
        case("enroll: protocol 1", POST, paths::ENROLL).protocol(Some("1")).json(format!(r#"{{"code":"{}","device_name":"Lan"}}"#, w.code)).fails(426, codes::PROTOCOL_MISMATCH),
        case("enroll: no protocol header", POST, paths::ENROLL).protocol(None).json(format!(r#"{{"code":"{}","device_name":"Lan"}}"#, w.code)).fails(426, codes::PROTOCOL_MISMATCH),
        // Methods a path does not take.
        case("GET push", GET, paths::PUSH).who(Good).fails(405, codes::BAD_REQUEST),
        case("GET enroll", GET, paths::ENROLL).fails(405, codes::BAD_REQUEST),
        case("GET unsent", GET, paths::UNSENT).who(Revoked).fails(405, codes::BAD_REQUEST),
        case("POST pull", POST, pull.clone()).who(Good).bundle(w.fresh()).fails(405, codes::BAD_REQUEST),
        case("PUT pull", Method::PUT, pull.clone()).who(Good).fails(405, codes::BAD_REQUEST),
        case("POST bootstrap", POST, paths::BOOTSTRAP).who(Good).fails(405, codes::BAD_REQUEST),
        case("DELETE report", Method::DELETE, report.clone()).who(Officer).fails(405, codes::BAD_REQUEST),
        case("PATCH export", Method::PATCH, export.clone()).who(Officer).fails(405, codes::BAD_REQUEST),
        case("POST info", POST, paths::INFO).fails(405, codes::BAD_REQUEST),
        case("POST healthz", POST, paths::HEALTHZ).fails(405, codes::BAD_REQUEST),
        case("DELETE readyz", Method::DELETE, paths::READYZ).fails(405, codes::BAD_REQUEST),
        case("PUT health", Method::PUT, paths::HEALTH).fails(405, codes::BAD_REQUEST),
        // Paths that are not there.
        case("unknown path", GET, "/v1/nothing").who(Good).fails(404, codes::NOT_FOUND),
        case("root", GET, "/").fails(404, codes::NOT_FOUND),
        case("trailing slash", POST, "/v1/push/").who(Good).bundle(w.fresh()).fails(404, codes::NOT_FOUND),
        case("upper case", GET, "/V1/PULL?cursor=0").who(Good).fails(404, codes::NOT_FOUND),
        case("version 2 path", GET, "/v2/pull?cursor=0").who(Good).fails(404, codes::NOT_FOUND),
        case("dot segments", GET, "/v1/../v1/nothing").who(Good).fails(404, codes::NOT_FOUND),
        case("NUL in the path", GET, "/v1/pull%00?cursor=0").who(Good).fails(404, codes::NOT_FOUND),
        case("long path", GET, format!("/v1/{}", "a".repeat(8000))).who(Good).fails(404, codes::NOT_FOUND),
    ]);
    cases
}

/// `POST /v1/enroll` bodies.
#[rustfmt::skip] // One line a case.
fn enroll_bodies(w: &World) -> Vec<Case> {
    let code = w.code.as_str();
    let k = |name: &str| case(&format!("enroll: {name}"), POST, paths::ENROLL);
    let good = format!(r#"{{"code":"{code}","device_name":"Lan"}}"#);
    let prefix = format!(r#"{{"code":"{code}","device_name":"La"#);
    let named = |name: &str| format!(r#"{{"code":"{code}","device_name":{name}}}"#);
    let mut over = format!(r#"{{"code":"{code}","device_name":""#);
    over.push_str(&"a".repeat(MAX_ENROLL_BODY));
    over.push_str("\"}");
    vec![
        k("empty body").json(Vec::<u8>::new()).fails(400, codes::BAD_REQUEST),
        k("not JSON").json("hello").fails(400, codes::BAD_REQUEST),
        k("truncated JSON").json(&good[..good.len() - 2]).fails(400, codes::BAD_REQUEST),
        k("JSON null").json("null").fails(400, codes::BAD_REQUEST),
        k("JSON array").json("[]").fails(400, codes::BAD_REQUEST),
        k("code a number").json(r#"{"code":12345678,"device_name":"Lan"}"#).fails(400, codes::BAD_REQUEST),
        k("device_name a list").json(named(r#"["Lan"]"#)).fails(400, codes::BAD_REQUEST),
        k("request_id a number").json(format!(r#"{{"code":"{code}","device_name":"Lan","request_id":7}}"#)).fails(400, codes::BAD_REQUEST),
        k("no device_name").json(format!(r#"{{"code":"{code}"}}"#)).fails(400, codes::BAD_REQUEST),
        k("no code").json(r#"{"device_name":"Lan"}"#).fails(400, codes::BAD_REQUEST),
        k("two JSON values").json(format!("{good}{good}")).fails(400, codes::BAD_REQUEST),
        k("invalid UTF-8").json(cat(&prefix, b"\xff\xfe\"}")).fails(400, codes::BAD_REQUEST),
        k("overlong UTF-8").json(cat(&prefix, b"\xc0\xaf\"}")).fails(400, codes::BAD_REQUEST),
        k("lone surrogate").json(named(r#""La\ud800n""#)).fails(400, codes::BAD_REQUEST),
        k("lone low surrogate").json(named(r#""\udc00""#)).fails(400, codes::BAD_REQUEST),
        k("raw NUL byte").json(cat(&prefix, b"\0n\"}")).fails(400, codes::BAD_REQUEST),
        k("escaped NUL in the name").json(named(r#""Lan\u0000""#)).fails(400, codes::BAD_REQUEST),
        k("control character in the name").json(named(r#""Lan\u001b[2J""#)).fails(400, codes::BAD_REQUEST),
        k("empty name").json(named(r#""""#)).fails(400, codes::BAD_REQUEST),
        k("blank name").json(named(r#"" \t\n ""#)).fails(400, codes::BAD_REQUEST),
        k("name of 101 characters").json(named(&format!("\"{}\"", "ă".repeat(101)))).fails(400, codes::BAD_REQUEST),
        k("huge name under the body limit").json(named(&format!("\"{}\"", "a".repeat(MAX_ENROLL_BODY - 100)))).fails(400, codes::BAD_REQUEST),
        k("body over 16 KiB").json(over.clone()).fails(413, codes::TOO_LARGE),
        k("gzip bomb").json(gzip(&over.repeat(64).into_bytes())).gzip().fails(413, codes::TOO_LARGE),
        k("gzip header, plain body").json(good.clone()).gzip().fails(400, codes::BAD_REQUEST),
        k("unknown content encoding").json(good.clone()).header("content-encoding", "x-gocua").fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("no content type").body(good.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("text/plain").header("content-type", "text/plain").body(good.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("a look-alike content type").header("content-type", "application/jsonp").body(good.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("a bundle").bundle(w.fresh()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        // Read as JSON, then refused for the code: the content type's case
        // and parameters, and fields a later client may add, are not errors.
        k("unknown code").json(r#"{"code":"AAAA-AAAA","device_name":"Lan"}"#).fails(401, codes::ENROLLMENT_CODE_INVALID).because(reasons::CODE_UNKNOWN),
        k("content type in capitals").header("content-type", "Application/JSON; charset=UTF-8").body(r#"{"code":"AAAA-AAAB","device_name":"Lan"}"#).fails(401, codes::ENROLLMENT_CODE_INVALID).because(reasons::CODE_UNKNOWN),
        k("unknown field").json(r#"{"code":"AAAA-AAAC","device_name":"Lan","admin":true}"#).fails(401, codes::ENROLLMENT_CODE_INVALID).because(reasons::CODE_UNKNOWN),
        k("NUL in the code").json(r#"{"code":"K7M2\u00009QXD","device_name":"Lan"}"#).fails(401, codes::ENROLLMENT_CODE_INVALID).because(reasons::CODE_UNKNOWN),
        k("huge code").json(format!(r#"{{"code":"{}","device_name":"Lan"}}"#, "K".repeat(10_000))).fails(401, codes::ENROLLMENT_CODE_INVALID).because(reasons::CODE_UNKNOWN),
    ]
}

/// `POST /v1/push` and `POST /v1/unsent` bodies.
#[rustfmt::skip] // One line a case.
fn push_bodies(w: &World) -> Vec<Case> {
    use Who::*;
    let fresh = w.fresh();
    let (fid, _, genesis) = new_household(&w.village);
    let edit = w.edit("phone", "0987654321");
    let damaged = wrong_checksum(edit.clone());
    let mut bad_sum = genesis.clone();
    bad_sum[4] ^= 0xff;
    let mut wrong_magic = fresh.clone();
    wrong_magic[14] = b'2';
    let mut trailing = fresh.clone();
    trailing.push(0);
    let id = w.hid.as_bytes();
    let (outside_id, _, outside) = new_household(&w.other_village);
    let (nowhere_id, _, nowhere) = new_household("00000000-0000-5000-8000-000000000000");
    let mut theirs = w.other_doc.fork();
    let their_edit = common::edit(&mut theirs, "phone", "0912999999");
    let mut moved = w.doc.fork();
    let moves = common::edit(&mut moved, "village_id", &w.other_village);
    let mut oversized = fresh.clone();
    oversized.resize(MAX_BODY + 1, 0);
    let (k, u) = (
        |name: &str| case(&format!("push: {name}"), POST, paths::PUSH).who(Good),
        |name: &str| case(&format!("unsent: {name}"), POST, paths::UNSENT).who(Revoked),
    );
    let mut cases = vec![
        k("empty body").bundle(Vec::new()).fails(400, codes::BAD_BUNDLE),
        k("not a bundle").bundle(b"hello".to_vec()).fails(400, codes::BAD_BUNDLE),
        k("half the magic").bundle(MAGIC[..8].to_vec()).fails(400, codes::BAD_BUNDLE),
        k("wrong magic").bundle(wrong_magic.clone()).fails(400, codes::BAD_BUNDLE),
        k("truncated in an item").bundle(fresh[..fresh.len() - 5].to_vec()).fails(400, codes::BAD_BUNDLE),
        k("truncated in an id").bundle(fresh[..MAGIC.len() + 10].to_vec()).fails(400, codes::BAD_BUNDLE),
        k("trailing byte").bundle(trailing).fails(400, codes::BAD_BUNDLE),
        k("an item of 4 GiB").bundle(raw_bundle(36, id, 1, &[(u32::MAX, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("an item just under 16 MiB, cut").bundle(raw_bundle(36, id, 1, &[(16 * 1024 * 1024, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("4 billion items claimed").bundle(raw_bundle(36, id, u32::MAX, &[(edit.len() as u32, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("an id of 0 bytes").bundle(raw_bundle(0, b"", 1, &[(edit.len() as u32, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("an id of 65 bytes").bundle(raw_bundle(65, &[b'a'; 65], 1, &[(edit.len() as u32, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("an id not UTF-8").bundle(raw_bundle(4, b"\xff\xfe\xfd\xfc", 1, &[(edit.len() as u32, &edit)])).fails(400, codes::BAD_BUNDLE),
        k("an id not a UUID").bundle(one("household-1", vec![edit.clone()])).fails(400, codes::BAD_BUNDLE),
        k("an id with NUL").bundle(one("\0", vec![edit.clone()])).fails(400, codes::BAD_BUNDLE),
        k("an item not a change").bundle(one(&w.hid, vec![b"not automerge".to_vec()])).fails(400, codes::BAD_CHANGE),
        k("an empty item").bundle(one(&w.hid, vec![Vec::new()])).fails(400, codes::BAD_CHANGE),
        k("wrong checksum").bundle(one(&w.hid, vec![damaged.clone()])).fails(400, codes::BAD_CHANGE),
        k("checksum bytes changed").bundle(one(&fid, vec![bad_sum.clone()])).fails(400, codes::BAD_CHANGE),
        // One bad change refuses the whole request: the good household
        // beside it is not stored either.
        k("a good household and a damaged change").bundle(bundle::encode(&[
            DocChanges { doc_id: fid.clone(), changes: vec![genesis.clone()] },
            DocChanges { doc_id: w.hid.clone(), changes: vec![damaged.clone()] },
        ])).fails(400, codes::BAD_CHANGE),
        k("over the body limit").bundle(oversized.clone()).fails(413, codes::TOO_LARGE),
        k("gzip bomb").bundle(bomb()).gzip().fails(413, codes::TOO_LARGE),
        k("gzip header, plain body").bundle(fresh.clone()).gzip().fails(400, codes::BAD_REQUEST),
        k("gzip cut short").bundle(gzip(&fresh)[..20].to_vec()).gzip().fails(400, codes::BAD_REQUEST),
        k("unknown content encoding").bundle(fresh.clone()).header("content-encoding", "x-gocua").fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("no content type").body(fresh.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("JSON").json(r#"{"changes":[]}"#).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        k("octet-stream").header("content-type", "application/octet-stream").body(fresh.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        // Another village's documents: refused per document, with the
        // code that never says where the household is.
        k("a household of another team's village").bundle(one(&outside_id, vec![outside])).refused(codes::OUTSIDE_VILLAGES),
        k("a household of no known village").bundle(one(&nowhere_id, vec![nowhere])).refused(codes::OUTSIDE_VILLAGES),
        k("an edit of another team's household").bundle(one(&w.other_hid, vec![their_edit])).refused(codes::OUTSIDE_VILLAGES),
        k("moving a household to another team's village").bundle(one(&w.hid, vec![moves])).refused(codes::MOVES_VILLAGE),
        k("a change filed under another document").bundle(one(&w.other_hid, vec![edit.clone()])).refused(codes::FOREIGN_CHANGE),
    ];
    cases.extend([
        u("empty body").bundle(Vec::new()).fails(400, codes::BAD_BUNDLE),
        u("wrong magic").bundle(wrong_magic).fails(400, codes::BAD_BUNDLE),
        u("truncated").bundle(fresh[..fresh.len() - 5].to_vec()).fails(400, codes::BAD_BUNDLE),
        u("an item of 4 GiB").bundle(raw_bundle(36, id, 1, &[(u32::MAX, &edit)])).fails(400, codes::BAD_BUNDLE),
        u("wrong checksum").bundle(one(&w.hid, vec![damaged])).fails(400, codes::BAD_CHANGE),
        u("an item not a change").bundle(one(&w.hid, vec![b"not automerge".to_vec()])).fails(400, codes::BAD_CHANGE),
        u("told to wipe, not a bundle").who(Wiped).bundle(b"hello".to_vec()).fails(400, codes::BAD_BUNDLE),
        u("over the body limit").bundle(oversized).fails(413, codes::TOO_LARGE),
        u("gzip bomb").bundle(bomb()).gzip().fails(413, codes::TOO_LARGE),
        u("unknown content encoding").bundle(fresh.clone()).header("content-encoding", "x-gocua").fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
        u("no content type").body(fresh.clone()).fails(415, codes::UNSUPPORTED_MEDIA_TYPE),
    ]);
    cases
}

/// Query strings of pull, bootstrap, report and export.
#[rustfmt::skip] // One line a case.
fn queries(w: &World) -> Vec<Case> {
    use Who::*;
    let p = |name: &str, q: &str| case(&format!("pull: {name}"), GET, format!("{}?{q}", paths::PULL)).who(Peer);
    let r = |name: &str, q: &str| case(&format!("report: {name}"), GET, format!("{}?{q}", paths::REPORT)).who(Officer);
    let e = |name: &str, q: &str| case(&format!("export: {name}"), GET, format!("{}?{q}", paths::EXPORT)).who(Officer);
    let bad = codes::BAD_REQUEST;
    let far_village = &w.other_village;
    let long = "9".repeat(10_000);
    vec![
        p("negative cursor", "cursor=-1").fails(400, bad),
        p("cursor not a number", "cursor=abc").fails(400, bad),
        p("cursor in hex", "cursor=0x10").fails(400, bad),
        p("cursor with a fraction", "cursor=1.5").fails(400, bad),
        p("empty cursor", "cursor=").fails(400, bad),
        p("cursor over u64", "cursor=18446744073709551616").fails(400, bad),
        p("cursor of 10,000 digits", &format!("cursor={long}")).fails(400, bad),
        p("cursor twice", "cursor=0&cursor=1").fails(400, bad),
        p("negative limit", "cursor=0&limit=-1").fails(400, bad),
        p("limit not a number", "cursor=0&limit=ten").fails(400, bad),
        p("limit over u32", "cursor=0&limit=4294967296").fails(400, bad),
        p("negative mine_after", "cursor=0&mine_after=-1").fails(400, bad),
        // Accepted: the documented defaults and bounds.
        p("no cursor", "").page(None, false, None),
        p("limit 0 is 1", "cursor=0&limit=0").page(Some(1), true, None),
        p("huge limit, clamped", "cursor=0&limit=4294967295").page(None, false, None),
        p("unknown parameter", "cursor=0&since=-1&x=%FF").page(None, false, None),
        // A position this database never handed out: the device got it from
        // a database this one was restored over (docs/protocol.md, "Pull").
        p("cursor u64::MAX", "cursor=18446744073709551615").fails(410, codes::CURSOR_EXPIRED),
        p("cursor past the end", "cursor=1000000000000").fails(410, codes::CURSOR_EXPIRED),
        p("mine_after u64::MAX", "cursor=0&mine_after=18446744073709551615").fails(410, codes::CURSOR_EXPIRED),
        // Bootstrap takes no parameters: whatever the query, the snapshots.
        case("bootstrap: cursor abuse", GET, format!("{}?cursor=-1&limit=abc", paths::BOOTSTRAP)).who(Good),
        r("no area", "").fails(400, bad),
        r("empty area", "area=").fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("unknown commune", "area=99999").fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("SQL in the area", "area=%27%3B%20DROP%20TABLE%20changes%3B--").fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("NUL in the area", "area=00097%00").fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("invalid UTF-8 in the area", "area=%FF%FE").fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("area of 10,000 digits", &format!("area={long}")).fails(400, bad).because(reasons::UNKNOWN_AREA),
        r("area twice", &format!("area={COMMUNE}&area=01")).fails(400, bad),
        r("another province", &format!("area={COMMUNE}")).who(FarOfficer).fails(403, codes::FORBIDDEN).because(reasons::OUTSIDE_AREA),
        r("a village of another province", &format!("area={far_village}")).who(FarOfficer).fails(403, codes::FORBIDDEN).because(reasons::OUTSIDE_AREA),
        r("bad period", &format!("area={COMMUNE}&period=2026-13")).fails(400, bad),
        r("bad level", &format!("area={COMMUNE}&level=planet")).fails(400, bad),
        r("bad day", &format!("area={COMMUNE}&today=yesterday")).fails(400, bad),
        e("no area", "pii=pseudonymized").fails(400, bad),
        e("no PII level", &format!("area={COMMUNE}")).fails(400, bad),
        e("unknown PII level", &format!("area={COMMUNE}&pii=everything")).fails(400, bad),
        e("unknown area", "area=99999&pii=pseudonymized").fails(400, bad).because(reasons::UNKNOWN_AREA),
        e("NUL in the area", "area=%00&pii=pseudonymized").fails(400, bad).because(reasons::UNKNOWN_AREA),
        e("another province", &format!("area={COMMUNE}&pii=pseudonymized")).who(FarOfficer).fails(403, codes::FORBIDDEN).because(reasons::OUTSIDE_AREA),
        e("full PII", &format!("area={COMMUNE}&pii=full")).fails(403, codes::FORBIDDEN).because(reasons::FULL_EXTRACT_ON_SERVER),
        e("unknown format", &format!("area={COMMUNE}&pii=pseudonymized&format=pdf")).fails(400, bad),
        e("unknown language", &format!("area={COMMUNE}&pii=pseudonymized&lang=fr")).fails(400, bad),
        e("negative since", &format!("area={COMMUNE}&pii=pseudonymized&since=-1")).fails(400, bad),
        e("since over u64", &format!("area={COMMUNE}&pii=pseudonymized&since=18446744073709551616")).fails(400, bad),
        e("a period with an extract", &format!("area={COMMUNE}&pii=pseudonymized&period=2026-11")).fails(400, bad),
        e("indicators as JSON Lines", &format!("area={COMMUNE}&pii=none&format=jsonl")).fails(400, bad),
        e("indicators since a cursor", &format!("area={COMMUNE}&pii=none&format=csv&since=1")).fails(400, bad),
    ]
}

async fn every_endpoint_refuses_bad_tokens_methods_and_paths(db: TestDb) {
    run_corpus(db, tokens_and_routes).await;
}

async fn enroll_refuses_bad_bodies(db: TestDb) {
    run_corpus(db, enroll_bodies).await;
}

async fn push_and_unsent_refuse_bad_bundles(db: TestDb) {
    run_corpus(db, push_bodies).await;
}

async fn pull_report_and_export_refuse_bad_queries(db: TestDb) {
    run_corpus(db, queries).await;
}

common::on_both!(
    every_endpoint_refuses_bad_tokens_methods_and_paths,
    enroll_refuses_bad_bodies,
    push_and_unsent_refuse_bad_bundles,
    pull_report_and_export_refuse_bad_queries,
);
