//! `gocua consent record|withdraw`.

use field_core::NewConsent;

use super::Ctx;
use crate::args::ConsentCmd;
use crate::error::CliError;
use crate::i18n;
use crate::output::short;

pub fn run(ctx: &Ctx, cmd: ConsentCmd) -> Result<(), CliError> {
    let store = ctx.store()?;
    let lang = ctx.lang();
    match cmd {
        ConsentCmd::Record {
            household,
            person,
            purpose,
            method,
            at,
        } => {
            let c = store.record_consent(
                &household,
                NewConsent {
                    person_id: person,
                    purpose,
                    method,
                    given_at: at,
                },
            )?;
            ctx.out
                .emit(&c, || vec![i18n::consent_recorded(lang, short(&c.id))])
        }
        ConsentCmd::Withdraw { consent, reason } => {
            let c = store.withdraw_consent(&consent, reason)?;
            ctx.out
                .emit(&c, || vec![i18n::consent_withdrawn(lang, short(&c.id))])
        }
    }
}
