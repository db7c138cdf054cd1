//! Tags: what a taggable resource carries ([`merged`]: the stack's tags, the resource's own
//! `Tags`, cairn's ownership tags), what an update sends ([`diff`]: only the tags that
//! changed), and what `read` shows ([`visible`]: without ownership and stack tags).
//!
//! `Tags` is a list of `{Key, Value}` for most types, and a map of key to value for some
//! (`AWS::ApiGatewayV2::Api`, `AWS::ApiGatewayV2::Stage`): [`own`] reads both, [`from_map`]
//! turns a typed map into the kit's [`Tag`]s, and [`as_map`] gives what [`visible`] shows
//! in the map shape.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use cairn_core::provider::{OpContext, ProviderError};
use serde::Deserialize;
use serde_json::Value as Json;

/// One `{Key, Value}` of a `Tags` list.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The tags a taggable resource carries: the stack's tags, then the resource's own `Tags`
/// (which win over the stack's), then cairn's ownership tags (which win over both).
pub fn merged(ctx: &OpContext, own: &[Tag]) -> BTreeMap<String, String> {
    let mut tags = ctx.stack_tags.clone();
    tags.extend(own.iter().map(|t| (t.key.clone(), t.value.clone())));
    tags.extend(ctx.ownership_tags());
    tags
}

/// What an update sends: the tags to set (new or changed values) and the keys to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagDiff {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagDiff {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Send the change through the service's own calls: `untag` with the keys to remove,
    /// then `tag` with the tags to set, each only when it has something to send.
    pub async fn apply<U, T>(
        self,
        untag: impl FnOnce(Vec<String>) -> U,
        tag: impl FnOnce(BTreeMap<String, String>) -> T,
    ) -> Result<(), ProviderError>
    where
        U: Future<Output = Result<(), ProviderError>>,
        T: Future<Output = Result<(), ProviderError>>,
    {
        if !self.remove.is_empty() {
            untag(self.remove).await?;
        }
        if !self.set.is_empty() {
            tag(self.set).await?;
        }
        Ok(())
    }
}

