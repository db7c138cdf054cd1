//! Amazon RDS resource types, and what they share: tags by ARN.

pub mod db_instance;
pub mod db_parameter_group;

use std::collections::BTreeMap;

use cairn_core::provider::ProviderError;

use crate::kit::{Cx, Tag};
use crate::util::sdk_error;

/// Tags as RDS takes them.
pub(crate) fn rds_tags(tags: BTreeMap<String, String>) -> Vec<aws_sdk_rds::types::Tag> {
    tags.into_iter().map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build()).collect()
}

/// All of a resource's tags (`ListTagsForResource` of its ARN).
pub(crate) async fn live_tags(rds: &aws_sdk_rds::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = rds.list_tags_for_resource().resource_name(arn).send().await.map_err(sdk_error)?;
    Ok(out
        .tag_list
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect())
}

/// Make the live tags of `arn` the ones the resource should carry: `RemoveTagsFromResource`,
/// `AddTagsToResource`, each only when needed.
pub(crate) async fn retag(cx: &Cx<'_>, rds: &aws_sdk_rds::Client, arn: &str, own: &[Tag]) -> Result<(), ProviderError> {
    let diff = cx.tag_update(&live_tags(rds, arn).await?, own);
    diff.apply(
        |keys| async move {
            rds.remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(())
        },
        |set| async move {
            rds.add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(rds_tags(set)))
                .send()
                .await
                .map_err(sdk_error)?;
            Ok(())
        },
    )
    .await
}

/// A generated RDS name: lower-case letters, digits and hyphens (RDS keeps names in lower
/// case), starting with a letter.
pub(crate) fn name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}
