//! AI assist (DESIGN.md §11), the rules without I/O: which actions exist,
//! the prompts (one place, tested), masking of contact identifiers before
//! anything leaves for a provider, and checking a model's answer before an
//! agent sees it (no "Sure! Here is…" preamble pasted into a reply; a
//! summary parsed into its three parts).

use serde::{Deserialize, Serialize};

use crate::validate::Invalid;

/// The register a draft is rewritten in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Casual,
    SemiFormal,
    Formal,
}

impl Tone {
    fn words(self) -> &'static str {
        match self {
            Tone::Casual => "casual and friendly",
            Tone::SemiFormal => "semi-formal: polite and warm, not stiff",
            Tone::Formal => "formal and courteous",
        }
    }
}

/// What the agent asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Clearer, correct and persuasive; same meaning and language.
    Rephrase,
    /// The same message in another register.
    Tone { tone: Tone },
    /// A short note made into a complete, polite answer.
    Expand,
    /// Into `language` (a name or code), or the customer's own language
    /// when none is given.
    Translate {
        #[serde(default)]
        #[schemars(regex(pattern = r"^[A-Za-z -]{0,40}$"))]
        language: Option<String>,
    },
    /// The conversation in three parts: reason, what was done, what is pending.
    Summarize,
}

/// The features an admin turns on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Rephrase,
    Tone,
    Expand,
    Translate,
    Summarize,
}

impl Feature {
    pub const ALL: [Feature; 5] = [
        Feature::Rephrase,
        Feature::Tone,
        Feature::Expand,
        Feature::Translate,
        Feature::Summarize,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Rephrase => "rephrase",
            Feature::Tone => "tone",
            Feature::Expand => "expand",
            Feature::Translate => "translate",
            Feature::Summarize => "summarize",
        }
    }
}

impl Action {
    pub fn feature(&self) -> Feature {
        match self {
            Action::Rephrase => Feature::Rephrase,
            Action::Tone { .. } => Feature::Tone,
            Action::Expand => Feature::Expand,
            Action::Translate { .. } => Feature::Translate,
            Action::Summarize => Feature::Summarize,
        }
    }

    /// A name for the call log.
    pub fn name(&self) -> String {
        match self {
            Action::Tone { tone } => format!("tone:{}", serde_plain(tone)),
            Action::Translate { language: Some(l) } => format!("translate:{l}"),
            other => other.feature().as_str().to_owned(),
        }
    }
}

fn serde_plain(tone: &Tone) -> &'static str {
    match tone {
        Tone::Casual => "casual",
        Tone::SemiFormal => "semi_formal",
        Tone::Formal => "formal",
    }
}

/// One line of the conversation as the summary sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// "Customer", "Agent", "Bot" or "Note".
    pub who: &'static str,
    pub text: String,
}

/// A chat-completions message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

fn msg(role: &str, content: impl Into<String>) -> ChatMessage {
    ChatMessage {
        role: role.into(),
        content: content.into(),
    }
}

/// The longest draft or conversation sent, in characters (the rest is cut).
pub const MAX_INPUT_CHARS: usize = 12_000;

const ONLY_THE_TEXT: &str = "Answer with the rewritten message only: no introduction, no quotation marks, \
no explanation, no notes. Keep names, numbers, links, order numbers and placeholders such as [email] \
or [phone] exactly as they are.";

/// The messages to send for `action` on `draft` (rewrites) or `turns`
/// (the summary; the customer's latest words also tell a translation
/// which language to use). Text is expected masked already.
pub fn prompt(action: &Action, draft: &str, turns: &[Turn]) -> Vec<ChatMessage> {
    let draft: String = draft.chars().take(MAX_INPUT_CHARS).collect();
    let system = "You help a customer-support agent write to a customer.";
    match action {
        Action::Rephrase => vec![
            msg(
                "system",
                format!(
                    "{system} Rewrite the agent's draft so it is clear, correct and persuasive, with the same \
                     meaning, in the same language as the draft. {ONLY_THE_TEXT}"
                ),
            ),
            msg("user", draft),
        ],
        Action::Tone { tone } => vec![
            msg(
                "system",
                format!(
                    "{system} Rewrite the agent's draft in a {} tone, with the same meaning, in the same \
                     language as the draft. {ONLY_THE_TEXT}",
                    tone.words()
                ),
            ),
            msg("user", draft),
        ],
        Action::Expand => vec![
            msg(
                "system",
                format!(
                    "{system} The agent wrote a short note. Turn it into a complete, polite answer to the \
                     customer, in the same language as the note, adding nothing the note does not say. \
                     {ONLY_THE_TEXT}"
                ),
            ),
            msg("user", draft),
        ],
        Action::Translate { language } => {
            let target = match language.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
                Some(l) => format!("into {l}"),
                None => {
                    let customer: Vec<&str> = turns
                        .iter()
                        .rev()
                        .filter(|t| t.who == "Customer")
                        .take(3)
                        .map(|t| t.text.as_str())
                        .collect();
                    format!(
                        "into the language the customer writes in. The customer's latest messages, to tell \
                         the language: {}",
                        customer
                            .iter()
                            .map(|t| format!("«{}»", t.chars().take(300).collect::<String>()))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            };
            vec![
                msg(
                    "system",
                    format!("{system} Translate the agent's draft {target}. {ONLY_THE_TEXT}"),
                ),
                msg("user", draft),
            ]
        }
        Action::Summarize => {
            let mut transcript = String::new();
            for t in turns {
                if transcript.chars().count() > MAX_INPUT_CHARS {
                    break;
                }
                transcript.push_str(&format!("{}: {}\n", t.who, t.text));
            }
            vec![
                msg(
                    "system",
                    "You summarize a customer-support conversation for the support team, in the language \
                     the customer writes in. Answer with a JSON object only, with three short string \
                     fields: \"reason\" (why the customer got in touch), \"done\" (what was done so far) and \
                     \"pending\" (what is still open, or \"nothing\").",
                ),
                msg("user", transcript),
            ]
        }
    }
}

/// A summary in its three parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub reason: String,
    pub done: String,
    pub pending: String,
}

