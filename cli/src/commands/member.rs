//! `gocua member add|edit|remove`.

use field_core::{NewPerson, PersonEdit, SkillsEdit};

use super::Ctx;
use crate::args::{MemberCmd, PersonArgs};
use crate::error::CliError;
use crate::i18n;
use crate::output::short;

fn skills(p: &PersonArgs) -> SkillsEdit {
    SkillsEdit {
        vneid_level: p.vneid.clone(),
        vneid_activated: p.vneid_activated,
        bank_account: p.bank_account,
        public_service_account: p.public_service_account,
        ehealth_book: p.ehealth_book,
        digital_signature: p.digital_signature,
        basic_skills_certified: p.basic_skills,
    }
}

pub fn run(ctx: &Ctx, cmd: MemberCmd) -> Result<(), CliError> {
    let store = ctx.store()?;
    let person = match cmd {
        MemberCmd::Remove(c) => {
            let p = if c.undo {
                store.restore_member(&c.id)?
            } else {
                store.remove_member(&c.id, c.reason)?
            };
            return ctx.out.emit(&p, || {
                vec![i18n::member_removed(
                    ctx.lang(),
                    short(&p.id),
                    &p.name,
                    p.removed.is_some(),
                )]
            });
        }
        MemberCmd::Add {
            household,
            name,
            person,
        } => store.add_member(
            &household,
            NewPerson {
                name,
                birth_year: person.birth_year,
                gender: person.gender.clone(),
                id_number: person.id_number.clone(),
                skills: skills(&person),
            },
        )?,
        MemberCmd::Edit {
            member,
            name,
            person,
        } => store.edit_member(
            &member,
            PersonEdit {
                name,
                birth_year: person.birth_year,
                gender: person.gender.clone(),
                id_number: person.id_number.clone(),
                skills: skills(&person),
            },
        )?,
    };
    ctx.out.emit(&person, || {
        vec![i18n::member_saved(
            ctx.lang(),
            short(&person.id),
            &person.name,
        )]
    })
}
