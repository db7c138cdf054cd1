//! `AWS::IAM::OIDCProvider`: an OpenID Connect identity provider that IAM trusts (GitHub
//! Actions, an EKS cluster, ...).
//!
//! | property | notes |
//! | --- | --- |
//! | `Url` | string, create-only: the issuer, `https://...` (IAM keeps it without the scheme; compared without it) |
//! | `ClientIdList` | set of strings (audiences) |
//! | `ThumbprintList` | set of 40-hex-digit strings, optional: when left out, IAM finds the issuer's certificate thumbprint itself, and `read` does not compare what it found |
//! | `Tags` | `[{Key, Value}]` |
//!
//! - `Ref`: the provider's ARN.
//! - `Fn::GetAtt`: `Arn`.
//!
//! IAM holds one provider per URL in an account: creating a second fails with
//! `EntityAlreadyExists`, and the error says to use the existing one instead: its ARN,
//! passed in a stack parameter where the template refers to the provider.
//!
//! `create` is `CreateOpenIDConnectProvider` (with the tags), then a wait until IAM shows
//! it. An update sends what changed: `AddClientIDToOpenIDConnectProvider` and
//! `RemoveClientIDFromOpenIDConnectProvider` for the audiences,
//! `UpdateOpenIDConnectProviderThumbprint` for a changed `ThumbprintList` (a list taken out
//! of the template is left as IAM holds it: IAM has no way to go back to finding it
//! itself), and `UntagOpenIDConnectProvider`/`TagOpenIDConnectProvider` against the live
//! tags. `delete` is `DeleteOpenIDConnectProvider`. `find` (after a crash mid-create)
//! adopts the provider of the URL (its ARN follows from the URL) when it carries this
//! resource's ownership tags.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{ProviderError, ResourceData};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::NOT_FOUND;
use crate::kit::{ids, paging, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::sdk_error;
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::IAM::OIDCProvider";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| crate::schema::load(crate::schema::IAM_OIDC_PROVIDER, None, &[])),
    not_found: NOT_FOUND,
    timeout: Duration::from_secs(60),
    reference: "the OIDC provider's ARN",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    url: Option<String>,
    #[serde(default)]
    client_id_list: BTreeSet<String>,
    thumbprint_list: Option<BTreeSet<String>>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The `AWS::IAM::OIDCProvider` resource type.
pub struct OidcProvider;

impl OidcProvider {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<OidcProvider> {
        Typed::new(OidcProvider, aws)
    }
}

/// The URL as IAM keeps it: without `https://` and a trailing `/`.
fn bare(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or(url).trim_end_matches('/')
}

fn data(arn: &str) -> ResourceData {
    ResourceData { physical_id: arn.to_string(), attributes: BTreeMap::from([("Arn".to_string(), Value::from(arn))]) }
}

async fn live_tags(iam: &aws_sdk_iam::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let call = iam.list_open_id_connect_provider_tags().open_id_connect_provider_arn(arn);
    let items = paging::all(call.into_paginator().items().send()).await?;
    Ok(items.into_iter().map(|t| (t.key, t.value)).collect())
}

/// The ARN IAM gives the provider of `url`.
fn arn_of(cx: &Cx<'_>, url: &str) -> String {
    format!("arn:{}:iam::{}:oidc-provider/{}", cx.ctx.partition, cx.ctx.account_id, bare(url))
}

/// `EntityAlreadyExists` from the create, saying what to do instead.
fn already_exists(url: &str, arn: &str, mut e: ProviderError) -> ProviderError {
    if e.code.as_deref() == Some("EntityAlreadyExists") {
        e.message = format!(
            "this account already has an OIDC provider for {url} ({arn}), and IAM holds one per URL; use that one instead of making another: take this resource out of the template and pass the existing provider's ARN in a stack parameter where the template refers to it"
        );
    }
    e
}

#[async_trait]
impl AwsType for OidcProvider {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        match p.url.as_deref() {
            Some(url) if url.starts_with("https://") && url.len() > "https://".len() => Ok(()),
            Some(url) => Err(PropsError {
                path: "Url".into(),
                message: format!("an OIDC provider's URL begins with `https://` (`https://{}`)", bare(url)),
            }),
            None => Err(PropsError {
                path: "Url".into(),
                message: "an OIDC provider needs the issuer's `Url` (`https://...`)".into(),
            }),
        }
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match (property, old.as_str(), new.as_str()) {
            ("Url", Some(a), Some(b)) => bare(a) == bare(b),
            _ => crate::util::loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let url = p.url.clone().unwrap_or_default();
        let out = iam
            .create_open_id_connect_provider()
            .url(&url)
            .set_client_id_list(Some(p.client_id_list.iter().cloned().collect()))
            .set_thumbprint_list(p.thumbprint_list.as_ref().map(|t| t.iter().cloned().collect()))
            .set_tags(Some(super::iam_tags(cx.tags(&p.tags))?))
            .send()
            .await
            .map_err(|e| already_exists(&url, &arn_of(cx, &url), sdk_error(e)))?;
        let arn = out.open_id_connect_provider_arn.ok_or_else(|| {
            ProviderError::with_code("InvalidResponse", "IAM CreateOpenIDConnectProvider answered without the ARN")
        })?;
        cx.created(&arn, async {
            cx.wait_visible(&format!("OIDC provider {arn} to exist"), || async {
                iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send().await.map_err(sdk_error)
            })
            .await
        })
        .await?;
        Ok(data(&arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let out = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(physical_id)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut props = BTreeMap::new();
        let url = out.url.clone().unwrap_or_default();
        props.insert("Url".to_string(), json!(format!("https://{}", bare(&url))));
        props.insert("ClientIdList".into(), json!(out.client_id_list()));
        if desired.get("ThumbprintList").is_some() {
            props.insert("ThumbprintList".into(), json!(out.thumbprint_list()));
        }
        let tags = live_tags(&iam, physical_id).await?;
        Ok(Some(Live { data: data(physical_id), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        for id in new.client_id_list.difference(&old.client_id_list) {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(physical_id)
                .client_id(id)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        for id in old.client_id_list.difference(&new.client_id_list) {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(physical_id)
                .client_id(id)
                .send()
                .await
                .map_err(sdk_error)?;
        }
        if let Some(thumbprints) = &new.thumbprint_list {
            if old.thumbprint_list.as_ref() != Some(thumbprints) {
                iam.update_open_id_connect_provider_thumbprint()
                    .open_id_connect_provider_arn(physical_id)
                    .set_thumbprint_list(Some(thumbprints.iter().cloned().collect()))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
        }
        let diff = cx.tag_update(&live_tags(&iam, physical_id).await?, &new.tags);
        let client = &iam;
        diff.apply(
            |keys| async move {
                let call = client.untag_open_id_connect_provider().open_id_connect_provider_arn(physical_id);
                call.set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                let call = client.tag_open_id_connect_provider().open_id_connect_provider_arn(physical_id);
                call.set_tags(Some(super::iam_tags(set)?)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(physical_id))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(physical_id)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let iam: aws_sdk_iam::Client = cx.client();
        let arn = arn_of(cx, p.url.as_deref().unwrap_or_default());
        let tags = live_tags(&iam, &arn).await?;
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&arn)))
    }

    fn fixture(&self) -> Fixture {
        Fixture {
            support: json!({}),
            create: json!({
                "Url": "https://token.{uid}.example.com",
                "ClientIdList": ["sts.amazonaws.com"],
                "ThumbprintList": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
                "Tags": [{"Key": "team", "Value": "platform"}]
            }),
            // The audiences stay: moto 5.2.5 has no AddClientIDToOpenIDConnectProvider or
            // RemoveClientIDFromOpenIDConnectProvider (moto/iam/responses.py).
            update: Some(json!({
                "Url": "https://token.{uid}.example.com",
                "ClientIdList": ["sts.amazonaws.com"],
                "ThumbprintList": ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccc"],
                "Tags": [{"Key": "team", "Value": "identity"}]
            })),
            replace: Some(json!({
                "Url": "https://token.{uid}.example.com/moved",
                "ClientIdList": ["sts.amazonaws.com"],
                "ThumbprintList": ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
                "Tags": [{"Key": "team", "Value": "identity"}]
            })),
            nested_replace: None,
            // The create is one call (the tags go with it); the wait that follows only
            // looks, so a refused look leaves nothing undone.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        OidcProvider::new(Aws::unconfigured()).parse(&v)
    }

    #[test]
    fn urls_are_https_and_compared_without_the_scheme() {
        assert!(parse(json!({"Url": "https://token.actions.githubusercontent.com"})).is_ok());
        let e = parse(json!({"Url": "token.actions.githubusercontent.com"})).unwrap_err();
        assert!(e.message.contains("begins with `https://`"), "{}", e.message);
        assert!(OidcProvider.equivalent("Url", &json!("https://a.example.com/"), &json!("a.example.com")));
        assert!(!OidcProvider.equivalent("Url", &json!("https://a.example.com"), &json!("https://b.example.com")));
    }

    #[test]
    fn a_second_provider_for_a_url_says_what_to_do() {
        let e = already_exists(
            "https://token.actions.githubusercontent.com",
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
            ProviderError::with_code("EntityAlreadyExists", "Provider with url https://... already exists."),
        );
        assert!(e.message.contains("already has an OIDC provider for https://token.actions"), "{}", e.message);
        assert!(e.message.contains("oidc-provider/token.actions.githubusercontent.com"), "{}", e.message);
        assert!(e.message.contains("in a stack parameter"), "{}", e.message);
        let other = already_exists("https://x", "arn", ProviderError::with_code("LimitExceeded", "too many"));
        assert_eq!(other.message, "too many");
    }
}
