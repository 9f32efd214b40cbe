//! Full-text search rules both backends share: how text becomes search
//! tokens, how what a person types becomes a query, and which words of a
//! hit are highlighted.
//!
//! Text is folded here, not by the database, so SQLite's FTS5 and
//! PostgreSQL's `tsvector` see the same tokens and answer with the same set:
//! accents removed, lower case, every run of letters and digits one token.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Longer tokens are not indexed (PostgreSQL refuses very long words; no one searches for them).
const MAX_TOKEN_CHARS: usize = 64;
/// What is read of a typed query; the rest is ignored, never an error.
const MAX_QUERY_CHARS: usize = 512;
const MAX_TERMS: usize = 16;
const MAX_PHRASE_TOKENS: usize = 8;

/// The folded characters `c` stands for (none for a combining mark).
fn fold_char(c: char) -> impl Iterator<Item = char> {
    std::iter::once(c)
        .nfkd()
        .filter(|d| !is_combining_mark(*d))
        .flat_map(char::to_lowercase)
        .filter(|d| !is_combining_mark(*d))
}

/// The search tokens of `text`, in order.
pub fn tokens(text: &str) -> Vec<String> {
    located_tokens(text).into_iter().map(|(_, t)| t).collect()
}

/// Each token with the byte range of `text` it came from.
fn located_tokens(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    fn finish(out: &mut Vec<(std::ops::Range<usize>, String)>, current: &mut String, range: std::ops::Range<usize>) {
        if !current.is_empty() && current.chars().count() <= MAX_TOKEN_CHARS {
            out.push((range, std::mem::take(current)));
        }
        current.clear();
    }
    let mut end = 0;
    for (at, c) in text.char_indices() {
        let mut word_char = false;
        for d in fold_char(c) {
            if d.is_alphanumeric() {
                if current.is_empty() {
                    start = at;
                }
                current.push(d);
                word_char = true;
            }
        }
        if word_char {
            end = at + c.len_utf8();
        } else if !current.is_empty() && !fold_char(c).next().is_none_or(char::is_alphanumeric) {
            finish(&mut out, &mut current, start..end);
        }
    }
    finish(&mut out, &mut current, start..end);
    out
}

/// What the index stores for `text`: its tokens separated by spaces.
pub fn fold(text: &str) -> String {
    tokens(text).join(" ")
}

/// One thing to look for: a word or a quoted phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Folded tokens, in order (one for a plain word).
    pub tokens: Vec<String>,
    /// `word*`: the last token is a prefix.
    pub prefix: bool,
    /// `-word`: messages with it are left out.
    pub excluded: bool,
}

/// A parsed search: every included term must occur in one message, none of
/// the excluded ones. Any input parses; what cannot be a token is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextQuery {
    pub terms: Vec<Term>,
}

