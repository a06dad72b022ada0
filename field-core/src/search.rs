//! How a household search ranks what it finds: pure functions over the texts of
//! one household (head, members, address, phone), unit-tested here; the store
//! (`store::search`) picks the candidates in SQL and orders them by [`rank`].
//!
//! The rules, in the order they decide:
//!
//! 1. A query word matches at the start of a word of the household (`hanh`
//!    finds "Hạnh", `ngu` finds "Nguyễn"), never in the middle of one (`an` does
//!    not find "Lan", `hòa` does not find "Thoa"), unless no household at all
//!    matches that way: then, and only then, the search falls back to matching
//!    anywhere inside words, and says so ([`MatchKind::Substring`]).
//! 2. Households where every query word is a whole word come before those
//!    where some word only starts one (`an` puts "Văn An" before "Lê Anh").
//! 3. The head's name before a member's name before the address or the phone;
//!    the words spread over several of these last.
//! 4. Words as typed, tones and marks included, before matches that only agree
//!    once tones are folded (`hòa` puts "Hòa" before "Hoa" and "Hoà").
//! 5. Then Vietnamese collation of the head's name.
//!
//! A query word typed with tones or marks starts a word only if it does so as
//! typed ("Hoàng" does not start with `hòa`, though it does with `hoa`), so
//! typing the tones narrows the prefixes; whole words always compare folded
//! ("Thuỷ" = `thủy`, "Hoa" = `hòa`, ranked after "Hòa").
//! A phone number is matched whole, or by its last digits (at least 4), and may
//! be typed with spaces, dots or +84.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How well a query word matched (the worse over the query's words counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Every query word is a whole word of the household.
    WholeWord,
    /// Some query word only starts a word (or ends the phone number).
    Prefix,
    /// Some query word is found only inside a word (the fallback).
    Substring,
}

/// Where the query matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedIn {
    Head,
    Member,
    Address,
    Phone,
    /// The words matched in different places (head and a member's name ...).
    Several,
}

/// One word of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Folded (no tones or marks, `đ` → `d`, lower case): what the index holds.
    pub folded: String,
    /// As typed, NFC and lower case.
    typed: String,
    /// Typed with tones or marks (then a prefix must agree as typed).
    marked: bool,
    /// All digits: may be the end of a phone number.
    digits: bool,
}

/// The words of a query. A query that is a phone number typed with spaces,
/// dots, dashes or +84 is one word, `0…`.
pub fn terms(query: &str) -> Vec<Term> {
    if let Some(phone) = phone_query(query) {
        return vec![Term {
            folded: phone.clone(),
            typed: phone,
            marked: false,
            digits: true,
        }];
    }
    words(query)
        .map(|w| {
            let typed: String = w.nfc().flat_map(char::to_lowercase).collect();
            let folded = gocua_text::fold(w);
            Term {
                marked: folded != typed,
                digits: folded.bytes().all(|b| b.is_ascii_digit()),
                folded,
                typed,
            }
        })
        .filter(|t| !t.folded.is_empty())
        .collect()
}

impl Term {
    /// All digits: looked for anywhere in the search column (a phone's end).
    pub fn is_digits(&self) -> bool {
        self.digits
    }
}

/// `+84 912 000 111`, `0912.000.111`, `0912-000-111` → `0912000111`.
fn phone_query(query: &str) -> Option<String> {
    let q = query.trim();
    let (rest, plus84) = match q.strip_prefix("+84") {
        Some(r) => (r, true),
        None => (q, false),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    // Several short numbers ("3 12") are address words, not a phone.
    let several = rest
        .split([' ', '.', '-'])
        .filter(|p| !p.is_empty())
        .count()
        > 1;
    if digits.is_empty() || (several && !plus84 && digits.len() < 9) {
        return None;
    }
    Some(if plus84 { format!("0{digits}") } else { digits })
}

/// The words of a text: runs of letters and digits ("Số 12/4, Xóm 3" → Số, 12,
/// 4, Xóm, 3). Combining marks stay with their letter (NFD input); a stray
/// mark alone is no word.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    use unicode_normalization::char::is_combining_mark;
    text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c)))
        .filter(|w| w.chars().any(|c| !is_combining_mark(c)))
}

