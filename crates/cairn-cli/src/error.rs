//! The CLI's errors, their exit codes, and how located diagnostics are rendered.
//!
//! Exit codes (documented in the README):
//! 0 success; 1 the operation failed (a resource failed, state could not be written);
//! 2 invalid input (usage, template, stack file; a missing or wrong passphrase, a secret
//! that does not decrypt); 3 `--expect-no-changes` and there are
//! changes; 4 the stack is locked by another run (also `cancel` keeping the lock of a run
//! still going on this host); 5 not confirmed (declined, or no
//! terminal and no `--yes`).

use std::collections::BTreeMap;

use cairn_core::Diagnostics;
use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    /// Located problems, with the text of the files they point into.
    #[error("{0}")]
    Diagnostics(Diagnostics, BTreeMap<String, String>),
    #[error("{0}")]
    Failed(String),
    #[error("the plan has changes, and --expect-no-changes was given")]
    ChangesPresent,
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    NotConfirmed(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Failed(_) => 1,
            CliError::Usage(_) | CliError::Diagnostics(..) => 2,
            CliError::ChangesPresent => 3,
            CliError::Locked(_) => 4,
            CliError::NotConfirmed(_) => 5,
        }
    }
}

impl From<cairn_core::state::StateError> for CliError {
    fn from(e: cairn_core::state::StateError) -> Self {
        match e {
            cairn_core::state::StateError::Locked { stale: false, .. } => CliError::Locked(format!(
                "{e}; wait for that run to finish, or if it is no longer running, clear the lock with `cairn cancel`"
            )),
            cairn_core::state::StateError::Locked { .. } => CliError::Locked(e.to_string()),
            cairn_core::state::StateError::Secrets(m) => CliError::Usage(m),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<cairn_core::engine::EngineError> for CliError {
    fn from(e: cairn_core::engine::EngineError) -> Self {
        match e {
            cairn_core::engine::EngineError::State(s) => s.into(),
            other => CliError::Failed(other.to_string()),
        }
    }
}

/// Print an error to stderr: located diagnostics with their source excerpt.
pub fn report(e: &CliError, color: bool) {
    let handler = miette::GraphicalReportHandler::new_themed(if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    })
    .with_width(100);
    match e {
        CliError::Diagnostics(diags, sources) => {
            for d in &diags.0 {
                let mut md = MietteDiagnostic::new(d.message.clone());
                if let Some(h) = &d.help {
                    md = md.with_help(h.clone());
                }
                let mut out = String::new();
                match d.span.as_ref().and_then(|s| sources.get(s.file.as_ref()).map(|t| (s, t))) {
                    Some((span, text)) => {
                        let len = span.len.max(1).min(text.len().saturating_sub(span.offset).max(1));
                        md = md.with_label(LabeledSpan::at(span.offset..span.offset + len, "here"));
                        let report = Report::new(md).with_source_code(NamedSource::new(&span.file, text.clone()));
                        let _ = handler.render_report(&mut out, report.as_ref());
                    }
                    None => {
                        let msg = match &d.span {
                            Some(s) => format!("{s}: {}", d.message),
                            None => d.message.clone(),
                        };
                        let mut md2 = MietteDiagnostic::new(msg);
                        if let Some(h) = &d.help {
                            md2 = md2.with_help(h.clone());
                        }
                        let _ = handler.render_report(&mut out, &md2);
                    }
                }
                eprint!("{out}");
            }
            let n = diags.0.len();
            eprintln!("{n} error{} found", if n == 1 { "" } else { "s" });
        }
        other => eprintln!("error: {other}"),
    }
}
