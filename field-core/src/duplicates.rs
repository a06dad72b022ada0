//! Households that may be the same one registered twice (two volunteers at the
//! same door, offline): pure functions over [`Profile`]s, unit-tested here; the
//! store reads the profiles (`Store::duplicate_candidates`,
//! `Store::duplicates_of`).
//!
//! Only households of the same village are compared. Each pair gets its
//! reasons and a score out of 100:
//!
//! | reason | points |
//! |---|---|
//! | same phone | 45 |
//! | same head name, tones and case ignored | 35 |
//! | each member with the same name and birth year (at most 3) | 15 |
//! | same address (its words, tones and punctuation ignored) | 20 |
//! | similar address (one holds the other's words, or most words shared) | 15 |
//!
//! A pair is a candidate from [`CANDIDATE`] points (two signals: a name and an
//! address, a phone and an address, two members ...), and near-certain from
//! [`NEAR_CERTAIN`] (head and phone, or head, address and members): adding
//! such a household again is refused unless the volunteer insists.
//!
//! Merged households (the lead's merge keeps one household and turns the
//! other into a redirect) are never candidates again: a profile with
//! `merged_into` set is skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// A pair is listed from this score.
pub const CANDIDATE: u32 = 50;
/// A pair is near-certain from this score.
pub const NEAR_CERTAIN: u32 = 80;

const SAME_PHONE: u32 = 45;
const SAME_HEAD: u32 = 35;
const SAME_MEMBER: u32 = 15;
const MAX_SAME_MEMBERS: usize = 3;
const SAME_ADDRESS: u32 = 20;
const SIMILAR_ADDRESS: u32 = 15;

/// What the comparison reads of a household.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub id: String,
    pub village_id: String,
    pub head_name: String,
    pub address: String,
    pub phone: Option<String>,
    /// (name, birth year) of each member.
    pub members: Vec<(String, Option<i64>)>,
    /// Set when the household was merged into another: never a candidate.
    pub merged_into: Option<String>,
}

/// Why two households may be one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    SamePhone,
    SameHeadName,
    /// `count` members with the same names and birth years.
    SameMembers {
        count: usize,
    },
    SameAddress,
    SimilarAddress,
}

/// Two households that may be one: `a` and `b` are indexes into the profiles
/// compared (or ids, once the store has read them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub reasons: Vec<Reason>,
    pub score: u32,
}

impl Pair {
    pub fn near_certain(&self) -> bool {
        self.score >= NEAR_CERTAIN
    }
}

/// A name as compared: folded words, one space apart.
fn name_key(name: &str) -> String {
    gocua_text::fold(name)
}

/// An address as compared: its folded words (punctuation dropped).
fn address_words(address: &str) -> Vec<String> {
    crate::search::words(address)
        .map(gocua_text::fold)
        .collect()
}

fn member_keys(p: &Profile) -> BTreeSet<(String, i64)> {
    p.members
        .iter()
        .filter_map(|(n, y)| y.map(|y| (name_key(n), y)))
        .filter(|(n, _)| !n.is_empty())
        .collect()
}

/// The reasons and score of `a` and `b`, whatever the score.
pub fn score(a: &Profile, b: &Profile) -> (Vec<Reason>, u32) {
    let mut reasons = Vec::new();
    let mut score = 0;
    if let (Some(pa), Some(pb)) = (&a.phone, &b.phone)
        && !pa.is_empty()
        && pa == pb
    {
        reasons.push(Reason::SamePhone);
        score += SAME_PHONE;
    }
    let (ha, hb) = (name_key(&a.head_name), name_key(&b.head_name));
    if !ha.is_empty() && ha == hb {
        reasons.push(Reason::SameHeadName);
        score += SAME_HEAD;
    }
    let same = member_keys(a).intersection(&member_keys(b)).count();
    if same > 0 {
        reasons.push(Reason::SameMembers { count: same });
        score += SAME_MEMBER * same.min(MAX_SAME_MEMBERS) as u32;
    }
    let (wa, wb) = (address_words(&a.address), address_words(&b.address));
    if !wa.is_empty() && wa == wb {
        reasons.push(Reason::SameAddress);
        score += SAME_ADDRESS;
    } else if similar_address(&wa, &wb) {
        reasons.push(Reason::SimilarAddress);
        score += SIMILAR_ADDRESS;
    }
    (reasons, score.min(100))
}

