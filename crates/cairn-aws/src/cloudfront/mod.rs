//! Amazon CloudFront types, and what they share. CloudFront is global: its calls are signed
//! in the partition's home region (`kit/clients.rs`), whatever the stack's region.
//!
//! Every change to a CloudFront resource names the version it changes: `Update*` and
//! `Delete*` take the `ETag` of the last read as `If-Match` ([`etag`]).

use cairn_core::provider::ProviderError;

pub mod distribution;
pub mod origin_access_control;

/// The `ETag` a `Get*` answered with, or an error: CloudFront refuses an update or delete
/// without it (`InvalidIfMatchVersion`).
pub(crate) fn etag(e_tag: Option<&str>, operation: &str, id: &str) -> Result<String, ProviderError> {
    e_tag.map(str::to_string).ok_or_else(|| {
        ProviderError::with_code(
            "InvalidResponse",
            format!("CloudFront {operation} of {id} answered without an ETag; run the command again"),
        )
    })
}

/// A builder's missing required field: the typed properties rule it out, so it is cairn's bug.
pub(crate) fn built<T>(r: Result<T, aws_sdk_cloudfront::error::BuildError>) -> Result<T, ProviderError> {
    r.map_err(|e| {
        ProviderError::with_code(
            "InvalidRequest",
            format!("cairn built an incomplete CloudFront request ({e}); this is a bug in cairn: please report it"),
        )
    })
}