impl TextQuery {
    /// Words, `"exact phrases"`, `-exclusions` and `prefix*`.
    pub fn parse(input: &str) -> Self {
        let input: String = input.chars().take(MAX_QUERY_CHARS).collect();
        let mut chars = input.chars().peekable();
        let mut terms = Vec::new();
        while terms.len() < MAX_TERMS {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let Some(&first) = chars.peek() else { break };
            let excluded = first == '-';
            if excluded {
                chars.next();
            }
            let quoted = chars.next_if_eq(&'"').is_some();
            let mut typed = String::new();
            if quoted {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    typed.push(c);
                }
            } else {
                while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '"') {
                    typed.push(c);
                }
            }
            let mut prefix = false;
            while chars.next_if_eq(&'*').is_some() {
                prefix = true;
            }
            if typed.ends_with('*') {
                prefix = true;
                typed = typed.trim_end_matches('*').to_owned();
            }
            let mut tokens = tokens(&typed);
            tokens.truncate(MAX_PHRASE_TOKENS);
            if !tokens.is_empty() {
                terms.push(Term {
                    tokens,
                    prefix,
                    excluded,
                });
            }
        }
        Self { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn included(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| !t.excluded)
    }

    pub fn excluded(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| t.excluded)
    }

    /// The included terms with every term's last word a prefix (exclusions dropped).
    pub fn as_prefixes(&self) -> Self {
        Self {
            terms: self
                .included()
                .map(|t| Term {
                    prefix: true,
                    ..t.clone()
                })
                .collect(),
        }
    }

    /// The query with its exclusions as included terms ("messages with any
    /// of the excluded words"), for leaving conversations out when nothing
    /// is included.
    pub fn exclusions_as_query(&self) -> Self {
        Self {
            terms: self
                .excluded()
                .map(|t| Term {
                    excluded: false,
                    ..t.clone()
                })
                .collect(),
        }
    }

    /// An FTS5 `MATCH` expression; `None` when nothing is included (FTS5
    /// cannot match on exclusions alone). Every token is quoted, so no
    /// input can be read as an operator.
    pub fn fts5(&self) -> Option<String> {
        let phrase = |t: &Term| format!("\"{}\"{}", t.tokens.join(" "), if t.prefix { "*" } else { "" });
        let included: Vec<String> = self.included().map(phrase).collect();
        if included.is_empty() {
            return None;
        }
        let mut expr = included.join(" AND ");
        for t in self.excluded() {
            expr = format!("{expr} NOT {}", phrase(t));
        }
        Some(expr)
    }

    /// The same as a PostgreSQL `to_tsquery('simple', …)` text. Tokens are
    /// letters and digits only, so none can be read as an operator.
    pub fn tsquery(&self) -> Option<String> {
        let phrase = |t: &Term| {
            let last = t.tokens.len() - 1;
            let parts: Vec<String> = t
                .tokens
                .iter()
                .enumerate()
                .map(|(i, tok)| {
                    if i == last && t.prefix {
                        format!("{tok}:*")
                    } else {
                        tok.clone()
                    }
                })
                .collect();
            format!("({})", parts.join(" <-> "))
        };
        let included: Vec<String> = self.included().map(phrase).collect();
        if included.is_empty() {
            return None;
        }
        let mut parts = included;
        parts.extend(self.excluded().map(|t| format!("!{}", phrase(t))));
        Some(parts.join(" & "))
    }

    fn highlights(&self, token: &str) -> bool {
        self.included().any(|t| {
            let last = t.tokens.len() - 1;
            t.tokens
                .iter()
                .enumerate()
                .any(|(i, w)| w == token || (t.prefix && i == last && token.starts_with(w.as_str())))
        })
    }

    /// A short part of `text` around its first hit, split into pieces that
    /// are or are not matching words (the caller escapes and marks them).
    pub fn snippet(&self, text: &str, width: usize) -> Vec<Piece> {
        let hits: Vec<std::ops::Range<usize>> = located_tokens(text)
            .into_iter()
            .filter(|(_, tok)| self.highlights(tok))
            .map(|(range, _)| range)
            .collect();
        let first = hits.first().map_or(0, |r| r.start);
        // Start a little before the first hit, on a character boundary.
        let lead = width / 4;
        let start = text[..first]
            .char_indices()
            .rev()
            .nth(lead.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        let end = text[start..]
            .char_indices()
            .nth(width)
            .map_or(text.len(), |(i, _)| start + i);
        let mut pieces = Vec::new();
        let mut at = start;
        let push = |pieces: &mut Vec<Piece>, text: &str, hit: bool| {
            if !text.is_empty() {
                pieces.push(Piece {
                    text: text.to_owned(),
                    hit,
                });
            }
        };
        if start > 0 {
            push(&mut pieces, "…", false);
        }
        for r in hits.into_iter().filter(|r| r.start >= start && r.end <= end) {
            push(&mut pieces, &text[at..r.start], false);
            push(&mut pieces, &text[r.clone()], true);
            at = r.end;
        }
        push(&mut pieces, &text[at..end], false);
        if end < text.len() {
            push(&mut pieces, "…", false);
        }
        pieces
    }
}

