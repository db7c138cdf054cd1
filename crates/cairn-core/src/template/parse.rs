//! YAML and JSON text to a located [`Node`] tree.
//!
//! Built on saphyr-parser's event stream. Plain scalars resolve per the YAML 1.2 core
//! schema (`.inf` and `.nan` stay strings: CloudFormation has no such numbers); quoted and
//! block scalars are always strings. CloudFormation's short-form tags are rewritten to
//! their long form here (see [`crate::template::ast`]); a tagged scalar is always a string,
//! as in CloudFormation's own YAML reader (`!Ref 123` refers to `"123"`).
//!
//! The parser reports as many problems as it can in one pass (every duplicate key, every
//! unsupported tag); a YAML syntax error stops it, since the rest of the event stream is
//! then meaningless.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, StrInput, Tag};

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::template::ast::{Key, Mapping, Node, NodeValue};
use crate::value::Number;

/// Deeper nesting than this is rejected (it protects the stack; real templates nest a few
/// dozen levels at most).
const MAX_DEPTH: usize = 128;
/// Aliases may expand a document to at most this many nodes (protects against alias bombs).
const MAX_NODES: usize = 2_000_000;

/// Parses one YAML (or JSON) document into a located [`Node`]. `file` is the name used in
/// spans (the path as the user knows it). An empty document is a `Null` node.
pub fn parse_document(text: &str, file: &str) -> Result<Node, Diagnostics> {
    parse_with(Builder::new(text, file))
}

/// Parses YAML that is not a template but has `!name` tags of its own (Sceptre's
/// `!stack_output`, `!environment_variable`, ...): every local tag `!name`, CloudFormation's
/// short forms included, becomes a one-key mapping whose key is `!name` (the tag's span)
/// and whose value is the tagged node. Other tags are handled as in [`parse_document`].
pub fn parse_document_keeping_tags(text: &str, file: &str) -> Result<Node, Diagnostics> {
    let mut b = Builder::new(text, file);
    b.keep_local_tags = true;
    parse_with(b)
}

fn parse_with(mut b: Builder<'_>) -> Result<Node, Diagnostics> {
    let root = b.run();
    match root {
        Ok(node) if b.errors.is_empty() => Ok(node),
        _ => Err(Diagnostics(b.errors)),
    }
}

/// Resolves a plain scalar per the YAML 1.2 core schema (`.inf`/`.nan` excluded).
pub(crate) fn resolve_plain(s: &str) -> NodeValue {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Some(n) = resolve_number(s) {
        return NodeValue::Number(n);
    }
    NodeValue::String(s.to_string())
}

fn resolve_number(s: &str) -> Option<Number> {
    let bytes = s.as_bytes();
    if let Some(hex) = s.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return u64::from_str_radix(hex, 16).ok().map(Number::from);
        }
        return None;
    }
    if let Some(oct) = s.strip_prefix("0o") {
        if !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return u64::from_str_radix(oct, 8).ok().map(Number::from);
        }
        return None;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Decimal integer. Too big for 64 bits: kept as the string it was written as.
        let unsigned = s.strip_prefix('+').unwrap_or(s);
        if let Ok(i) = unsigned.parse::<i64>() {
            return Some(Number::from(i));
        }
        if let Ok(u) = unsigned.parse::<u64>() {
            return Some(Number::from(u));
        }
        return None;
    }
    // Float: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let mut i = usize::from(matches!(bytes.first(), Some(b'-' | b'+')));
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let f = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - f;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'-' || bytes[i] == b'+') {
            i += 1;
        }
        let e = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    Number::from_f64(f)
}

/// A position: 1-based line and column (characters), byte offset.
#[derive(Clone, Copy, Debug)]
struct Pos {
    line: u32,
    col: u32,
    byte: usize,
}

/// Why building stopped early: the diagnostic is already recorded.
struct Fatal;

type Ev<'a> = (Event<'a>, saphyr_parser::Span);

struct Anchored {
    node: Node,
    size: usize,
}

