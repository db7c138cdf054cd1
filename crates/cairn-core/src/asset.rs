//! Local assets: a file or folder of the project that a property takes as its content
//! (a Lambda function's `Code: functions/api`), as `aws cloudformation package` does.
//!
//! A type declares which top-level properties may be a path ([`TypeSchema::assets`]).
//! When the template gives such a property a string, the graph asks the run's
//! [`Packager`] to package it ([`DesiredGraph::properties`]) and puts this in its place:
//!
//! ```yaml
//! Code:
//!   Cairn::Asset: {Path: functions/api, Sha256: <base64 of the archive's SHA-256>}
//! ```
//!
//! So the plan compares content, not file times: the same files give the same archive
//! (the packager makes it deterministically) and the same `Sha256`, and a changed file
//! gives an update whose diff names the asset. The provider gets the archive's bytes
//! through [`OpContext::assets`] when it creates or updates; its `read` reports what AWS
//! holds in the same shape (Lambda's `CodeSha256` is the same digest), so `refresh`
//! compares it too.
//!
//! Core does no file IO: the CLI's packager reads and zips the files.
//!
//! [`TypeSchema::assets`]: crate::provider::TypeSchema::assets
//! [`DesiredGraph::properties`]: crate::graph::DesiredGraph::properties
//! [`OpContext::assets`]: crate::provider::OpContext::assets

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use crate::value::Value;

/// The key of an asset's value.
pub const KEY: &str = "Cairn::Asset";

/// A packaged asset: where it is in the project and the digest of its archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    /// Relative to the project directory, with `/` separators, as the template gives it.
    pub path: String,
    /// Base64 of the SHA-256 of the archive (the form of Lambda's `CodeSha256`).
    pub sha256: String,
}

impl Asset {
    pub fn to_value(&self) -> Value {
        Value::from_json(&self.to_json())
    }

    pub fn to_json(&self) -> Json {
        json!({KEY: {"Path": self.path, "Sha256": self.sha256}})
    }

    /// The asset a property value holds, if it is one.
    pub fn from_json(v: &Json) -> Option<Asset> {
        let a = v.as_object().filter(|m| m.len() == 1)?.get(KEY)?;
        Some(Asset { path: a.get("Path")?.as_str()?.to_string(), sha256: a.get("Sha256")?.as_str()?.to_string() })
    }

    /// The digest of `archive`, as [`Asset::sha256`] holds it.
    pub fn digest(archive: &[u8]) -> String {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(archive))
    }
}

/// Packages the project's files (the CLI's implementation zips them).
pub trait Packager: Send + Sync {
    /// Package the file or folder at `path` (relative to the project directory). The
    /// error says what is wrong with the path, for a diagnostic at the property.
    fn package(&self, path: &str) -> Result<Asset, String>;

    /// The archive of a packaged asset, for the provider to upload. Fails when the files
    /// no longer give the digest the plan was made with.
    fn archive(&self, asset: &Asset) -> Result<Arc<Vec<u8>>, String>;
}

/// The run's packager, if it has one (a run over a template in memory has none: a path
/// where an asset may stand is then an error).
#[derive(Clone, Default)]
pub struct Assets(Option<Arc<dyn Packager>>);

impl Assets {
    pub fn new(packager: Arc<dyn Packager>) -> Assets {
        Assets(Some(packager))
    }

    pub fn package(&self, path: &str) -> Result<Asset, String> {
        match &self.0 {
            Some(p) => p.package(path),
            None => Err("local assets are not available here (no project directory)".to_string()),
        }
    }

    pub fn archive(&self, asset: &Asset) -> Result<Arc<Vec<u8>>, String> {
        match &self.0 {
            Some(p) => p.archive(asset),
            None => Err("local assets are not available here (no project directory)".to_string()),
        }
    }
}

impl fmt::Debug for Assets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Assets(packager)" } else { "Assets(none)" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_value_round_trips_and_nothing_else_is_one() {
        let a = Asset { path: "functions/api".into(), sha256: Asset::digest(b"zip") };
        assert_eq!(Asset::from_json(&a.to_json()), Some(a.clone()));
        assert_eq!(a.to_json()["Cairn::Asset"]["Path"], "functions/api");
        assert_eq!(Asset::from_json(&json!({"ZipFile": "x"})), None);
        assert_eq!(Asset::from_json(&json!({KEY: {"Path": "p", "Sha256": "s"}, "ZipFile": "x"})), None);
        assert_eq!(Asset::from_json(&json!("functions/api")), None);
    }

    #[test]
    fn the_digest_is_base64_sha256_like_lambdas_code_sha256() {
        // printf '' | openssl dgst -sha256 -binary | base64
        assert_eq!(Asset::digest(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn without_a_packager_a_path_is_an_error() {
        let e = Assets::default().package("functions/api").unwrap_err();
        assert!(e.contains("not available"), "{e}");
    }
}