/// Separates the places of the search column.
const PLACE: &str = " ;";

/// The search column of a household: for each place (head, address, phone,
/// then each member in order) its words, each after a space, folded, and
/// when typed otherwise followed by `|` and the word as typed (NFC, lower
/// case); places separated by ` ;`. So `LIKE '% word%'` finds folded word
/// starts, and ranking reads everything it compares from this one column:
/// " nguyen|nguyễn van|văn an ; xom|xóm 3 ; 0912000111 ; tran|trần thi|thị lan"
pub fn index_text<'a>(
    head: &str,
    address: &str,
    phone: Option<&str>,
    members: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut out = String::with_capacity(128);
    let mut place = |text: &str, first: bool| {
        if !first {
            out.push_str(PLACE);
        }
        for w in words(text) {
            let folded = gocua_text::fold(w);
            let typed: String = w.nfc().flat_map(char::to_lowercase).collect();
            out.push(' ');
            out.push_str(&folded);
            if typed != folded {
                out.push('|');
                out.push_str(&typed);
            }
        }
    };
    place(head, true);
    place(address, false);
    place(phone.unwrap_or(""), false);
    for m in members {
        place(m, false);
    }
    out
}

/// The words of one place of the search column: (folded, as typed).
fn place_words(place: &str) -> impl Iterator<Item = (&str, &str)> {
    place
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.split_once('|').unwrap_or((w, w)))
}

/// The best match of `t` among a place's words: its kind and whether it
/// agrees as typed.
fn best_in(place: &str, t: &Term, substrings: bool) -> Option<(MatchKind, bool)> {
    let mut best: Option<(MatchKind, bool)> = None;
    for (folded, typed) in place_words(place) {
        let m = if folded == t.folded {
            (MatchKind::WholeWord, typed == t.typed)
        } else if folded.starts_with(&t.folded) {
            let as_typed = typed.starts_with(&t.typed);
            if t.marked && !as_typed {
                continue;
            }
            (MatchKind::Prefix, as_typed)
        } else if substrings && folded.contains(&t.folded) {
            (MatchKind::Substring, false)
        } else {
            continue;
        };
        // Better kind first, then agreeing as typed.
        if best.is_none_or(|b| (m.0, !m.1) < (b.0, !b.1)) {
            best = Some(m);
        }
    }
    best
}

fn phone_match(place: &str, t: &Term, substrings: bool) -> Option<(MatchKind, bool)> {
    let phone = place.trim();
    if !t.digits || phone.is_empty() {
        return None;
    }
    if phone == t.folded {
        Some((MatchKind::WholeWord, true))
    } else if t.folded.len() >= 4 && (phone.ends_with(&t.folded) || phone.starts_with(&t.folded)) {
        Some((MatchKind::Prefix, true))
    } else if substrings && phone.contains(&t.folded) {
        Some((MatchKind::Substring, true))
    } else {
        None
    }
}

/// What a search reads of one household, as the projection holds it (tests
/// and callers without a store build the search column from it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    pub head_name: String,
    pub address: String,
    pub phone: Option<String>,
    /// Member names, in the store's order (created, then id).
    pub members: Vec<String>,
}

impl Candidate {
    /// Its search column ([`index_text`]).
    pub fn index(&self) -> String {
        index_text(
            &self.head_name,
            &self.address,
            self.phone.as_deref(),
            self.members.iter().map(String::as_str),
        )
    }
}

