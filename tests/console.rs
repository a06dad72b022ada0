//! The web console in a real browser: headless Chromium driven through
//! chromedriver (W3C WebDriver), against the real `gocua-server` and the
//! real `gocua` CLI. An operator signs in, looks at every page (a screenshot
//! of each, at a phone's width, in `<target>/console-screenshots/`), issues
//! an enrollment code a device then enrolls with, revokes a device; a
//! commune officer is refused another commune's page; a signed-out session
//! is refused; repeated wrong passwords end in the limit's page.
//!
//! WebDriver is a few JSON calls over HTTP, spoken here with the blocking
//! reqwest client the tests already have: a WebDriver crate (fantoccini)
//! brought 24 more crates (a second `http`, ICU segmenter data) for them.
//!
//! Without Chromium or chromedriver the test says so and passes, unless CI
//! is set: then it fails.

// Test helpers: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use gocua_tests::{Device, Server, Team, backend_from_env, str_field, text, wait_until};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PASSWORD: &str = "mật khẩu của người vận hành";
/// The element reference's key in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The browser and driver, or why they cannot run (a failure in CI).
fn tools() -> Option<(String, String)> {
    let chromium = std::env::var("GOCUA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    let driver = std::env::var("GOCUA_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
    let missing: Vec<&str> = [&chromium, &driver]
        .into_iter()
        .filter(|p| !Path::new(p.as_str()).exists())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Some((chromium, driver));
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI is set and {missing:?} is missing: apt-get install chromium chromium-driver"
    );
    eprintln!(
        "SKIPPED the console's browser test: {missing:?} missing (apt-get install chromium chromium-driver)"
    );
    None
}

/// Where the screenshots go: `<target>/console-screenshots`.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/<test>
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap();
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &str) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {path}: {e}"));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let c = reqwest::blocking::Client::new();
        wait_until(Duration::from_secs(30), "chromedriver ready", || {
            c.get(format!("{}/status", driver.url))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true)
        });
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
struct Browser<'a> {
    driver: &'a Driver,
    session: String,
    c: reqwest::blocking::Client,
    shots: PathBuf,
}

