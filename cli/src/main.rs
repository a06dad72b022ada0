//! `gocua`: the command line of the gocua store.
//!
//! Parses the arguments, opens the store and hands over to `commands`; maps
//! errors to a message in the user's language and an exit code (2 for usage and
//! validation errors, 1 for anything else).

mod args;
mod commands;
mod error;
mod i18n;
mod output;
mod passphrase;
mod usage;

use std::io::Write;
use std::process::ExitCode;

use crate::error::CliError;
use crate::i18n::T;
use crate::output::Out;

fn main() -> ExitCode {
    init_tracing();
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let early = usage::prescan(&argv);
    let cli = match usage::parse(argv, early) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    let out = Out {
        lang: crate::i18n::detect_lang(cli.lang),
        json: cli.json,
    };
    match commands::run(cli, out) {
        Ok(()) => ExitCode::SUCCESS,
        // `gocua household search nguyen | head`: the reader has what it wanted.
        Err(e) if e.is_closed_output() => ExitCode::SUCCESS,
        Err(e) => {
            tracing::debug!(error = ?e, "command failed");
            report(out, &e);
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // A volunteer reads the command's own messages (Vietnamese or English);
        // the libraries' technical warnings, in English, stay out of the way
        // unless RUST_LOG asks for them.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The error on stderr: a sentence, or with `--json` one JSON object.
fn report(out: Out, e: &CliError) {
    let message = i18n::error_message(out.lang, e);
    let mut stderr = std::io::stderr().lock();
    let _ = if out.json {
        let mut value = serde_json::json!({
            "error": e.code(),
            "field": e.field(),
            "message": message,
        });
        if let (Some(line), Some(map)) = (e.line(), value.as_object_mut()) {
            map.insert("line".into(), line.into());
        }
        if let (CliError::Core(field_core::Error::BreaksRule(b)), Some(map)) =
            (e, value.as_object_mut())
        {
            map.insert("fields".into(), b.fields.clone().into());
        }
        writeln!(stderr, "{value}")
    } else {
        writeln!(stderr, "{}: {message}", i18n::t(out.lang, T::ErrorPrefix))
    };
}
