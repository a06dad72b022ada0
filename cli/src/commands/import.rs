//! `gocua household import|generate`: JSON Lines of generated households.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use gocua_village_gen::HouseholdRecord;

use super::Ctx;
use crate::error::CliError;
use crate::i18n;

/// Imports every line of `path`, printing (and flushing) each household id as
/// soon as it is stored, so that whoever stops the import knows what is in.
pub fn import(ctx: &Ctx, path: &Path) -> Result<(), CliError> {
    let file = std::fs::File::open(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let store = ctx.store()?;
    let lang = ctx.lang();
    let mut count = 0usize;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let at_line = |error: CliError| CliError::Line {
            path: path.to_path_buf(),
            line: n,
            error: Box::new(error),
        };
        let line = line.map_err(|source| {
            at_line(CliError::Read {
                path: path.to_path_buf(),
                source,
            })
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: HouseholdRecord = serde_json::from_str(&line).map_err(|e| {
            at_line(CliError::BadFile {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        })?;
        let id = gocua_village_gen::write_record(&store, &record)
            .map_err(|e| at_line(CliError::Core(e)))?;
        tracing::debug!(line = n, %id, "household imported");
        count += 1;
        if ctx.out.json {
            ctx.out
                .json_value(&serde_json::json!({ "household_id": id }))?;
        } else {
            ctx.out.line(&i18n::imported_household(lang, n, &id))?;
        }
    }
    if !ctx.out.json {
        ctx.out.line(&i18n::import_done(lang, count))?;
    }
    Ok(())
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
        serde_json::to_writer(&mut stdout, r)
            .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        stdout.write_all(b"\n").map_err(CliError::Output)?;
    }
    stdout.flush().map_err(CliError::Output)
}
