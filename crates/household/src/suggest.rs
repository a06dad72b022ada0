//! The services worth offering a household next, from rules that are data.
//!
//! The domain's advice (traders → payments and e-commerce; school children →
//! school fees and public services; the elderly → telemedicine and the e-health
//! book; nobody left without VNeID) changes by province and by year, so it is a
//! list of rules in the catalogue (`suggestions` in `fixtures/catalogue.json`),
//! never code: a province adds a rule as a row, without a new build.
//!
//! A rule says when it applies (every condition given must hold) and which
//! services it suggests; a service the household already got with outcome
//! `done` is never suggested again. Pure: the caller gathers the household's
//! facts and says which year ages are counted in.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{DeviceAccess, SKILL_FLAGS, Skills};

/// The outcome that settles a service for good.
pub const DONE: &str = "done";

/// One rule: when it applies and what it suggests, with the reason shown to
/// the volunteer in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestionRule {
    /// A stable name, unique among the rules (`school_age`).
    pub code: String,
    #[serde(default)]
    pub when: When,
    /// Service codes of the catalogue, in the order they are offered.
    pub services: Vec<String>,
    pub reason_vi: String,
    pub reason_en: String,
}

/// The conditions of a rule; all of those given must hold, and a rule with
/// none applies to every household. Unknown keys are refused: a misspelt
/// condition must not silently widen a rule to everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The household is in this target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// The household's phones (`smartphone`, `feature_phone_only`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_access: Option<String>,
    /// At least one member matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<MemberCondition>,
}

/// What one member must be; all of those given must hold for the same member.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberCondition {
    /// Age from, by birth year (a member without one never matches an age).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_min: Option<i64>,
    /// Age up to, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_max: Option<i64>,
    /// A skill flag (`vneid_activated`, `bank_account`...) that is false or
    /// not asked yet: "not known to have it" is worth a question at the door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lacks: Option<String>,
}

/// What the rules look at in a household: its counted members and the
/// services it already got done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HouseholdFacts {
    pub target_groups: Vec<String>,
    pub device_access: Option<String>,
    pub members: Vec<MemberFacts>,
    /// Services of the household's counted visits with outcome `done`.
    pub services_done: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFacts {
    pub birth_year: Option<i64>,
    pub skills: Skills,
}

/// A service worth offering, with every rule that suggests it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub service: String,
    pub reasons: Vec<SuggestionReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionReason {
    /// The rule's code.
    pub rule: String,
    pub reason_vi: String,
    pub reason_en: String,
}

impl MemberCondition {
    fn matches(&self, m: &MemberFacts, year: i64) -> bool {
        if self.age_min.is_some() || self.age_max.is_some() {
            let Some(born) = m.birth_year else {
                return false;
            };
            let age = year - born;
            if self.age_min.is_some_and(|min| age < min)
                || self.age_max.is_some_and(|max| age > max)
            {
                return false;
            }
        }
        match &self.lacks {
            Some(flag) => m.skills.flag(flag) != Some(true),
            None => true,
        }
    }
}

impl When {
    fn matches(&self, h: &HouseholdFacts, year: i64) -> bool {
        self.target_group
            .as_ref()
            .is_none_or(|g| h.target_groups.contains(g))
            && self
                .device_access
                .as_ref()
                .is_none_or(|d| h.device_access.as_ref() == Some(d))
            && self
                .member
                .as_ref()
                .is_none_or(|c| h.members.iter().any(|m| c.matches(m, year)))
    }
}

/// The services worth offering `h`, in the order of the first rule that
/// suggests each; `year` is the year ages are counted in (today's, in Vietnam).
pub fn suggest(rules: &[SuggestionRule], h: &HouseholdFacts, year: i64) -> Vec<Suggestion> {
    let mut out: Vec<Suggestion> = Vec::new();
    for rule in rules.iter().filter(|r| r.when.matches(h, year)) {
        for service in &rule.services {
            if h.services_done.contains(service) {
                continue;
            }
            let reason = SuggestionReason {
                rule: rule.code.clone(),
                reason_vi: rule.reason_vi.clone(),
                reason_en: rule.reason_en.clone(),
            };
            match out.iter_mut().find(|s| &s.service == service) {
                Some(s) => {
                    if !s.reasons.iter().any(|r| r.rule == rule.code) {
                        s.reasons.push(reason);
                    }
                }
                None => out.push(Suggestion {
                    service: service.clone(),
                    reasons: vec![reason],
                }),
            }
        }
    }
    out
}

/// What is wrong with a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error("has no code")]
    NoCode,
    #[error("has the code of an earlier rule")]
    DuplicateCode,
    #[error("suggests no service")]
    NoServices,
    #[error("has no reason in Vietnamese or in English")]
    NoReason,
    #[error("names the service {0:?}, which is not in the catalogue")]
    UnknownService(String),
    #[error("names the target group {0:?}, which is not in the catalogue")]
    UnknownTargetGroup(String),
    #[error("names the skill {0:?}, which is not a member's skill flag")]
    UnknownSkill(String),
    #[error("names the devices {0:?}, which are not smartphone, feature_phone_only or none")]
    UnknownDeviceAccess(String),
    #[error("has ages from {min} to {max}; ages run from 0 to 150, the first not above the second")]
    BadAges { min: i64, max: i64 },
}

