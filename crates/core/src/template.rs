//! Message templates (DESIGN.md §3, §6): provider-approved messages with
//! numbered placeholders (`{{1}}`, `{{2}}`, …), the only thing WhatsApp lets
//! the business send outside the 24-hour window. This module holds the
//! record, the rules its fields follow (WhatsApp's: lower-case names,
//! language codes such as `en` or `pt_BR`, a body of at most 1,024
//! characters whose placeholders are numbered 1, 2, 3, … without gaps) and
//! [`render`], which fills the placeholders with values.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, TemplateId, WorkspaceId};
use crate::model::{UnknownVariant, string_enum};
use crate::time::Millis;
use crate::validate::Invalid;

pub mod parts;
pub use parts::{ButtonValue, HeaderValue, TemplateParts};

string_enum!(
    /// WhatsApp's template categories (they decide pricing and review).
    TemplateCategory { Utility => "utility", Marketing => "marketing", Authentication => "authentication" }
);
string_enum!(
    /// Whether the provider allows the template to be sent. Channels without
    /// a provider review use `approved`.
    TemplateStatus { Approved => "approved", Pending => "pending", Rejected => "rejected" }
);

/// A message template of a workspace.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MessageTemplate {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    /// The channel it belongs to; `null`: any channel that uses templates.
    pub channel_id: Option<ChannelId>,
    /// Lower-case letters, digits and `_` (WhatsApp's rule).
    pub name: String,
    /// Language code, e.g. `en`, `en_US`, `pt_BR`.
    pub language: String,
    pub category: TemplateCategory,
    /// The text, with placeholders `{{1}}`, `{{2}}`, …
    pub body: String,
    /// How many values the body takes (the highest placeholder number).
    pub placeholder_count: usize,
    /// Its header and buttons, where it has them.
    #[serde(flatten)]
    pub parts: TemplateParts,
    pub status: TemplateStatus,
    /// The provider's quality rating, lower case (WhatsApp: `green`,
    /// `yellow`, `red`, `unknown`); `null` where none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// The template a `template` message was made from: what a provider needs
/// to send it (WhatsApp sends the name, language and values, not the text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SentTemplate {
    pub template_id: TemplateId,
    pub name: String,
    pub language: String,
    /// The values of `{{1}}`, `{{2}}`, … in order.
    pub params: Vec<String>,
    /// What its header held, where it has one that takes a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderValue>,
    /// The values of its buttons that take one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ButtonValue>,
}

/// Longest template name, in characters (WhatsApp's limit).
pub const NAME_MAX: usize = 512;
/// Longest body, in characters (WhatsApp's limit for a template body).
pub const BODY_MAX: usize = 1024;
/// Longest value for one placeholder, in characters.
pub const VALUE_MAX: usize = 1024;

/// A template name: 1–512 of `a-z`, `0-9`, `_`.
pub fn name(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Invalid::new("name", "must not be empty"));
    }
    if s.chars().count() > NAME_MAX {
        return Err(Invalid::new("name", format!("must be at most {NAME_MAX} characters")));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Invalid::new(
            "name",
            "may hold only lower-case letters, digits and underscores, e.g. order_update",
        ));
    }
    Ok(s.to_owned())
}

/// A language code in the shape providers use: a 2–3 letter lower-case
/// language, then up to two subtags (script, region) of 2–8 letters or
/// digits, joined by `_` or `-`: `en`, `en_US`, `pt_BR`, `zh-Hant-TW`.
pub fn language(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let mut parts = s.split(['_', '-']);
    let primary = parts.next().unwrap_or_default();
    let subtags: Vec<&str> = parts.collect();
    let ok = (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && subtags.len() <= 2
        && subtags
            .iter()
            .all(|t| (2..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Invalid::new(
            "language",
            "must be a language code such as en, en_US or pt_BR",
        ))
    }
}

/// One piece of a parsed body: text as written, or a placeholder's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(usize),
}

