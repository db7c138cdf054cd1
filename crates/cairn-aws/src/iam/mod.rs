//! AWS Identity and Access Management resource types. IAM is global: these types ignore
//! `Region:` and use one client (signed in the partition's home region, [`crate::kit::clients`]).

pub mod instance_profile;
pub mod managed_policy;
pub mod oidc_provider;
pub mod policy;
pub mod role;
pub mod role_policy;

use std::collections::{BTreeMap, BTreeSet};

use cairn_core::provider::ProviderError;
use serde_json::Value as Json;

use crate::kit::PropsError;
use crate::policy_doc;

/// A character IAM accepts in role, policy and instance profile names (`[\w+=,.@-]`).
pub(crate) fn iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Tags as IAM takes them (roles, OIDC providers).
pub(crate) fn iam_tags(tags: BTreeMap<String, String>) -> Result<Vec<aws_sdk_iam::types::Tag>, ProviderError> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::with_code("InvalidRequest", format!("Tags: {e}")))
        })
        .collect()
}

/// IAM's answer when a role, policy, user or group does not exist.
pub(crate) const NOT_FOUND: &[&str] = &["NoSuchEntity"];

/// Whether two values of a property of a policy type (`AWS::IAM::ManagedPolicy`,
/// `AWS::IAM::Policy`) mean the same: the document by meaning, anything else loosely (`30`
/// and `"30"`). The attachment lists are sets by their schema (`insertionOrder: false`).
pub(crate) fn policy_property_equivalent(property: &str, old: &Json, new: &Json) -> bool {
    match property {
        "PolicyDocument" => policy_doc::equivalent(old, new),
        _ => crate::util::loose_eq(old, new),
    }
}

/// A policy document property as the text IAM takes, or an error at `path`.
pub(crate) fn document_text(doc: &Json, path: &str) -> Result<String, PropsError> {
    policy_doc::to_text(doc).ok_or_else(|| PropsError {
        path: path.to_string(),
        message: "expected a policy document (a mapping, or JSON text)".into(),
    })
}

/// A document as IAM returns it (URL-encoded JSON text), as a mapping.
pub(crate) fn live_document(text: &str) -> Json {
    let json = Json::String(text.to_string());
    policy_doc::parse(&json).unwrap_or(json)
}

/// The kind of IAM entity a policy is attached to or put on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    /// The property that lists entities of this kind.
    pub(crate) fn property(self) -> &'static str {
        match self {
            Kind::Role => "Roles",
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

/// The entities of the `Roles`, `Users` and `Groups` properties, by kind then name.
pub(crate) fn entities<'a>(
    roles: &'a BTreeSet<String>,
    users: &'a BTreeSet<String>,
    groups: &'a BTreeSet<String>,
) -> BTreeSet<(Kind, &'a str)> {
    let of = |kind: Kind, names: &'a BTreeSet<String>| names.iter().map(move |n| (kind, n.as_str()));
    of(Kind::Role, roles).chain(of(Kind::User, users)).chain(of(Kind::Group, groups)).collect()
}
