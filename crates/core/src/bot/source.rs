//! A bot flow's source text (YAML, or JSON, which YAML 1.2 reads too) as a
//! tree that remembers where each value stood, so validation errors can
//! point at the line an admin has to fix.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::FlowError;

/// Past this, a flow is not something an admin wrote by hand.
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
const MAX_DEPTH: usize = 16;

/// One value of the source and where it starts (1-based line and column).
#[derive(Debug, Clone)]
pub struct Node {
    pub line: usize,
    pub column: usize,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
    /// A scalar as written; `quoted` scalars are always strings.
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { text, quoted: false } if text.is_empty() || text == "null" || text == "~" => "nothing",
            Value::Scalar { .. } => "a value",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn error(&self, path: &str, message: impl Into<String>) -> FlowError {
        FlowError {
            line: self.line,
            column: self.column,
            path: path.to_string(),
            message: message.into(),
        }
    }
}

fn at(span: &Span) -> (usize, usize) {
    (span.start.line().max(1), span.start.col() + 1)
}

/// Parse source text into a tree. Anchors and aliases are refused: a flow
/// has no use for them and they let a small text expand without bound.
pub fn parse(text: &str) -> Result<Node, FlowError> {
    if text.len() > MAX_SOURCE_BYTES {
        return Err(FlowError {
            line: 1,
            column: 1,
            path: String::new(),
            message: format!("the flow is longer than {} KiB", MAX_SOURCE_BYTES / 1024),
        });
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| FlowError {
            line: e.marker().line().max(1),
            column: e.marker().col() + 1,
            path: String::new(),
            message: format!("not valid YAML or JSON: {}", e.info()),
        })?;
        let (line, column) = at(&span);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(FlowError {
                        line,
                        column,
                        path: String::new(),
                        message: "a flow is one document; remove the second `---`".into(),
                    });
                }
                continue;
            }
            Event::Alias(_) => {
                return Err(FlowError {
                    line,
                    column,
                    path: String::new(),
                    message: "anchors and aliases (`&`, `*`) are not supported in flows".into(),
                });
            }
            Event::Scalar(text, style, anchor, _) => {
                refuse_anchor(anchor, line, column)?;
                Node {
                    line,
                    column,
                    value: Value::Scalar {
                        text: text.into_owned(),
                        quoted: style != ScalarStyle::Plain,
                    },
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                refuse_anchor(anchor, line, column)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(FlowError {
                        line,
                        column,
                        path: String::new(),
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                let mapping = matches!(event, Event::MappingStart(..));
                stack.push(Frame {
                    line,
                    column,
                    mapping,
                    items: Vec::new(),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else { continue };
                frame.finish()
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some(frame) => frame.items.push(node),
            None => root = Some(node),
        }
    }
    root.ok_or(FlowError {
        line: 1,
        column: 1,
        path: String::new(),
        message: "the flow is empty".into(),
    })
}

fn refuse_anchor(anchor: usize, line: usize, column: usize) -> Result<(), FlowError> {
    if anchor == 0 {
        return Ok(());
    }
    Err(FlowError {
        line,
        column,
        path: String::new(),
        message: "anchors and aliases (`&`, `*`) are not supported in flows".into(),
    })
}

struct Frame {
    line: usize,
    column: usize,
    mapping: bool,
    items: Vec<Node>,
}

impl Frame {
    fn finish(self) -> Node {
        let value = if self.mapping {
            let mut pairs = Vec::with_capacity(self.items.len() / 2);
            let mut items = self.items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            Value::Map(pairs)
        } else {
            Value::Seq(self.items)
        };
        Node {
            line: self.line,
            column: self.column,
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_give_positions() {
        let yaml = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap();
        let Value::Map(pairs) = yaml.value else { panic!() };
        assert_eq!(pairs[1].0.line, 2);
        let Value::Seq(items) = &pairs[1].1.value else { panic!() };
        assert_eq!((items[1].line, items[1].column), (4, 5));
        assert!(matches!(&items[1].value, Value::Scalar { quoted: true, .. }));

        let json = parse("{\n\t\"a\": [1,\n  \"two\"]\n}").unwrap();
        let Value::Map(pairs) = json.value else { panic!() };
        let Value::Seq(items) = &pairs[0].1.value else { panic!() };
        assert_eq!(items[1].line, 3);
    }

    #[test]
    fn syntax_errors_and_aliases_point_at_lines() {
        let e = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(e.line >= 2, "{e}");
        let e = parse("a: &x 1\nb: *x\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("aliases"));
        assert!(parse("").is_err());
        assert!(parse(&"x".repeat(MAX_SOURCE_BYTES + 1)).is_err());
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
    }
}
