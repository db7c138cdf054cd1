//! Identities: idempotency tokens derived from the journaled name seed, and finding a
//! resource whose id AWS generates (VPC, subnet, security group) by cairn's ownership tags.

use std::collections::BTreeMap;

use cairn_core::provider::{OpContext, ProviderError};
use sha2::{Digest, Sha256};

/// An idempotency token for a create call (`ClientToken`, `IdempotencyToken`,
/// `CallerReference`): the same for the same resource and `purpose` across retries and
/// across a crash (the name seed is journaled before the create), different for another
/// resource, stack or replacement. Hex, at most `max_len` characters (64 at most).
pub fn token(ctx: &OpContext, purpose: &str, max_len: usize) -> String {
    let mut h = Sha256::new();
    for part in [&ctx.project, &ctx.stack, &ctx.logical_id, &ctx.name_seed, purpose] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut hex = hex::encode(h.finalize());
    hex.truncate(max_len);
    hex
}

/// Whether `tags` carry this resource's ownership tags (project, stack and logical id).
pub fn is_owned(ctx: &OpContext, tags: &BTreeMap<String, String>) -> bool {
    ctx.ownership_tags().iter().all(|(k, v)| tags.get(k) == Some(v))
}

/// Of the `candidates` (id and tags), the one this resource owns. Several is an error
/// (something made copies: cairn will not pick one), naming them.
pub fn owned(
    ctx: &OpContext,
    candidates: impl IntoIterator<Item = (String, BTreeMap<String, String>)>,
) -> Result<Option<String>, ProviderError> {
    let mut ids: Vec<String> =
        candidates.into_iter().filter(|(_, tags)| is_owned(ctx, tags)).map(|(id, _)| id).collect();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.pop()),
        _ => Err(ProviderError::with_code(
            "AmbiguousOwnership",
            format!(
                "{} resources carry the ownership tags of {} in stack {} ({}); delete the extra ones, then run the command again",
                ids.len(),
                ctx.logical_id,
                ctx.stack,
                ids.join(", ")
            ),
        )),
    }
}

/// The tag filters that select this resource's candidates where a list call takes them
/// (EC2 `Filters: tag:cairn:logical-id=...`): key and value.
pub fn ownership_filters(ctx: &OpContext) -> Vec<(String, String)> {
    ctx.ownership_tags().into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_resource_and_seed() {
        let a = crate::test_ctx("AWS::EC2::Instance", "Web");
        let t = token(&a, "RunInstances", 64);
        assert_eq!(t.len(), 64);
        assert_eq!(t, token(&a, "RunInstances", 64));
        assert_eq!(&t[..32], token(&a, "RunInstances", 32));
        let mut b = a.clone();
        b.name_seed = "another-seed".into();
        assert_ne!(t, token(&b, "RunInstances", 64));
        let mut c = a.clone();
        c.logical_id = "Api".into();
        assert_ne!(t, token(&c, "RunInstances", 64));
        assert_ne!(t, token(&a, "CreateLaunchTemplate", 64));
    }

    #[test]
    fn the_owned_candidate_is_found_and_copies_are_refused() {
        let ctx = crate::test_ctx("AWS::EC2::VPC", "Network");
        let ours = ctx.ownership_tags();
        let mut other = ours.clone();
        other.insert("cairn:logical-id".into(), "Other".into());
        assert_eq!(owned(&ctx, [("vpc-2".to_string(), other.clone())]).unwrap(), None);
        assert_eq!(
            owned(&ctx, [("vpc-1".to_string(), ours.clone()), ("vpc-2".to_string(), other)]).unwrap().as_deref(),
            Some("vpc-1")
        );
        let e = owned(&ctx, [("vpc-1".to_string(), ours.clone()), ("vpc-3".to_string(), ours)]).unwrap_err();
        assert_eq!(e.code.as_deref(), Some("AmbiguousOwnership"));
        assert!(e.message.contains("vpc-1, vpc-3"), "{}", e.message);
    }
}
