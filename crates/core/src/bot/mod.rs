//! Bot flows: what a channel's built-in bot says and does, written by an
//! admin as YAML or JSON (see [`compile`]), and the pure step function that
//! runs it: (flow, where the chat is, what the customer wrote) → replies,
//! collected fields, and whether to hand the chat to people.

mod compile;
pub mod source;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ids::TeamId;
use crate::validate::{Email, Label, Phone};

pub use compile::compile;

/// A channel's bot, as kept in the channel's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelBot {
    /// The built-in bot runs this flow; `source` is the admin's text.
    Flow { source: String, flow: Flow },
    /// An external bot gets the chat's events, signed with `secret`, at `url`
    /// and answers through the API.
    External { url: String, secret: String },
}

/// What the API shows of a channel's bot: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BotView {
    Flow { source: String },
    External { url: String },
}

impl ChannelBot {
    pub fn view(&self) -> BotView {
        match self {
            ChannelBot::Flow { source, .. } => BotView::Flow { source: source.clone() },
            ChannelBot::External { url, .. } => BotView::External { url: url.clone() },
        }
    }

    /// The bot kept in a channel's settings JSON, if any.
    pub fn from_settings(settings: &serde_json::Value) -> Option<ChannelBot> {
        settings
            .get("bot")
            .filter(|b| !b.is_null())
            .and_then(|b| serde_json::from_value(b.clone()).ok())
    }
}

/// A problem in a flow's source, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema, thiserror::Error)]
#[error("line {line}, column {column}{}: {message}", if path.is_empty() { String::new() } else { format!(" ({path})") })]
pub struct FlowError {
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// Where in the flow, e.g. `steps.ask_email.collect`.
    pub path: String,
    pub message: String,
}

/// A validated flow. Team references are resolved to ids when it is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub greeting: Option<String>,
    pub start: String,
    /// Words that hand the chat to a person from any step.
    pub handoff_keywords: Vec<String>,
    /// Failed matches in a row before the bot hands off.
    pub max_failures: u32,
    /// Where keyword and failure hand-offs go (`None`: the channel's default team).
    pub fallback_team: Option<TeamId>,
    pub failure_reply: String,
    pub handoff_reply: String,
    pub steps: BTreeMap<String, Step>,
    pub faq: Vec<FaqEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub say: Option<String>,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A menu: buttons where the channel has them, numbered lines otherwise.
    Options(Vec<Choice>),
    /// Ask for a field and store the answer in the contact.
    Collect {
        field: Field,
        invalid: Option<String>,
        next: String,
    },
    /// Answer questions from the flow's FAQ; after an answer go to `next`.
    Faq { next: Option<String> },
    /// Give the chat to people (`None`: the channel's default team).
    HandOff { team: Option<TeamId> },
    /// Say something and go straight on.
    Next(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub label: String,
    pub keywords: Vec<String>,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Step(String),
    HandOff { team: Option<TeamId> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaqEntry {
    pub question: Option<String>,
    pub keywords: Vec<String>,
    pub answer: String,
}

/// A contact field a bot can fill in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Email,
    Phone,
    /// A custom attribute (`attributes.order_number`).
    Attribute(String),
}

impl Field {
    /// Check and normalise what the customer wrote for this field.
    pub fn parse_value(&self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        match self {
            Field::Name => Label::parse("name", raw).ok().map(Label::into_string),
            Field::Email => Email::parse(raw).ok().map(|e| e.as_str().to_string()),
            Field::Phone => Phone::parse(raw).ok().map(Phone::into_string),
            Field::Attribute(_) => {
                (!raw.is_empty() && raw.chars().count() <= 500 && !raw.chars().any(char::is_control))
                    .then(|| raw.to_string())
            }
        }
    }
}

/// Where a bot chat stands: the step waiting for the customer, and how many
/// answers in a row it did not understand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub step: String,
    pub failures: u32,
}

/// Something the bot sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    /// Labels to show as buttons (empty where the channel has none).
    pub buttons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Say(Reply),
    Collect { field: Field, value: String },
    HandOff { team: Option<TeamId> },
}

/// What one customer message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// Where the chat waits now; `None` once it was handed off.
    pub session: Option<Session>,
    pub effects: Vec<Effect>,
}

/// A chain of `next` steps longer than this is a bug the validator missed;
/// the bot hands off rather than spin.
const MAX_HOPS: usize = 64;

impl Flow {
    /// The customer's first message in a new bot chat.
    pub fn begin(&self, text: &str, buttons: bool) -> Turn {
        if self.wants_person(text) {
            return self.hand_off(Vec::new(), self.fallback_team);
        }
        let mut effects = Vec::new();
        if let Some(greeting) = &self.greeting {
            effects.push(say(greeting));
        }
        self.enter(&self.start, effects, buttons)
    }

