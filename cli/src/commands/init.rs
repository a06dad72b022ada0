//! `gocua init`: who records on this device, for which commune and villages.

use field_core::InitRequest;

use super::Ctx;
use crate::args::InitArgs;
use crate::error::CliError;
use crate::i18n::{self, T};

pub fn run(ctx: &Ctx, a: InitArgs) -> Result<(), CliError> {
    let store = ctx.store()?;
    let identity = store.init(InitRequest {
        volunteer_name: a.volunteer,
        volunteer_phone: a.phone,
        team_name: a.team,
        commune_code: a.commune,
        village_names: a.villages,
    })?;
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
