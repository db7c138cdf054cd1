//! cairn's engine. Data flows: template text -> [`template`] (parse, model, evaluate) ->
//! [`graph`] (the evaluated desired graph) -> [`plan`] (diff against [`state`]) ->
//! [`exec`] (parallel execution through [`provider`]s, journaled) -> [`state`].
//!
//! No AWS and no file IO here: files come in through [`template::SourceLoader`], state goes
//! out through [`state::Backend`].

pub mod builtin;
pub mod diag;
pub mod project;
pub mod provider;
pub mod state;
pub mod template;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Span};
pub use value::Value;
