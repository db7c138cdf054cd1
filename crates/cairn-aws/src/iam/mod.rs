//! AWS Identity and Access Management resource types. IAM is global: these types ignore
//! `Region:` and use one client.

pub mod instance_profile;
pub mod managed_policy;
pub mod policy;
pub mod role;

use serde_json::Value as Json;

/// Whether two values of a property of a policy type (`AWS::IAM::ManagedPolicy`,
/// `AWS::IAM::Policy`) mean the same: the document by meaning, anything else loosely (`30`
/// and `"30"`). The attachment lists are sets by their schema (`insertionOrder: false`).
pub(crate) fn policy_property_equivalent(property: &str, old: &Json, new: &Json) -> bool {
    match property {
        "PolicyDocument" => crate::policy_doc::equivalent(old, new),
        _ => crate::util::loose_eq(old, new),
    }
}
