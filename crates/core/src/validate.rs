//! "Parse, don't validate": values that passed their rules once are carried
//! in types that cannot hold anything else.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: &'static str,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// A phone number in E.164 form (`+` and 7–15 digits); spaces, dashes and
/// brackets people type are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = s.strip_prefix('+').unwrap_or("");
        if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0') {
            Ok(Self(s))
        } else {
            Err(Invalid::new("phone", "must be in E.164 form, e.g. +4915123456789"))
        }
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A lower-cased e-mail address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_lowercase();
        let ok = s.len() <= 254
            && !has_control(&s)
            && !s.contains(char::is_whitespace)
            && matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
        if ok {
            Ok(Self(s))
        } else {
            Err(Invalid::new("email", "is not a valid e-mail address"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short single-line human label (names of people, teams, channels, tags).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);

impl Label {
    pub const MAX: usize = 200;
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        if s.chars().count() > Self::MAX {
            return Err(Invalid::new(field, format!("must be at most {} characters", Self::MAX)));
        }
        if s.contains('\n') || has_control(s) {
            return Err(Invalid::new(field, "must be a single line without control characters"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A password a user chose: long enough to matter, short enough to hash.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub const MIN: usize = 10;
    pub const MAX: usize = 1024;
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(Invalid::new(
                "password",
                format!("must be at least {} characters", Self::MIN),
            ));
        }
        if raw.len() > Self::MAX {
            return Err(Invalid::new("password", format!("must be at most {} bytes", Self::MAX)));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Message text: not empty, bounded, no NULs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub const MAX_BYTES: usize = 64 * 1024;
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        if raw.trim().is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(Invalid::new(
                field,
                format!("must be at most {} bytes", Self::MAX_BYTES),
            ));
        }
        if raw.contains('\0') {
            return Err(Invalid::new(field, "must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A quick reply's shortcut, what an agent types after `/` in the composer:
/// 1–32 lowercase letters, digits, `-` and `_`. The `/` people type with it
/// is dropped, so `/hello` and `hello` name the same shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shortcut(String);

impl Shortcut {
    pub const MAX: usize = 32;
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        let s = s.strip_prefix('/').unwrap_or(s);
        if s.is_empty() {
            return Err(Invalid::new("shortcut", "must not be empty"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(Invalid::new(
                "shortcut",
                "may contain only lowercase letters, digits, '-' and '_'",
            ));
        }
        // ASCII from here on, so bytes are characters.
        if s.len() > Self::MAX {
            return Err(Invalid::new(
                "shortcut",
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The text of a quick reply: not blank, at most 4096 characters, no NULs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickReplyText(String);

impl QuickReplyText {
    pub const MAX: usize = 4096;
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.trim().is_empty() {
            return Err(Invalid::new("text", "must not be empty"));
        }
        if raw.chars().count() > Self::MAX {
            return Err(Invalid::new(
                "text",
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        if raw.contains('\0') {
            return Err(Invalid::new("text", "must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An optional comment on a status change or transfer.
pub fn comment(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => MessageText::parse("comment", s).map(|t| Some(t.into_string())),
    }
}

/// The close reasons a new workspace offers.
pub fn default_close_reasons() -> Vec<String> {
    [
        "Problem solved",
        "Customer not responding",
        "Transferred to a specialist",
    ]
    .map(String::from)
    .to_vec()
}

/// A workspace's list of close reasons: 1 to 30, each 1 to 80 characters
/// without control characters, no two alike.
pub fn close_reasons(raw: &[String]) -> Result<Vec<String>, Invalid> {
    let field = "close_reasons";
    let list: Vec<String> = raw.iter().map(|r| r.trim().to_owned()).collect();
    if list.is_empty() || list.len() > 30 {
        return Err(Invalid::new(field, "give from 1 to 30 reasons"));
    }
    for (i, r) in list.iter().enumerate() {
        if r.is_empty() || r.chars().count() > 80 || has_control(r) {
            return Err(Invalid::new(
                field,
                format!("reason {} must be 1 to 80 characters of text", i + 1),
            ));
        }
        if list[..i].contains(r) {
            return Err(Invalid::new(field, format!("{r:?} is listed twice")));
        }
    }
    Ok(list)
}

/// An http(s) URL for callbacks.
pub fn http_url(field: &'static str, raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| Invalid::new(field, "must start with http:// or https://"))?;
    if rest.is_empty() || s.len() > 2048 || s.contains(char::is_whitespace) || has_control(s) {
        return Err(Invalid::new(field, "is not a valid URL"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(Email::parse(" Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        assert!(Email::parse("ana").is_err() && Email::parse("a@b").is_err() && Email::parse("a b@c.d").is_err());
        assert!(Label::parse("name", "  ").is_err() && Label::parse("name", "a\nb").is_err());
        assert!(Password::parse("short").is_err() && Password::parse("long enough pw").is_ok());
        assert_eq!(comment(Some("  ")).unwrap(), None);
        assert!(http_url("url", "ftp://x").is_err() && http_url("url", "http://127.0.0.1:9/cb").is_ok());
    }

    #[test]
    fn shortcuts_drop_the_slash_people_type() {
        assert_eq!(Shortcut::parse("/hello").unwrap().as_str(), "hello");
        assert_eq!(Shortcut::parse(" thanks_2-u ").unwrap().as_str(), "thanks_2-u");
        assert_eq!(Shortcut::parse(&"a".repeat(32)).unwrap().as_str().len(), 32);
        for bad in [
            "",
            "/",
            "  ",
            "//x",
            "Hello",
            "two words",
            "ünï",
            "a.b",
            &"a".repeat(33),
        ] {
            let e = Shortcut::parse(bad).unwrap_err();
            assert_eq!(e.field, "shortcut", "{bad:?}");
        }
        assert!(
            Shortcut::parse(&format!("/{}", "a".repeat(32))).is_ok(),
            "the slash does not count"
        );
    }

    #[test]
    fn quick_reply_text_is_bounded() {
        assert!(QuickReplyText::parse("Hi!\nHow can I help?").is_ok());
        assert!(
            QuickReplyText::parse(&"é".repeat(4096)).is_ok(),
            "characters, not bytes"
        );
        for bad in ["", " \n ", "a\0b", &"a".repeat(4097)] {
            assert_eq!(QuickReplyText::parse(bad).unwrap_err().field, "text");
        }
    }
}
