//! `Store::search`: candidates from the search column in SQL, ranked in Rust
//! by [`crate::search::rank`].

use rusqlite::Connection;

use super::query;
use crate::error::{Error, Field, Problem, Result};
use crate::model::{MatchedMember, SearchHit, SearchResults};
use crate::search::{self, Ranked, Term};

/// Households matching every word of `query_text`, best first, at most `limit`.
pub fn run(conn: &Connection, query_text: &str, limit: u32) -> Result<SearchResults> {
    let terms = search::terms(query_text);
    if terms.is_empty() {
        return Err(Error::invalid(Field::Value, query_text, Problem::Required));
    }
    let mut found = ranked(conn, &terms, false)?;
    if found.is_empty() {
        // Nothing starts a word: then, only then, inside words.
        found = ranked(conn, &terms, true)?;
    }
    found.sort_by(|a, b| {
        (a.ranked.key, &a.head_key, &a.id).cmp(&(b.ranked.key, &b.head_key, &b.id))
    });
    let total = found.len() as u64;
    found.truncate(limit as usize);
    let ids: Vec<String> = found.iter().map(|f| f.id.clone()).collect();
    let summaries = query::summaries(conn, &ids)?;
    let mut households = Vec::with_capacity(found.len());
    for (household, f) in summaries.into_iter().zip(found) {
        let matched_member = match f.ranked.member {
            Some(i) => member_at(conn, &f.id, i)?,
            None => None,
        };
        households.push(SearchHit {
            household,
            matched_in: f.ranked.matched_in,
            match_kind: f.ranked.kind,
            matched_member,
        });
    }
    Ok(SearchResults { total, households })
}

/// The `i`-th member of a household in the search column's order.
fn member_at(conn: &Connection, household_id: &str, i: usize) -> Result<Option<MatchedMember>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name FROM persons WHERE household_id = ?1 AND removed_at IS NULL
         ORDER BY created_at, id
         LIMIT 1 OFFSET ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![household_id, i as i64])?;
    Ok(match rows.next()? {
        Some(r) => Some(MatchedMember {
            id: r.get(0)?,
            name: r.get(1)?,
        }),
        None => None,
    })
}

struct Found {
    id: String,
    head_key: Vec<u8>,
    ranked: Ranked,
}

/// Every household the search column says may match, kept if it does.
fn ranked(conn: &Connection, terms: &[Term], substrings: bool) -> Result<Vec<Found>> {
    let mut sql = String::from(
        "SELECT h.id, h.head_key, h.search_text FROM households h WHERE h.in_error_at IS NULL AND h.merged_into IS NULL",
    );
    let mut args = Vec::with_capacity(terms.len());
    for t in terms {
        // The column holds " word word ...": "% t" finds word starts. Digits
        // may end a phone number, so they are looked for anywhere.
        let start = if substrings || t.is_digits() {
            "%"
        } else {
            "% "
        };
        args.push(query::like_pattern(start, &t.folded));
        sql.push_str(&format!(
            " AND h.search_text LIKE ?{} ESCAPE '\\'",
            args.len()
        ));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        // Borrowed from SQLite's row: most candidates are read and dropped.
        let index = r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?;
        if let Some(ranked) = search::rank(index, terms, substrings) {
            out.push(Found {
                id: r.get(0)?,
                head_key: r.get(1)?,
                ranked,
            });
        }
    }
    Ok(out)
}
