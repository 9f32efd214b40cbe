//! From source text to a [`Flow`]: every field checked, every target
//! resolved, every step reachable and able to end in a hand-off. Each
//! problem is reported with the line it is on; all of them at once.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::source::{self, Node, Value};
use super::{Action, Choice, FaqEntry, Field, Flow, FlowError, Step, Target};
use crate::ids::TeamId;

const MAX_STEPS: usize = 200;
const MAX_OPTIONS: usize = 10;
const MAX_FAQ: usize = 200;
const MAX_TEXT: usize = 4096;
const MAX_LABEL: usize = 40;
const DEFAULT_HANDOFF_KEYWORDS: [&str; 3] = ["agent", "human", "operator"];
const DEFAULT_MAX_FAILURES: u32 = 3;
const DEFAULT_FAILURE_REPLY: &str = "Sorry, I did not understand that.";
const DEFAULT_HANDOFF_REPLY: &str = "One moment, I am passing you to a person.";

const TOP_KEYS: &[&str] = &[
    "greeting",
    "start",
    "handoff_keywords",
    "max_failures",
    "fallback_team",
    "failure_reply",
    "handoff_reply",
    "steps",
    "faq",
];
const STEP_KEYS: &[&str] = &["say", "options", "collect", "invalid", "faq", "handoff", "next"];
const OPTION_KEYS: &[&str] = &["label", "keywords", "next", "handoff"];
const FAQ_KEYS: &[&str] = &["question", "keywords", "answer"];

/// Parse and check a flow. `team` resolves a team name or id of the
/// workspace the flow is saved in.
pub fn compile(text: &str, team: &dyn Fn(&str) -> Option<TeamId>) -> Result<Flow, Vec<FlowError>> {
    let root = source::parse(text).map_err(|e| vec![e])?;
    let mut c = Checker {
        errors: Vec::new(),
        team,
    };
    let flow = c.flow(&root);
    match flow {
        Some(flow) if c.errors.is_empty() => Ok(flow),
        _ => {
            c.errors.sort_by_key(|e| (e.line, e.column));
            c.errors.dedup();
            Err(c.errors)
        }
    }
}

struct Checker<'a> {
    errors: Vec<FlowError>,
    team: &'a dyn Fn(&str) -> Option<TeamId>,
}

