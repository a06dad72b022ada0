//! The demo's sync server: the `gocua-server` program, run as a child process
//! on the demo's throw-away database. The volunteer's `gocua` runs it rather
//! than carrying the whole server inside itself.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::CliError;

/// How long the server may take to open its database and listen.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The `gocua-server` program: `given` (`--server-bin`, `GOCUA_SERVER_BIN`),
/// else the one next to this program (what `cargo build` makes), else the
/// first on PATH.
pub fn find(given: Option<&Path>) -> Result<PathBuf, CliError> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(CliError::ServerMissing {
                looked: vec![p.display().to_string()],
            })
        };
    }
    let name = format!("gocua-server{}", std::env::consts::EXE_SUFFIX);
    let mut looked = Vec::new();
    if let Ok(me) = std::env::current_exe()
        && let Some(dir) = me.parent()
    {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
        looked.push(dir.display().to_string());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(&name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    looked.push("PATH".into());
    Err(CliError::ServerMissing { looked })
}

/// `gocua-server --data-dir DIR ...`, its settings fixed by the demo rather
/// than by the caller's `GOCUA_*` variables.
fn command(bin: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env("GOCUA_LOG", "error")
        .env("GOCUA_LOAD_UNITS", "true")
        .env_remove("GOCUA_DATABASE")
        .env_remove("GOCUA_LISTEN")
        .stdin(Stdio::null());
    cmd
}

fn failed(bin: &Path, what: impl std::fmt::Display) -> CliError {
    CliError::Demo(format!("{}: {what}", bin.display()))
}

/// Runs `gocua-server --json admin ARGS` on the database in `data_dir` and
/// returns what it prints.
pub fn admin(bin: &Path, data_dir: &Path, args: &[&str]) -> Result<serde_json::Value, CliError> {
    let out = command(bin, data_dir)
        .args(["--json", "admin"])
        .args(args)
        .output()
        .map_err(|e| failed(bin, e))?;
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    if !out.status.success() {
        let why = match printed["error"].as_str() {
            Some(e) => e.to_string(),
            None => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        };
        return Err(failed(bin, format!("admin {}: {why}", args.join(" "))));
    }
    Ok(printed)
}

/// A string field of an admin command's answer.
pub fn field(value: &serde_json::Value, key: &str) -> Result<String, CliError> {
    value[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::Demo(format!("gocua-server answered without {key}: {value}")))
}

/// A running `gocua-server serve`, stopped when dropped.
#[derive(Debug)]
pub struct DemoServer {
    pub url: String,
    child: Child,
}

impl DemoServer {
    /// Serves the database in `data_dir` on a free loopback port, and returns
    /// once the server has said where it listens (it says so once its
    /// database is open and ready).
    pub fn start(bin: &Path, data_dir: &Path) -> Result<DemoServer, CliError> {
        let mut child = command(bin, data_dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(bin, e))?;
        let stderr = drain(child.stderr.take());
        let (tx, rx) = mpsc::channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            // Reads the address line, then the rest, so the server never
            // blocks on a full pipe.
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            });
        }
        let mut server = DemoServer {
            url: String::new(),
            child,
        };
        match rx.recv_timeout(READY_WITHIN) {
            Ok(url) => {
                server.url = url;
                Ok(server)
            }
            Err(_) => {
                server.stop();
                let said = stderr.join().unwrap_or_default();
                Err(failed(
                    bin,
                    format!("did not start listening: {}", said.trim()),
                ))
            }
        }
    }

    fn stop(&mut self) {
        // The database is SQLite in WAL mode: a killed server leaves its last
        // committed transaction, which is all the demo (or `--keep`) needs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Collects what a pipe says until it closes.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut text);
        }
        text
    })
}
