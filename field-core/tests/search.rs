//! Search ranking, imports and duplicate candidates on a generated village
//! (seeded: the same households every run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use field_core::search::{MatchKind, MatchedIn};
use field_core::*;
use gocua_village_gen::generate;
use tempfile::TempDir;

const SEED: u64 = 11;
const HOUSEHOLDS: usize = 300;

struct Village {
    _dir: TempDir,
    store: Store,
    records: Vec<HouseholdRecord>,
    ids: Vec<String>,
}

fn villages() -> Vec<String> {
    vec!["Thôn Đông".into(), "Thôn Tây".into()]
}

fn new_store(dir: &TempDir) -> Store {
    let s = Store::open(
        dir.path().join("store.sqlite"),
        &field_core::StoreKey::Unencrypted,
    )
    .unwrap();
    s.init(InitRequest {
        volunteer_name: "Lò Thị Mai".into(),
        volunteer_phone: None,
        team_name: "Tổ CNSCĐ".into(),
        commune_code: "00097".into(),
        village_names: villages(),
    })
    .unwrap();
    s
}

/// One generated village, imported once and shared by the read-only tests.
fn village() -> &'static Village {
    static V: OnceLock<Village> = OnceLock::new();
    V.get_or_init(|| {
        let dir = TempDir::new().unwrap();
        let store = new_store(&dir);
        let records = generate(SEED, &villages(), HOUSEHOLDS);
        let ids = records
            .iter()
            .map(|r| match store.import_record(r).unwrap() {
                ImportOutcome::Stored { household_id } => household_id,
                other => panic!("generated household not stored: {other:?}"),
            })
            .collect();
        Village {
            _dir: dir,
            store,
            records,
            ids,
        }
    })
}

fn all(q: &str) -> SearchResults {
    village().store.search(q, 100_000).unwrap()
}

fn rank(h: &SearchHit) -> (MatchKind, MatchedIn) {
    (h.match_kind, h.matched_in)
}

/// The folded words of a record: head, address, members.
fn record_words(r: &HouseholdRecord) -> Vec<String> {
    let mut texts = vec![r.household.head_name.as_str(), r.household.address.as_str()];
    texts.extend(r.members.iter().map(|m| m.name.as_str()));
    texts
        .into_iter()
        .flat_map(field_core::search::words)
        .map(gocua_text::fold)
        .collect()
}

#[test]
fn an_exact_whole_word_head_name_comes_first() {
    let v = village();
    for (rec, id) in v.records.iter().zip(&v.ids).take(25) {
        let head = &rec.household.head_name;
        let found = v.store.search(head, 50).unwrap();
        let first = &found.households[0];
        assert_eq!(&first.household.head_name, head, "query {head:?}");
        assert_eq!(rank(first), (MatchKind::WholeWord, MatchedIn::Head));
        // Namesakes are all first; this household is among them.
        let namesakes: Vec<&str> = found
            .households
            .iter()
            .take_while(|h| &h.household.head_name == head)
            .map(|h| h.household.id.as_str())
            .collect();
        assert!(namesakes.contains(&id.as_str()), "{head}: {namesakes:?}");
    }
}

#[test]
fn a_word_finds_word_starts_only_and_counts_them_all() {
    let v = village();
    for q in ["an", "hoa", "thi", "lan", "xom"] {
        let found = all(q);
        let expected = v
            .records
            .iter()
            .filter(|r| record_words(r).iter().any(|w| w.starts_with(q)))
            .count();
        assert_eq!(found.total as usize, expected, "{q}");
        assert_eq!(found.households.len(), expected, "{q}");
        assert!(
            found
                .households
                .iter()
                .all(|h| h.match_kind != MatchKind::Substring),
            "{q}"
        );
    }
    // "an" is inside "Lan", "Hoàng", "Toàn", ...: those are not found.
    let inside = v
        .records
        .iter()
        .filter(|r| record_words(r).iter().any(|w| w.contains("an")))
        .count();
    assert!(all("an").total < inside as u64 / 2, "{inside}");
}

#[test]
fn results_follow_the_ranking_rules() {
    for q in ["an", "hoa", "nguyen van", "thi lan", "hung", "minh"] {
        let found = all(q);
        let keys: Vec<(MatchKind, MatchedIn)> = found.households.iter().map(rank).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{q}: whole words, then head, member, address");
        if q != "thi lan" {
            assert!(
                keys.contains(&(MatchKind::WholeWord, MatchedIn::Head)),
                "{q}"
            );
        }
    }
    // A member's match names the member.
    let hung = all("hung");
    let by_member: Vec<&SearchHit> = hung
        .households
        .iter()
        .filter(|h| h.matched_in == MatchedIn::Member)
        .collect();
    assert!(!by_member.is_empty());
    for h in by_member {
        let m = h.matched_member.as_ref().expect("the member is named");
        assert!(gocua_text::fold(&m.name).split(' ').any(|w| w == "hung"));
    }
}

#[test]
fn tones_as_typed_come_before_folded_matches() {
    let found = all("hòa");
    let heads: Vec<&SearchHit> = found
        .households
        .iter()
        .filter(|h| rank(h) == (MatchKind::WholeWord, MatchedIn::Head))
        .collect();
    let exact = |h: &SearchHit| {
        h.household
            .head_name
            .to_lowercase()
            .split(' ')
            .any(|w| w == "hòa")
    };
    let first_folded = heads.iter().position(|h| !exact(h));
    let last_exact = heads.iter().rposition(|h| exact(h));
    assert!(last_exact.is_some(), "the generator names some heads Hòa");
    if let (Some(f), Some(l)) = (first_folded, last_exact) {
        assert!(l < f, "a head named Hoa or Hoà before one named Hòa");
    }
    // Typed with tones, "hòa" does not start "Hoàng"; without, "hoa" does.
    let hoang = |r: &SearchResults| {
        r.households
            .iter()
            .filter(|h| {
                let folded = gocua_text::fold(&h.household.head_name);
                h.matched_in == MatchedIn::Head
                    && folded.starts_with("hoang")
                    && !folded.split(' ').any(|w| w == "hoa")
            })
            .count()
    };
    assert!(hoang(&all("hoa")) > 0);
    assert_eq!(hoang(&found), 0);
}

