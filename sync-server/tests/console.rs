//! The web console over HTTP on both backends (docs/operations.md, "Web
//! console"): sign-in, sessions and sign-out, the anti-forgery token, each
//! role held to its area, the sign-in limit, and the pages showing what the
//! storage holds. The browser drives it in tests/console.rs of gocua-tests.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use gocua_server::admin;
use gocua_server::console::auth::set_password;
use gocua_server::storage::{AuditQuery, Role, Storage, TextMatch};

const PASSWORD: &str = "mật khẩu thử nghiệm";
/// Another commune of province 01 than `COMMUNE` (00097, Phường Hồng Hà).
const OTHER_COMMUNE: &str = "00004";

/// A client that keeps the console's cookies, as a browser does, and
/// does not follow redirects (the tests look at them).
struct Browser {
    c: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Answer {
    status: u16,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        Browser {
            c: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: server.base.clone(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req.header("cookie", cookie).send().await.unwrap();
        let set_cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (kv, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Answer {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            set_cookies,
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Answer {
        let req = self.c.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let req = self
            .c
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish());
        self.send(req).await
    }

    /// The anti-forgery token the page at `path` carries.
    async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        csrf_of(&page.body)
    }

    async fn login(&mut self, login: &str, password: &str) -> Answer {
        let csrf = self.csrf("/console/login").await;
        self.post(
            "/console/login",
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
        .await
    }
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token");
    let rest = &page[at + 19..];
    rest[..rest.find('"').unwrap()].to_string()
}

struct World {
    st: std::sync::Arc<dyn Storage>,
    ours: Setup,
    theirs: Setup,
    operator: String,
    province: String,
    commune: String,
}

/// Two communes of one province, a team and a volunteer in each; an
/// operator, a province officer and an officer of `COMMUNE`, each with a
/// console password.
fn world(db: &TestDb) -> World {
    let st = admin_storage(db);
    st.load_units().unwrap();
    let ours = team(st.as_ref(), "Tổ Hồng Hà", &["Tổ dân phố 1"]);
    let v = admin::add_village(st.as_ref(), OTHER_COMMUNE, "Tổ dân phố 9").unwrap();
    let t = admin::add_team(
        st.as_ref(),
        "Tổ Ba Đình",
        OTHER_COMMUNE,
        std::slice::from_ref(&v.id),
    )
    .unwrap();
    let vol = admin::add_volunteer(st.as_ref(), "Lò Văn Hùng", None, &t.id).unwrap();
    let theirs = Setup {
        villages: vec![v.id],
        team_id: t.id,
        volunteer_id: vol.id,
    };
    let (op, _) = admin::add_account(st.as_ref(), Role::Operator, "Vận hành", None).unwrap();
    let (prov, _) = admin::add_account(st.as_ref(), Role::Officer, "Sở", Some("01")).unwrap();
    let (com, _) = admin::add_commune_officer(st.as_ref(), "Xã Hồng Hà", COMMUNE).unwrap();
    for (a, login) in [(&op, "op"), (&prov, "tinh"), (&com, "xa")] {
        assert_eq!(
            set_password(st.as_ref(), &a.id, Some(login), PASSWORD).unwrap(),
            login
        );
    }
    World {
        st,
        ours,
        theirs,
        operator: op.id,
        province: prov.id,
        commune: com.id,
    }
}

async fn plain_http(db: &TestDb) -> TestServer {
    TestServer::start_with(db, |c| c.console_secure_cookie = false).await
}

async fn each_role_sees_and_changes_only_its_area(db: TestDb) {
    let w = world(&db);
    let server = plain_http(&db).await;
    let c = client();
    // A device in the other commune, for the revoke refused below.
    let theirs = device(&c, &server, w.st.as_ref(), &w.theirs.volunteer_id).await;

    let mut b = Browser::new(&server);
    assert_eq!(b.get("/console/").await.location, "/console/login");
    let signed = b.login("XA", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location, "/console/");
    let session = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gocua_session="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(session.contains("Path=/console"), "{session}");
    assert!(!session.contains("Secure"), "turned off for plain http");
    // The token is stored only as its hash.
    let token = &b.cookies["gocua_session"];
    assert_eq!(
        db.int(&format!(
            "SELECT COUNT(*) FROM console_sessions WHERE token_hash = '{}'",
            gocua_server::secrets::token_hash(token)
        )),
        1
    );
    assert_eq!(
        db.int(&format!(
            "SELECT COUNT(*) FROM console_sessions WHERE token_hash = '{token}'"
        )),
        0
    );

    let villages = b.get("/console/villages").await;
    assert_eq!(villages.status, 200);
    assert!(villages.body.contains("Tổ dân phố 1"), "{}", villages.body);
    assert!(!villages.body.contains("Tổ dân phố 9"), "{}", villages.body);
    let ours = &w.ours.villages[0];
    let theirs_village = &w.theirs.villages[0];
    assert_eq!(
        b.get(&format!("/console/villages/{theirs_village}"))
            .await
            .status,
        403
    );
    assert_eq!(
        b.get(&format!("/console/teams/{}", w.theirs.team_id))
            .await
            .status,
        403
    );
    assert_eq!(
        b.get(&format!("/console/volunteers/{}", w.theirs.volunteer_id))
            .await
            .status,
        403
    );
    let csrf = b.csrf("/console/villages").await;
    let refused = [
        (
            format!("/console/villages/{theirs_village}"),
            vec![("name", "Đổi tên")],
        ),
        (
            "/console/villages".to_string(),
            vec![("commune", OTHER_COMMUNE), ("name", "Thôn mới")],
        ),
        (
            "/console/teams".to_string(),
            vec![
                ("name", "Tổ mới"),
                ("commune", OTHER_COMMUNE),
                ("village", theirs_village.as_str()),
            ],
        ),
        (
            format!("/console/devices/{}/revoke", theirs.device_id),
            vec![],
        ),
        (
            format!("/console/volunteers/{}/code", w.theirs.volunteer_id),
            vec![],
        ),
        (
            // Moving our volunteer into their team.
            format!("/console/volunteers/{}", w.ours.volunteer_id),
            vec![("name", "Lan"), ("team", w.theirs.team_id.as_str())],
        ),
    ];
    for (path, fields) in &refused {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(fields.iter().copied());
        let r = b.post(path, &f).await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("ngoài địa bàn"), "{path}: {}", r.body);
    }
    let stored = |sql: &str| db.rows(sql);
    assert_eq!(
        stored(&format!(
            "SELECT name FROM villages WHERE id = '{theirs_village}'"
        )),
        ["Tổ dân phố 9"]
    );
    assert_eq!(db.int("SELECT COUNT(*) FROM villages"), 2);
    assert_eq!(db.int("SELECT COUNT(*) FROM teams"), 2);
    assert_eq!(
        db.int("SELECT COUNT(*) FROM enroll_codes WHERE used_at IS NULL"),
        0
    );
    assert_eq!(
        db.int("SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL"),
        0
    );

    // Without the token, or with another, nothing is changed either.
    for token in ["", "0123abcd"] {
        let r = b
            .post(
                &format!("/console/villages/{ours}"),
                &[("csrf", token), ("name", "Không có mã")],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    let r = b
        .post(
            &format!("/console/villages/{ours}"),
            &[("name", "Không có mã")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        stored(&format!("SELECT name FROM villages WHERE id = '{ours}'")),
        ["Tổ dân phố 1"]
    );
    // With it, in the area: done, and audited under the account.
    let r = b
        .post(
            &format!("/console/villages/{ours}"),
            &[("csrf", &csrf), ("name", "Tổ dân phố Một")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        stored(&format!("SELECT name FROM villages WHERE id = '{ours}'")),
        ["Tổ dân phố Một"]
    );
    let edits =
        w.st.search_audit(&AuditQuery {
            action: Some(TextMatch::Contains("console_village_renamed".into())),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].entry.actor, format!("account:{}", w.commune));
    // The audit log by area: the operator's work on the other commune's
    // team, and work of no area, are not the commune officer's to read.
    for (action, subject) in [
        ("team_edited", format!("team:{}", w.theirs.team_id)),
        ("pseudonym_key_rotated", String::new()),
    ] {
        w.st.audit(&gocua_server::storage::AuditEntry {
            at: gocua_server::now(),
            actor: "admin".into(),
            action: action.into(),
            subject,
            detail: String::new(),
        })
        .unwrap();
    }
    let log = b.get("/console/audit").await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.contains("console_village_renamed"), "{}", log.body);
    assert!(log.body.contains("<td>console_login</td>"), "{}", log.body);
    assert!(!log.body.contains("team_edited"), "{}", log.body);
    assert!(!log.body.contains("pseudonym_key_rotated"), "{}", log.body);
    assert!(
        !log.body.contains(&format!("account:{}", w.province)),
        "{}",
        log.body
    );

    // A province officer sees both communes of the province.
    let mut p = Browser::new(&server);
    assert_eq!(p.login("tinh", PASSWORD).await.status, 303);
    let villages = p.get("/console/villages").await.body;
    assert!(villages.contains("Tổ dân phố Một") && villages.contains("Tổ dân phố 9"));
    let devices = p.get("/console/devices").await.body;
    assert!(devices.contains(&theirs.device_id), "{devices}");
    let log = p.get("/console/audit").await.body;
    assert!(
        log.contains("console_village_renamed") && log.contains("team_edited"),
        "{log}"
    );
    assert!(!log.contains("pseudonym_key_rotated"), "{log}");

    // Signed out, the session no longer works: not for a page, not for a form.
    let old = b.cookies.clone();
    let out = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/console/login"));
    assert!(!b.cookies.contains_key("gocua_session"));
    b.cookies = old;
    assert_eq!(b.get("/console/villages").await.location, "/console/login");
    let late = b
        .post(
            &format!("/console/villages/{ours}"),
            &[("csrf", &csrf), ("name", "Sau khi đăng xuất")],
        )
        .await;
    assert_eq!(late.location, "/console/login");
    assert_eq!(
        stored(&format!("SELECT name FROM villages WHERE id = '{ours}'")),
        ["Tổ dân phố Một"]
    );

    // The operator sees the log, searchable.
    let mut o = Browser::new(&server);
    assert_eq!(o.login("op", PASSWORD).await.status, 303);
    let log = o.get("/console/audit?action=console_login&page=1").await;
    assert_eq!(log.status, 200);
    assert_eq!(
        log.body.matches("<td>console_login</td>").count(),
        3,
        "{}",
        log.body
    );
    let log = o
        .get(&format!("/console/audit?actor=account:{}", w.commune))
        .await
        .body;
    assert!(log.contains("console_logout") && log.contains("console_village_renamed"));
    assert!(!log.contains(&format!("account:{}", w.province)));
    // Who acted is named, with the id beside it.
    assert!(
        log.contains(&format!(
            "Xã Hồng Hà<br><span class=\"muted id\">account:{}</span>",
            w.commune
        )),
        "{log}"
    );
    let all = o.get("/console/audit").await.body;
    assert!(
        all.contains("pseudonym_key_rotated") && all.contains("team_edited"),
        "{all}"
    );
    // The subject too: the other commune's team by its name.
    let theirs_team = w.st.team(&w.theirs.team_id).unwrap().unwrap();
    assert!(
        all.contains(&format!(
            "{}<br><span class=\"muted id\">team:{}</span>",
            theirs_team.name, w.theirs.team_id
        )),
        "{all}"
    );
    let bad = o.get("/console/audit?from=yesterday").await;
    assert_eq!(bad.status, 400);
    server.stop().await;
}

async fn the_sixth_wrong_password_from_an_address_is_refused(db: TestDb) {
    let w = world(&db);
    // The default configuration: the cookie is Secure.
    let server = TestServer::start(&db).await;
    let mut b = Browser::new(&server);
    let form = b.get("/console/login").await;
    let login_cookie = form
        .set_cookies
        .iter()
        .find(|c| c.starts_with("gocua_login="))
        .unwrap();
    assert!(login_cookie.contains("; Secure"), "{login_cookie}");
    for i in 0..5 {
        let r = b.login(&format!("someone{i}"), "không đúng mật khẩu").await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.body);
        assert!(r.body.contains("Sai tên đăng nhập hoặc mật khẩu"));
    }
    // Even the right password is refused now, from this address.
    let r = b.login("op", PASSWORD).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("Quá nhiều lần đăng nhập"), "{}", r.body);
    assert!(!b.cookies.contains_key("gocua_session"));
    assert_eq!(
        w.st.search_audit(&AuditQuery {
            action: Some(TextMatch::Contains("console_login_refused".into())),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
        .len(),
        5
    );
    // In English when asked.
    let csrf = b.csrf("/console/login?lang=en").await;
    assert_eq!(b.cookies["gocua_lang"], "en");
    let r = b
        .post(
            "/console/login",
            &[("csrf", &csrf), ("login", "op"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, 429);
    assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
    server.stop().await;
    // The flood is summarised in the audit log (at the latest on shutdown).
    let floods =
        w.st.search_audit(&AuditQuery {
            action: Some(TextMatch::Contains("login_throttled".into())),
            limit: 10,
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(floods.len(), 1, "{floods:?}");
    assert!(floods[0].entry.subject.starts_with("address:127.0.0.1"));
    assert!(
        floods[0].entry.detail.starts_with("refused=2 "),
        "{floods:?}"
    );
}

/// Two devices' values of one field, with who set each and when; the
/// overview counting the device that pushed; the team and volunteer forms.
async fn the_pages_show_what_the_storage_holds(db: TestDb) {
    use automerge::ActorId;
    use gocua_household::write::{commit, edit_household};
    let w = world(&db);
    let server = plain_http(&db).await;
    let c = client();
    let dev = device(&c, &server, w.st.as_ref(), &w.ours.volunteer_id).await;
    let stamp = |at_secs: i64| gocua_household::Stamp {
        volunteer_id: w.ours.volunteer_id.clone(),
        at: "2026-01-15T03:00:00Z".into(),
        at_secs,
    };
    let (id, mut doc, mut changes) = gocua_household::new_household(
        ActorId::from(vec![3u8; 16]),
        &stamp(1_768_446_000),
        COMMUNE,
        &w.ours.villages[0],
        &[("head_name", gocua_household::str_value("Nguyễn Văn Hạnh"))],
        &[],
    )
    .unwrap();
    let mut other = doc.fork().with_actor(ActorId::from(vec![4u8; 16]));
    for (d, phone, at) in [
        (&mut doc, "0912000111", 1_768_446_100),
        (&mut other, "0987000222", 1_768_446_200),
    ] {
        let change = commit(d, &stamp(at), "household.edit", |tx| {
            edit_household(
                tx,
                &[("phone", gocua_household::str_value(phone))],
                &[],
                &[],
            )
        })
        .unwrap()
        .unwrap();
        changes.push(change);
    }
    let body = gocua_protocol::bundle::encode(&[gocua_protocol::DocChanges {
        doc_id: id.clone(),
        changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
    }]);
    assert!(push(&c, &server, &dev.token, body).await.refused.is_empty());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while db.int("SELECT COUNT(*) FROM report_households WHERE conflicts > 0") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "report never written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut b = Browser::new(&server);
    assert_eq!(b.login("xa", PASSWORD).await.status, 303);
    let clashes = b.get("/console/clashes").await.body;
    assert!(
        clashes.contains("0912000111") && clashes.contains("0987000222"),
        "{clashes}"
    );
    assert!(clashes.contains(">phone<"), "{clashes}");
    assert!(
        clashes.contains("Nguyễn Thị Lan"),
        "who set them: {clashes}"
    );
    assert!(
        clashes.contains("2026-01-15 10:0"),
        "when, Vietnam time: {clashes}"
    );
    // Paged by household: one household is one page, and the page after it
    // is empty and links back.
    assert!(!clashes.contains("id=\"clashes-after\""), "{clashes}");
    let second = b.get("/console/clashes?page=2").await.body;
    assert!(!second.contains("0912000111"), "{second}");
    assert!(
        second.contains("href=\"/console/clashes?page=1\""),
        "{second}"
    );
    // The other commune's officer does not see it.
    let st = w.st.as_ref();
    let (far, _) = admin::add_commune_officer(st, "Xã Ba Đình", OTHER_COMMUNE).unwrap();
    set_password(st, &far.id, Some("badinh"), PASSWORD).unwrap();
    let mut f = Browser::new(&server);
    assert_eq!(f.login("badinh", PASSWORD).await.status, 303);
    assert!(!f.get("/console/clashes").await.body.contains("0912000111"));

    let overview = b.get("/console/").await.body;
    assert!(overview.contains("id=\"households\">1<"), "{overview}");
    assert!(overview.contains("id=\"devices-week\">1<"), "{overview}");
    let coverage = b.get("/console/coverage").await.body;
    assert!(
        coverage.contains("<svg") && coverage.contains("Tổ dân phố 1"),
        "{coverage}"
    );

    // A team gains a village; a volunteer is renamed; an enrollment code.
    let csrf = b.csrf("/console/teams").await;
    let r = b
        .post(
            "/console/villages",
            &[
                ("csrf", &csrf),
                ("commune", COMMUNE),
                ("name", "Tổ dân phố 2"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let new_village = admin::village_id(COMMUNE, "Tổ dân phố 2");
    let r = b
        .post(
            &format!("/console/teams/{}", w.ours.team_id),
            &[
                ("csrf", &csrf),
                ("name", "Tổ Hồng Hà mới"),
                ("village", &w.ours.villages[0]),
                ("village", &new_village),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let team = st.team(&w.ours.team_id).unwrap().unwrap();
    assert_eq!(team.name, "Tổ Hồng Hà mới");
    assert_eq!(team.villages.len(), 2);
    // A team without a village is refused, as is another commune's village.
    for v in ["", &w.theirs.villages[0]] {
        let r = b
            .post(
                &format!("/console/teams/{}", w.ours.team_id),
                &[("csrf", &csrf), ("name", "X"), ("village", v)],
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    assert_eq!(st.team(&w.ours.team_id).unwrap().unwrap(), team);
    let r = b
        .post(
            &format!("/console/volunteers/{}", w.ours.volunteer_id),
            &[
                ("csrf", &csrf),
                ("name", "Nguyễn Thị Lan Anh"),
                ("phone", "0912345679"),
                ("team", &w.ours.team_id),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let vol = st.volunteer(&w.ours.volunteer_id).unwrap().unwrap();
    assert_eq!(
        (vol.name.as_str(), vol.phone.as_deref()),
        ("Nguyễn Thị Lan Anh", Some("0912345679"))
    );
    let code = b
        .post(
            &format!("/console/volunteers/{}/code", w.ours.volunteer_id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(code.status, 200);
    assert!(code.body.contains("<svg"), "a QR code");
    let at = code.body.find("id=\"enroll-code\">").unwrap() + 17;
    let typed = &code.body[at..at + 9];
    let r = enroll(&c, &server, typed).await;
    assert_eq!(r.status(), 200, "the code shown enrolls a device");
    // Revoked from the console: the device is refused at once.
    let r = b
        .post(
            &format!("/console/devices/{}/revoke", dev.device_id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let refused = push_raw(&c, &server, &dev.token, one(&id, vec![])).await;
    assert_eq!(refused.status(), 403);
    assert!(b.get("/console/devices").await.body.contains("Đã thu hồi"));
    server.stop().await;
}

/// The storage methods the console adds, directly.
async fn console_storage(db: TestDb) {
    let w = world(&db);
    let st = w.st.as_ref();
    // A login name is one account's.
    let taken = set_password(st, &w.province, Some("OP"), PASSWORD).unwrap_err();
    assert!(taken.to_string().contains("belongs to account"), "{taken}");
    assert!(set_password(st, "no-such-account", Some("ai"), PASSWORD).is_err());
    // Without --login the account keeps its name.
    assert_eq!(
        set_password(st, &w.operator, None, "một mật khẩu khác").unwrap(),
        "op"
    );
    let found = st.console_login("op").unwrap().unwrap();
    assert_eq!(found.account.id, w.operator);
    assert!(found.password_hash.starts_with("$argon2id$"));
    assert!(st.console_login("nobody").unwrap().is_none());
    // Sessions expire, end, and end with a new password.
    st.add_console_session("h1", &w.commune, "c1", 100, 200)
        .unwrap();
    st.add_console_session("h2", &w.commune, "c2", 100, 10_000)
        .unwrap();
    let s = st.console_session("h1", 150).unwrap().unwrap();
    assert_eq!((s.csrf_token.as_str(), s.expires_at), ("c1", 200));
    assert_eq!(s.account.commune_code.as_deref(), Some(COMMUNE));
    assert!(st.console_session("h1", 200).unwrap().is_none());
    assert!(st.end_console_session("h2").unwrap());
    assert!(!st.end_console_session("h2").unwrap());
    st.add_console_session("h3", &w.commune, "c3", 300, 10_000)
        .unwrap();
    // The expired one was forgotten when h3 began.
    assert_eq!(db.int("SELECT COUNT(*) FROM console_sessions"), 1);
    set_password(st, &w.commune, None, PASSWORD).unwrap();
    assert!(st.console_session("h3", 400).unwrap().is_none());
    // Edits.
    let v = st.rename_village(&w.ours.villages[0], "Tên mới").unwrap();
    assert_eq!(
        (v.id.as_str(), v.name.as_str()),
        (w.ours.villages[0].as_str(), "Tên mới")
    );
    assert!(st.rename_village("nope", "x").is_err());
    let mut vol = st.volunteer(&w.ours.volunteer_id).unwrap().unwrap();
    vol.team_id = "no-such-team".into();
    assert!(st.update_volunteer(&vol).is_err());
    vol.team_id = w.theirs.team_id.clone();
    vol.name = "Lan".into();
    st.update_volunteer(&vol).unwrap();
    assert_eq!(st.volunteer(&vol.id).unwrap().unwrap(), vol);
    // Audit search: parts, any case, dates, newest first, pages.
    for i in 0..5 {
        st.audit(&gocua_server::storage::AuditEntry {
            at: 1_000 + i,
            actor: format!("account:A{i}"),
            action: "console_test".into(),
            subject: format!("village:V{i}"),
            detail: String::new(),
        })
        .unwrap();
    }
    let q = |f: &dyn Fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            action: Some(TextMatch::Contains("CONSOLE_TEST".into())),
            limit: 10,
            ..AuditQuery::default()
        };
        f(&mut q);
        st.search_audit(&q)
            .unwrap()
            .into_iter()
            .map(|r| r.entry.at)
            .collect::<Vec<_>>()
    };
    assert_eq!(q(&|_| {}), [1004, 1003, 1002, 1001, 1000]);
    assert_eq!(
        q(&|q| q.subject = Some(TextMatch::Contains("v2".into()))),
        [1002]
    );
    assert_eq!(
        q(&|q| q.actor = Some(TextMatch::Contains("a3".into()))),
        [1003]
    );
    assert_eq!(
        q(&|q| (q.from, q.until) = (Some(1001), Some(1003))),
        [1002, 1001]
    );
    assert_eq!(q(&|q| (q.offset, q.limit) = (2, 2)), [1002, 1001]);
    // Matched whole, as the command line does: exactly, and an actor's kind
    // for all of it; no parts, and case counts.
    assert_eq!(
        q(&|q| q.action = Some(TextMatch::Is("console_test".into()))).len(),
        5
    );
    assert!(q(&|q| q.action = Some(TextMatch::Is("CONSOLE_TEST".into()))).is_empty());
    assert!(q(&|q| q.action = Some(TextMatch::Is("console".into()))).is_empty());
    assert_eq!(
        q(&|q| q.actor = Some(TextMatch::Is("account:A3".into()))),
        [1003]
    );
    assert_eq!(
        q(&|q| q.actor = Some(TextMatch::Is("account".into()))).len(),
        5
    );
    assert!(q(&|q| q.actor = Some(TextMatch::Is("acc".into()))).is_empty());
    assert_eq!(
        q(&|q| q.subject = Some(TextMatch::Is("village:V2".into()))),
        [1002]
    );
    for offset in [0, 50] {
        assert!(
            st.conflicted_households(&gocua_server::storage::AreaScope::Country, offset, 10)
                .unwrap()
                .is_empty()
        );
    }
}

common::on_both!(
    each_role_sees_and_changes_only_its_area,
    the_sixth_wrong_password_from_an_address_is_refused,
    the_pages_show_what_the_storage_holds,
    console_storage,
);