/// Split a body into text and placeholders. Every `{{` must open a
/// placeholder `{{n}}` with n a positive number without leading zeros.
fn pieces(body: &str) -> Result<Vec<Piece<'_>>, Invalid> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let number = &after[..digits];
        let closed = after[digits..].starts_with("}}");
        if digits == 0 || !closed || number.starts_with('0') {
            return Err(Invalid::new(
                "body",
                "placeholders are written {{1}}, {{2}}, … (a `{{` that is not one is not allowed)",
            ));
        }
        let n: usize = number
            .parse()
            .map_err(|_| Invalid::new("body", format!("placeholder {{{{{number}}}}} is out of range")))?;
        out.push(Piece::Slot(n));
        rest = &after[digits + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// How many values a body takes. Its placeholders must be numbered
/// consecutively from 1: `{{1}}` … `{{n}}` each at least once, none
/// beyond. A placeholder may appear more than once.
pub fn placeholder_count(body: &str) -> Result<usize, Invalid> {
    let mut seen: Vec<usize> = pieces(body)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Slot(n) => Some(n),
            Piece::Text(_) => None,
        })
        .collect();
    seen.sort_unstable();
    seen.dedup();
    for (i, n) in seen.iter().enumerate() {
        if *n != i + 1 {
            return Err(Invalid::new(
                "body",
                format!(
                    "placeholders must be numbered 1, 2, 3, … without gaps; {{{{{}}}}} is missing",
                    i + 1
                ),
            ));
        }
    }
    Ok(seen.len())
}

/// A template body that passed its rules, with its placeholder count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateBody {
    pub text: String,
    pub placeholder_count: usize,
}

/// A body: 1–1,024 characters, not blank, no control characters other than
/// line breaks and tabs, placeholders numbered 1…n.
pub fn body(raw: &str) -> Result<TemplateBody, Invalid> {
    if raw.trim().is_empty() {
        return Err(Invalid::new("body", "must not be empty"));
    }
    if raw.chars().count() > BODY_MAX {
        return Err(Invalid::new("body", format!("must be at most {BODY_MAX} characters")));
    }
    if raw.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::new("body", "must not contain control characters"));
    }
    let placeholder_count = placeholder_count(raw)?;
    Ok(TemplateBody {
        text: raw.to_owned(),
        placeholder_count,
    })
}