/// A step as read, with where its targets were written.
struct RawStep<'n> {
    node: &'n Node,
    step: Step,
    /// Every step name it can go to, with the node that names it.
    edges: Vec<(String, &'n Node)>,
    waits: bool,
    hands_off: bool,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'a> Checker<'a> {
    fn push(&mut self, node: &Node, path: &str, message: impl Into<String>) {
        self.errors.push(node.error(path, message));
    }

    /// A mapping's entries by key, refusing unknown and repeated keys.
    fn fields<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<HashMap<String, &'n Node>> {
        let Value::Map(pairs) = &node.value else {
            let what = if path.is_empty() { "the flow" } else { path };
            self.push(
                node,
                path,
                format!("{what} must be a mapping (`key: value`), not {}", node.kind()),
            );
            return None;
        };
        let mut fields: HashMap<String, &'n Node> = HashMap::new();
        let mut lines: HashMap<String, usize> = HashMap::new();
        for (key, value) in pairs {
            let Value::Scalar { text: name, .. } = &key.value else {
                self.push(key, path, "keys must be plain names");
                continue;
            };
            if !allowed.contains(&name.as_str()) {
                self.push(
                    key,
                    &join(path, name),
                    format!("unknown field `{name}`; expected one of: {}", allowed.join(", ")),
                );
                continue;
            }
            if let Some(first) = lines.get(name) {
                self.push(
                    key,
                    &join(path, name),
                    format!("`{name}` appears twice (first on line {first})"),
                );
                continue;
            }
            lines.insert(name.clone(), key.line);
            fields.insert(name.clone(), value);
        }
        Some(fields)
    }

    /// A piece of text: any scalar, trimmed, not empty, not too long.
    fn text(&mut self, node: &Node, path: &str, max: usize) -> Option<String> {
        match &node.value {
            Value::Scalar { text, .. } if node.kind() != "nothing" => {
                let text = text.trim();
                if text.chars().count() > max {
                    self.push(node, path, format!("longer than {max} characters"));
                    None
                } else if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    self.push(node, path, "contains control characters");
                    None
                } else {
                    Some(text.to_string())
                }
            }
            _ => {
                self.push(node, path, format!("must be text, not {}", node.kind()));
                None
            }
        }
    }

    /// A list of words or phrases; one phrase alone is a list of one.
    fn phrases(&mut self, node: &Node, path: &str) -> Vec<String> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Scalar { .. } => vec![node],
            Value::Map(_) => {
                self.push(node, path, "must be a list of words or phrases");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let path = format!("{path}[{i}]");
            if let Some(phrase) = self.text(item, &path, 100) {
                if phrase.split(|c: char| !c.is_alphanumeric()).all(str::is_empty) {
                    self.push(item, &path, "must contain a letter or digit");
                } else {
                    out.push(phrase);
                }
            }
        }
        out
    }

    fn team(&mut self, node: &Node, path: &str) -> Option<Option<TeamId>> {
        if let Value::Scalar { text, quoted: false } = &node.value
            && text == "true"
        {
            return Some(None);
        }
        let name = self.text(node, path, 200)?;
        match (self.team)(&name) {
            Some(id) => Some(Some(id)),
            None => {
                self.push(
                    node,
                    path,
                    format!("missing target: there is no team `{name}` in this workspace (give a team's name or id, or `true` for the channel's default team)"),
                );
                None
            }
        }
    }

    fn step_name(&mut self, node: &Node, path: &str) -> Option<String> {
        self.text(node, path, 100)
    }

    fn flow(&mut self, root: &Node) -> Option<Flow> {
        let top = self.fields(root, "", TOP_KEYS)?;
        let greeting = top.get("greeting").and_then(|n| self.text(n, "greeting", MAX_TEXT));
        let handoff_keywords = match top.get("handoff_keywords") {
            Some(n) => self.phrases(n, "handoff_keywords"),
            None => DEFAULT_HANDOFF_KEYWORDS.iter().map(|k| k.to_string()).collect(),
        };
        let max_failures = match top.get("max_failures") {
            Some(n) => match &n.value {
                Value::Scalar { text, quoted: false } => match text.parse::<u32>() {
                    Ok(v @ 1..=20) => v,
                    _ => {
                        self.push(n, "max_failures", "must be a whole number from 1 to 20");
                        DEFAULT_MAX_FAILURES
                    }
                },
                _ => {
                    self.push(n, "max_failures", "must be a whole number from 1 to 20");
                    DEFAULT_MAX_FAILURES
                }
            },
            None => DEFAULT_MAX_FAILURES,
        };
        let fallback_team = top
            .get("fallback_team")
            .and_then(|n| self.team(n, "fallback_team"))
            .flatten();
        let failure_reply = top
            .get("failure_reply")
            .and_then(|n| self.text(n, "failure_reply", MAX_TEXT))
            .unwrap_or_else(|| DEFAULT_FAILURE_REPLY.into());
        let handoff_reply = match top.get("handoff_reply") {
            Some(n) if n.kind() == "nothing" => String::new(),
            Some(n) => self.text(n, "handoff_reply", MAX_TEXT).unwrap_or_default(),
            None => DEFAULT_HANDOFF_REPLY.into(),
        };
        let faq = top.get("faq").map(|n| self.faq(n)).unwrap_or_default();
        let Some(steps_node) = top.get("steps") else {
            self.push(root, "steps", "missing `steps`: a flow needs at least one step");
            return None;
        };
        let raw = self.steps(steps_node, !faq.is_empty())?;
        let start = match top.get("start") {
            Some(n) => {
                let name = self.step_name(n, "start")?;
                if !raw.iter().any(|(k, _)| *k == name) {
                    self.missing_step(n, "start", &name, &raw);
                }
                name
            }
            None => raw.first().map(|(name, _)| name.clone())?,
        };
        // Loops and reachability only mean something once every name resolves.
        if self.errors.is_empty() {
            self.graph(&start, &raw);
        }
        Some(Flow {
            greeting,
            start,
            handoff_keywords,
            max_failures,
            fallback_team,
            failure_reply,
            handoff_reply,
            steps: raw.into_iter().map(|(name, r)| (name, r.step)).collect(),
            faq,
        })
    }

    fn missing_step(&mut self, node: &Node, path: &str, name: &str, steps: &[(String, RawStep<'_>)]) {
        let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
        self.push(
            node,
            path,
            format!(
                "missing target: there is no step `{name}` (steps: {})",
                names.join(", ")
            ),
        );
    }

    fn steps<'n>(&mut self, node: &'n Node, has_faq: bool) -> Option<Vec<(String, RawStep<'n>)>> {
        let Value::Map(pairs) = &node.value else {
            self.push(
                node,
                "steps",
                format!("must be a mapping of step names to steps, not {}", node.kind()),
            );
            return None;
        };
        if pairs.is_empty() {
            self.push(node, "steps", "a flow needs at least one step");
            return None;
        }
        if pairs.len() > MAX_STEPS {
            self.push(node, "steps", format!("more than {MAX_STEPS} steps"));
            return None;
        }
        let mut out: Vec<(String, RawStep<'n>)> = Vec::new();
        for (key, value) in pairs {
            let Some(name) = self.step_name(key, "steps") else {
                continue;
            };
            if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-')) {
                self.push(
                    key,
                    &join("steps", &name),
                    "step names use letters, digits, `_` and `-`",
                );
                continue;
            }
            if out.iter().any(|(n, _)| *n == name) {
                self.push(key, &join("steps", &name), format!("step `{name}` is defined twice"));
                continue;
            }
            if let Some(step) = self.step(key, value, &join("steps", &name), has_faq) {
                out.push((name, step));
            }
        }
        // Targets are checked once every step is known.
        let names: HashSet<String> = out.iter().map(|(n, _)| n.clone()).collect();
        let mut missing = Vec::new();
        for (name, step) in &out {
            for (target, node) in &step.edges {
                if !names.contains(target) {
                    missing.push((*node, format!("steps.{name}"), target.clone()));
                }
            }
        }
        for (node, path, target) in missing {
            self.missing_step(node, &path, &target, &out);
        }
        Some(out)
    }

    /// A step; `key` (its name) is where step-wide problems are reported.
    fn step<'n>(&mut self, key: &'n Node, node: &'n Node, path: &str, has_faq: bool) -> Option<RawStep<'n>> {
        let f = self.fields(node, path, STEP_KEYS)?;
        let say = f.get("say").and_then(|n| self.text(n, &join(path, "say"), MAX_TEXT));
        let actions: Vec<&str> = ["options", "collect", "faq", "handoff"]
            .into_iter()
            .filter(|k| f.contains_key(*k))
            .collect();
        if actions.len() > 1 {
            self.push(
                key,
                path,
                format!("a step does one thing; it has {}", actions.join(" and ")),
            );
            return None;
        }
        let next = f.get("next").map(|n| (self.step_name(n, &join(path, "next")), *n));
        let mut edges = Vec::new();
        if let Some((Some(name), n)) = &next {
            edges.push((name.clone(), *n));
        }
        if f.contains_key("invalid") && !f.contains_key("collect") {
            self.push(f["invalid"], &join(path, "invalid"), "`invalid` goes with `collect`");
        }
        let next_name = next.as_ref().and_then(|(n, _)| n.clone());
        let (action, waits) = match actions.first().copied() {
            Some("options") => {
                if let Some((_, n)) = next {
                    self.push(
                        n,
                        &join(path, "next"),
                        "`next` does not go with `options`: each option names its own",
                    );
                }
                let choices = self.options(f["options"], &join(path, "options"), &mut edges)?;
                (Action::Options(choices), true)
            }
            Some("collect") => {
                let field = self.field(f["collect"], &join(path, "collect"))?;
                let invalid = f
                    .get("invalid")
                    .and_then(|n| self.text(n, &join(path, "invalid"), MAX_TEXT));
                let Some(next) = next_name else {
                    if next.is_none() {
                        self.push(
                            key,
                            path,
                            "`collect` needs `next`: the step to go to once the answer is stored",
                        );
                    }
                    return None;
                };
                (Action::Collect { field, invalid, next }, true)
            }
            Some("faq") => {
                let on = f["faq"];
                if !matches!(&on.value, Value::Scalar { text, quoted: false } if text == "true") {
                    self.push(
                        on,
                        &join(path, "faq"),
                        "write `faq: true` to answer from the flow's FAQ",
                    );
                    return None;
                }
                if !has_faq {
                    self.push(on, &join(path, "faq"), "the flow has no `faq` entries to answer from");
                }
                (Action::Faq { next: next_name }, true)
            }
            Some(_) => {
                if let Some((_, n)) = next {
                    self.push(
                        n,
                        &join(path, "next"),
                        "`next` does not go with `handoff`: the bot stops here",
                    );
                }
                let team = self.team(f["handoff"], &join(path, "handoff"))?;
                (Action::HandOff { team }, false)
            }
            None => match next_name {
                Some(next) => (Action::Next(next), false),
                None => {
                    if next.is_none() {
                        self.push(
                            key,
                            path,
                            "the step must do something: give it `options`, `collect`, `faq`, `handoff` or `next`",
                        );
                    }
                    return None;
                }
            },
        };
        let hands_off = matches!(&action, Action::HandOff { .. })
            || matches!(&action, Action::Options(cs) if cs.iter().any(|c| matches!(c.target, Target::HandOff { .. })));
        Some(RawStep {
            node: key,
            step: Step { say, action },
            edges,
            waits,
            hands_off,
        })
    }

    fn options<'n>(&mut self, node: &'n Node, path: &str, edges: &mut Vec<(String, &'n Node)>) -> Option<Vec<Choice>> {
        let Value::Seq(items) = &node.value else {
            self.push(node, path, format!("must be a list of options, not {}", node.kind()));
            return None;
        };
        if items.is_empty() || items.len() > MAX_OPTIONS {
            self.push(node, path, format!("give 1 to {MAX_OPTIONS} options"));
            return None;
        }
        let mut choices: Vec<Choice> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{path}[{i}]");
            let Some(f) = self.fields(item, &path, OPTION_KEYS) else {
                continue;
            };
            let Some(label_node) = f.get("label") else {
                self.push(item, &path, "an option needs a `label`");
                continue;
            };
            let Some(label) = self.text(label_node, &join(&path, "label"), MAX_LABEL) else {
                continue;
            };
            if choices.iter().any(|c| c.label.eq_ignore_ascii_case(&label)) {
                self.push(
                    label_node,
                    &join(&path, "label"),
                    format!("two options are labelled `{label}`"),
                );
            }
            if label.trim_end_matches(['.', ')']).parse::<usize>().is_ok() {
                self.push(
                    label_node,
                    &join(&path, "label"),
                    "a label cannot be a number: numbers pick options",
                );
            }
            let keywords = f
                .get("keywords")
                .map(|n| self.phrases(n, &join(&path, "keywords")))
                .unwrap_or_default();
            let target = match (f.get("next"), f.get("handoff")) {
                (Some(n), None) => {
                    let Some(name) = self.step_name(n, &join(&path, "next")) else {
                        continue;
                    };
                    edges.push((name.clone(), *n));
                    Target::Step(name)
                }
                (None, Some(n)) => match self.team(n, &join(&path, "handoff")) {
                    Some(team) => Target::HandOff { team },
                    None => continue,
                },
                _ => {
                    self.push(
                        item,
                        &path,
                        "an option needs either `next` (a step) or `handoff` (a team)",
                    );
                    continue;
                }
            };
            choices.push(Choice {
                label,
                keywords,
                target,
            });
        }
        Some(choices)
    }

    fn field(&mut self, node: &Node, path: &str) -> Option<Field> {
        let name = self.text(node, path, 60)?;
        let field = match name.as_str() {
            "name" => Some(Field::Name),
            "email" => Some(Field::Email),
            "phone" => Some(Field::Phone),
            other => other
                .strip_prefix("attributes.")
                .filter(|k| {
                    !k.is_empty()
                        && k.len() <= 40
                        && k.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
                .map(|k| Field::Attribute(k.to_string())),
        };
        if field.is_none() {
            self.push(
                node,
                path,
                format!("unknown field `{name}`; collect name, email, phone or attributes.<key> (lower-case letters, digits, `_`)"),
            );
        }
        field
    }

    fn faq(&mut self, node: &Node) -> Vec<FaqEntry> {
        let Value::Seq(items) = &node.value else {
            self.push(node, "faq", format!("must be a list of entries, not {}", node.kind()));
            return Vec::new();
        };
        if items.len() > MAX_FAQ {
            self.push(node, "faq", format!("more than {MAX_FAQ} entries"));
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("faq[{i}]");
            let Some(f) = self.fields(item, &path, FAQ_KEYS) else {
                continue;
            };
            let question = f
                .get("question")
                .and_then(|n| self.text(n, &join(&path, "question"), 500));
            let keywords = f
                .get("keywords")
                .map(|n| self.phrases(n, &join(&path, "keywords")))
                .unwrap_or_default();
            let Some(answer_node) = f.get("answer") else {
                self.push(item, &path, "an entry needs an `answer`");
                continue;
            };
            let Some(answer) = self.text(answer_node, &join(&path, "answer"), MAX_TEXT) else {
                continue;
            };
            if question.is_none() && keywords.is_empty() {
                self.push(item, &path, "an entry needs a `question` or `keywords` to be found by");
                continue;
            }
            out.push(FaqEntry {
                question,
                keywords,
                answer,
            });
        }
        out
    }

    /// Reachability and exits: every step is reached from `start`, no loop
    /// runs without waiting for the customer, and every step can still
    /// lead to a hand-off.
    fn graph(&mut self, start: &str, steps: &[(String, RawStep<'_>)]) {
        let index: BTreeMap<&str, &RawStep<'_>> = steps.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let targets = |name: &str| -> Vec<&str> {
            index
                .get(name)
                .map(|s| {
                    s.edges
                        .iter()
                        .map(|(t, _)| t.as_str())
                        .filter(|t| index.contains_key(t))
                        .collect()
                })
                .unwrap_or_default()
        };
        // Reached from start.
        let mut reached: HashSet<&str> = HashSet::new();
        let mut todo = vec![start];
        while let Some(name) = todo.pop() {
            if index.contains_key(name) && reached.insert(name) {
                todo.extend(targets(name));
            }
        }
        for (name, step) in steps {
            if !reached.contains(name.as_str()) && index.contains_key(start) {
                self.push(
                    step.node,
                    &join("steps", name),
                    format!("step `{name}` is never reached from `{start}`"),
                );
            }
        }
        // A loop of steps that never wait would spin for ever.
        let mut reported: HashSet<&str> = HashSet::new();
        for (name, _) in steps {
            let mut path: Vec<&str> = vec![name.as_str()];
            let mut at = name.as_str();
            while let Some(step) = index.get(at).filter(|s| !s.waits && !s.hands_off) {
                let Some((next, _)) = step.edges.first() else { break };
                let next = next.as_str();
                if let Some(pos) = path.iter().position(|p| *p == next) {
                    let cycle = &path[pos..];
                    if cycle.iter().all(|s| reported.insert(s)) {
                        let shown = cycle.iter().chain(std::iter::once(&next)).copied().collect::<Vec<_>>();
                        self.push(
                            index[cycle[0]].node,
                            &join("steps", cycle[0]),
                            format!(
                                "loop without exit: {} never waits for the customer or hands off",
                                shown.join(" → ")
                            ),
                        );
                    }
                    break;
                }
                path.push(next);
                at = next;
            }
        }
        // Steps from which a hand-off can be reached, to a fixed point.
        let mut exits: HashSet<&str> = steps
            .iter()
            .filter(|(_, s)| s.hands_off)
            .map(|(n, _)| n.as_str())
            .collect();
        loop {
            let before = exits.len();
            for (name, _) in steps {
                if !exits.contains(name.as_str()) && targets(name).iter().any(|t| exits.contains(t)) {
                    exits.insert(name.as_str());
                }
            }
            if exits.len() == before {
                break;
            }
        }
        // One error per trap: the first step (in source order) of each
        // group of reachable steps that cannot get out.
        let mut covered: HashSet<&str> = reported;
        for (name, step) in steps {
            let name = name.as_str();
            if exits.contains(name) || !reached.contains(name) || covered.contains(name) {
                continue;
            }
            let mut trapped: Vec<&str> = vec![name];
            let mut todo = vec![name];
            while let Some(n) = todo.pop() {
                for t in targets(n) {
                    if !trapped.contains(&t) {
                        trapped.push(t);
                        todo.push(t);
                    }
                }
            }
            covered.extend(trapped.iter().copied());
            let shown = if trapped.len() == 1 {
                format!("step `{name}`")
            } else {
                format!(
                    "steps {}",
                    trapped.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                )
            };
            self.push(
                step.node,
                &join("steps", name),
                format!(
                    "loop without exit: from {shown} no path leads to a `handoff`; add an option or step that hands off"
                ),
            );
        }
    }
}
