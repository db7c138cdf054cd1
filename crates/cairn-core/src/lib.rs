//! cairn's engine. Data flows: template text -> [`template`] (parse, model, evaluate) ->
//! [`graph`] (the evaluated desired graph) -> [`plan`] (diff against [`state`]) ->
//! [`exec`] (parallel execution through [`provider`]s, journaled) -> [`state`].
//! [`engine`] ties one run together (lock, load, recover, apply, compact); [`refresh`]
//! reads the live resources (drift).
//!
//! No AWS and no file IO here: files come in through [`template::SourceLoader`], state goes
//! out through [`state::Backend`].

pub mod asset;
pub mod builtin;
pub mod diag;
pub mod diff;
pub mod engine;
pub mod exec;
pub mod graph;
pub mod plan;
pub mod project;
pub mod provider;
pub mod reconcile;
pub mod refresh;
pub mod schema;
pub mod ssm;
pub mod state;
pub mod template;
pub mod value;
pub mod zip;

pub use diag::{Diagnostic, Diagnostics, Span};
pub use value::Value;

/// SHA-256 of bytes, as lower-case hex.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
