//! Helpers for the end-to-end tests: the real `gocua` binary on a throwaway store.
//!
//! # Which binary
//!
//! A test crate cannot name another package's binary (`CARGO_BIN_EXE_*` only
//! covers its own package, and artifact dependencies are unstable), so the first
//! test that needs it runs `cargo build -p gocua-cli --bin gocua` once, with the
//! same target directory and profile as the test executable (found from
//! `std::env::current_exe()`: `<target>/<profile>/deps/cli-<hash>`). That build is
//! a no-op when the binary is fresh, and it makes `cargo test -p gocua-tests`
//! enough on its own: a stale binary is never tested. Set `GOCUA_BIN` to test
//! another binary instead (no build is run then).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The `gocua` binary, built first if needed.
pub fn gocua_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("GOCUA_BIN") {
        Some(p) => PathBuf::from(p),
        None => build_gocua(),
    })
}

fn build_gocua() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    // <target>/<profile>/deps/<test exe>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .unwrap_or_else(|| panic!("unexpected test executable path {}", exe.display()))
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or_else(|| panic!("no workspace above {}", env!("CARGO_MANIFEST_DIR")))
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .args(["-p", "gocua-cli", "--bin", "gocua", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build gocua: {e}"));
    assert!(
        status.success(),
        "`cargo build -p gocua-cli` failed ({status}); fix the build, or set GOCUA_BIN"
    );
    let bin = profile_dir.join(format!("gocua{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} missing after `cargo build -p gocua-cli`",
        bin.display()
    );
    bin
}

/// One device: a store in its own temporary directory.
#[derive(Debug)]
pub struct Device {
    dir: tempfile::TempDir,
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

impl Device {
    pub fn new() -> Device {
        Device {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
        }
    }

    /// The data directory (`GOCUA_HOME`).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// A path for a scratch file next to the store.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `gocua ARGS` on this device, in the Vietnamese-default locale.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(gocua_bin());
        cmd.args(args)
            .env("GOCUA_HOME", self.home())
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("could not run gocua {args:?}: {e}"))
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "gocua {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `gocua --json ARGS`, required to succeed and to print one JSON value.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all);
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("gocua {all:?} printed no JSON ({e}): {stdout}"))
    }

    /// Spawns `gocua ARGS` with stdout piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("could not spawn gocua {args:?}: {e}"))
    }

    /// Sets the device up for volunteer `volunteer` in Phường Ba Đình (00004).
    pub fn init(&self, volunteer: &str, villages: &[&str]) {
        let mut args = vec![
            "init",
            "--volunteer",
            volunteer,
            "--team",
            "Tổ Công nghệ số cộng đồng",
            "--commune",
            "00004",
        ];
        for v in villages {
            args.push("--village");
            args.push(v);
        }
        self.ok(&args);
    }

    /// Adds a household; returns its full id.
    pub fn add_household(&self, args: &[&str]) -> String {
        let mut all = vec!["household", "add"];
        all.extend_from_slice(args);
        let h = self.json(&all);
        str_field(&h, "id")
    }

    /// The counts of `status --json`.
    pub fn counts(&self) -> Value {
        let s = self.json(&["status"]);
        serde_json::json!({
            "households": s["households"],
            "persons": s["persons"],
            "visits": s["visits"],
            "pending_changes": s["pending_changes"],
            "conflicts": s["conflicts"],
        })
    }

    /// Writes `content` to a scratch file; returns its path as text.
    pub fn write(&self, name: &str, content: &[u8]) -> String {
        let path = self.file(name);
        let mut f = std::fs::File::create(&path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(content)
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path_text(&path)
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn path_text(p: &Path) -> String {
    p.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", p.display()))
        .to_string()
}

/// A string field of a JSON object, required.
pub fn str_field(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string {key:?} in {v}"))
        .to_string()
}

/// The head names of a `household list|search --json` answer, in order.
pub fn heads(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|h| str_field(h, "head_name"))
        .collect()
}

/// This year in Vietnam time (UTC+7), as field-core counts birth years.
pub fn this_year_vietnam() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        + 7 * 3600;
    // Days to civil date (H. Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}