/// Fill a body's placeholders: `{{i}}` becomes `values[i - 1]`. There must
/// be exactly one value per placeholder number, each a non-blank single line
/// of at most 1,024 characters (what WhatsApp accepts as a parameter).
/// Values are inserted as they are: a value that looks like a placeholder is
/// not filled again.
pub fn render<S: AsRef<str>>(body: &str, values: &[S]) -> Result<String, Invalid> {
    let expected = placeholder_count(body)?;
    if values.len() != expected {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        return Err(Invalid::new(
            "values",
            format!(
                "the template takes {}, but {} given",
                plural(expected, "value"),
                match values.len() {
                    1 => "1 was".to_owned(),
                    n => format!("{n} were"),
                }
            ),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        let v = v.as_ref();
        let number = i + 1;
        if v.trim().is_empty() {
            return Err(Invalid::new("values", format!("value {number} must not be empty")));
        }
        if v.chars().count() > VALUE_MAX {
            return Err(Invalid::new(
                "values",
                format!("value {number} must be at most {VALUE_MAX} characters"),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(Invalid::new(
                "values",
                format!("value {number} must be a single line without tabs or control characters"),
            ));
        }
    }
    let mut out = String::with_capacity(body.len());
    for piece in pieces(body)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(n) => out.push_str(values[n - 1].as_ref()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_follow_whatsapp() {
        assert_eq!(name(" order_update_2 ").unwrap(), "order_update_2");
        for bad in ["", "Order", "order-update", "order update", "pedido_ç"] {
            assert_eq!(name(bad).unwrap_err().field, "name", "{bad:?}");
        }
        assert!(name(&"a".repeat(NAME_MAX)).is_ok());
        assert!(name(&"a".repeat(NAME_MAX + 1)).is_err());
    }

    #[test]
    fn languages_look_like_codes() {
        for good in ["en", "pt_BR", "en_US", "es-419", "zh_Hant_TW", "fil"] {
            assert_eq!(language(good).unwrap(), good);
        }
        for bad in [
            "",
            "e",
            "EN",
            "english",
            "en_",
            "en__US",
            "en_US_POSIX_x",
            "en US",
            "en_U$",
        ] {
            assert_eq!(language(bad).unwrap_err().field, "language", "{bad:?}");
        }
    }

    #[test]
    fn bodies_number_placeholders_from_one() {
        assert_eq!(body("Hello!").unwrap().placeholder_count, 0);
        assert_eq!(body("Hi {{1}}, order {{2}} ships {{3}}.").unwrap().placeholder_count, 3);
        // Any order, repeats allowed: what counts is that 1…n are all there.
        assert_eq!(body("{{2}} then {{1}} and {{1}} again").unwrap().placeholder_count, 2);
        for bad in [
            "",
            "   ",
            "Hi {{2}}",
            "Hi {{1}} and {{3}}",
            "Hi {{0}}",
            "Hi {{01}}",
            "Hi {{name}}",
            "Hi {{ 1 }}",
            "Hi {{1}",
            "Hi {{",
            "Hi {{99999999999999999999999}}",
            "bell \u{7}",
        ] {
            assert_eq!(body(bad).unwrap_err().field, "body", "{bad:?}");
        }
        // Single braces are text.
        assert_eq!(body("a { b } c }}").unwrap().placeholder_count, 0);
        assert!(body(&"x".repeat(BODY_MAX)).is_ok());
        assert!(body(&"x".repeat(BODY_MAX + 1)).is_err());
        assert!(body("line one\nline two\t{{1}}").is_ok());
    }

    #[test]
    fn render_fills_each_placeholder_once() {
        assert_eq!(
            render("Hi {{1}}, order {{2}} is on its way, {{1}}!", &["Ana", "A-123"]).unwrap(),
            "Hi Ana, order A-123 is on its way, Ana!"
        );
        assert_eq!(render::<&str>("No placeholders", &[]).unwrap(), "No placeholders");
        // A value that looks like a placeholder stays as written.
        assert_eq!(render("Code {{1}}", &["{{1}}"]).unwrap(), "Code {{1}}");
        let wrong = render("Hi {{1}} {{2}}", &["Ana"]).unwrap_err();
        assert_eq!(wrong.field, "values");
        assert_eq!(
            wrong.to_string(),
            "values: the template takes 2 values, but 1 was given"
        );
        assert_eq!(render("Hi", &["extra"]).unwrap_err().field, "values");
        assert_eq!(render("Hi {{1}}", &[" "]).unwrap_err().field, "values");
        assert_eq!(render("Hi {{1}}", &["two\nlines"]).unwrap_err().field, "values");
        assert_eq!(render("Hi {{2}}", &["a", "b"]).unwrap_err().field, "body");
    }

    /// A body built from text pieces (without `{`) and placeholders that use
    /// every number from 1 to n, in a shuffled order with repeats.
    fn template() -> impl Strategy<Value = (Vec<String>, Vec<usize>, Vec<String>)> {
        (1usize..8).prop_flat_map(|n| {
            let order = Just((1..=n).collect::<Vec<usize>>()).prop_shuffle();
            let repeats = proptest::collection::vec(1..=n, 0..4);
            (order, repeats).prop_flat_map(move |(order, repeats)| {
                let slots: Vec<usize> = order.into_iter().chain(repeats).collect();
                let texts = proptest::collection::vec("[^{\\p{Cc}]{0,12}", slots.len() + 1);
                let values = proptest::collection::vec("[^\\p{Cc}]{0,10}[a-zA-Z0-9{}]", n);
                (texts, Just(slots), values)
            })
        })
    }

    proptest! {
        #[test]
        fn rendering_with_n_values_fills_every_placeholder((texts, slots, values) in template()) {
            let mut body = texts[0].clone();
            let mut expected = texts[0].clone();
            for (slot, text) in slots.iter().zip(&texts[1..]) {
                body.push_str(&format!("{{{{{slot}}}}}{text}"));
                expected.push_str(&values[slot - 1]);
                expected.push_str(text);
            }
            let n = values.len();
            prop_assert_eq!(placeholder_count(&body).unwrap(), n);
            let rendered = render(&body, &values).unwrap();
            prop_assert_eq!(&rendered, &expected);
            // One value fewer or more is refused, naming `values`.
            prop_assert_eq!(render(&body, &values[..n - 1]).unwrap_err().field, "values");
            let mut more = values.clone();
            more.push("extra".to_owned());
            prop_assert_eq!(render(&body, &more).unwrap_err().field, "values");
        }
    }
}
