//! AWS Key Management Service resource types, and what they share: KMS tags
//! (`TagKey`/`TagValue`) and the error that means a key or alias does not exist.

pub mod alias;
pub mod key;

use std::collections::BTreeMap;

use aws_sdk_kms::types::Tag as KmsTag;
use cairn_core::provider::ProviderError;

/// KMS's answer when a key or an alias does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["NotFoundException"];

/// Tags as KMS takes them.
pub(crate) fn kms_tags(tags: BTreeMap<String, String>) -> Result<Vec<KmsTag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            KmsTag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("a KMS tag could not be built: {e}")))
        })
        .collect()
}
