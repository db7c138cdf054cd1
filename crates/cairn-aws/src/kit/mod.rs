//! The provider kit: what every AWS type needs, in one place, so that a type file is a
//! mapping between CloudFormation properties and SDK calls (see `docs/providers.md`).
//!
//! A type implements [`AwsType`]; [`Typed`] turns it into the engine's
//! [`ResourceType`]. From the type's [`Spec`] (its vendored registry schema, the error codes
//! that mean "not found", its wait timeout, what `Ref` returns) and its typed
//! [`AwsType::Props`], the kit gives:
//!
//! | what | where |
//! | --- | --- |
//! | `check`: schema check, then the typed read, errors at their path listing what the type takes | [`props`] |
//! | values coerced to the schema's types (`"30"` → `30`) before any call | [`props::coerce`] |
//! | `read` in the user's spelling: live values that mean the same as the desired ones are shown as written; tags without ownership and stack tags | [`Typed`], [`tags::visible`] |
//! | not found: `read` gives `None`, `delete` is done once a read confirms the resource is gone | [`Typed`] |
//! | tags merged (stack, own, ownership) and diffed (only changed tags are sent) | [`tags`] |
//! | every page of a list | [`paging`] |
//! | waits with progress ("waiting for X, 2m10s") and the type's timeout; retries on named eventual-consistency errors | [`wait`] |
//! | one client per service and region | [`clients`], [`Cx::client`] |
//! | idempotency tokens from the journaled name seed; `find` by ownership tags | [`ids`] |
//! | the type's conformance fixture, run by the generic lifecycle suite | [`Fixture`] |

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use cairn_core::provider::{
    CheckFailure, Conformance, OpContext, ProviderError, ReadResult, ResourceData, ResourceType, Step, TypeSchema,
};
use cairn_core::Value;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

use crate::Aws;

pub mod clients;
pub mod ids;
pub mod paging;
pub mod props;
pub mod tags;
pub mod wait;

pub use props::PropsError;
pub use tags::{Tag, TagDiff};

/// What a type declares besides its calls.
pub struct Spec {
    /// The type's schema, from its vendored registry schema ([`crate::schema::load`]).
    pub schema: LazyLock<TypeSchema>,
    /// Error codes that mean the resource does not exist (`NoSuchBucket`, `NoSuchEntity`).
    pub not_found: &'static [&'static str],
    /// The longest a create, update or delete waits for the resource to settle.
    pub timeout: Duration,
    /// What `Ref` returns ("the bucket name"), for `cairn types`.
    pub reference: &'static str,
}

/// A type's conformance fixture: the properties the generic lifecycle suite
/// (`crates/cairn-cli/tests/conformance.rs`) deploys, and the steps the emulator cannot
/// verify. In every string, `{uid}` is replaced by a name unique to the run.
pub struct Fixture {
    /// Other resources the subject needs (a JSON object: logical id → resource, as in a
    /// template's `Resources`). The subject is `Subject`; these may refer to each other.
    pub support: Json,
    /// The subject's properties when first made.
    pub create: Json,
    /// An in-place update of them. `None` when every property is create-only
    /// (`AWS::Lambda::Permission`): nothing updates in place, and the step does not apply.
    pub update: Option<Json>,
    /// A change of a top-level create-only property: replaces. `None` when the schema
    /// marks no property create-only (`AWS::IAM::Policy`): nothing replaces, and the step
    /// does not apply (neither verified nor unverified).
    pub replace: Option<Json>,
    /// A change below a nested create-only path, where the schema has one.
    pub nested_replace: Option<Json>,
    /// The AWS operation whose call right after the create is refused once (the partial
    /// failure step): the first call the create makes after the resource exists. `None`
    /// when the create is one call (then a refused create is the partial failure).
    pub partial_after: Option<&'static str>,
    /// Steps the emulator cannot verify, and why (never reported as verified).
    pub unverified: &'static [(Step, &'static str)],
}

impl Fixture {
    /// What `cairn types` reports: the steps the suite runs, and those it cannot.
    pub fn conformance(&self) -> Conformance {
        let unverified: Vec<(Step, String)> = self.unverified.iter().map(|(s, why)| (*s, why.to_string())).collect();
        let verified = Step::ALL
            .iter()
            .copied()
            .filter(|s| !unverified.iter().any(|(u, _)| u == s))
            .filter(|s| *s != Step::Update || self.update.is_some())
            .filter(|s| *s != Step::Replace || self.replace.is_some())
            .filter(|s| *s != Step::NestedReplace || self.nested_replace.is_some())
            .collect();
        Conformance { verified, unverified }
    }
}

/// What a type's `read` gives the kit: the attributes, the live top-level properties in
/// the user's shape, and (for a taggable type) all of its live tags.
pub struct Live {
    pub data: ResourceData,
    pub properties: BTreeMap<String, Json>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// An AWS resource type, as a mapping between typed CloudFormation properties and SDK
/// calls. [`Typed`] makes it a [`ResourceType`].
#[async_trait]
pub trait AwsType: Send + Sync + 'static {
    /// The properties, typed (`#[serde(rename_all = "PascalCase", deny_unknown_fields)]`).
    type Props: DeserializeOwned + Send + Sync;