/// Part of a snippet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Piece {
    pub text: String,
    /// A word the search matched.
    pub hit: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_removes_accents_and_case_and_splits_on_punctuation() {
        assert_eq!(fold("Crème BRÛLÉE, s'il-vous-plaît!"), "creme brulee s il vous plait");
        assert_eq!(fold("İstanbul ŞEHİR"), "istanbul sehir");
        assert_eq!(
            fold("e-mail: bob@example.com +1 (555) 010"),
            "e mail bob example com 1 555 010"
        );
        assert_eq!(fold("東京 タワー"), "東京 タワー");
        assert_eq!(fold("   "), "");
        assert_eq!(fold(&"a".repeat(65)), "");
    }

    #[test]
    fn a_query_reads_words_phrases_exclusions_and_prefixes() {
        let q = TextQuery::parse(r#"refund "late delivery" -spam deliv* "#);
        assert_eq!(
            q.fts5().unwrap(),
            r#""refund" AND "late delivery" AND "deliv"* NOT "spam""#
        );
        assert_eq!(
            q.tsquery().unwrap(),
            "(refund) & (late <-> delivery) & (deliv:*) & !(spam)"
        );
    }

    #[test]
    fn operators_and_odd_input_are_plain_words_or_nothing() {
        for raw in [
            r#"""#,
            "NEAR(",
            "*",
            "-",
            ":",
            "(((",
            "a:b",
            "\"unbalanced",
            "AND OR NOT",
            "--x",
        ] {
            let q = TextQuery::parse(raw);
            // Outside the quotes only our own operators remain.
            let outside: String = q.fts5().unwrap_or_default().split('"').step_by(2).collect();
            assert!(outside.chars().all(|c| " ANDOT*".contains(c)), "{raw}: {outside}");
        }
        assert!(TextQuery::parse("* - : \"\"").is_empty());
        assert_eq!(TextQuery::parse("NEAR(x").fts5().unwrap(), r#""near x""#);
        assert_eq!(TextQuery::parse("-only").fts5(), None);
        assert_eq!(
            TextQuery::parse("-only").exclusions_as_query().fts5().unwrap(),
            r#""only""#
        );
        assert_eq!(TextQuery::parse(&"word ".repeat(5000)).terms.len(), MAX_TERMS);
    }

    #[test]
    fn a_snippet_marks_the_matching_words_in_the_original_spelling() {
        let q = TextQuery::parse("creme deliv*");
        let pieces = q.snippet("Your Crème brûlée delivery is late", 80);
        let marked: Vec<&str> = pieces.iter().filter(|p| p.hit).map(|p| p.text.as_str()).collect();
        assert_eq!(marked, ["Crème", "delivery"]);
        let all: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(all, "Your Crème brûlée delivery is late");
        let long = format!("{} needle {}", "hay ".repeat(100), "hay ".repeat(100));
        // No hit: the start of the text.
        let pieces = q.snippet(&long, 40);
        assert!(pieces.first().unwrap().text.starts_with("hay") && pieces.last().unwrap().text == "…");
        let q = TextQuery::parse("needle");
        let pieces = q.snippet(&long, 40);
        assert!(pieces.first().unwrap().text == "…" && pieces.last().unwrap().text == "…");
        assert!(pieces.iter().any(|p| p.hit && p.text == "needle"), "{pieces:?}");
    }

    proptest! {
        #[test]
        fn any_input_gives_safe_expressions(raw in any::<String>()) {
            let q = TextQuery::parse(&raw);
            if let Some(e) = q.fts5() {
                // Quotes only around tokens, which are letters and digits.
                prop_assert_eq!(e.matches('"').count() % 2, 0);
            }
            if let Some(e) = q.tsquery() {
                prop_assert!(!e.contains('\''));
            }
            let _ = q.snippet(&raw, 30);
        }

        #[test]
        fn folded_text_folds_to_itself(raw in any::<String>()) {
            let once = fold(&raw);
            prop_assert_eq!(fold(&once), once);
        }
    }
}
