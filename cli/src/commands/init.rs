//! `gocua init`: who records on this device, for which commune and villages.

use field_core::InitRequest;

use super::Ctx;
use crate::args::InitArgs;
use crate::error::CliError;
use crate::i18n::{self, T};

pub fn run(ctx: &Ctx, a: InitArgs) -> Result<(), CliError> {
    if let Some(e) = legacy_commune(&a.commune)? {
        return Err(e);
    }
    let path = ctx.store_path();
    let store_existed = path.exists();
    let dir_existed = ctx.data_dir.exists();
    let result = ctx.store().and_then(|store| {
        Ok(store.init(InitRequest {
            volunteer_name: a.volunteer,
            volunteer_phone: a.phone,
            team_name: a.team,
            commune_code: a.commune,
            village_names: a.villages,
        })?)
    });
    let identity = match result {
        Ok(i) => i,
        Err(e) => {
            // A refused init leaves no half-made store behind: the next
            // `init`, with the input fixed, starts from nothing.
            if !store_existed {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
                if !dir_existed {
                    let _ = std::fs::remove_dir(&ctx.data_dir);
                }
            }
            return Err(e);
        }
    };
    let lang = ctx.lang();
    ctx.out.emit(&identity, || {
        let villages: Vec<&str> = identity.villages.iter().map(|v| v.name.as_str()).collect();
        vec![
            i18n::initialized(
                lang,
                &identity.volunteer_name,
                &identity.team_name,
                &identity.commune_name,
                &identity.province_name,
            ),
            format!("{}: {}", i18n::t(lang, T::Villages), villages.join(", ")),
        ]
    })
}

/// The refusal of a commune code that is not in force but was before the 2025
/// reform, naming the communes in force that took it over.
fn legacy_commune(code: &str) -> Result<Option<CliError>, CliError> {
    let code = code.trim();
    let reference =
        |e: gocua_admin_units::Error| CliError::Core(field_core::Error::Reference(e.to_string()));
    if gocua_admin_units::current()
        .map_err(reference)?
        .iter()
        .any(|c| c.code == code)
    {
        return Ok(None);
    }
    let legacy = gocua_admin_units::legacy().map_err(reference)?;
    let Some(old) = legacy.iter().find(|c| c.code == code) else {
        return Ok(None);
    };
    let current = gocua_admin_units::current().map_err(reference)?;
    let mut successions: Vec<_> = gocua_admin_units::successions()
        .map_err(reference)?
        .into_iter()
        .filter(|s| s.legacy_commune_code == code)
        .collect();
    // The commune most of it went to first.
    successions.sort_by_key(|s| !s.is_default);
    let mut successors: Vec<(String, String, String)> = Vec::new();
    for s in successions {
        if successors.iter().any(|(c, _, _)| *c == s.commune_code) {
            continue;
        }
        let province = current
            .iter()
            .find(|c| c.code == s.commune_code)
            .map(|c| c.province_name.clone())
            .unwrap_or_default();
        successors.push((s.commune_code, s.commune_name, province));
    }
    Ok(Some(CliError::LegacyCommune {
        code: code.to_string(),
        name: format!("{}, {}, {}", old.name, old.district_name, old.province_name),
        successors,
    }))
}
