//! Duplicate households merged (docs/data-model.md, "Merged households").
//!
//! A merge writes one thing: in the absorbed household's document, a map
//! `merged_into` naming the household that keeps it, who merged and when,
//! and which of its members are the same people as members there. Nothing is
//! copied: every record stays in the document it was written in, so an edit
//! made offline to the absorbed household still lands, and undoing the merge
//! is deleting that map.
//!
//! What a merge means is computed on reading, from the documents alone and
//! the same way on every device and on the server: [`roots`] resolves the
//! redirects (chains, cycles and merges made concurrently on two devices) to
//! the household each one counts under, and [`compose`] makes that household
//! out of its own document and those of the households merged into it. Two
//! replicas holding the same documents therefore agree, whatever order the
//! merges were made or received in.

use std::collections::{BTreeMap, HashMap};

use crate::invalid::Problem;
use crate::model::{Household, HouseholdProblem, Person, SKILL_FLAGS};
use crate::problems::{self, ConsentState, Problems};
use crate::schema::{CONSENTS, VISITS};

/// A household's own merge mark: the household it was merged into.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Merge {
    /// The household that keeps this one's records.
    pub into: String,
    pub at: String,
    pub by: String,
    /// This household's members that are the same people as members of
    /// `into`: member id here to member id there.
    #[serde(default)]
    pub members: BTreeMap<String, String>,
}

/// A household merged into another, as the one that keeps it shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Absorbed {
    pub id: String,
    pub head_name: String,
    pub address: String,
    /// When and by whom it was merged (its own mark).
    pub at: String,
    pub by: String,
    /// Its members shown as the same person of the household that counts:
    /// (its member id, the member id shown).
    #[serde(default)]
    pub same_people: Vec<(String, String)>,
}

/// What [`roots`] needs of a household.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub id: &'a str,
    pub village_id: &'a str,
    pub into: Option<&'a str>,
    pub in_error: bool,
}

impl<'a> Node<'a> {
    pub fn of(h: &'a Household) -> Node<'a> {
        Node {
            id: &h.id,
            village_id: &h.village_id,
            into: h.merged.as_ref().map(|m| m.into.as_str()),
            in_error: h.in_error.is_some(),
        }
    }
}

/// The household each of `nodes` counts under: itself, or the end of its
/// chain of merges. A merge counts only between two households of the same
/// village, both known and neither marked in error; any other mark is kept
/// in the document and ignored (the household stands alone). A cycle (A into
/// B on one device, B into A on another) ends at its smallest id, whose own
/// mark is ignored: every replica breaks it at the same place.
pub fn roots(nodes: &[Node<'_>]) -> HashMap<String, String> {
    let by_id: HashMap<&str, &Node<'_>> = nodes.iter().map(|n| (n.id, n)).collect();
    let next = |id: &str| -> Option<&str> {
        let n = by_id.get(id)?;
        let into = n.into?;
        let t = by_id.get(into)?;
        (into != n.id && !n.in_error && !t.in_error && t.village_id == n.village_id).then_some(t.id)
    };
    let mut root: HashMap<String, String> = HashMap::with_capacity(nodes.len());
    for n in nodes {
        if root.contains_key(n.id) {
            continue;
        }
        let mut path: Vec<&str> = vec![n.id];
        let end = loop {
            let Some(last) = path.last().copied() else {
                break n.id.to_string();
            };
            if let Some(r) = root.get(last) {
                break r.clone();
            }
            match next(last) {
                None => break last.to_string(),
                Some(t) => {
                    if let Some(at) = path.iter().position(|p| *p == t) {
                        // A cycle: it ends at its smallest id.
                        let smallest = path[at..].iter().min().copied().unwrap_or(t);
                        break smallest.to_string();
                    }
                    path.push(t);
                }
            }
        };
        for p in path {
            root.insert(p.to_string(), end.clone());
        }
    }
    root
}

/// The ids of the households merged into `root_id`, by `roots`' answer.
pub fn absorbed_into<'a>(roots: &'a HashMap<String, String>, root_id: &str) -> Vec<&'a str> {
    let mut ids: Vec<&str> = roots
        .iter()
        .filter(|(id, r)| r.as_str() == root_id && id.as_str() != root_id)
        .map(|(id, _)| id.as_str())
        .collect();
    ids.sort_unstable();
    ids
}