impl Summary {
    /// As a private note.
    pub fn as_note(&self) -> String {
        format!(
            "Summary\nReason: {}\nDone: {}\nPending: {}",
            self.reason, self.done, self.pending
        )
    }
}

/// Why an answer cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the model answered nothing")]
    Empty,
    #[error("the model's summary is not the JSON object asked for")]
    NotASummary,
}

/// A first line models put before the text they were asked for ("Sure!
/// Here is the rewritten message:"): short, and ending with a colon, or
/// opening with a stock phrase that talks about the text.
fn is_preamble(line: &str) -> bool {
    const OPENERS: [&str; 14] = [
        "sure",
        "certainly",
        "of course",
        "absolutely",
        "okay",
        "ok",
        "here is",
        "here's",
        "here are",
        "claro",
        "voici",
        "hier ist",
        "ecco",
        "aquí",
    ];
    const ABOUT_THE_TEXT: [&str; 8] = [
        "here is", "here's", "here are", "rewrit", "revised", "translat", "version", "rephrase",
    ];
    let l = line.trim().to_lowercase();
    l.chars().count() < 120
        && (l.ends_with(':')
            || (OPENERS.iter().any(|o| l.starts_with(o)) && ABOUT_THE_TEXT.iter().any(|a| l.contains(a))))
}

/// The text an agent may accept from a rewrite: code fences, quotation
/// marks and a leading "Sure! Here is…" line removed.
pub fn clean_rewrite(raw: &str) -> Result<String, AnswerError> {
    let mut text = raw.trim();
    if let Some(inner) = text.strip_prefix("```") {
        let inner = inner.split_once('\n').map_or("", |(_, rest)| rest);
        text = inner.trim_end().strip_suffix("```").unwrap_or(inner).trim();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    while lines.first().is_some_and(|l| l.trim().is_empty() || is_preamble(l)) && lines.len() > 1 {
        lines.remove(0);
    }
    let mut text = lines.join("\n").trim().to_owned();
    for (open, close) in [('"', '"'), ('“', '”'), ('«', '»'), ('\'', '\'')] {
        if text.len() > 2 && text.starts_with(open) && text.ends_with(close) && text.matches(open).count() <= 2 {
            text = text[open.len_utf8()..text.len() - close.len_utf8()].trim().to_owned();
        }
    }
    if text.is_empty() {
        Err(AnswerError::Empty)
    } else {
        Ok(text)
    }
}

/// The summary in a model's answer: the JSON object (in a code fence or
/// after a preamble), each part non-empty.
pub fn parse_summary(raw: &str) -> Result<Summary, AnswerError> {
    let start = raw.find('{').ok_or(AnswerError::NotASummary)?;
    let end = raw.rfind('}').ok_or(AnswerError::NotASummary)?;
    let value: serde_json::Value = serde_json::from_str(raw.get(start..=end).ok_or(AnswerError::NotASummary)?)
        .map_err(|_| AnswerError::NotASummary)?;
    let part = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(AnswerError::NotASummary)
    };
    Ok(Summary {
        reason: part("reason")?,
        done: part("done")?,
        pending: part("pending")?,
    })
}

/// Replace e-mail addresses and phone numbers with `[email]` and
/// `[phone]` before text leaves for a provider.
pub fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(char::is_whitespace) {
        let core = word.trim_end();
        let tail = &word[core.len()..];
        let trimmed =
            core.trim_matches(|c: char| matches!(c, ',' | ';' | '.' | '!' | '?' | ')' | '(' | '<' | '>' | '"' | '\''));
        if is_email(trimmed) {
            out.push_str(&core.replace(trimmed, "[email]"));
            out.push_str(tail);
        } else {
            out.push_str(word);
        }
    }
    mask_phones(&out)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// Runs of 7 to 15 digits, allowing spaces, dots, dashes, brackets and a
