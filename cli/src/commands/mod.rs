//! One module per command group; `run` dispatches.

mod catalogue;
mod changes;
mod conflicts;
mod consent;
mod demo;
mod duplicates;
mod export;
mod household;
mod import;
mod init;
mod member;
mod report;
mod status;
mod sync;
mod visit;
mod work;

use std::path::{Path, PathBuf};

use field_core::{CatalogueEntry, Store};

use crate::args::{Cli, Command, PassphraseCmd};
use crate::error::CliError;
use crate::i18n::Lang;
use crate::output::Out;

/// What every command gets: how to print and where the data is.
#[derive(Debug)]
pub struct Ctx {
    pub out: Out,
    pub data_dir: PathBuf,
}

impl Ctx {
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("store.sqlite")
    }

    /// Opens (creating when needed) the store.
    pub fn store(&self) -> Result<Store, CliError> {
        let path = self.store_path();
        // Asked before anything is created, so a refused passphrase leaves nothing.
        let key = crate::passphrase::store_key(&path, self.out.lang)?;
        std::fs::create_dir_all(&self.data_dir).map_err(|source| CliError::Write {
            path: self.data_dir.clone(),
            source,
        })?;
        tracing::debug!(path = %path.display(), "opening store");
        Ok(Store::open(&path, &key)?)
    }

    /// Opens the store only when its file exists already.
    pub fn existing_store(&self) -> Result<Option<Store>, CliError> {
        if self.store_path().exists() {
            self.store().map(Some)
        } else {
            Ok(None)
        }
    }

    pub fn lang(&self) -> Lang {
        self.out.lang
    }
}

pub fn run(cli: Cli, out: Out) -> Result<(), CliError> {
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => dirs::data_dir()
            .map(|d| d.join("gocua"))
            .ok_or(CliError::NoDataDir)?,
    };
    let ctx = Ctx { out, data_dir };
    match cli.command {
        Command::Init(a) => init::run(&ctx, a),
        Command::Household(c) => household::run(&ctx, c),
        Command::Member(c) => member::run(&ctx, c),
        Command::Visit(c) => visit::run(&ctx, c),
        Command::Consent(c) => consent::run(&ctx, c),
        Command::Conflicts { action } => conflicts::run(&ctx, action),
        Command::Status => status::run(&ctx),
        Command::Catalogue {
            kind,
            query,
            load_suggestions,
        } => catalogue::run(&ctx, kind, &query, load_suggestions),
        Command::Changes(c) => changes::run(&ctx, c),
        Command::Enroll {
            server,
            code,
            device_name,
            again,
        } => sync::enroll(&ctx, &server, &code, device_name, again),
        Command::Sync => sync::run(&ctx),
        Command::Report(a) => report::run(&ctx, a),
        Command::Todo(a) => work::todo(&ctx, a),
        Command::Summary(a) => work::summary(&ctx, a),
        Command::Export(a) => export::run(&ctx, a),
        Command::Demo { keep, server_bin } => demo::run(ctx.out, keep, server_bin),
        Command::Duplicates { village } => duplicates::run(&ctx, village.as_deref()),
        Command::Passphrase(PassphraseCmd::Change) => crate::passphrase::change(&ctx),
        Command::Rebuild => {
            let store = ctx.store()?;
            let n = store.rebuild_projection()?;
            ctx.out.emit(&serde_json::json!({ "documents": n }), || {
                vec![crate::i18n::rebuilt(ctx.lang(), n)]
            })
        }
    }
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that a
/// reader never sees half a file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let err = |source| CliError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Catalogue names in the language, by code.
#[derive(Debug, Default)]
pub struct Names {
    entries: Vec<(String, String, String)>,
}

impl Names {
    pub fn load(store: &Store, kinds: &[&str]) -> Result<Names, CliError> {
        let mut entries = Vec::new();
        for kind in kinds {
            for CatalogueEntry {
                code,
                name_vi,
                name_en,
            } in store.catalogue(kind)?
            {
                entries.push((format!("{kind}:{code}"), name_vi, name_en));
            }
        }
        Ok(Names { entries })
    }

    /// The name of `code` in catalogue `kind`, or the code itself.
    pub fn name(&self, lang: Lang, kind: &str, code: &str) -> String {
        let key = format!("{kind}:{code}");
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, vi, en)| match lang {
                Lang::Vi => vi.clone(),
                Lang::En => en.clone(),
            })
            .unwrap_or_else(|| code.to_string())
    }
}
