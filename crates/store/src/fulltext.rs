//! The full-text search seam. Postgres ranks with `ts_rank` over a `tsvector`
//! (the `english` configuration); SQLite with `bm25` over an FTS5 table (the
//! `porter unicode61` tokenizer). Both see the same query: words taken from
//! free text, lowercased, and combined with AND (a search box) or OR (related
//! articles for a ticket). Only letters and digits reach either engine, so no
//! user input is ever parsed as query syntax.

use crate::db::Backend;

/// How the words of a query combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Every word must occur.
    All,
    /// Any word may occur; more and rarer ones rank higher.
    Any,
}

/// Words too common to tell articles apart (used for [`Match::Any`]).
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "get", "got",
    "had", "has", "have", "hello", "hi", "how", "i", "if", "in", "into", "is", "it", "its", "just",
    "me", "my", "no", "not", "of", "on", "or", "our", "please", "so", "still", "thank", "thanks",
    "that", "the", "their", "them", "then", "there", "this", "to", "too", "us", "was", "we",
    "were", "what", "when", "where", "which", "why", "will", "with", "would", "you", "your",
];

/// At most this many words go into one query.
pub const MAX_TERMS: usize = 32;

/// The searchable words of `text`, in order of first appearance, without
/// repeats. With `drop_common`, very common English words are left out.
pub fn terms(text: &str, drop_common: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let w = word.to_lowercase();
        if w.chars().count() < 2 || w.chars().count() > 64 {
            continue;
        }
        if drop_common && STOP_WORDS.contains(&w.as_str()) {
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
        if out.len() == MAX_TERMS {
            break;
        }
    }
    out
}

/// The query text for the backend: a `websearch_to_tsquery('english', …)` argument on
/// Postgres, an FTS5 `MATCH` expression on SQLite. `None` when there is
/// nothing to search for.
pub fn query(backend: Backend, terms: &[String], mode: Match) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    Some(match backend {
        // `websearch_to_tsquery` never rejects its input; each word is quoted
        // so that a word like "or" is a word, not an operator.
        Backend::Postgres => {
            let op = match mode {
                Match::All => " ",
                Match::Any => " or ",
            };
            terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(op)
        }
        Backend::Sqlite => {
            let op = match mode {
                Match::All => " AND ",
                Match::Any => " OR ",
            };
            terms
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(op)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_plain_lowercase_words() {
        assert_eq!(
            terms("Can't log in: \"password\" & 2FA — PASSWORD!", false),
            vec!["can", "log", "in", "password", "2fa"]
        );
        assert_eq!(
            terms("How do I reset my password?", true),
            vec!["reset", "password"]
        );
        assert_eq!(
            terms("Не приходит код", false),
            vec!["не", "приходит", "код"]
        );
    }

    #[test]
    fn queries_carry_no_syntax_from_the_user() {
        let t = terms("refund) OR (x* NEAR", false);
        assert_eq!(
            query(Backend::Sqlite, &t, Match::All).unwrap(),
            "\"refund\" AND \"or\" AND \"near\""
        );
        assert_eq!(
            query(
                Backend::Postgres,
                &terms("card or declined", false),
                Match::Any
            )
            .unwrap(),
            "\"card\" or \"or\" or \"declined\""
        );
        assert_eq!(query(Backend::Postgres, &[], Match::All), None);
    }
}