    /// A later customer message, at `session`.
    pub fn respond(&self, session: &Session, text: &str, buttons: bool) -> Turn {
        if self.wants_person(text) {
            return self.hand_off(Vec::new(), self.fallback_team);
        }
        // The flow was edited and the step is gone: start over.
        let Some(step) = self.steps.get(&session.step) else {
            return self.enter(&self.start, Vec::new(), buttons);
        };
        match &step.action {
            Action::Options(choices) => match choose(choices, text) {
                Some(choice) => match &choice.target {
                    Target::Step(next) => self.enter(next, Vec::new(), buttons),
                    Target::HandOff { team } => self.hand_off(Vec::new(), *team),
                },
                None => {
                    let mut prompt = self.prompt(step, buttons);
                    prompt.text = format!("{}\n{}", self.failure_reply, prompt.text);
                    self.fail(session, Effect::Say(prompt))
                }
            },
            Action::Collect { field, invalid, next } => match field.parse_value(text) {
                Some(value) => {
                    let effects = vec![Effect::Collect {
                        field: field.clone(),
                        value,
                    }];
                    self.enter(next, effects, buttons)
                }
                None => self.fail(session, say(invalid.as_deref().unwrap_or(&self.failure_reply))),
            },
            Action::Faq { next } => match self.answer(text) {
                Some(answer) => {
                    let effects = vec![say(answer)];
                    match next {
                        Some(next) => self.enter(next, effects, buttons),
                        None => Turn {
                            session: Some(Session {
                                step: session.step.clone(),
                                failures: 0,
                            }),
                            effects,
                        },
                    }
                }
                None => self.fail(session, say(&self.failure_reply)),
            },
            // Steps that never wait; a session cannot stand on them.
            Action::HandOff { .. } | Action::Next(_) => self.enter(&self.start, Vec::new(), buttons),
        }
    }

    /// Enter a step: say its text, then wait there, go on, or hand off.
    fn enter(&self, start: &str, mut effects: Vec<Effect>, buttons: bool) -> Turn {
        let mut name = start;
        for _ in 0..MAX_HOPS {
            let Some(step) = self.steps.get(name) else { break };
            let prompt = self.prompt(step, buttons);
            if !prompt.text.is_empty() || !prompt.buttons.is_empty() {
                effects.push(Effect::Say(prompt));
            }
            match &step.action {
                Action::Next(next) => name = next,
                Action::HandOff { team } => {
                    effects.push(Effect::HandOff { team: *team });
                    return Turn { session: None, effects };
                }
                Action::Options(_) | Action::Collect { .. } | Action::Faq { .. } => {
                    return Turn {
                        session: Some(Session {
                            step: name.to_string(),
                            failures: 0,
                        }),
                        effects,
                    };
                }
            }
        }
        self.hand_off(effects, self.fallback_team)
    }

    /// A step's text, with its menu as buttons or as numbered lines.
    fn prompt(&self, step: &Step, buttons: bool) -> Reply {
        let text = step.say.clone().unwrap_or_default();
        let labels = match &step.action {
            Action::Options(choices) => choices.iter().map(|c| c.label.clone()).collect(),
            _ => Vec::new(),
        };
        menu(text, labels, buttons)
    }

    /// An answer not understood: say so, or hand off after too many.
    fn fail(&self, session: &Session, reply: Effect) -> Turn {
        let failures = session.failures + 1;
        if failures >= self.max_failures {
            return self.hand_off(Vec::new(), self.fallback_team);
        }
        Turn {
            session: Some(Session {
                step: session.step.clone(),
                failures,
            }),
            effects: vec![reply],
        }
    }

    fn hand_off(&self, mut effects: Vec<Effect>, team: Option<TeamId>) -> Turn {
        if !self.handoff_reply.is_empty() {
            effects.push(say(&self.handoff_reply));
        }
        effects.push(Effect::HandOff { team });
        Turn { session: None, effects }
    }

    fn wants_person(&self, text: &str) -> bool {
        let words = words(text);
        self.handoff_keywords.iter().any(|k| contains_phrase(&words, k))
    }

    /// The FAQ entry that matches best: its question word for word, else
    /// the most keywords found.
    fn answer(&self, text: &str) -> Option<&str> {
        let asked = words(text);
        let best = self
            .faq
            .iter()
            .map(|e| {
                let exact = e.question.as_deref().is_some_and(|q| words(q) == asked);
                let hits = e.keywords.iter().filter(|k| contains_phrase(&asked, k)).count();
                (if exact { usize::MAX } else { hits }, e)
            })
            .filter(|(score, _)| *score > 0)
            // The first entry wins a tie: `max_by_key` keeps the last.
            .fold(None::<(usize, &FaqEntry)>, |best, (score, e)| match best {
                Some((s, _)) if s >= score => best,
                _ => Some((score, e)),
            });
        best.map(|(_, e)| e.answer.as_str())
    }
}

/// A message offering `labels`: as buttons where the channel has them,
/// else as numbered lines under the text (a number picks the choice).
pub fn menu(text: String, labels: Vec<String>, buttons: bool) -> Reply {
    if buttons || labels.is_empty() {
        return Reply { text, buttons: labels };
    }
    let lines = labels.iter().enumerate().map(|(i, l)| format!("{}. {l}", i + 1));
    let text = std::iter::once(text)
        .filter(|t| !t.is_empty())
        .chain(lines)
        .collect::<Vec<_>>()
        .join("\n");
    Reply {
        text,
        buttons: Vec::new(),
    }
}

fn say(text: &str) -> Effect {
    Effect::Say(Reply {
        text: text.to_string(),
        buttons: Vec::new(),
    })
}

/// The option a customer picked: by number, by its label (a tapped button
/// sends the label), or by a keyword or the label within what they wrote.
fn choose<'a>(choices: &'a [Choice], text: &str) -> Option<&'a Choice> {
    let trimmed = text.trim().trim_end_matches(['.', ')']);
    if let Ok(n) = trimmed.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| choices.get(i));
    }
    let said = words(text);
    choices
        .iter()
        .find(|c| words(&c.label) == said)
        .or_else(|| {
            choices
                .iter()
                .find(|c| c.keywords.iter().any(|k| contains_phrase(&said, k)))
        })
        .or_else(|| choices.iter().find(|c| contains_phrase(&said, &c.label)))
}

/// Lower-cased words, punctuation dropped.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `phrase`'s words appear in `words`, together and in order.
fn contains_phrase(words_: &[String], phrase: &str) -> bool {
    let phrase = words(phrase);
    !phrase.is_empty() && words_.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

#[cfg(test)]
mod tests;