impl<'a> Browser<'a> {
    fn open(driver: &'a Driver, chromium: &str) -> Browser<'a> {
        let c = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // A phone's screen; root in CI needs no sandbox.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=412,915",
                         "--lang=vi"],
            }
        }}});
        let r: Value = c
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"))
            .to_string();
        Browser {
            driver,
            session,
            c,
            shots: screenshot_dir(),
        }
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.url, self.session);
        let mut req = self.c.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let ok = r.status().is_success();
        let v: Value = r.json().unwrap();
        assert!(ok, "WebDriver {path}: {v}");
        v["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})));
    }

    fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call(
            reqwest::Method::POST,
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn count(&self, css: &str) -> usize {
        self.call(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map_or(0, Vec::len)
    }

    fn text_of(&self, css: &str) -> String {
        let el = self.find(css);
        self.call(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn type_in(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        );
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let el = self.find(css);
        self.call(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        );
    }

    /// Clicks what submits a form or follows a link, and waits for the
    /// next page (every console page differs from the one before: a new
    /// form carries a new token).
    fn click_through(&self, css: &str) {
        let before = self.source();
        self.click(css);
        wait_until(Duration::from_secs(30), "the next page", || {
            self.source() != before
        });
    }

    /// Saves the page as `NAME.png`.
    fn shot(&self, name: &str) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    fn sign_in(&self, base: &str, login: &str, password: &str) {
        self.go(&format!("{base}/console/login"));
        self.type_in("#login", login);
        self.type_in("#password", password);
        self.click_through("#sign-in");
    }
}

impl Drop for Browser<'_> {
    fn drop(&mut self) {
        let _ = self
            .c
            .delete(format!("{}/session/{}", self.driver.url, self.session))
            .send();
    }
}

fn set_password(server: &Server, account: &str, login: &str) {
    let out = server.admin_run_with_env(
        &[
            "account",
            "password",
            "--account",
            account,
            "--login",
            login,
        ],
        &[("GOCUA_PASSWORD", PASSWORD)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn an_operator_runs_the_console_in_a_browser() {
    let Some((chromium, chromedriver)) = tools() else {
        return;
    };
    let started = Instant::now();
    // Plain http on the loopback address: the session cookie without Secure.
    let server = Server::start_with_env(
        backend_from_env(),
        &[("GOCUA_CONSOLE_SECURE_COOKIE", "false")],
    );
    let base = server.url();
    let team = Team::create(&server, "Thôn Đông");
    let lan = team.enroll(&server, &base);
    let hid = lan.add_household(&["--head", "Nguyễn Văn Hạnh", "--phone", "0912345678"]);
    lan.ok(&["visit", "record", &hid, "--service", "vneid_activate:done"]);
    lan.sync();
    let op = server.admin(&["account", "add", "--role", "operator", "--name", "Vận hành"]);
    set_password(&server, &str_field(&op["account"], "id"), "vanhanh");
    let other = server.admin(&[
        "account",
        "add",
        "--role",
        "officer",
        "--name",
        "Cán bộ Hồng Hà",
        "--commune",
        "00097",
    ]);
    set_password(&server, &str_field(&other["account"], "id"), "hongha");

    let driver = Driver::start(&chromedriver);
    let b = Browser::open(&driver, &chromium);
    b.go(&format!("{base}/console/"));
    assert!(b.url().ends_with("/console/login"), "{}", b.url());
    b.shot("01-login");
    b.sign_in(&base, "vanhanh", PASSWORD);
    assert!(b.url().ends_with("/console/"), "{}", b.url());
    // The materializer and the report projection follow the push.
    wait_until(
        Duration::from_secs(60),
        "the household in the overview",
        || {
            b.go(&format!("{base}/console/"));
            b.text_of("#households") == "1"
        },
    );
    assert_eq!(b.text_of("#visits"), "1");
    assert_eq!(b.text_of("#devices-week"), "1");
    b.shot("02-overview");

    b.go(&format!("{base}/console/coverage?level=village"));
    assert!(b.text_of("#coverage").contains("Thôn Đông"));
    assert!(
        b.text_of("#coverage").contains("100.0%"),
        "{}",
        b.text_of("#coverage")
    );
    assert_eq!(b.count("#chart rect.bar-reached"), 1);
    b.shot("03-coverage");

    for (page, name) in [
        ("villages", "04-villages"),
        ("teams", "05-teams"),
        ("clashes", "06-clashes"),
        ("audit", "07-audit"),
    ] {
        b.go(&format!("{base}/console/{page}"));
        assert!(!b.source().contains("id=\"refusal\""), "{page}");
        b.shot(name);
    }
    assert!(b.text_of("#audit").contains("console_login"));

    // An enrollment code from the volunteers' page enrolls a real device.
    b.go(&format!("{base}/console/volunteers"));
    b.shot("08-volunteers");
    let volunteer = lan.json(&["status"])["identity"]["volunteer_id"]
        .as_str()
        .unwrap()
        .to_string();
    b.click_through(&format!("#volunteer-{volunteer} button"));
    let code = b.text_of("#enroll-code");
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(b.count("#qr svg"), 1);
    b.shot("09-enroll-code");
    let phone = Device::new();
    let ident = phone.enroll(&base, &code, "may-moi");
    assert_eq!(ident["volunteer_id"], volunteer.as_str(), "{ident}");

    // Revoked from the devices page, after its confirmation step.
    let lan_id = lan.device_id();
    b.go(&format!("{base}/console/devices"));
    assert_eq!(b.count(&format!("#device-{lan_id}")), 1);
    b.shot("10-devices");
    b.click_through(&format!("#device-{lan_id} a.btn"));
    assert!(
        b.url()
            .ends_with(&format!("/console/devices/{lan_id}/revoke"))
    );
    b.shot("11-revoke");
    b.click_through("#confirm-revoke");
    assert!(b.url().contains("/console/devices?done="), "{}", b.url());
    assert!(
        b.text_of(&format!("#device-{lan_id}"))
            .contains("Đã thu hồi")
    );
    assert!(
        !lan.try_sync().status.success(),
        "a revoked device syncs no more"
    );

    // In English on request.
    b.go(&format!("{base}/console/?lang=en"));
    assert!(b.text_of("nav").contains("Overview"));
    b.shot("12-overview-en");
    b.go(&format!("{base}/console/devices"));
    assert!(
        b.text_of("nav").contains("Devices"),
        "the choice is remembered"
    );
    b.go(&format!("{base}/console/?lang=vi"));

    // Signed out, the session is gone.
    b.click_through("#logout");
    assert!(b.url().ends_with("/console/login"));
    b.go(&format!("{base}/console/devices"));
    assert!(b.url().ends_with("/console/login"), "{}", b.url());

    // Another commune's officer is refused this commune's village.
    b.sign_in(&base, "hongha", PASSWORD);
    b.go(&format!("{base}/console/villages/{}", team.village_id));
    assert!(b.text_of("#refusal").contains("ngoài địa bàn"));
    b.shot("13-refused");
    b.go(&format!("{base}/console/villages"));
    assert!(!b.source().contains("Thôn Đông"));
    b.click_through("#logout");

    // Wrong passwords from this address, until the limit's page (two
    // sign-ins above count against the five a minute too).
    let mut refused_at = None;
    for attempt in 1..=6 {
        b.sign_in(&base, "vanhanh", "không phải mật khẩu");
        let page = b.source();
        if page.contains("Quá nhiều lần đăng nhập") {
            refused_at = Some(attempt);
            break;
        }
        assert!(page.contains("Sai tên đăng nhập hoặc mật khẩu"), "{page}");
    }
    assert_eq!(refused_at, Some(4), "the sixth sign-in from this address");
    b.shot("14-too-many");
    eprintln!(
        "console browser test: {:?}, screenshots in {}",
        started.elapsed(),
        screenshot_dir().display()
    );
}
