//! `Store::search`: candidates from the search column in SQL, ranked in Rust
//! by [`crate::search::rank`].

use rusqlite::Connection;

use super::query;
use crate::error::{Error, Field, Problem, Result};
use crate::model::{MatchedMember, SearchHit, SearchResults};
use crate::search::{self, Candidate, Ranked, Term};

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
    let households = summaries
        .into_iter()
        .zip(found)
        .map(|(household, f)| SearchHit {
            household,
            matched_in: f.ranked.matched_in,
            match_kind: f.ranked.kind,
            matched_member: f
                .ranked
                .member
                .and_then(|i| f.members.into_iter().nth(i))
                .map(|(id, name)| MatchedMember { id, name }),
        })
        .collect();
    Ok(SearchResults { total, households })
}

struct Found {
    id: String,
    head_key: Vec<u8>,
    members: Vec<(String, String)>,
    ranked: Ranked,
}

/// Every household the search column says may match, kept if it does.
fn ranked(conn: &Connection, terms: &[Term], substrings: bool) -> Result<Vec<Found>> {
    let mut sql = String::from(
        "SELECT h.id, h.head_key, h.head_name, h.address, h.phone,
            (SELECT group_concat(x, char(30)) FROM
                (SELECT p.id || char(31) || p.name AS x FROM persons p
                 WHERE p.household_id = h.id AND p.removed_at IS NULL
                 ORDER BY p.created_at, p.id))
         FROM households h WHERE h.in_error_at IS NULL",
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
        let members: Option<String> = r.get(5)?;
        let candidate = Candidate {
            head_name: r.get(2)?,
            address: r.get(3)?,
            phone: r.get(4)?,
            members: members
                .as_deref()
                .unwrap_or("")
                .split('\u{1e}')
                .filter_map(|m| m.split_once('\u{1f}'))
                .map(|(id, name)| (id.to_string(), name.to_string()))
                .collect(),
        };
        if let Some(ranked) = search::rank(&candidate, terms, substrings) {
            out.push(Found {
                id: r.get(0)?,
                head_key: r.get(1)?,
                members: candidate.members,
                ranked,
            });
        }
    }
    Ok(out)
}