#[test]
fn the_limit_cuts_the_list_and_says_how_many_there_are() {
    let v = village();
    let some = v.store.search("nguyen", 20).unwrap();
    assert_eq!(some.households.len(), 20);
    assert!(some.total > 20);
    let every = all("nguyen");
    assert_eq!(every.total, some.total);
    assert_eq!(&every.households[..20], &some.households[..]);
}

#[test]
fn inside_words_only_when_nothing_starts_so() {
    let found = all("guyen");
    assert!(found.total > 0);
    assert!(
        found
            .households
            .iter()
            .all(|h| h.match_kind == MatchKind::Substring)
    );
}

#[test]
fn a_phone_by_its_end_or_any_typing() {
    let v = village();
    let (rec, id) = v
        .records
        .iter()
        .zip(&v.ids)
        .find(|(r, _)| r.household.phone.is_some())
        .unwrap();
    let phone = rec.household.phone.clone().unwrap();
    let spaced = format!("+84 {} {} {}", &phone[1..4], &phone[4..7], &phone[7..]);
    for q in [phone.as_str(), spaced.as_str(), &phone[phone.len() - 6..]] {
        let found = v.store.search(q, 50).unwrap();
        assert!(
            found.households.iter().any(|h| &h.household.id == id),
            "{q}"
        );
        assert_eq!(found.households[0].matched_in, MatchedIn::Phone, "{q}");
    }
}

#[test]
fn a_generated_village_has_no_near_certain_duplicates() {
    let v = village();
    let pairs = v.store.duplicate_candidates(None).unwrap();
    assert!(pairs.iter().all(|p| !p.near_certain), "{pairs:?}");
}

#[test]
fn imports_are_idempotent_and_a_second_registration_is_caught() {
    let dir = TempDir::new().unwrap();
    let s = new_store(&dir);
    let records = generate(SEED + 1, &villages(), 12);
    let mut ids = Vec::new();
    for r in &records {
        match s.import_record(r).unwrap() {
            ImportOutcome::Stored { household_id } => ids.push(household_id),
            other => panic!("{other:?}"),
        }
    }
    let before = s.status().unwrap();
    assert_eq!(before.households, 12);
    // The same content again, typed differently (NFD, spaces, the village
    // without tones): imported already.
    let mut again = records[0].clone();
    again.household.head_name = format!(
        "  {}  ",
        unicode_normalization::UnicodeNormalization::nfd(again.household.head_name.as_str())
            .collect::<String>()
    );
    again.household.village = gocua_text::fold(&again.household.village);
    for r in [&records[0], &again] {
        assert_eq!(
            s.import_record(r).unwrap(),
            ImportOutcome::AlreadyImported {
                household_id: ids[0].clone()
            }
        );
    }
    // The same household registered by another volunteer: other words, no
    // visits, head without tones.
    let (i, rec) = records
        .iter()
        .enumerate()
        .find(|(_, r)| r.household.phone.is_some())
        .unwrap();
    let mut second = rec.clone();
    second.household.head_name = gocua_text::fold(&second.household.head_name);
    second.household.address = String::new();
    second.visits.clear();
    let found = s.record_duplicates(&second).unwrap();
    assert_eq!(found[0].household.id, ids[i]);
    assert!(found[0].near_certain);
    match s.import_record(&second).unwrap() {
        ImportOutcome::Duplicate { candidate } => assert_eq!(candidate.household.id, ids[i]),
        other => panic!("{other:?}"),
    }
    let after = s.status().unwrap();
    assert_eq!(
        (after.households, after.persons, after.visits),
        (before.households, before.persons, before.visits)
    );
    // Insisting writes it, naming the household it may be.
    match s.import_record_as(&second, true).unwrap() {
        ImportOutcome::StoredDespite { candidate, .. } => {
            assert_eq!(candidate.household.id, ids[i])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.status().unwrap().households, before.households + 1);
    // Every household was written whole: members and visits as generated.
    for (r, id) in records.iter().zip(&ids) {
        let h = s.household(id).unwrap();
        assert_eq!(h.members.len(), r.members.len());
        assert_eq!(h.visits.len(), r.visits.len());
    }
}

#[test]
fn a_record_breaking_a_rule_is_refused_by_the_dry_run() {
    let dir = TempDir::new().unwrap();
    let s = new_store(&dir);
    let mut rec = generate(SEED, &villages(), 20)
        .into_iter()
        .find(|r| !r.visits.is_empty())
        .unwrap();
    s.check_import(&rec).unwrap();
    let year = rec.members[0].birth_year;
    rec.members[0].birth_year = Some(1700);
    match s.check_import(&rec) {
        Err(Error::Invalid(i)) => assert_eq!(i.field, Field::BirthYear),
        other => panic!("{other:?}"),
    }
    assert!(s.import_record(&rec).is_err());
    rec.members[0].birth_year = year;
    s.check_import(&rec).unwrap();
    rec.visits.push(VisitRecord {
        visit: rec.visits[0].visit.clone(),
        member_indexes: vec![rec.members.len()],
    });
    match s.check_import(&rec) {
        Err(Error::Invalid(i)) => assert_eq!(i.field, Field::PersonId),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.status().unwrap().households, 0);
}