/// The change from `before` to `after`, tag by tag.
pub fn diff(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> TagDiff {
    TagDiff {
        set: after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect(),
        remove: before.keys().filter(|k| !after.contains_key(*k)).cloned().collect(),
    }
}

/// What makes `live` tags the `wanted` ones: [`diff`], except that tags AWS reserves
/// (`aws:` keys, which no one can remove) are left alone. Tags added outside cairn are
/// removed: `read` shows them as part of `Tags` (drift), so the template is the whole set.
pub fn update(live: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>) -> TagDiff {
    let live: BTreeMap<String, String> =
        live.iter().filter(|(k, _)| !k.starts_with("aws:")).map(|(k, v)| (k.clone(), v.clone())).collect();
    diff(&live, wanted)
}

/// A map-shaped `Tags` (`{"Team": "ml"}`) as [`Tag`]s, by key.
pub fn from_map(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()
}

/// What [`visible`] gives (a list of `{Key, Value}`), in the map shape of a type whose
/// `Tags` is a map of key to value.
pub fn as_map(visible: Json) -> Json {
    match visible {
        Json::Array(items) => Json::Object(
            items.iter().filter_map(|t| Some((t.get("Key")?.as_str()?.to_string(), t.get("Value")?.clone()))).collect(),
        ),
        other => other,
    }
}

/// The user's `Tags` of a properties value, a list of `{Key, Value}` or a map of key to
/// value, leniently (the typed read refuses bad ones first; this is for `read`, which must
/// not fail on what it only compares).
pub fn own(properties: &Json) -> Vec<Tag> {
    if let Some(map) = properties.get("Tags").and_then(Json::as_object) {
        return map
            .iter()
            .filter_map(|(k, v)| Some(Tag { key: k.clone(), value: crate::util::scalar_string(v)? }))
            .collect();
    }
    properties
        .get("Tags")
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| {
                    let s = |k: &str| t.get(k).and_then(crate::util::scalar_string);
                    Some(Tag { key: s("Key")?, value: s("Value")? })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The user-visible `Tags` of a live resource: its tags without cairn's ownership tags and
/// without the stack's tags (unless the user's own `Tags` name them), in the user's order
/// and then by key. `None` when there is nothing to show and the user set no `Tags`.
pub fn visible(live: &BTreeMap<String, String>, ctx: &OpContext, desired: &Json) -> Option<Json> {
    let own = own(desired);
    let mut out: Vec<Json> = Vec::new();
    let mut seen = BTreeSet::new();
    for t in &own {
        if let Some(v) = live.get(&t.key) {
            if seen.insert(t.key.clone()) {
                out.push(serde_json::json!({"Key": t.key, "Value": v}));
            }
        }
    }
    for (k, v) in live {
        if seen.contains(k) || k.starts_with("cairn:") || ctx.stack_tags.get(k) == Some(v) {
            continue;
        }
        out.push(serde_json::json!({"Key": k, "Value": v}));
    }
    if out.is_empty() && desired.get("Tags").is_none() {
        None
    } else {
        Some(Json::Array(out))
    }
}

/// [`visible`] for a type whose tag property is a map (`UserPoolTags: {Key: Value}`):
/// the live tags without cairn's ownership tags and the stack's tags (unless `desired`, the
/// template's map, gives them), or `None` when there are none and the template gives none.
pub fn visible_map(live: &BTreeMap<String, String>, ctx: &OpContext, desired: Option<&Json>) -> Option<Json> {
    let own = desired.and_then(Json::as_object);
    let out: serde_json::Map<String, Json> = live
        .iter()
        .filter(|(k, v)| {
            own.is_some_and(|o| o.contains_key(*k)) || !(k.starts_with("cairn:") || ctx.stack_tags.get(*k) == Some(*v))
        })
        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
        .collect();
    (!out.is_empty() || own.is_some()).then_some(Json::Object(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_map_of_tags_shows_without_ownership_and_stack_tags() {
        let ctx = crate::test_ctx("AWS::Cognito::UserPool", "Pool");
        let live = map(&[("Team", "data"), ("cairn:stack", "dev"), ("App", "k")]);
        assert_eq!(visible_map(&live, &ctx, None), Some(json!({"App": "k"})));
        assert_eq!(visible_map(&live, &ctx, Some(&json!({"Team": "data"}))), Some(json!({"App": "k", "Team": "data"})));
        assert_eq!(visible_map(&map(&[("Team", "data")]), &ctx, None), None);
        assert_eq!(visible_map(&map(&[]), &ctx, Some(&json!({}))), Some(json!({})));
    }

    #[test]
    fn ownership_tags_win_over_own_and_stack_tags() {
        let ctx = crate::test_ctx("AWS::S3::Bucket", "Data");
        let own =
            vec![Tag { key: "Team".into(), value: "ml".into() }, Tag { key: "cairn:stack".into(), value: "x".into() }];
        let tags = merged(&ctx, &own);
        assert_eq!(tags["Team"], "ml");
        assert_eq!(tags["cairn:stack"], "dev");
        assert_eq!(tags["cairn:logical-id"], "Data");
    }

    #[test]
    fn only_changed_tags_are_sent() {
        let before = map(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let after = map(&[("a", "1"), ("b", "20"), ("d", "4")]);
        let d = diff(&before, &after);
        assert_eq!(d.set, map(&[("b", "20"), ("d", "4")]));
        assert_eq!(d.remove, vec!["c".to_string()]);
        assert!(diff(&after, &after).is_empty());
        // Against live tags: AWS's own are never removed, missing ownership tags come back.
        let live = map(&[("aws:cloudformation:stack-name", "x"), ("a", "1"), ("manual", "m")]);
        let wanted = map(&[("a", "1"), ("cairn:stack", "dev")]);
        let d = update(&live, &wanted);
        assert_eq!(d.set, map(&[("cairn:stack", "dev")]));
        assert_eq!(d.remove, vec!["manual".to_string()]);
    }

    #[test]
    fn visible_tags_hide_ownership_and_stack_tags() {
        let ctx = crate::test_ctx("AWS::S3::Bucket", "Data");
        let live = map(&[("cairn:stack", "dev"), ("Team", "data"), ("Owner", "me"), ("Cost", "1")]);
        let desired = json!({"Tags": [{"Key": "Owner", "Value": "me"}]});
        assert_eq!(
            visible(&live, &ctx, &desired),
            Some(json!([{"Key": "Owner", "Value": "me"}, {"Key": "Cost", "Value": "1"}]))
        );
        // The user's own tag that repeats a stack tag stays visible.
        let desired = json!({"Tags": [{"Key": "Team", "Value": "data"}]});
        assert_eq!(
            visible(&live, &ctx, &desired),
            Some(
                json!([{"Key": "Team", "Value": "data"}, {"Key": "Cost", "Value": "1"}, {"Key": "Owner", "Value": "me"}])
            )
        );
        assert_eq!(visible(&map(&[("cairn:stack", "dev")]), &ctx, &json!({})), None);
    }

    #[test]
    fn map_shaped_tags_are_read_and_shown_as_a_map() {
        let ctx = crate::test_ctx("AWS::ApiGatewayV2::Api", "Api");
        let desired = json!({"Tags": {"Owner": "me", "Count": 3}});
        assert_eq!(
            own(&desired),
            [Tag { key: "Owner".into(), value: "me".into() }, Tag { key: "Count".into(), value: "3".into() }]
        );
        let live = map(&[("cairn:stack", "dev"), ("Owner", "me"), ("Count", "3"), ("Manual", "x")]);
        let shown = visible(&live, &ctx, &desired).map(as_map);
        assert_eq!(shown, Some(json!({"Owner": "me", "Count": "3", "Manual": "x"})));
        assert_eq!(from_map(&map(&[("a", "1")])), [Tag { key: "a".into(), value: "1".into() }]);
    }
}
