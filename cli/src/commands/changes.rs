//! `gocua changes export|import|heads`: two stores merge through files.

use field_core::DocHeads;

use super::{Ctx, read_file, write_file};
use crate::args::ChangesCmd;
use crate::error::CliError;
use crate::i18n;

pub fn run(ctx: &Ctx, cmd: ChangesCmd) -> Result<(), CliError> {
    let store = ctx.store()?;
    let lang = ctx.lang();
    match cmd {
        ChangesCmd::Export { out, peer_heads } => {
            let peer: Option<Vec<DocHeads>> = match peer_heads {
                Some(p) => {
                    let bytes = read_file(&p)?;
                    Some(
                        serde_json::from_slice(&bytes).map_err(|e| CliError::BadFile {
                            path: p.clone(),
                            message: e.to_string(),
                        })?,
                    )
                }
                None => None,
            };
            let bytes = store.export_changes(peer.as_deref())?;
            write_file(&out, &bytes)?;
            let path = out.display().to_string();
            ctx.out.emit(
                &serde_json::json!({ "file": path, "bytes": bytes.len() }),
                || vec![i18n::changes_exported(lang, bytes.len(), &path)],
            )
        }
        ChangesCmd::Import { file } => {
            let bytes = read_file(&file)?;
            let r = store.import_changes(&bytes)?;
            ctx.out.emit(&r, || {
                vec![i18n::changes_imported(
                    lang,
                    r.documents,
                    r.changes_applied,
                    r.changes_known,
                    r.conflicts,
                )]
            })
        }
        ChangesCmd::Heads { out } => {
            let heads = store.doc_heads()?;
            let text = serde_json::to_vec(&heads).map_err(|e| CliError::Write {
                path: out.clone(),
                source: std::io::Error::other(e),
            })?;
            write_file(&out, &text)?;
            let path = out.display().to_string();
            ctx.out.emit(
                &serde_json::json!({ "file": path, "documents": heads.len() }),
                || vec![i18n::heads_written(lang, heads.len(), &path)],
            )
        }
    }
}