/// leading `+` between them, become `[phone]`.
fn mask_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '+' || chars[i].is_ascii_digit() || chars[i] == '(';
        let at_boundary =
            i == 0 || chars[i - 1].is_whitespace() || matches!(chars[i - 1], ':' | ',' | ';' | '"' | '\'');
        if starts && at_boundary {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len()
                && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-' | '.' | '(' | ')' | '+'))
            {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    last_digit = j;
                }
                if chars[j] == '+' && j != i {
                    break;
                }
                j += 1;
            }
            let run: String = chars[i..=last_digit].iter().collect();
            if (7..=15).contains(&digits)
                && !is_date(&run)
                && (last_digit + 1 >= chars.len() || !chars[last_digit + 1].is_alphanumeric())
            {
                out.push_str("[phone]");
                i = last_digit + 1;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// `2026-12-07`, `07.12.2026` and the like: digits in groups of 4-2-2 or
/// 2-2-4 joined by one separator.
fn is_date(run: &str) -> bool {
    let groups: Vec<usize> = run.split(['-', '.', '/']).map(str::len).collect();
    run.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | '/'))
        && (groups == [4, 2, 2] || groups == [2, 2, 4])
}

/// A language given for a translation: a name or a code, 1–40 letters,
/// spaces or dashes.
pub fn language(raw: Option<&str>) -> Result<Option<String>, Invalid> {
    match raw.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) if l.chars().count() <= 40 && l.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-') => {
            Ok(Some(l.to_owned()))
        }
        Some(_) => Err(Invalid::new(
            "language",
            "a language's name or code, such as German or de",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_emails_and_phone_numbers_but_not_order_numbers() {
        assert_eq!(
            mask("Write to ana.b@example.com, or call +49 30 1234-5678 (order 12345)."),
            "Write to [email], or call [phone] (order 12345)."
        );
        assert_eq!(mask("Ticket A-1234567 stays"), "Ticket A-1234567 stays");
        assert_eq!(mask("no@tld and 2026-12-07"), "no@tld and 2026-12-07");
    }

    #[test]
    fn rewrites_lose_preambles_fences_and_quotes() {
        assert_eq!(
            clean_rewrite("Sure! Here is the rewritten message:\n\nDear customer, your parcel ships today.").unwrap(),
            "Dear customer, your parcel ships today."
        );
        assert_eq!(clean_rewrite("```\nHello there\n```").unwrap(), "Hello there");
        assert_eq!(clean_rewrite("\"Hello there\"").unwrap(), "Hello there");
        assert_eq!(clean_rewrite("Hello:\nthe list follows").unwrap(), "the list follows");
        assert_eq!(clean_rewrite("   "), Err(AnswerError::Empty));
        // A one-line answer is kept even if it looks like a preamble, and
        // an answer that merely starts with "Okay" is the answer.
        assert_eq!(clean_rewrite("Here is your refund.").unwrap(), "Here is your refund.");
        assert_eq!(
            clean_rewrite("Okay, your refund is on its way.\nBest, Ana").unwrap(),
            "Okay, your refund is on its way.\nBest, Ana"
        );
    }

    #[test]
    fn summaries_are_parsed_from_json_wherever_it_sits() {
        let s = parse_summary("Sure:\n```json\n{\"reason\": \"Late parcel\", \"done\": \"Checked tracking\", \"pending\": \"nothing\"}\n```").unwrap();
        assert_eq!(s.reason, "Late parcel");
        assert!(s.as_note().contains("Pending: nothing"));
        assert_eq!(parse_summary("no json here"), Err(AnswerError::NotASummary));
        assert_eq!(
            parse_summary("{\"reason\": \"x\", \"done\": \"\"}"),
            Err(AnswerError::NotASummary)
        );
    }

    #[test]
    fn each_prompt_asks_for_its_action_and_carries_the_draft() {
        let turns = vec![Turn {
            who: "Customer",
            text: "Hola, ¿dónde está mi pedido?".into(),
        }];
        let p = prompt(&Action::Tone { tone: Tone::Formal }, "hey, done", &turns);
        assert!(p[0].content.contains("formal and courteous"));
        assert_eq!(p[1].content, "hey, done");
        let p = prompt(&Action::Translate { language: None }, "Your order ships today", &turns);
        assert!(p[0].content.contains("¿dónde está mi pedido?"));
        let p = prompt(
            &Action::Translate {
                language: Some("German".into()),
            },
            "x",
            &turns,
        );
        assert!(p[0].content.contains("into German"));
        let p = prompt(&Action::Summarize, "", &turns);
        assert!(p[0].content.contains("\"pending\""));
        assert!(p[1].content.starts_with("Customer: Hola"));
        assert!(language(Some("<script>")).is_err());
    }
}