/// How one household matched a query; `key` orders the results (smaller first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub kind: MatchKind,
    pub matched_in: MatchedIn,
    /// The member (index, in the store's order) whose name matched, alone or
    /// most of the words.
    pub member: Option<usize>,
    /// (kind, where, not as typed).
    pub key: (MatchKind, MatchedIn, bool),
}

/// A term's match in one place: its kind and whether it agrees as typed.
type TermMatch = Option<(MatchKind, bool)>;

/// One place of a household (the member's index for a member), and each
/// term's match there.
type Place = (MatchedIn, Option<usize>, Vec<TermMatch>);

/// Whether and how the household whose search column is `index` matches
/// every term; `substrings` allows matches inside words (the fallback).
pub fn rank(index: &str, terms: &[Term], substrings: bool) -> Option<Ranked> {
    if terms.is_empty() {
        return None;
    }
    // Per place, each term's match (None: this term does not match there).
    let mut places: Vec<Place> = Vec::new();
    for (i, place) in index.split(PLACE).enumerate() {
        let (at, member) = match i {
            0 => (MatchedIn::Head, None),
            1 => (MatchedIn::Address, None),
            2 => (MatchedIn::Phone, None),
            n => (MatchedIn::Member, Some(n - 3)),
        };
        let matches: Vec<TermMatch> = terms
            .iter()
            .map(|t| match at {
                MatchedIn::Phone => phone_match(place, t, substrings),
                _ => best_in(place, t, substrings),
            })
            .collect();
        if matches.iter().any(Option::is_some) {
            places.push((at, member, matches));
        }
    }

    let mut best: Option<Ranked> = None;
    let mut offer = |r: Ranked| {
        if best.as_ref().is_none_or(|b| r.key < b.key) {
            best = Some(r);
        }
    };
    // One place holding every word.
    for (place, member, matches) in &places {
        if matches.iter().all(Option::is_some) {
            let kind = matches.iter().flatten().map(|m| m.0).max();
            let typed = matches.iter().flatten().all(|m| m.1);
            if let Some(kind) = kind {
                offer(Ranked {
                    kind,
                    matched_in: *place,
                    member: *member,
                    key: (kind, *place, !typed),
                });
            }
        }
    }
    // The words spread over several places: each word's best.
    let mut worst = MatchKind::WholeWord;
    let mut typed = true;
    for ti in 0..terms.len() {
        let Some(m) = places
            .iter()
            .filter_map(|(_, _, ms)| ms[ti])
            .min_by_key(|m| (m.0, !m.1))
        else {
            return best;
        };
        worst = worst.max(m.0);
        typed &= m.1;
    }
    // The member who holds most of the words, to show.
    let member = places
        .iter()
        .filter_map(|(_, i, ms)| i.map(|i| (i, ms.iter().flatten().count())))
        .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)))
        .map(|(i, _)| i);
    offer(Ranked {
        kind: worst,
        matched_in: MatchedIn::Several,
        member,
        key: (worst, MatchedIn::Several, !typed),
    });
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn household(head: &str, members: &[&str], address: &str, phone: Option<&str>) -> Candidate {
        Candidate {
            head_name: head.into(),
            address: address.into(),
            phone: phone.map(str::to_string),
            members: members.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn key(c: &Candidate, q: &str) -> Option<(MatchKind, MatchedIn, bool)> {
        rank(&c.index(), &terms(q), false).map(|r| r.key)
    }

    #[test]
    fn words_start_not_middle() {
        let lan = household("Nguyễn Thị Lan", &[], "Xóm 3", None);
        assert_eq!(key(&lan, "an"), None, "'an' is inside 'Lan'");
        assert!(
            rank(&lan.index(), &terms("an"), true).is_some(),
            "the fallback finds it"
        );
        let anh = household("Lê Anh", &[], "", None);
        assert_eq!(
            key(&anh, "an"),
            Some((MatchKind::Prefix, MatchedIn::Head, false))
        );
        let an = household("Trần Văn An", &[], "", None);
        assert_eq!(
            key(&an, "an"),
            Some((MatchKind::WholeWord, MatchedIn::Head, false))
        );
        assert!(key(&an, "an") < key(&anh, "an"));
    }

    #[test]
    fn typed_tones_narrow_prefixes_and_rank_first() {
        let hoang = household("Hoàng Văn Nam", &[], "", None);
        assert_eq!(key(&hoang, "hòa"), None, "'hòa' does not start 'Hoàng'");
        assert!(key(&hoang, "hoa").is_some(), "without tones it does");
        let hoa_exact = household("Lê Thị Hòa", &[], "", None);
        let hoa_old = household("Lê Thị Hoà", &[], "", None);
        let hoa_flower = household("Lê Thị Hoa", &[], "", None);
        let exact = key(&hoa_exact, "hòa");
        assert_eq!(exact, Some((MatchKind::WholeWord, MatchedIn::Head, false)));
        assert_eq!(
            key(&hoa_old, "hòa"),
            Some((MatchKind::WholeWord, MatchedIn::Head, true))
        );
        assert!(exact < key(&hoa_flower, "hòa"));
        // NFD typing is the same word as typed.
        let nfd: String = "hòa".nfd().collect();
        assert_eq!(key(&hoa_exact, &nfd), exact);
    }

    #[test]
    fn head_before_member_before_address() {
        let head = household("Phạm Văn Hùng", &["Phạm Văn Hùng"], "", None);
        let member = household("Lê Văn Tám", &["Lê Văn Tám", "Phạm Văn Hùng"], "", None);
        let addr = household("Lê Văn Tám", &[], "Xóm Hùng", None);
        let k = |c: &Candidate| key(c, "hung");
        assert!(k(&head) < k(&member) && k(&member) < k(&addr));
        let r = rank(&member.index(), &terms("pham hung"), false);
        assert_eq!(r.as_ref().map(|r| r.member), Some(Some(1)), "{r:?}");
        assert_eq!(r.map(|r| r.matched_in), Some(MatchedIn::Member));
    }

    #[test]
    fn words_spread_over_places() {
        let c = household("Nguyễn Văn Hùng", &["Trần Thị Lan"], "", None);
        let r = rank(&c.index(), &terms("nguyen lan"), false);
        assert_eq!(r.as_ref().map(|r| r.matched_in), Some(MatchedIn::Several));
        assert_eq!(r.map(|r| r.member), Some(Some(0)));
        assert_eq!(key(&c, "nguyen mai"), None, "every word must match");
    }

    #[test]
    fn phones_whole_or_by_their_end() {
        let c = household("A", &[], "", Some("0912000111"));
        assert_eq!(
            key(&c, "+84 912 000 111"),
            Some((MatchKind::WholeWord, MatchedIn::Phone, false))
        );
        assert_eq!(
            key(&c, "0912.000.111"),
            Some((MatchKind::WholeWord, MatchedIn::Phone, false))
        );
        assert_eq!(
            key(&c, "0111"),
            Some((MatchKind::Prefix, MatchedIn::Phone, false))
        );
        assert_eq!(key(&c, "200"), None);
        let street = household("B", &[], "Xóm 3, số 12", None);
        assert!(
            key(&street, "3 12").is_some(),
            "short numbers are address words"
        );
    }

    #[test]
    fn index_text_folds_keeps_the_typed_words_and_splits_punctuation() {
        assert_eq!(
            index_text(
                "Nguyễn Văn An",
                "Số 12/4, Xóm Đình",
                Some("0912000111"),
                ["Trần Thị Lan", "Lê An"]
            ),
            " nguyen|nguyễn van|văn an ; so|số 12 4 xom|xóm dinh|đình ; 0912000111 ; \
             tran|trần thi|thị lan ; le|lê an"
        );
        let nfd: String = "Hoà".nfd().collect();
        assert_eq!(index_text(&nfd, "", None, []), " hoa|hoà ; ;");
    }
}