/// One address holds every word of the other (at least two: "Xóm 3" in
/// "Xóm 3, Thôn Đông"), or three quarters of their words are shared.
fn similar_address(a: &[String], b: &[String]) -> bool {
    let sa: BTreeSet<&str> = a.iter().map(String::as_str).collect();
    let sb: BTreeSet<&str> = b.iter().map(String::as_str).collect();
    if sa.is_empty() || sb.is_empty() {
        return false;
    }
    let shared = sa.intersection(&sb).count();
    let smaller = sa.len().min(sb.len());
    let union = sa.union(&sb).count();
    (smaller >= 2 && shared == smaller) || shared * 4 >= union * 3
}

/// `a` and `b` as a candidate pair, if they are one.
pub fn compare(a: &Profile, b: &Profile) -> Option<(Vec<Reason>, u32)> {
    if a.id == b.id
        || a.village_id != b.village_id
        || a.merged_into.is_some()
        || b.merged_into.is_some()
    {
        return None;
    }
    let (reasons, score) = score(a, b);
    (score >= CANDIDATE).then_some((reasons, score))
}

/// Every candidate pair among `profiles`, the highest scores first.
///
/// A pair can only reach [`CANDIDATE`] when it shares a phone, a head name or
/// a member (an address alone scores 20), so only households sharing one of
/// those are compared: a village of thousands is not compared pair by pair.
pub fn pairs(profiles: &[Profile]) -> Vec<Pair> {
    let mut blocks: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        if p.merged_into.is_some() {
            continue;
        }
        let mut keys: Vec<String> = Vec::new();
        if let Some(phone) = p.phone.as_deref().filter(|x| !x.is_empty()) {
            keys.push(format!("p:{phone}"));
        }
        let head = name_key(&p.head_name);
        if !head.is_empty() {
            keys.push(format!("h:{head}"));
        }
        for (n, y) in member_keys(p) {
            keys.push(format!("m:{n}:{y}"));
        }
        for k in keys {
            blocks.entry((p.village_id.clone(), k)).or_default().push(i);
        }
    }
    let mut seen: BTreeMap<(usize, usize), ()> = BTreeMap::new();
    for members in blocks.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if i != j {
                    seen.insert((i.min(j), i.max(j)), ());
                }
            }
        }
    }
    let mut out: Vec<Pair> = seen
        .into_keys()
        .filter_map(|(a, b)| {
            compare(&profiles[a], &profiles[b]).map(|(reasons, score)| Pair {
                a,
                b,
                reasons,
                score,
            })
        })
        .collect();
    out.sort_by(|x, y| y.score.cmp(&x.score).then((x.a, x.b).cmp(&(y.a, y.b))));
    out
}

