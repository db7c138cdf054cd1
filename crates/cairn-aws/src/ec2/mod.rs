//! Amazon EC2 types, and what every EC2 type shares: tags (put on with
//! `TagSpecifications` in the create call, so the ownership tags are there from the first
//! instant; changed with `CreateTags`/`DeleteTags`, which take any EC2 resource id) and the
//! `Filters` of the `Describe*` calls (ownership tags for `find`).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag as Ec2Tag, TagSpecification};
use cairn_core::provider::ProviderError;

use crate::kit::{ids, Cx, Tag};
use crate::util::sdk_error;

pub mod instance;
pub mod security_group;
pub mod security_group_rule;

/// The `TagSpecifications` of a create call: the resource's tags ([`Cx::tags`]: stack,
/// own, ownership) on the resource it makes.
pub(crate) fn tag_specification(cx: &Cx<'_>, kind: ResourceType, own: &[Tag]) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).set_tags(Some(ec2_tags(cx.tags(own)))).build()
}

fn ec2_tags(tags: BTreeMap<String, String>) -> Vec<Ec2Tag> {
    tags.into_iter().map(|(k, v)| Ec2Tag::builder().key(k).value(v).build()).collect()
}

/// The tags a `Describe*` answer gives, as a map.
pub(crate) fn tag_map(tags: &[Ec2Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default()))).collect()
}

/// Make the live tags of EC2 resource `id` the ones it should carry: `DeleteTags` of the
/// keys to remove, then `CreateTags` of the new and changed ones (each only when needed).
pub(crate) async fn update_tags(
    cx: &Cx<'_>,
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    live: &BTreeMap<String, String>,
    own: &[Tag],
) -> Result<(), ProviderError> {
    cx.tag_update(live, own)
        .apply(
            |keys| async move {
                let keys = keys.into_iter().map(|k| Ec2Tag::builder().key(k).build()).collect();
                ec2.delete_tags().resources(id).set_tags(Some(keys)).send().await.map_err(sdk_error).map(|_| ())
            },
            |set| async move {
                ec2.create_tags()
                    .resources(id)
                    .set_tags(Some(ec2_tags(set)))
                    .send()
                    .await
                    .map_err(sdk_error)
                    .map(|_| ())
            },
        )
        .await
}

/// A `Describe*` filter of one value.
pub(crate) fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The `Describe*` filters that select the resources carrying this resource's ownership
/// tags (`tag:cairn:logical-id=...`), for `find`.
pub(crate) fn ownership_filters(cx: &Cx<'_>) -> Vec<Filter> {
    ids::ownership_filters(cx.ctx).into_iter().map(|(k, v)| filter(&format!("tag:{k}"), v)).collect()
}
