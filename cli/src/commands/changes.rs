//! `gocua changes export|import|heads|quarantined|refused|fix|discard`: two
//! stores merge through files; received changes that could not be applied,
//! and this device's changes the server refused, are listed and dealt with.

use field_core::DocHeads;

use super::{Ctx, read_file, write_file};
use crate::args::ChangesCmd;
use crate::error::CliError;
use crate::i18n::{self, T};
use crate::output::{local_time, short, table};

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
                let mut lines = vec![i18n::changes_imported(
                    lang,
                    r.documents,
                    r.changes_applied,
                    r.changes_known,
                    r.conflicts,
                )];
                if r.actor_renewed || r.reissued > 0 {
                    lines.push(i18n::store_copy_recognized(lang, r.reissued));
                }
                if r.quarantined > 0 {
                    lines.push(i18n::changes_quarantined(lang, r.quarantined));
                }
                if r.waiting > 0 {
                    lines.push(i18n::changes_waiting(lang, r.waiting));
                }
                lines
            })
        }
        ChangesCmd::Quarantined => {
            let list = store.quarantined()?;
            ctx.out.emit(&list, || {
                if list.is_empty() {
                    return vec![i18n::t(lang, T::NoQuarantined).to_string()];
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|q| {
                        vec![
                            short(&q.doc_id).to_string(),
                            q.hash.chars().take(12).collect(),
                            local_time(&q.received_at),
                            i18n::origin(lang, &q.origin),
                            q.reason.clone(),
                        ]
                    })
                    .collect();
                let l = |t: T| i18n::t(lang, t);
                table(
                    &[
                        l(T::Household),
                        l(T::Change),
                        l(T::When),
                        l(T::ReceivedFrom),
                        l(T::Reason),
                    ],
                    &rows,
                )
            })
        }
        ChangesCmd::Refused => {
            let list = store.refused()?;
            ctx.out.emit(&list, || {
                if list.is_empty() {
                    return vec![i18n::t(lang, T::NoRefused).to_string()];
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|r| {
                        vec![
                            short(&r.household_id).to_string(),
                            r.head_name.clone().unwrap_or_default(),
                            r.changes.to_string(),
                            i18n::server::refusal(lang, &r.code),
                        ]
                    })
                    .collect();
                let l = |t: T| i18n::t(lang, t);
                let mut lines = table(
                    &[l(T::Household), l(T::Head), l(T::Changes), l(T::Reason)],
                    &rows,
                );
                lines.push(String::new());
                lines.push(l(T::RefusedHelp).to_string());
                lines
            })
        }
        ChangesCmd::Fix { household, village } => {
            let h = store.fix_refused(&household, &village)?;
            ctx.out.emit(&h, || {
                vec![i18n::refused_fixed(lang, short(&h.id), &h.head_name)]
            })
        }
        ChangesCmd::Discard { household, confirm } => {
            if !confirm {
                return Err(CliError::NeedsConfirm);
            }
            let d = store.discard_refused(&household)?;
            ctx.out.emit(&d, || {
                vec![i18n::refused_discarded(
                    lang,
                    short(&d.household_id),
                    d.changes,
                    d.household.is_some(),
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
