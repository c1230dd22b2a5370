//! Search text, folded the same way for what is stored and what is asked: lower case, accents
//! removed (NFKD, combining marks dropped), words of letters and digits separated by one space.
//! "Zürich" is stored and found as "zurich". Both databases then only match words by prefix:
//! a `tsquery` of `'word':*` terms on PostgreSQL, an FTS5 `"word"*` query on SQLite.

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use crate::error::FieldError;

/// The longest search accepted, in characters, and the most words in it.
pub const SEARCH_MAX_CHARS: usize = 200;
pub const SEARCH_MAX_WORDS: usize = 10;

/// `text` folded: lower case, no accents, words separated by single spaces.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            in_word = true;
        } else if in_word {
            out.push(' ');
            in_word = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The folded form of a city, which the `city` filter compares exactly.
pub fn city_key(city: &str) -> String {
    city.trim().to_lowercase()
}

/// The words of a search, each to match the start of a word of the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terms(Vec<String>);

impl Terms {
    /// `None` when the search has no words (blank, or punctuation only): then nothing is filtered.
    pub fn parse(raw: &str) -> Result<Option<Self>, FieldError> {
        if raw.chars().count() > SEARCH_MAX_CHARS {
            return Err(FieldError::new(
                "search",
                format!("must be at most {SEARCH_MAX_CHARS} characters"),
            ));
        }
        let words: Vec<String> = fold(raw)
            .split(' ')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        if words.len() > SEARCH_MAX_WORDS {
            return Err(FieldError::new(
                "search",
                format!("must have at most {SEARCH_MAX_WORDS} words"),
            ));
        }
        Ok((!words.is_empty()).then_some(Self(words)))
    }

    /// For PostgreSQL's `to_tsquery('simple', …)`: every word as a quoted prefix. A word holds
    /// only letters and digits, so it cannot break out of its quotes.
    pub fn tsquery(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("'{w}':*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// For SQLite's FTS5 `MATCH`: every word as a quoted prefix.
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold("Zürich"), "zurich");
        assert_eq!(
            fold("  Berlin Jazz-Festival, 2027! "),
            "berlin jazz festival 2027"
        );
        assert_eq!(fold("ÉCOLE  Crème brûlée"), "ecole creme brulee");
        assert_eq!(fold("Ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
        assert_eq!(fold("東京 Dome"), "東京 dome");
    }

    #[test]
    fn terms_are_prefixes_that_cannot_escape() {
        let terms = Terms::parse("Jazz berl'); DROP").unwrap().unwrap();
        assert_eq!(terms.tsquery(), "'jazz':* & 'berl':* & 'drop':*");
        assert_eq!(terms.fts5(), "\"jazz\"* AND \"berl\"* AND \"drop\"*");
        assert_eq!(Terms::parse("  ,;  ").unwrap(), None);
        assert!(Terms::parse(&"a ".repeat(11)).is_err());
        assert!(Terms::parse(&"a".repeat(201)).is_err());
    }
}
