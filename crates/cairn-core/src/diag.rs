//! Source locations and diagnostics.
//!
//! Every error the template language reports carries a [`Span`]: the file (as the user
//! would name it, relative to the project), a 1-based line and column, and the byte range
//! so that the CLI can render the source excerpt. Core never reads files, so rendering with
//! the source text happens at the edge (the CLI), which keeps the text per file.

use std::fmt;
use std::sync::Arc;

/// A place in a source file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file as shown to the user (relative to the project directory when possible).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
    /// Byte offset of the start in the file's text.
    pub offset: usize,
    /// Length in bytes (0 when unknown).
    pub len: usize,
}

impl Span {
    /// A span that points at a whole file (no position known), e.g. for a missing section.
    pub fn file(file: impl Into<Arc<str>>) -> Span {
        Span { file: file.into(), line: 1, col: 1, offset: 0, len: 0 }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One located problem, with an optional hint ("did you mean `DataBucket`?").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostic {
    pub message: String,
    pub span: Option<Span>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Option<Span>) -> Self {
        Diagnostic { message: message.into(), span, help: None }
    }
    pub fn at(span: &Span, message: impl Into<String>) -> Self {
        Diagnostic { message: message.into(), span: Some(span.clone()), help: None }
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// Several diagnostics at once: `cairn validate` reports all it can find.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// "did you mean" help for an unknown name, when one candidate is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&name.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("DataBuckt", ["DataBucket", "Role"]).as_deref(), Some("did you mean `DataBucket`?"));
        assert_eq!(did_you_mean("Zzz", ["DataBucket", "Role"]), None);
    }
}