struct Builder<'a> {
    text: &'a str,
    file: Arc<str>,
    parser: Parser<'a, StrInput<'a>>,
    /// Byte offset of each character index, when the text is not all ASCII.
    char_bytes: Option<Vec<usize>>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    errors: Vec<Diagnostic>,
    /// `!name` becomes `{"!name": ...}` ([`parse_document_keeping_tags`]).
    keep_local_tags: bool,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, file: &str) -> Self {
        let char_bytes = if text.is_ascii() {
            None
        } else {
            let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            v.push(text.len());
            Some(v)
        };
        Builder {
            text,
            file: Arc::from(file),
            parser: Parser::new_from_str(text),
            char_bytes,
            anchors: HashMap::new(),
            nodes: 0,
            errors: Vec::new(),
            keep_local_tags: false,
        }
    }

    fn byte_of(&self, char_index: usize) -> usize {
        match &self.char_bytes {
            None => char_index.min(self.text.len()),
            Some(v) => v.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }

    fn pos(&self, m: Marker) -> Pos {
        Pos { line: to_u32(m.line().max(1)), col: to_u32(m.col() + 1), byte: self.byte_of(m.index()) }
    }

    fn span_between(&self, start: Pos, end_byte: usize) -> Span {
        Span {
            file: self.file.clone(),
            line: start.line,
            col: start.col,
            offset: start.byte,
            len: end_byte.saturating_sub(start.byte),
        }
    }

    fn span(&self, s: saphyr_parser::Span) -> Span {
        let start = self.pos(s.start);
        self.span_between(start, self.byte_of(s.end.index()))
    }

    fn fatal(&mut self, d: Diagnostic) -> Fatal {
        self.errors.push(d);
        Fatal
    }

    fn scan_error(&mut self, e: &ScanError) -> Fatal {
        let p = self.pos(*e.marker());
        let span = self.span_between(p, p.byte);
        self.fatal(Diagnostic::at(&span, format!("invalid YAML: {}", e.info())))
    }

    fn next(&mut self) -> Result<Ev<'a>, Fatal> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => {
                let span = Span { file: self.file.clone(), line: 1, col: 1, offset: self.text.len(), len: 0 };
                Err(self.fatal(Diagnostic::at(&span, "invalid YAML: unexpected end of input")))
            }
        }
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), Fatal> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.fatal(Diagnostic::at(
                span,
                format!("document too large: it expands to more than {MAX_NODES} values (through aliases?)"),
            )));
        }
        Ok(())
    }

    fn run(&mut self) -> Result<Node, Fatal> {
        let (ev, _) = self.next()?;
        if !matches!(ev, Event::StreamStart) {
            let span = Span::file(self.file.clone());
            return Err(self.fatal(Diagnostic::at(&span, "invalid YAML: no stream start")));
        }
        let (ev, span) = self.next()?;
        let root = match ev {
            Event::StreamEnd => {
                return Ok(Node::new(NodeValue::Null, Span::file(self.file.clone())));
            }
            Event::DocumentStart(_) => {
                let (ev, span) = self.next()?;
                let node = self.node(ev, span)?;
                let (end, end_span) = self.next()?;
                if !matches!(end, Event::DocumentEnd) {
                    let s = self.span(end_span);
                    return Err(self.fatal(Diagnostic::at(&s, "invalid YAML: expected the end of the document")));
                }
                node
            }
            other => {
                let s = self.span(span);
                return Err(self.fatal(Diagnostic::at(&s, format!("invalid YAML: unexpected {other:?}"))));
            }
        };
        let (ev, span) = self.next()?;
        match ev {
            Event::StreamEnd => Ok(root),
            Event::DocumentStart(_) => {
                let s = self.span(span);
                Err(self.fatal(Diagnostic::at(&s, "a second YAML document (`---`): a file holds exactly one document")))
            }
            other => {
                let s = self.span(span);
                Err(self.fatal(Diagnostic::at(&s, format!("invalid YAML: unexpected {other:?}"))))
            }
        }
    }

    /// Position of the content after the node properties (`&anchor`, `!Tag`) at `start`,
    /// staying on the same line, and the span of the tag among them.
    fn skip_properties(&self, start: Pos, end_byte: usize) -> (Pos, Option<Span>) {
        let mut p = start;
        let mut tag = None;
        let bytes = self.text.as_bytes();
        while let Some(&c) = bytes.get(p.byte) {
            if p.byte >= end_byte || (c != b'!' && c != b'&') {
                break;
            }
            let tok_start = p;
            // the property token: up to whitespace
            let rest = &self.text[p.byte..];
            let tok_len = rest.find([' ', '\t', '\n', '\r']).unwrap_or(rest.len());
            let tok = &rest[..tok_len];
            p.byte += tok_len;
            p.col += to_u32(tok.chars().count());
            if c == b'!' {
                tag = Some(self.span_between(tok_start, p.byte));
            }
            while matches!(bytes.get(p.byte), Some(b' ' | b'\t')) {
                p.byte += 1;
                p.col += 1;
            }
        }
        (p, tag)
    }

    fn tag_text(tag: &Tag) -> String {
        if tag.handle == "!" {
            format!("!{}", tag.suffix)
        } else if tag.handle == "tag:yaml.org,2002:" {
            format!("!!{}", tag.suffix)
        } else if tag.handle.is_empty() && tag.suffix == "!" {
            "!".to_string()
        } else if tag.handle.is_empty() {
            format!("!<{}>", tag.suffix)
        } else {
            format!("{}{}", tag.handle, tag.suffix)
        }
    }

    /// What a tag means: `Ok(None)` keeps the node as it is (`!!str`), `Ok(Some(key))` wraps
    /// it in a one-key mapping (the long form).
    fn tag_key(&mut self, tag: &Tag, span: &Span, is_scalar: bool) -> Option<String> {
        if self.keep_local_tags && tag.handle == "!" && !tag.suffix.is_empty() {
            return Some(format!("!{}", tag.suffix));
        }
        if tag.handle == "!" && is_cfn_name(&tag.suffix) {
            return Some(match tag.suffix.as_str() {
                "Ref" | "Condition" => tag.suffix.clone(),
                other => format!("Fn::{other}"),
            });
        }
        if tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str" && is_scalar {
            return None;
        }
        self.errors.push(
            Diagnostic::at(span, format!("unsupported tag `{}`", Self::tag_text(tag)))
                .with_help("cairn understands CloudFormation's short forms such as `!Ref`, `!Sub` and `!GetAtt`"),
        );
        None
    }

    fn wrap_tag(&mut self, tag: Option<&Tag>, tag_span: Option<Span>, outer: Span, inner: Node) -> Node {
        let Some(tag) = tag else { return inner };
        let tag_span = tag_span.unwrap_or_else(|| outer.clone());
        let is_scalar = !matches!(inner.value, NodeValue::Seq(_) | NodeValue::Map(_));
        match self.tag_key(tag, &tag_span, is_scalar) {
            Some(name) => {
                Node::new(NodeValue::Map(Mapping { entries: vec![(Key { name, span: tag_span }, inner)] }), outer)
            }
            None => inner,
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, Anchored { node: node.clone(), size });
        }
    }

    /// Builds the node that starts with `ev`, reading events until it is complete. The
    /// tree is built with an explicit stack (no recursion): deep input cannot overflow
    /// the thread's stack.
    fn node(&mut self, ev: Event<'a>, sp: saphyr_parser::Span) -> Result<Node, Fatal> {
        let mut stack: Vec<Frame> = Vec::new();
        let (mut ev, mut sp) = (ev, sp);
        loop {
            let is_seq = matches!(ev, Event::SequenceStart(..));
            let done: Option<(Node, usize)> = match ev {
                Event::Scalar(text, style, anchor, tag) => {
                    let awaiting_key =
                        matches!(stack.last(), Some(Frame { kind: FrameKind::Map { pending: None, .. }, .. }));
                    let str_tag = tag.as_deref().is_some_and(|t| t.handle == "tag:yaml.org,2002:" && t.suffix == "str");
                    if awaiting_key && (tag.is_none() || str_tag) {
                        // A plain key keeps its text as written (`0x1F:` is the key "0x1F").
                        let span = self.span(sp);
                        self.count(1, &span)?;
                        let (content, _) = self.skip_properties(self.pos(sp.start), span.offset + span.len);
                        let key_span = self.span_between(content, (span.offset + span.len).max(content.byte));
                        self.remember(anchor, &Node::new(NodeValue::String(text.to_string()), key_span.clone()), 1);
                        if let Some(Frame { kind: FrameKind::Map { pending, .. }, .. }) = stack.last_mut() {
                            *pending = Some(Some(Key { name: text.into_owned(), span: key_span }));
                        }
                        None
                    } else {
                        Some(self.scalar(text.into_owned(), style, anchor, tag.as_deref(), sp)?)
                    }
                }
                Event::Alias(id) => {
                    let outer = self.span(sp);
                    match self.anchors.get(&id) {
                        Some(a) => {
                            let (mut node, size) = (a.node.clone(), a.size);
                            self.count(size, &outer)?;
                            node.span = outer;
                            Some((node, size))
                        }
                        None => {
                            return Err(self
                                .fatal(Diagnostic::at(&outer, "an alias may not refer to the node that contains it")));
                        }
                    }
                }
                Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                    let outer = self.span(sp);
                    if stack.len() >= MAX_DEPTH {
                        return Err(
                            self.fatal(Diagnostic::at(&outer, format!("nesting deeper than {MAX_DEPTH} levels")))
                        );
                    }
                    self.count(1, &outer)?;
                    let start = self.pos(sp.start);
                    let (content, tag_span) = self.collection_content(sp, start);
                    let kind = if is_seq {
                        FrameKind::Seq(Vec::new())
                    } else {
                        FrameKind::Map { entries: Vec::new(), seen: HashMap::new(), pending: None }
                    };
                    stack.push(Frame {
                        kind,
                        start_sp: sp,
                        start,
                        content,
                        tag: tag.map(std::borrow::Cow::into_owned),
                        tag_span,
                        anchor,
                        size: 1,
                    });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                    Some(frame) => Some(self.finish(frame, sp)),
                    None => {
                        let s = self.span(sp);
                        return Err(self.fatal(Diagnostic::at(&s, "invalid YAML: unexpected end of a collection")));
                    }
                },
                other => {
                    let s = self.span(sp);
                    return Err(self.fatal(Diagnostic::at(&s, format!("invalid YAML: unexpected {other:?}"))));
                }
            };
            if let Some((node, size)) = done {
                match stack.last_mut() {
                    None => return Ok(node),
                    Some(frame) => {
                        frame.size += size;
                        match &mut frame.kind {
                            FrameKind::Seq(items) => items.push(node),
                            FrameKind::Map { entries, seen, pending } => match pending.take() {
                                None => *pending = Some(self.key_of(node)),
                                Some(None) => {}
                                Some(Some(key)) => {
                                    if let Some(first) = seen.get(&key.name) {
                                        self.errors.push(Diagnostic::at(
                                            &key.span,
                                            format!("duplicate key `{}` (first defined on line {first})", key.name),
                                        ));
                                    } else {
                                        seen.insert(key.name.clone(), key.span.line);
                                        entries.push((key, node));
                                    }
                                }
                            },
                        }
                    }
                }
            }
            (ev, sp) = self.next()?;
        }
    }

    fn scalar(
        &mut self,
        text: String,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        sp: saphyr_parser::Span,
    ) -> Result<(Node, usize), Fatal> {
        let outer = self.span(sp);
        self.count(1, &outer)?;
        let start = self.pos(sp.start);
        let end_byte = outer.offset + outer.len;
        let (content, tag_span) =
            if tag.is_some() || anchor > 0 { self.skip_properties(start, end_byte) } else { (start, None) };
        let value =
            if tag.is_some() || style != ScalarStyle::Plain { NodeValue::String(text) } else { resolve_plain(&text) };
        // saphyr's span of a quoted scalar runs on over a trailing comment: end it at the
        // closing quote.
        let end_byte = match style {
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => self.closing_quote(content.byte, end_byte),
            _ => end_byte,
        };
        let outer = Span { len: end_byte.saturating_sub(outer.offset), ..outer };
        let inner = Node::new(value, self.span_between(content, end_byte.max(content.byte)));
        let node = self.wrap_tag(tag, tag_span, outer, inner);
        self.remember(anchor, &node, 1);
        Ok((node, 1))
    }

    /// The byte after the quote that closes the quoted scalar starting at `start` (at most
    /// `end`).
    fn closing_quote(&self, start: usize, end: usize) -> usize {
        let bytes = self.text.as_bytes();
        let Some(&q) = bytes.get(start) else { return end };
        if q != b'\'' && q != b'"' {
            return end;
        }
        let mut i = start + 1;
        while i < end.min(bytes.len()) {
            match bytes[i] {
                b'\\' if q == b'"' => i += 2,
                b'\'' if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                c if c == q => return i + 1,
                _ => i += 1,
            }
        }
        end
    }

    /// Completes a collection at its end event.
    fn finish(&mut self, frame: Frame, end_sp: saphyr_parser::Span) -> (Node, usize) {
        let (value, last) = match frame.kind {
            FrameKind::Seq(items) => {
                let last = items.last().map(|n| n.span.clone());
                (NodeValue::Seq(items), last)
            }
            FrameKind::Map { entries, .. } => {
                let last = entries.last().map(|(_, v)| v.span.clone());
                (NodeValue::Map(Mapping { entries }), last)
            }
        };
        let end_byte = self.collection_end(end_sp, last.as_ref(), frame.start_sp);
        let inner = Node::new(value, self.span_between(frame.content, end_byte.max(frame.content.byte)));
        let outer = self.span_between(frame.start, end_byte);
        let node = self.wrap_tag(frame.tag.as_ref(), frame.tag_span, outer, inner);
        self.remember(frame.anchor, &node, frame.size);
        (node, frame.size)
    }

    /// A mapping key given as a node (an alias or a collection). `None` when it is not a
    /// scalar (error recorded).
    fn key_of(&mut self, node: Node) -> Option<Key> {
        match &node.value {
            NodeValue::Null => Some(Key { name: String::new(), span: node.span }),
            NodeValue::String(_) | NodeValue::Number(_) | NodeValue::Bool(_) => {
                let name = node.scalar_string().unwrap_or_default();
                Some(Key { name, span: node.span })
            }
            NodeValue::Seq(_) | NodeValue::Map(_) => {
                self.errors
                    .push(Diagnostic::at(&node.span, format!("a mapping key must be a string, found {}", node.kind())));
                None
            }
        }
    }

    /// Where a collection's content starts (after its anchor and tag) and its tag's span.
    fn collection_content(&self, sp: saphyr_parser::Span, start: Pos) -> (Pos, Option<Span>) {
        let end_byte = self.byte_of(sp.end.index());
        let (_, tag_span) = self.skip_properties(start, end_byte);
        if sp.end.index() == sp.start.index() {
            return (start, tag_span);
        }
        // The event ends after `[`/`{` (flow) or at the first entry (block).
        let end = self.pos(sp.end);
        let before = self.text[..end.byte].chars().next_back();
        if matches!(before, Some('[' | '{')) && end.col > 1 {
            (Pos { line: end.line, col: end.col - 1, byte: end.byte - 1 }, tag_span)
        } else {
            (end, tag_span)
        }
    }

    /// The byte where a collection ends: after `]`/`}` for flow style, else after its last
    /// entry.
    fn collection_end(&self, end_event: saphyr_parser::Span, last: Option<&Span>, start: saphyr_parser::Span) -> usize {
        if end_event.end.index() > end_event.start.index() {
            return self.byte_of(end_event.end.index());
        }
        match last {
            Some(s) => s.offset + s.len,
            None => self.byte_of(start.end.index()),
        }
    }
}

