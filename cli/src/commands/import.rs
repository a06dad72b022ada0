//! `gocua household import|generate`: JSON Lines of households.
//!
//! An import reads the whole file and checks every line against the store's
//! rules before writing any (a bad line stores nothing and is named with its
//! field), then writes each line's household whole, in its own transaction,
//! with the key of its content: importing a file again, or after an
//! interruption, adds only what is not in yet. A line whose household the
//! village near-certainly has already (`gocua duplicates`) is reported and not
//! added.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;

use field_core::{HouseholdRecord, ImportOutcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Ctx;
use crate::error::CliError;
use crate::i18n::{self, FindText};

/// A progress bar on stderr, hidden when stderr is not a terminal or with --json.
fn bar(ctx: &Ctx, len: usize, label: FindText) -> ProgressBar {
    if ctx.out.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(i18n::find_text(ctx.lang(), label));
    b
}

/// Every line of `path` from `from_line` (1-based), checked then written.
pub fn import(
    ctx: &Ctx,
    path: &Path,
    from_line: Option<usize>,
    insist: bool,
) -> Result<(), CliError> {
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let at_line = |n: usize, error: CliError| CliError::Line {
        path: path.to_path_buf(),
        line: n,
        error: Box::new(error),
    };
    let first = from_line.unwrap_or(1);
    let mut records: Vec<(usize, HouseholdRecord)> = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|source| {
            at_line(
                n,
                CliError::Read {
                    path: path.to_path_buf(),
                    source,
                },
            )
        })?;
        if n < first || line.trim().is_empty() {
            continue;
        }
        let record: HouseholdRecord = serde_json::from_str(&line).map_err(|e| {
            at_line(
                n,
                CliError::BadFile {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                },
            )
        })?;
        records.push((n, record));
    }
    let store = ctx.store()?;
    let lang = ctx.lang();

    // The dry run: every line as its write would check it, nothing written.
    let checking = bar(ctx, records.len(), FindText::Checking);
    for (n, record) in &records {
        store
            .check_import(record)
            .map_err(|e| at_line(*n, CliError::Core(e)))?;
        checking.inc(1);
    }
    checking.finish_and_clear();

    let writing = bar(ctx, records.len(), FindText::Writing);
    let (mut stored, mut already, mut duplicates) = (0usize, 0usize, 0usize);
    for (n, record) in &records {
        let outcome = store.import_record_as(record, insist).map_err(|e| {
            writing.abandon();
            CliError::ImportStopped {
                path: path.to_path_buf(),
                line: *n,
                stored,
                error: Box::new(CliError::Core(e)),
            }
        })?;
        tracing::debug!(line = n, ?outcome, "import line");
        match &outcome {
            ImportOutcome::Stored { .. } => stored += 1,
            ImportOutcome::AlreadyImported { .. } => already += 1,
            ImportOutcome::Duplicate { candidate } => {
                duplicates += 1;
                if !ctx.out.json {
                    writing
                        .suspend(|| ctx.out.line(&i18n::import_duplicate(lang, *n, candidate)))?;
                }
            }
            ImportOutcome::StoredDespite { candidate, .. } => {
                stored += 1;
                if !ctx.out.json {
                    writing
                        .suspend(|| ctx.out.line(&i18n::import_insisted(lang, *n, candidate)))?;
                }
            }
        }
        if ctx.out.json {
            // One line per record as soon as it is in: whoever stops the
            // import knows what is stored.
            let mut value = serde_json::to_value(&outcome)
                .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
            if let Some(map) = value.as_object_mut() {
                map.insert("line".into(), (*n).into());
            }
            ctx.out.json_value(&value)?;
        }
        writing.inc(1);
    }
    writing.finish_and_clear();
    let summary = serde_json::json!({
        "summary": { "stored": stored, "already_imported": already, "duplicates": duplicates }
    });
    ctx.out.emit(&summary, || {
        vec![i18n::import_summary(lang, stored, already, duplicates)]
    })
}

/// Writes `households` generated households as JSON Lines on stdout.
pub fn generate(
    ctx: &Ctx,
    seed: u64,
    households: usize,
    villages: Vec<String>,
) -> Result<(), CliError> {
    let villages = if !villages.is_empty() {
        villages
    } else {
        let device: Vec<String> = match ctx.existing_store()? {
            Some(store) => match store.identity() {
                Ok(i) => i.villages.into_iter().map(|v| v.name).collect(),
                Err(field_core::Error::NotInitialized) => Vec::new(),
                Err(e) => return Err(e.into()),
            },
            None => Vec::new(),
        };
        if device.is_empty() {
            vec!["Thôn Đông".to_string()]
        } else {
            device
        }
    };
    let records = gocua_village_gen::generate(seed, &villages, households);
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for r in &records {
        // Into io::Error keeps a closed pipe recognizable.
        serde_json::to_writer(&mut stdout, r).map_err(|e| CliError::Output(e.into()))?;
        stdout.write_all(b"\n").map_err(CliError::Output)?;
    }
    stdout.flush().map_err(CliError::Output)
}