/// The candidates among `existing` for a household about to be added (its
/// profile `new`, not stored yet), the highest scores first: (index, reasons, score).
pub fn candidates_for(new: &Profile, existing: &[Profile]) -> Vec<(usize, Vec<Reason>, u32)> {
    let mut out: Vec<(usize, Vec<Reason>, u32)> = existing
        .iter()
        .enumerate()
        .filter_map(|(i, p)| compare(new, p).map(|(r, s)| (i, r, s)))
        .collect();
    out.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, head: &str, address: &str, phone: Option<&str>) -> Profile {
        Profile {
            id: id.into(),
            village_id: "v1".into(),
            head_name: head.into(),
            address: address.into(),
            phone: phone.map(str::to_string),
            members: Vec::new(),
            merged_into: None,
        }
    }

    #[test]
    fn same_head_phone_and_address_is_near_certain() {
        let a = profile(
            "a",
            "Nguyễn Văn Hạnh",
            "Xóm 3, Thôn Đông",
            Some("0912000111"),
        );
        let b = profile(
            "b",
            "nguyen van hanh",
            "xom 3 thon dong",
            Some("0912000111"),
        );
        let (reasons, score) = compare(&a, &b).unwrap_or_default();
        assert_eq!(
            reasons,
            vec![Reason::SamePhone, Reason::SameHeadName, Reason::SameAddress]
        );
        assert_eq!(score, 100);
        // Head and phone alone already are.
        let c = profile("c", "Nguyễn Văn Hạnh", "", Some("0912000111"));
        assert_eq!(compare(&a, &c).map(|x| x.1), Some(80));
    }

    #[test]
    fn one_signal_is_not_a_candidate() {
        let a = profile("a", "Nguyễn Văn Hùng", "Xóm 3", None);
        let b = profile("b", "Nguyễn Văn Hùng", "Xóm 7", None);
        assert_eq!(compare(&a, &b), None, "a common name alone");
        let c = profile("c", "Lê Văn Tám", "Xóm 3", Some("0912000111"));
        let d = profile("d", "Trần Thị Lan", "Xóm 9", Some("0912000111"));
        assert_eq!(compare(&c, &d), None, "a shared family phone alone");
    }

    #[test]
    fn name_and_similar_address_is_a_candidate() {
        let a = profile("a", "Nguyễn Văn Hạnh", "Xóm 3, Thôn Đông", None);
        let b = profile("b", "Nguyen Van Hanh", "Xóm 3", None);
        let (reasons, score) = compare(&a, &b).unwrap_or_default();
        assert_eq!(reasons, vec![Reason::SameHeadName, Reason::SimilarAddress]);
        assert_eq!(score, 50);
        let c = profile("c", "Nguyen Van Hanh", "Xóm 3 Thôn Đông", None);
        assert_eq!(compare(&a, &c).map(|x| x.1), Some(55));
        let other_hamlet = profile("d", "Nguyen Van Hanh", "Xóm 4", None);
        assert_eq!(compare(&b, &other_hamlet), None, "Xóm 3 is not Xóm 4");
    }

    #[test]
    fn members_with_names_and_birth_years() {
        let mut a = profile("a", "Trần Văn Nam", "Tổ 5", None);
        let mut b = profile("b", "Trần Thị Hoa", "Tổ 6", None);
        a.members = vec![
            ("Trần Văn Nam".into(), Some(1970)),
            ("Trần Thị Hoa".into(), Some(1972)),
            ("Trần Minh An".into(), Some(2001)),
        ];
        b.members = vec![
            ("Tran Thi Hoa".into(), Some(1972)),
            ("Trần Minh An".into(), Some(2001)),
            ("Trần Văn Nam".into(), Some(1971)),
        ];
        let (reasons, points) = score(&a, &b);
        assert_eq!(reasons, vec![Reason::SameMembers { count: 2 }]);
        assert_eq!(points, 30, "two members, different heads and addresses");
        assert_eq!(compare(&a, &b), None);
        b.address = "Tổ 5".into();
        assert_eq!(compare(&a, &b).map(|x| x.1), Some(50));
        // Without a birth year a name is not enough.
        b.members[1].1 = None;
        assert_eq!(compare(&a, &b), None);
    }

    #[test]
    fn other_villages_and_merged_households_are_left_out() {
        let a = profile("a", "Nguyễn Văn Hạnh", "Xóm 3", Some("0912000111"));
        let mut b = a.clone();
        b.id = "b".into();
        assert!(compare(&a, &b).is_some());
        let mut elsewhere = b.clone();
        elsewhere.village_id = "v2".into();
        assert_eq!(compare(&a, &elsewhere), None);
        let mut merged = b.clone();
        merged.merged_into = Some("a".into());
        assert_eq!(compare(&a, &merged), None);
        assert!(pairs(&[a.clone(), merged]).is_empty());
        assert_eq!(compare(&a, &a), None);
    }

    #[test]
    fn pairs_finds_each_pair_once_best_first() {
        let a = profile("a", "Nguyễn Văn Hạnh", "Xóm 3", Some("0912000111"));
        let b = profile("b", "Nguyễn Văn Hạnh", "Xóm 3", Some("0912000111"));
        let c = profile("c", "Nguyễn Văn Hạnh", "Xóm 3", None);
        let d = profile("d", "Lê Thị Mai", "Xóm 3", None);
        let found = pairs(&[a, b, c, d]);
        let ids: Vec<(usize, usize, u32)> = found.iter().map(|p| (p.a, p.b, p.score)).collect();
        assert_eq!(ids, vec![(0, 1, 100), (0, 2, 55), (1, 2, 55)]);
        assert!(found[0].near_certain() && !found[1].near_certain());
    }

    #[test]
    fn candidates_for_a_new_household() {
        let existing = vec![
            profile("a", "Lê Thị Mai", "Xóm 1", None),
            profile("b", "Nguyễn Văn Hạnh", "Xóm 3", Some("0912000111")),
        ];
        let new = profile("", "Nguyen Van Hanh", "xom 3", Some("0912 000 111"));
        // Phones are compared as stored (normalized by the store first).
        let found = candidates_for(&new, &existing);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 1);
        assert_eq!(found[0].2, 55);
    }
}