/// Household `root` as it counts once the households of `absorbed` (merged
/// into it, directly or by a chain) are part of it: its own fields, everyone's
/// members, visits and consent records. A member marked at merge as the same
/// person as one there is shown once, as that one, with what only the
/// absorbed record knew filled in; visits and consents that name it name
/// that one. Records keep their ids. The problems are everyone's, with the
/// references (a visit's people and consent, a consent's person) checked
/// again across the whole.
pub fn compose(root: &Household, absorbed: &[&Household]) -> Household {
    if absorbed.is_empty() {
        return root.clone();
    }
    let mut parts: Vec<&Household> = absorbed.to_vec();
    parts.sort_by(|a, b| a.id.cmp(&b.id));
    let mut h = root.clone();
    h.absorbed = parts
        .iter()
        .map(|p| Absorbed {
            id: p.id.clone(),
            head_name: p.head_name.clone(),
            address: p.address.clone(),
            at: p.merged.as_ref().map(|m| m.at.clone()).unwrap_or_default(),
            by: p.merged.as_ref().map(|m| m.by.clone()).unwrap_or_default(),
            same_people: Vec::new(),
        })
        .collect();
    for part in &parts {
        h.members.extend(part.members.iter().cloned());
        h.visits.extend(part.visits.iter().cloned());
        h.consents.extend(part.consents.iter().cloned());
        h.conflicts.extend(part.conflicts.iter().cloned());
        h.problems.extend(part.problems.iter().cloned());
    }
    // Same-person marks, followed to the member that stays.
    let marks: HashMap<&str, &str> = parts
        .iter()
        .filter_map(|p| p.merged.as_ref())
        .flat_map(|m| m.members.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        .collect();
    let present: std::collections::HashSet<String> =
        h.members.iter().map(|m| m.id.clone()).collect();
    let mut same: HashMap<String, String> = HashMap::new();
    for start in marks.keys() {
        let mut at = *start;
        let mut steps = 0;
        while let Some(t) = marks.get(at) {
            at = t;
            steps += 1;
            if steps > marks.len() {
                break;
            }
        }
        if at != *start && present.contains(at) && !marks.contains_key(at) {
            same.insert(start.to_string(), at.to_string());
        }
    }
    for a in &mut h.absorbed {
        if let Some(part) = parts.iter().find(|p| p.id == a.id) {
            a.same_people = part
                .members
                .iter()
                .filter_map(|m| Some((m.id.clone(), same.get(&m.id)?.clone())))
                .collect();
        }
    }
    if !same.is_empty() {
        let (gone, mut kept): (Vec<Person>, Vec<Person>) =
            h.members.drain(..).partition(|m| same.contains_key(&m.id));
        for g in gone {
            if let Some(k) = same
                .get(&g.id)
                .and_then(|t| kept.iter_mut().find(|m| &m.id == t))
            {
                fill_in(k, &g);
            }
        }
        h.members = kept;
        let map = |id: &mut String| {
            if let Some(t) = same.get(id.as_str()) {
                *id = t.clone();
            }
        };
        for v in &mut h.visits {
            v.person_ids.iter_mut().for_each(map);
            let mut seen = std::collections::HashSet::new();
            v.person_ids.retain(|p| seen.insert(p.clone()));
        }
        for c in &mut h.consents {
            map(&mut c.person_id);
        }
        h.problems.retain(|p| {
            !same
                .keys()
                .any(|g| p.record() == format!("{}/{g}", crate::schema::MEMBERS))
        });
    }
    h.members
        .sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    h.visits
        .sort_by(|a, b| (&a.visited_at, &a.id).cmp(&(&b.visited_at, &b.id)));
    h.consents
        .sort_by(|a, b| (&a.given_at, &a.id).cmp(&(&b.given_at, &b.id)));
    h.problems = recheck_references(&h);
    h
}

/// What only `from` knows of a person, filled into `into`.
fn fill_in(into: &mut Person, from: &Person) {
    into.birth_year = into.birth_year.or(from.birth_year);
    into.gender = into.gender.or(from.gender);
    if into.id_number.is_none() {
        into.id_number = from.id_number.clone();
    }
    into.skills.vneid_level = into.skills.vneid_level.or(from.skills.vneid_level);
    for key in SKILL_FLAGS {
        if into.skills.flag(key).is_none() {
            into.skills.set_flag(key, from.skills.flag(key));
        }
    }
}

/// The composed household's problems: each part's, under the household that
/// counts, with the reference checks made again over the whole (a visit
/// recorded at the kept household may name a member of the absorbed one).
fn recheck_references(h: &Household) -> Vec<HouseholdProblem> {
    let reference = |p: &Problem| {
        matches!(
            p,
            Problem::NotInHousehold | Problem::ConsentWithdrawnBefore { .. }
        )
    };
    let mut kept: Vec<HouseholdProblem> = h
        .problems
        .iter()
        .filter(|p| !reference(&p.problem))
        .cloned()
        .map(|mut p| {
            p.household_id = h.id.clone();
            p
        })
        .collect();
    let mut out = Problems::new(&h.id);
    let has_member = |pid: &str| h.members.iter().any(|m| m.id == pid);
    let consent_of = |cid: &str| {
        h.consents
            .iter()
            .find(|c| c.id == cid)
            .map(ConsentState::of)
    };
    for c in &h.consents {
        problems::consent(&mut out, &format!("{CONSENTS}/{}", c.id), c, &has_member);
    }
    for v in &h.visits {
        problems::visit(
            &mut out,
            &format!("{VISITS}/{}", v.id),
            v,
            &has_member,
            &consent_of,
        );
    }
    let again: Vec<HouseholdProblem> = out
        .into_sorted()
        .into_iter()
        .filter(|p| reference(&p.problem))
        .collect();
    problems::merge(&mut kept, again);
    problems::sort(&mut kept);
    kept.dedup();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node<'a>(id: &'a str, into: Option<&'a str>) -> Node<'a> {
        Node {
            id,
            village_id: "v",
            into,
            in_error: false,
        }
    }

    fn root_of(nodes: &[Node<'_>], id: &str) -> String {
        roots(nodes)[id].clone()
    }

    #[test]
    fn chains_end_at_the_last_household() {
        let n = [node("a", Some("b")), node("b", Some("c")), node("c", None)];
        assert_eq!(root_of(&n, "a"), "c");
        assert_eq!(root_of(&n, "b"), "c");
        assert_eq!(root_of(&n, "c"), "c");
    }

    #[test]
    fn a_cycle_ends_at_its_smallest_id_whatever_the_order() {
        let n = [
            node("c", Some("a")),
            node("a", Some("b")),
            node("b", Some("c")),
        ];
        let mut reversed = n;
        reversed.reverse();
        for order in [&n[..], &reversed[..]] {
            for id in ["a", "b", "c"] {
                assert_eq!(root_of(order, id), "a");
            }
        }
        // A tail into the cycle ends there too.
        let n = [
            node("d", Some("b")),
            node("b", Some("a")),
            node("a", Some("b")),
        ];
        assert_eq!(root_of(&n, "d"), "a");
    }

    #[test]
    fn a_merge_out_of_the_village_or_to_an_unknown_household_is_ignored() {
        let mut n = [node("a", Some("b")), node("b", None), node("x", Some("zz"))];
        n[1].village_id = "w";
        assert_eq!(root_of(&n, "a"), "a");
        assert_eq!(root_of(&n, "x"), "x");
        n[1].village_id = "v";
        n[1].in_error = true;
        assert_eq!(root_of(&n, "a"), "a");
    }
}