/// A rule that cannot be used, by its code (or its position, from 1, when it
/// has none).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("suggestion rule {rule}: {problem}")]
pub struct RuleError {
    pub rule: String,
    pub problem: RuleProblem,
}

/// Checks rules against a catalogue: `known(kind, code)` says whether the
/// catalogue `kind` (`service`, `target_group`) has `code`.
pub fn check_rules(
    rules: &[SuggestionRule],
    known: impl Fn(&str, &str) -> bool,
) -> Result<(), RuleError> {
    let mut codes = BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let name = if r.code.trim().is_empty() {
            (i + 1).to_string()
        } else {
            r.code.clone()
        };
        let fail = |problem| {
            Err(RuleError {
                rule: name.clone(),
                problem,
            })
        };
        if r.code.trim().is_empty() {
            return fail(RuleProblem::NoCode);
        }
        if !codes.insert(r.code.as_str()) {
            return fail(RuleProblem::DuplicateCode);
        }
        if r.services.is_empty() {
            return fail(RuleProblem::NoServices);
        }
        if r.reason_vi.trim().is_empty() || r.reason_en.trim().is_empty() {
            return fail(RuleProblem::NoReason);
        }
        if let Some(s) = r
            .services
            .iter()
            .find(|s| !known(crate::catalogue::SERVICE, s))
        {
            return fail(RuleProblem::UnknownService(s.clone()));
        }
        if let Some(g) = &r.when.target_group
            && !known(crate::catalogue::TARGET_GROUP, g)
        {
            return fail(RuleProblem::UnknownTargetGroup(g.clone()));
        }
        if let Some(d) = &r.when.device_access
            && DeviceAccess::parse(d).is_none()
        {
            return fail(RuleProblem::UnknownDeviceAccess(d.clone()));
        }
        if let Some(m) = &r.when.member {
            if let Some(flag) = &m.lacks
                && !SKILL_FLAGS.contains(&flag.as_str())
            {
                return fail(RuleProblem::UnknownSkill(flag.clone()));
            }
            let min = m.age_min.unwrap_or(0);
            let max = m.age_max.unwrap_or(150);
            if !(0..=150).contains(&min) || !(0..=150).contains(&max) || min > max {
                return fail(RuleProblem::BadAges { min, max });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::catalogue::Catalogue;

    fn rules() -> Vec<SuggestionRule> {
        Catalogue::default_entries().unwrap().suggestions
    }

    fn services(s: &[Suggestion]) -> Vec<&str> {
        s.iter().map(|x| x.service.as_str()).collect()
    }

    fn member(birth_year: Option<i64>, vneid_activated: Option<bool>) -> MemberFacts {
        MemberFacts {
            birth_year,
            skills: Skills {
                vneid_activated,
                ..Skills::default()
            },
        }
    }

    #[test]
    fn the_default_rules_use_the_default_catalogue() {
        let c = Catalogue::default_entries().unwrap();
        let known = |kind: &str, code: &str| {
            c.kinds()
                .iter()
                .any(|(k, entries)| *k == kind && entries.iter().any(|e| e.code == code))
        };
        check_rules(&c.suggestions, known).unwrap();
        assert!(c.suggestions.len() >= 6);
    }

    #[test]
    fn a_household_with_nothing_known_gets_nothing() {
        assert!(suggest(&rules(), &HouseholdFacts::default(), 2026).is_empty());
    }

    #[test]
    fn traders_get_payments_and_e_commerce() {
        let h = HouseholdFacts {
            target_groups: vec!["small_trader".into()],
            ..HouseholdFacts::default()
        };
        let s = suggest(&rules(), &h, 2026);
        assert_eq!(services(&s), ["bank_account", "ecommerce"]);
        assert_eq!(s[0].reasons[0].rule, "small_trader");
    }

    #[test]
    fn school_age_is_6_to_18_by_birth_year() {
        let rules = rules();
        let with = |born: i64| HouseholdFacts {
            members: vec![member(Some(born), Some(true))],
            ..HouseholdFacts::default()
        };
        for born in [2008, 2014, 2020] {
            let s = suggest(&rules, &with(born), 2026);
            assert!(
                services(&s).contains(&"cashless_school_fees"),
                "born {born}: {s:?}"
            );
            assert!(services(&s).contains(&"public_service_portal"));
        }
        for born in [2007, 2021] {
            let s = suggest(&rules, &with(born), 2026);
            assert!(
                !services(&s).contains(&"cashless_school_fees"),
                "born {born}: {s:?}"
            );
        }
        // A member without a birth year is no age at all.
        let unknown = HouseholdFacts {
            members: vec![member(None, Some(true))],
            ..HouseholdFacts::default()
        };
        assert!(suggest(&rules, &unknown, 2026).is_empty());
    }

    #[test]
    fn the_elderly_by_age_or_by_group_get_health_services_once_with_both_reasons() {
        let h = HouseholdFacts {
            target_groups: vec!["elderly".into()],
            members: vec![member(Some(1966), Some(true))],
            ..HouseholdFacts::default()
        };
        let s = suggest(&rules(), &h, 2026);
        assert_eq!(services(&s), ["telemedicine", "ehealth_book"]);
        let why: Vec<&str> = s[0].reasons.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(why, ["elderly_member", "elderly"]);
        // 59 this year: not yet.
        let young = HouseholdFacts {
            members: vec![member(Some(1967), Some(true))],
            ..HouseholdFacts::default()
        };
        assert!(suggest(&rules(), &young, 2026).is_empty());
    }

    #[test]
    fn vneid_for_anyone_not_known_to_have_it_activated() {
        let rules = rules();
        for flag in [None, Some(false)] {
            let h = HouseholdFacts {
                members: vec![member(Some(1990), Some(true)), member(Some(1985), flag)],
                ..HouseholdFacts::default()
            };
            assert_eq!(services(&suggest(&rules, &h, 2026)), ["vneid_activate"]);
        }
        let all = HouseholdFacts {
            members: vec![member(Some(1990), Some(true))],
            ..HouseholdFacts::default()
        };
        assert!(suggest(&rules, &all, 2026).is_empty());
    }

    #[test]
    fn a_service_done_is_not_suggested_again() {
        let mut h = HouseholdFacts {
            target_groups: vec!["small_trader".into()],
            members: vec![member(Some(1990), None)],
            ..HouseholdFacts::default()
        };
        h.services_done.insert("ecommerce".into());
        h.services_done.insert("vneid_activate".into());
        assert_eq!(services(&suggest(&rules(), &h, 2026)), ["bank_account"]);
    }

    #[test]
    fn conditions_of_one_member_hold_for_the_same_member() {
        let rule = SuggestionRule {
            code: "adult_without_bank".into(),
            when: When {
                member: Some(MemberCondition {
                    age_min: Some(18),
                    age_max: None,
                    lacks: Some("bank_account".into()),
                }),
                ..When::default()
            },
            services: vec!["bank_account".into()],
            reason_vi: "Người lớn chưa có tài khoản".into(),
            reason_en: "An adult without an account".into(),
        };
        let child_without = MemberFacts {
            birth_year: Some(2015),
            skills: Skills::default(),
        };
        let adult_with = MemberFacts {
            birth_year: Some(1980),
            skills: Skills {
                bank_account: Some(true),
                ..Skills::default()
            },
        };
        let h = HouseholdFacts {
            members: vec![child_without, adult_with],
            ..HouseholdFacts::default()
        };
        assert!(suggest(std::slice::from_ref(&rule), &h, 2026).is_empty());
    }

    #[test]
    fn rules_are_read_strictly_and_checked() {
        // A misspelt condition is refused, not read as "no condition".
        let misspelt = r#"{"code":"x","when":{"target_groupz":"poor"},"services":["basic_skills"],"reason_vi":"a","reason_en":"a"}"#;
        assert!(serde_json::from_str::<SuggestionRule>(misspelt).is_err());

        let base: SuggestionRule = serde_json::from_str(
            r#"{"code":"x","when":{"member":{"age_min":60}},"services":["telemedicine"],"reason_vi":"a","reason_en":"a"}"#,
        )
        .unwrap();
        let known = |kind: &str, code: &str| match kind {
            "service" => code == "telemedicine",
            _ => code == "poor",
        };
        check_rules(std::slice::from_ref(&base), known).unwrap();
        let bad = |f: &dyn Fn(&mut SuggestionRule)| {
            let mut r = base.clone();
            f(&mut r);
            check_rules(&[r], known).unwrap_err().problem
        };
        assert_eq!(
            bad(&|r| r.services = vec!["teleporting".into()]),
            RuleProblem::UnknownService("teleporting".into())
        );
        assert_eq!(
            bad(&|r| r.when.target_group = Some("rich".into())),
            RuleProblem::UnknownTargetGroup("rich".into())
        );
        assert_eq!(
            bad(&|r| r.when.device_access = Some("tablet".into())),
            RuleProblem::UnknownDeviceAccess("tablet".into())
        );
        assert_eq!(
            bad(&|r| r.when.member = Some(MemberCondition {
                lacks: Some("flying".into()),
                ..MemberCondition::default()
            })),
            RuleProblem::UnknownSkill("flying".into())
        );
        assert_eq!(
            bad(&|r| r.when.member = Some(MemberCondition {
                age_min: Some(19),
                age_max: Some(6),
                ..MemberCondition::default()
            })),
            RuleProblem::BadAges { min: 19, max: 6 }
        );
        assert_eq!(bad(&|r| r.services.clear()), RuleProblem::NoServices);
        assert_eq!(bad(&|r| r.reason_en.clear()), RuleProblem::NoReason);
        assert_eq!(bad(&|r| r.code = " ".into()), RuleProblem::NoCode);
        let twice = check_rules(&[base.clone(), base.clone()], known).unwrap_err();
        assert_eq!(twice.problem, RuleProblem::DuplicateCode);
        assert_eq!(twice.rule, "x");
    }
}