    fn spec(&self) -> &'static Spec;

    /// Checks beyond the typed read (one role per instance profile).
    fn validate(&self, _props: &Self::Props) -> Result<(), PropsError> {
        Ok(())
    }

    /// Whether two values of a top-level property mean the same, beyond what the schema
    /// normalises. The default accepts a number or boolean and its string spelling.
    fn equivalent(&self, _property: &str, old: &Json, new: &Json) -> bool {
        crate::util::loose_eq(old, new)
    }

    /// Make the resource. Once it exists, a failure must say so
    /// ([`Cx::created`]), so that the engine tracks what AWS holds.
    async fn create(&self, cx: &Cx<'_>, props: &Self::Props) -> Result<ResourceData, ProviderError>;

    /// Read it back; an error whose code is in [`Spec::not_found`] means it is gone.
    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError>;

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Self::Props,
        new: &Self::Props,
    ) -> Result<ResourceData, ProviderError>;

    /// Delete it. A not-found error here ends the delete only if a read then confirms that
    /// the resource is gone.
    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, props: &Self::Props) -> Result<(), ProviderError>;

    /// After a crash mid-create: the resource the create may have made (by its
    /// deterministic name, or its ownership tags: [`ids::owned`]).
    async fn find(&self, _cx: &Cx<'_>, _props: &Self::Props) -> Result<Option<ResourceData>, ProviderError> {
        Ok(None)
    }

    /// The conformance fixture (see [`Fixture`]).
    fn fixture(&self) -> Fixture;
}

/// What a type's calls get: the operation's context, the clients and the type's spec.
pub struct Cx<'a> {
    pub ctx: &'a OpContext,
    pub aws: &'a Aws,
    pub spec: &'static Spec,
}

impl Cx<'_> {
    /// The client of a service for the resource's region (the stack's unless the resource
    /// sets `Region`).
    pub fn client<C: clients::Service>(&self) -> C {
        self.aws.client::<C>(&self.ctx.region)
    }

    /// The resource's region.
    pub fn region(&self) -> &str {
        &self.ctx.region
    }

    /// The tags to put on the resource: stack, own, ownership ([`tags::merged`]).
    pub fn tags(&self, own: &[Tag]) -> BTreeMap<String, String> {
        tags::merged(self.ctx, own)
    }

    /// What an update sends to make the resource's `live` tags the ones it should carry
    /// ([`tags::update`]): compared with what AWS holds, not with what was recorded, so
    /// that a changed stack tag, or ownership tags missing after a create cut short before
    /// tagging, are put right too.
    pub fn tag_update(&self, live: &BTreeMap<String, String>, own: &[Tag]) -> TagDiff {
        tags::update(live, &self.tags(own))
    }

    /// A generated physical name (see [`OpContext::generated_name`]).
    pub fn generated_name(&self, max_len: usize, lowercase: bool, allowed: impl Fn(char) -> bool) -> String {
        self.ctx.generated_name(max_len, lowercase, allowed)
    }

    /// A generated name of letters, digits, `-` and `_` (SQS queues, SNS topics), with
    /// `.fifo` at its end for a FIFO one, `max_len` characters in all.
    pub fn generated_fifo_name(&self, max_len: usize, fifo: bool) -> String {
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        match fifo {
            true => format!("{}.fifo", self.generated_name(max_len - ".fifo".len(), false, plain)),
            false => self.generated_name(max_len, false, plain),
        }
    }

    /// An idempotency token for `purpose` ([`ids::token`]).
    pub fn token(&self, purpose: &str, max_len: usize) -> String {
        ids::token(self.ctx, purpose, max_len)
    }

    /// Whether an error means the resource (or what a call names) does not exist.
    pub fn is_not_found(&self, e: &ProviderError) -> bool {
        e.code.as_deref().is_some_and(|c| self.spec.not_found.contains(&c))
    }

    /// A call's result with "not found" as `None`.
    pub fn found<T>(&self, r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Poll until the resource settles, within the type's timeout ([`wait::until`]).
    pub async fn wait_until<T, F, Fut>(&self, what: &str, probe: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, ProviderError>>,
    {
        wait::until(self.ctx, what, self.spec.timeout, probe).await
    }

    /// Wait until a read by `probe` stops answering "not found" (a new resource becoming
    /// visible where AWS is eventually consistent).
    pub async fn wait_visible<T, F, Fut>(&self, what: &str, mut probe: F) -> Result<(), ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        self.wait_until(what, || {
            let call = probe();
            async move { self.found(call.await).map(|o| o.map(|_| ())) }
        })
        .await
    }

    /// Run a call again while it fails with a named eventual-consistency error
    /// ([`wait::retrying`]), within the type's timeout.
    pub async fn retrying<T, F, Fut>(&self, transient: &[wait::Transient], call: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        wait::retrying(self.ctx, transient, self.spec.timeout, call).await
    }

    /// The rest of a create after the resource `physical_id` exists: a failure says that it
    /// was made ([`ProviderError::after_creating`]).
    pub async fn created<T>(
        &self,
        physical_id: &str,
        rest: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        rest.await.map_err(|e| e.after_creating(physical_id))
    }
}

