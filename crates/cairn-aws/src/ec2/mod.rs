//! Amazon EC2 types, and what every EC2 type shares: tags (put on with
//! `TagSpecifications` in the create call, so the ownership tags are there from the first
//! instant; changed with `CreateTags`/`DeleteTags`, which take any EC2 resource id), the
//! `Filters` of the `Describe*` calls (ownership tags for `find`), and the
//! eventual-consistency errors of a delete.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag as Ec2Tag, TagSpecification};
use cairn_core::provider::ProviderError;

use crate::kit::{ids, wait::Transient, Cx, Tag};
use crate::util::sdk_error;

pub mod eip;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod route;
pub mod route_table;
pub mod subnet;
pub mod subnet_route_table_association;
pub mod vpc;
pub mod vpc_gateway_attachment;

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

/// The filters that select the resources carrying this resource's ownership tags
/// (`tag:cairn:logical-id=...`), for a `Describe*` call that takes tag filters.
pub(crate) fn ownership_filters(cx: &Cx<'_>) -> Vec<Filter> {
    ids::ownership_filters(cx.ctx).into_iter().map(|(k, v)| filter(&format!("tag:{k}"), v)).collect()
}

/// A delete EC2 refuses while a dependent resource (a subnet, an attachment, a network
/// interface of a NAT gateway or Lambda function) is still going away.
pub(crate) const DEPENDENCY_VIOLATION: Transient = Transient {
    code: "DependencyViolation",
    message_contains: None,
    waiting_for: "the resources that depend on it to be deleted",
};

/// The id that `Describe*` answered without (a malformed answer), as an error.
pub(crate) fn missing(what: &str, operation: &str) -> ProviderError {
    ProviderError::with_code("InvalidResponse", format!("EC2 {operation} answered without the {what}"))
}

/// The physical id of a composite-id type, `A|B`, in its two parts.
pub(crate) fn split_id<'a>(physical_id: &'a str, shape: &str) -> Result<(&'a str, &'a str), ProviderError> {
    physical_id.split_once('|').ok_or_else(|| {
        ProviderError::with_code(
            "InvalidPhysicalId",
            format!("`{physical_id}` is not of the shape `{shape}`; run `cairn refresh`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_filters_name_the_tags() {
        let ctx = crate::test_ctx("AWS::EC2::VPC", "Network");
        let aws = crate::Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &vpc::SPEC };
        let filters = ownership_filters(&cx);
        let names: Vec<&str> = filters.iter().filter_map(|f| f.name()).collect();
        assert!(names.contains(&"tag:cairn:logical-id"), "{names:?}");
        let logical = filters.iter().find(|f| f.name() == Some("tag:cairn:logical-id")).unwrap();
        assert_eq!(logical.values(), ["Network"]);
        let spec = tag_specification(&cx, ResourceType::Vpc, &[Tag { key: "Team".into(), value: "ml".into() }]);
        let tags = tag_map(spec.tags());
        assert_eq!(tags["Team"], "ml");
        assert_eq!(tags["cairn:logical-id"], "Network");
        assert_eq!(split_id("IGW|vpc-1", "A|B").unwrap(), ("IGW", "vpc-1"));
        assert_eq!(split_id("vpc-1", "A|B").unwrap_err().code.as_deref(), Some("InvalidPhysicalId"));
    }
}
