//! The template language: parsing (YAML and JSON, with locations), the sections model,
//! and evaluation of intrinsic functions.

pub mod ast;
pub mod env;
pub mod eval;
pub mod model;
pub mod params;
pub mod parse;

pub use ast::{Key, Mapping, Node, NodeValue};
pub use model::{load_template, Template};
pub use parse::parse_document;

/// Reads the text of files a template refers to (components). Core does no file IO: the
/// CLI gives it a loader over the file system; tests give it one over a map.
pub trait SourceLoader {
    /// `path` is relative to the project directory, with `/` separators.
    fn read(&self, path: &str) -> std::io::Result<String>;
}

/// A loader over an in-memory map of path to text (tests, benchmarks).
#[derive(Default, Clone, Debug)]
pub struct MemoryLoader(pub std::collections::BTreeMap<String, String>);

impl SourceLoader for MemoryLoader {
    fn read(&self, path: &str) -> std::io::Result<String> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{path}: no such file")))
    }
}