/// An [`AwsType`] as the engine's [`ResourceType`].
pub struct Typed<T> {
    pub inner: T,
    aws: Arc<Aws>,
}

impl<T: AwsType> Typed<T> {
    pub fn new(inner: T, aws: Arc<Aws>) -> Self {
        Typed { inner, aws }
    }

    fn cx<'a>(&'a self, ctx: &'a OpContext) -> Cx<'a> {
        Cx { ctx, aws: &self.aws, spec: self.inner.spec() }
    }

    /// The typed properties, or a request error at their path.
    pub fn parse(&self, properties: &Json) -> Result<T::Props, ProviderError> {
        let p = props::parse::<T::Props>(self.schema(), properties)?;
        self.inner.validate(&p)?;
        Ok(p)
    }
}

#[async_trait]
impl<T: AwsType> ResourceType for Typed<T> {
    fn schema(&self) -> &TypeSchema {
        &self.inner.spec().schema
    }

    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        let out = cairn_core::provider::check_against_schema(self.schema(), properties);
        if !out.is_empty() {
            return out;
        }
        let Some(json) = properties.reveal().to_json() else { return out };
        match props::parse::<T::Props>(self.schema(), &json) {
            Err(e) => vec![CheckFailure { path: e.path, message: e.message }],
            Ok(p) => match self.inner.validate(&p) {
                Err(e) => vec![CheckFailure { path: e.path, message: e.message }],
                Ok(()) => out,
            },
        }
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        self.inner.equivalent(property, old, new)
    }

    fn about(&self) -> cairn_core::provider::About {
        let spec = self.inner.spec();
        cairn_core::provider::About {
            reference: spec.reference.to_string(),
            conformance: Some(self.inner.fixture().conformance()),
        }
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError> {
        let p = self.parse(properties)?;
        self.inner.create(&self.cx(ctx), &p).await
    }

    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError> {
        let cx = self.cx(ctx);
        let Some(live) = cx.found(self.inner.read(&cx, physical_id, properties).await)?.flatten() else {
            return Ok(None);
        };
        let mut shown = live.properties;
        if let (Some(tags), Some(prop)) = (&live.tags, &self.schema().tag_property) {
            // A map-shaped `Tags` (`AWS::ApiGatewayV2::Api`) is shown as a map.
            let map_shaped = self.schema().properties.get(prop).is_some_and(|t| *t == "object");
            match tags::visible(tags, ctx, properties) {
                Some(v) if map_shaped => shown.insert(prop.clone(), tags::as_map(v)),
                Some(v) => shown.insert(prop.clone(), v),
                None => shown.remove(prop),
            };
        }
        Ok(Some(ReadResult { data: live.data, properties: in_user_spelling(self, shown, properties) }))
    }

    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError> {
        let before = self.parse(old)?;
        let after = self.parse(new)?;
        self.inner.update(&self.cx(ctx), physical_id, &before, &after).await
    }

    async fn delete(&self, ctx: &OpContext, physical_id: &str, properties: &Json) -> Result<(), ProviderError> {
        let cx = self.cx(ctx);
        let p = self.parse(properties)?;
        match self.inner.delete(&cx, physical_id, &p).await {
            Ok(()) => Ok(()),
            // Gone already (deleted by hand, or by an earlier attempt whose answer was
            // lost)? Done only if a read agrees.
            Err(e) if cx.is_not_found(&e) => match self.read(ctx, physical_id, properties).await? {
                None => Ok(()),
                Some(_) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError> {
        let p = self.parse(properties)?;
        let cx = self.cx(ctx);
        cx.found(self.inner.find(&cx, &p).await).map(Option::flatten)
    }
}

/// `read`'s properties: each live value, but in the user's spelling when the two mean the
/// same (so that a read right after a write is byte-equal to the desired properties).
/// "The same" is the engine's comparison: schema defaults and set-like lists normalised,
/// then the type's `equivalent` ([`cairn_core::schema::same_property`]).
pub fn in_user_spelling(t: &dyn ResourceType, live: BTreeMap<String, Json>, desired: &Json) -> Json {
    let mut out = Map::new();
    for (k, v) in live {
        match desired.get(&k) {
            Some(d) if cairn_core::schema::same_property(t, &k, Some(&v), Some(d)) => out.insert(k, d.clone()),
            _ => out.insert(k, v),
        };
    }
    Json::Object(out)
}