/// A collection being built.
struct Frame {
    kind: FrameKind,
    start_sp: saphyr_parser::Span,
    start: Pos,
    content: Pos,
    tag: Option<Tag>,
    tag_span: Option<Span>,
    anchor: usize,
    size: usize,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        /// key -> line of its first occurrence
        seen: HashMap<String, u32>,
        /// `None`: a key comes next; `Some(key)`: its value comes next (`Some(None)`: the
        /// key was invalid, its value is dropped).
        pending: Option<Option<Key>>,
    },
}

/// A short-form tag name: `Ref`, `GetAtt`, `Sub`, ...
fn is_cfn_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// A copy of `node` with every span replaced by one fixed span: compares two trees by
/// content only.
#[cfg(test)]
pub(crate) fn strip_spans(node: &Node) -> Node {
    let span = Span::file("-");
    let value = match &node.value {
        NodeValue::Seq(items) => NodeValue::Seq(items.iter().map(strip_spans).collect()),
        NodeValue::Map(m) => NodeValue::Map(Mapping {
            entries: m
                .entries
                .iter()
                .map(|(k, v)| (Key { name: k.name.clone(), span: span.clone() }, strip_spans(v)))
                .collect(),
        }),
        other => other.clone(),
    };
    Node::new(value, span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        match parse_document(text, "t.yaml") {
            Ok(n) => n,
            Err(e) => panic!("unexpected errors:\n{e}"),
        }
    }

    fn errors(text: &str) -> String {
        match parse_document(text, "t.yaml") {
            Ok(n) => panic!("expected an error, got {n:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn get<'n>(n: &'n Node, key: &str) -> &'n Node {
        n.as_map().and_then(|m| m.get(key)).unwrap_or_else(|| panic!("no key {key}"))
    }

    fn num(n: &Node) -> &Number {
        match &n.value {
            NodeValue::Number(n) => n,
            other => panic!("not a number: {other:?}"),
        }
    }

    #[test]
    fn core_schema_scalars() {
        let n = parse(
            "a: null\nb: ~\nc:\nd: true\ne: FALSE\nf: True\ng: 42\nh: -7\ni: 0x1F\nj: 0o17\nk: 1.5\nl: 1e3\n\
             m: .inf\nn: .nan\no: '42'\np: \"true\"\nq: yes\nr: 0123\ns: 2010-09-09\nt: |\n  12\nu: +3\nv: .5\n\
             w: 123456789012345678901234567890\nx: 1_000\ny: 0xZZ\n",
        );
        assert_eq!(get(&n, "a").value, NodeValue::Null);
        assert_eq!(get(&n, "b").value, NodeValue::Null);
        assert_eq!(get(&n, "c").value, NodeValue::Null);
        assert_eq!(get(&n, "d").value, NodeValue::Bool(true));
        assert_eq!(get(&n, "e").value, NodeValue::Bool(false));
        assert_eq!(get(&n, "f").value, NodeValue::Bool(true));
        assert_eq!(num(get(&n, "g")).as_i64(), Some(42));
        assert_eq!(num(get(&n, "h")).as_i64(), Some(-7));
        assert_eq!(num(get(&n, "i")).as_u64(), Some(31));
        assert_eq!(num(get(&n, "j")).as_u64(), Some(15));
        assert_eq!(num(get(&n, "k")).as_f64(), Some(1.5));
        assert_eq!(num(get(&n, "l")).as_f64(), Some(1000.0));
        assert_eq!(get(&n, "m").as_str(), Some(".inf"));
        assert_eq!(get(&n, "n").as_str(), Some(".nan"));
        assert_eq!(get(&n, "o").as_str(), Some("42"));
        assert_eq!(get(&n, "p").as_str(), Some("true"));
        assert_eq!(get(&n, "q").as_str(), Some("yes"));
        assert_eq!(num(get(&n, "r")).as_i64(), Some(123));
        assert_eq!(get(&n, "s").as_str(), Some("2010-09-09"));
        assert_eq!(get(&n, "t").as_str(), Some("12\n"));
        assert_eq!(num(get(&n, "u")).as_i64(), Some(3));
        assert_eq!(num(get(&n, "v")).as_f64(), Some(0.5));
        assert_eq!(get(&n, "w").as_str(), Some("123456789012345678901234567890"));
        assert_eq!(get(&n, "x").as_str(), Some("1_000"));
        assert_eq!(get(&n, "y").as_str(), Some("0xZZ"));
    }

    #[test]
    fn spans_are_one_based_with_byte_offsets() {
        let text = "ä: ü\nkey:\n  inner: value\n";
        let n = parse(text);
        let (k, v) = n.as_map().unwrap().get_entry("key").unwrap();
        assert_eq!((k.span.line, k.span.col, k.span.offset, k.span.len), (2, 1, 7, 3));
        let inner = get(v, "inner");
        assert_eq!((inner.span.line, inner.span.col), (3, 10));
        assert_eq!(&text[inner.span.offset..inner.span.offset + inner.span.len], "value");
        let text = "a: \"q\\\"é\" # comment\nb: 'it''s' # c\n";
        let n = parse(text);
        for (k, want) in [("a", "\"q\\\"é\""), ("b", "'it''s'")] {
            let v = get(&n, k);
            assert_eq!(&text[v.span.offset..v.span.offset + v.span.len], want);
        }
        let text = "ä: ü\nkey:\n  inner: value\n";
        let n = parse(text);
        let u = get(&n, "ä");
        assert_eq!((u.span.line, u.span.col, u.span.offset, u.span.len), (1, 4, 4, 2));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("").value, NodeValue::Null);
        assert_eq!(parse("# only a comment\n").value, NodeValue::Null);
        assert_eq!(parse("---\n").value, NodeValue::Null);
    }

    #[test]
    fn json_is_read_too() {
        let n = parse(
            r#"{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"N": [1, 2.5, true, null, "x"]}}}}"#,
        );
        let props = get(get(get(&n, "Resources"), "B"), "Properties");
        let list = get(props, "N").as_seq().unwrap();
        assert_eq!(num(&list[0]).as_i64(), Some(1));
        assert_eq!(num(&list[1]).as_f64(), Some(2.5));
        assert_eq!(list[2].value, NodeValue::Bool(true));
        assert_eq!(list[3].value, NodeValue::Null);
        assert_eq!(list[4].as_str(), Some("x"));
        // A quoted "1" in JSON is a string.
        let n = parse(r#"{"a": "1"}"#);
        assert_eq!(get(&n, "a").as_str(), Some("1"));
    }

    #[test]
    fn short_forms_equal_long_forms() {
        let short = parse(
            "A: !Ref X\n\
             B: !GetAtt Res.Arn\n\
             C: !GetAtt [Res, Arn]\n\
             D: !Sub 'x-${AWS::Region}'\n\
             E: !Join [',', [a, !Ref P]]\n\
             F: !If [Cond, !Select [0, !GetAZs ''], !Ref AWS::NoValue]\n\
             G: !Equals [!Ref Env, prod]\n\
             H: !And [!Condition A, !Not [!Condition B]]\n\
             I: !FindInMap [M, !Ref AWS::Region, K]\n\
             J: !Base64\n  Fn::Sub: abc\n\
             K: !Cidr [10.0.0.0/16, 4, 8]\n\
             L: !ImportValue Shared\n\
             M: !Split [',', 'a,b']\n\
             N: !Length [1, 2]\n\
             O: !ToJsonString {a: 1}\n\
             P: !Or [!Equals [a, b], !Condition C]\n\
             Q: !Ref 123\n",
        );
        let long = parse(
            "A: {Ref: X}\n\
             B: {Fn::GetAtt: Res.Arn}\n\
             C: {Fn::GetAtt: [Res, Arn]}\n\
             D: {Fn::Sub: 'x-${AWS::Region}'}\n\
             E: {Fn::Join: [',', [a, {Ref: P}]]}\n\
             F: {Fn::If: [Cond, {Fn::Select: [0, {Fn::GetAZs: ''}]}, {Ref: AWS::NoValue}]}\n\
             G: {Fn::Equals: [{Ref: Env}, prod]}\n\
             H: {Fn::And: [{Condition: A}, {Fn::Not: [{Condition: B}]}]}\n\
             I: {Fn::FindInMap: [M, {Ref: AWS::Region}, K]}\n\
             J: {Fn::Base64: {Fn::Sub: abc}}\n\
             K: {Fn::Cidr: [10.0.0.0/16, 4, 8]}\n\
             L: {Fn::ImportValue: Shared}\n\
             M: {Fn::Split: [',', 'a,b']}\n\
             N: {Fn::Length: [1, 2]}\n\
             O: {Fn::ToJsonString: {a: 1}}\n\
             P: {Fn::Or: [{Fn::Equals: [a, b]}, {Condition: C}]}\n\
             Q: {Ref: '123'}\n",
        );
        assert_eq!(strip_spans(&short), strip_spans(&long));
    }

    #[test]
    fn tag_key_carries_the_tag_span() {
        let text = "Value: !GetAtt Bucket.Arn\nList: !Join\n  - ','\n  - [a]\nFlow: &x !Sub [a, {}]\n";
        let n = parse(text);
        let v = get(&n, "Value");
        let (name, kspan, arg) = v.as_intrinsic().unwrap();
        assert_eq!(name, "Fn::GetAtt");
        assert_eq!((kspan.line, kspan.col, kspan.len), (1, 8, 7));
        assert_eq!(arg.as_str(), Some("Bucket.Arn"));
        assert_eq!((arg.span.line, arg.span.col), (1, 16));
        assert_eq!(&text[arg.span.offset..arg.span.offset + arg.span.len], "Bucket.Arn");
        let (name, kspan, arg) = get(&n, "List").as_intrinsic().unwrap();
        assert_eq!(name, "Fn::Join");
        assert_eq!((kspan.line, kspan.col), (2, 7));
        assert_eq!((arg.span.line, arg.span.col), (3, 3));
        let (name, kspan, arg) = get(&n, "Flow").as_intrinsic().unwrap();
        assert_eq!(name, "Fn::Sub");
        assert_eq!((kspan.line, kspan.col), (5, 10));
        assert_eq!((arg.span.line, arg.span.col), (5, 15));
        assert_eq!(&text[arg.span.offset..arg.span.offset + arg.span.len], "[a, {}]");
    }

    #[test]
    fn explicit_str_tag_forces_a_string() {
        let n = parse("a: !!str 0123\n");
        assert_eq!(get(&n, "a").as_str(), Some("0123"));
    }

    #[test]
    fn unknown_tags_are_located_errors() {
        assert_eq!(
            errors("a: !!binary aGVsbG8=\nb: !<tag:x> 1\nc: !Fn::Sub x\n"),
            "t.yaml:1:4: unsupported tag `!!binary` (cairn understands CloudFormation's short forms such as `!Ref`, `!Sub` and `!GetAtt`)\n\
             t.yaml:2:4: unsupported tag `!<tag:x>` (cairn understands CloudFormation's short forms such as `!Ref`, `!Sub` and `!GetAtt`)\n\
             t.yaml:3:4: unsupported tag `!Fn::Sub` (cairn understands CloudFormation's short forms such as `!Ref`, `!Sub` and `!GetAtt`)"
        );
    }

    #[test]
    fn all_duplicate_keys_are_reported() {
        assert_eq!(
            errors("A: 1\nB:\n  x: 1\n  x: 2\nA: 3\nC: {k: 1, k: 2}\n"),
            "t.yaml:4:3: duplicate key `x` (first defined on line 3)\n\
             t.yaml:5:1: duplicate key `A` (first defined on line 1)\n\
             t.yaml:6:11: duplicate key `k` (first defined on line 6)"
        );
    }

    #[test]
    fn non_scalar_keys_are_errors() {
        assert_eq!(errors("? [a, b]\n: 1\n"), "t.yaml:1:3: a mapping key must be a string, found a list");
        assert_eq!(errors("!Ref x: 1\n"), "t.yaml:1:1: a mapping key must be a string, found a mapping");
    }

    #[test]
    fn aliases_clone_the_anchored_node() {
        let n = parse("base: &tags {Team: a, Cost: [1, 2]}\ncopy: *tags\n");
        assert_eq!(strip_spans(get(&n, "base")), strip_spans(get(&n, "copy")));
        assert_eq!(get(&n, "copy").span.line, 2);
        let n = parse("a: &r !Ref X\nb: *r\n");
        assert_eq!(get(&n, "b").as_intrinsic().map(|(k, _, v)| (k, v.as_str())), Some(("Ref", Some("X"))));
    }

    #[test]
    fn keys_keep_their_text() {
        let n = parse("0x1F: a\n1.0: b\ntrue: c\n~: d\n'q': e\n&k anchored: f\ng: *k\n\"123456789012\": h\n");
        let keys: Vec<&str> = n.as_map().unwrap().keys().collect();
        assert_eq!(keys, ["0x1F", "1.0", "true", "~", "q", "anchored", "g", "123456789012"]);
        assert_eq!(get(&n, "g").as_str(), Some("anchored"));
        let (k, _) = n.as_map().unwrap().get_entry("anchored").unwrap();
        assert_eq!((k.span.line, k.span.col, k.span.len), (6, 4, 8));
    }

    #[test]
    fn recursive_alias_is_an_error() {
        assert_eq!(errors("a: &x [*x]\n"), "t.yaml:1:8: an alias may not refer to the node that contains it");
    }

    #[test]
    fn alias_bomb_is_stopped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = errors(&text);
        assert!(e.contains("document too large"), "{e}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // Flow nesting is limited by saphyr itself, block nesting by us.
        let text = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let e = errors(&text);
        assert!(e.contains("recursion limit exceeded"), "{e}");
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&" ".repeat(i));
            text.push_str("k:\n");
        }
        let e = errors(&text);
        assert!(e.contains("nesting deeper than 128 levels"), "{e}");
    }

    #[test]
    fn multiple_documents_are_rejected() {
        assert_eq!(
            errors("a: 1\n---\nb: 2\n"),
            "t.yaml:2:1: a second YAML document (`---`): a file holds exactly one document"
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        assert_eq!(errors("a: [1, 2\nb: x\n"), "t.yaml:2:2: invalid YAML: illegal placement of ':' indicator");
        let e = errors("a:\n\t- b\n");
        assert!(e.starts_with("t.yaml:2:"), "{e}");
    }

    #[test]
    fn malformed_inputs_never_panic() {
        for text in
            ["{", "[", "a: b: c", "- a\nb: c", "&a", "*a", "!", "? ", ": x", "'", "\"\\", "a: !Ref", "%YAML 1.2\n"]
        {
            let _ = parse_document(text, "t.yaml");
        }
    }

    #[test]
    fn tagged_empty_scalar_is_an_empty_string() {
        let n = parse("a: !GetAZs\nb: !GetAZs ''\n");
        assert_eq!(strip_spans(get(&n, "a")), strip_spans(get(&n, "b")));
    }

    #[test]
    fn keeping_tags_wraps_every_local_tag_under_its_own_name() {
        let text = "a: !stack_output dev/rds.yaml::Endpoint\nb: !environment_variable HOME\nc: !Ref X\nd: !!str 1\ne: !join [',', [x, y]]\n";
        let n = parse_document_keeping_tags(text, "c.yaml").expect("parses");
        let (k, v) = &get(&n, "a").as_map().expect("wrapped").entries[0];
        assert_eq!((k.name.as_str(), v.as_str()), ("!stack_output", Some("dev/rds.yaml::Endpoint")));
        assert_eq!((k.span.line, k.span.col, k.span.len), (1, 4, 13));
        assert_eq!(get(&n, "b").as_map().unwrap().get("!environment_variable").unwrap().as_str(), Some("HOME"));
        assert_eq!(get(&n, "c").as_map().unwrap().get("!Ref").unwrap().as_str(), Some("X"));
        assert_eq!(get(&n, "d").as_str(), Some("1"));
        assert_eq!(get(&n, "e").as_map().unwrap().get("!join").unwrap().as_seq().unwrap().len(), 2);
        // The template parser still refuses them.
        assert!(errors("a: !stack_output x::y\n").contains("unsupported tag `!stack_output`"));
    }
}
