//! Vietnamese text as gocua stores, searches and sorts it.
//!
//! - [`clean`]: what every stored string goes through (NFC, trimmed, inner runs of
//!   white space folded to one space), because input methods and platforms produce
//!   NFD and stray spaces.
//! - [`fold`]: the search key: no tones or vowel marks, `đ` → `d`, lower case. Old and
//!   new tone placement (hoà / hòa) fold to the same key.
//! - [`sort_key`]: bytes that order names by Vietnamese collation (CLDR `vi`) with a
//!   plain byte comparison, so SQLite can `ORDER BY` them without a custom collation.

use std::sync::OnceLock;

use icu_collator::options::CollatorOptions;
use icu_collator::{CollatorBorrowed, CollatorPreferences};
use icu_locale_core::locale;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// NFC, trimmed, with every run of white space inside turned into one space.
pub fn clean(input: &str) -> String {
    let nfc: String = input.nfc().collect();
    let mut out = String::with_capacity(nfc.len());
    for word in nfc.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// NFC and trimmed, keeping inner line breaks (for notes and feedback).
pub fn clean_multiline(input: &str) -> String {
    let nfc: String = input.nfc().collect();
    nfc.trim().to_string()
}

/// The diacritic-insensitive search key of `input`.
///
/// "Nguyễn Văn Hạnh", its NFD form and "nguyen van hanh" share one key; `Đ`/`đ` do
/// not decompose in Unicode, so they are mapped to `d` explicitly.
pub fn fold(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut last_space = true;
    for c in input.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            // Some keyboards type the Icelandic eth for đ.
            'ð' | 'Ð' => 'd',
            c => c,
        };
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            continue;
        }
        out.extend(c.to_lowercase());
        last_space = false;
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The words of a search query, each folded.
pub fn fold_terms(query: &str) -> Vec<String> {
    fold(query)
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn collator() -> Option<&'static CollatorBorrowed<'static>> {
    static COLLATOR: OnceLock<Option<CollatorBorrowed<'static>>> = OnceLock::new();
    COLLATOR
        .get_or_init(|| {
            let prefs = CollatorPreferences::from(locale!("vi"));
            CollatorBorrowed::try_new(prefs, CollatorOptions::default()).ok()
        })
        .as_ref()
}

/// Bytes whose byte order is the Vietnamese collation order of `input`.
///
/// Falls back to the folded key then the code points if the collation data is
/// unavailable, which cannot happen with the compiled-in data but must not panic.
pub fn sort_key(input: &str) -> Vec<u8> {
    let nfc: String = input.nfc().collect();
    match collator() {
        Some(c) => {
            let mut key = Vec::with_capacity(nfc.len() * 3);
            match c.write_sort_key_to(&nfc, &mut key) {
                Ok(()) => key,
                Err(never) => match never {},
            }
        }
        None => {
            let mut key = fold(&nfc).into_bytes();
            key.push(0);
            key.extend_from_slice(nfc.as_bytes());
            key
        }
    }
}

/// Compares two strings by Vietnamese collation.
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    sort_key(a).cmp(&sort_key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_makes_nfc_and_trims() {
        let nfd = "Nguye\u{0302}\u{0303}n  Va\u{0306}n\tHa\u{0323}nh ";
        assert_eq!(clean(nfd), "Nguyễn Văn Hạnh");
        assert_eq!(clean("   "), "");
    }

    #[test]
    fn fold_removes_marks_and_maps_d() {
        assert_eq!(fold("Nguyễn Văn Hạnh"), "nguyen van hanh");
        assert_eq!(fold("Đàm"), "dam");
        assert_eq!(fold("đường"), "duong");
        let nfd: String = "Nguyễn Văn Hạnh".nfd().collect();
        assert_eq!(fold(&nfd), "nguyen van hanh");
    }

    #[test]
    fn fold_joins_old_and_new_tone_placement() {
        assert_eq!(fold("hoà"), fold("hòa"));
        assert_eq!(fold("Thuỷ"), fold("Thủy"));
    }

    #[test]
    fn vietnamese_order_differs_from_code_points() {
        // Code points put "Ă" (U+0102) and "Đ" (U+0110) after "Z"; Vietnamese puts
        // ă after a and đ right after d.
        let mut names = vec!["Đỗ", "Zơ", "Ăn", "Dương", "An", "Bình", "Ân"];
        names.sort_by(|a, b| compare(a, b));
        assert_eq!(names, vec!["An", "Ăn", "Ân", "Bình", "Dương", "Đỗ", "Zơ"]);
    }

    #[test]
    fn tones_sort_after_base_letters() {
        let mut names = ["Hạnh", "Hành", "Hanh", "Hánh"];
        names.sort_by(|a, b| compare(a, b));
        assert_eq!(names[0], "Hanh");
    }

    #[test]
    fn fold_terms_splits_words() {
        assert_eq!(fold_terms("  Nguyễn  VĂN "), vec!["nguyen", "van"]);
    }
}
