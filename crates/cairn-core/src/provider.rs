//! The provider interface: what a resource type implements, and the registry of types.
//!
//! One pattern for every type: a [`ResourceType`] has a [`TypeSchema`] (properties,
//! required, create-only, read-only attributes, its name property) and async
//! create/read/update/delete. The engine calls them only with fully known property values
//! (plain JSON, secrets revealed), after durably journaling its intent.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::value::Value;

/// The schema facts the engine needs about a type (a subset of the CloudFormation
/// registry schema: AWS types fill it from their vendored schema).
///
/// Every path here is in one syntax, documented in [`crate::schema`]: property names from
/// the top level joined with `.`, `[*]` for a list's elements (`Tags`, `Code.ZipFile`,
/// `LifecycleConfiguration.Rules[*].Transition`). A top-level path is just the property's
/// name, so `create_only.contains(name)` still asks about a whole property.
#[derive(Clone, Debug, Default)]
pub struct TypeSchema {
    pub type_name: String,
    /// Top-level property names and a JSON type ("string", "integer", "number",
    /// "boolean", "array", "object", or "" for any).
    pub properties: BTreeMap<String, &'static str>,
    pub required: Vec<String>,
    /// Paths whose change forces replacement (top-level and nested: a change at or below a
    /// nested one replaces, see [`TypeSchema::create_only_changes`]).
    pub create_only: Vec<String>,
    /// Paths that the provider writes but AWS never returns (passwords, Lambda's
    /// `Code.ZipFile`): never compared with what `read` returns (refresh, drift, read-back).
    pub write_only: Vec<String>,
    /// Paths AWS sets and the user never writes. The top-level ones are also
    /// [`TypeSchema::attributes`]; nested ones are left out of comparisons with `read`.
    pub read_only: Vec<String>,
    /// `Fn::GetAtt` attribute names.
    pub attributes: Vec<String>,
    /// The paths that identify a resource (the registry's `primaryIdentifier`).
    pub primary_identifier: Vec<String>,
    /// The property that names the resource (`BucketName`, `RoleName`): when it is set
    /// explicitly, a replacement must delete before it creates.
    pub name_property: Option<String>,
    /// Whether the type takes `Tags` (ownership tags are added by the provider): the
    /// registry's `tagging.taggable`.
    pub taggable: bool,
    /// Tags can be given at create (`tagging.tagOnCreate`).
    pub tag_on_create: bool,
    /// Tags can be changed in place (`tagging.tagUpdatable`).
    pub tag_updatable: bool,
    /// The property holding the tags (`tagging.tagProperty`, usually `Tags`).
    pub tag_property: Option<String>,
    /// The property that protects the resource from deletion in AWS, a boolean or `ACTIVE`
    /// (`DeletionProtectionEnabled` of a DynamoDB table, `DeletionProtection` of an RDS
    /// instance or of a Cognito user pool): while the recorded inputs set it, a run that
    /// would delete or replace the resource is refused before it changes anything
    /// ([`crate::plan::Plan::refusal`]; cairn's, not the registry schema's).
    pub deletion_protection: Option<String>,
    /// Whether deleting the resource can take a final snapshot first (an RDS DB instance):
    /// `DeletionPolicy: Snapshot` and `UpdateReplacePolicy: Snapshot` are allowed for it,
    /// and, as in CloudFormation, `Snapshot` is its default `DeletionPolicy` (cairn's, not
    /// the registry schema's). The provider's `delete` is told through
    /// [`OpContext::final_snapshot`].
    pub final_snapshot: bool,
    /// Attributes whose value may change on an in-place update (shown as unknown in a
    /// preview of an update).
    pub volatile_attributes: Vec<String>,
    /// Paths whose lists are unordered (the registry schema's `insertionOrder: false`):
    /// diffs match their elements by content (see [`crate::diff`]) and comparisons sort
    /// them ([`TypeSchema::canonical`]).
    pub unordered_lists: Vec<String>,
    /// Schema `default`s by path: a value equal to its default is the same as no value.
    pub defaults: BTreeMap<String, Json>,
    /// Schema `enum`s by path (checked by [`check_against_schema`], error at the path).
    pub enums: BTreeMap<String, Vec<Json>>,
    /// Schema `pattern`s by path (regular expressions, checked on strings; a pattern the
    /// `regex` crate cannot compile is not checked).
    pub patterns: BTreeMap<String, String>,
    /// The scalar JSON type ("string", "integer", "number", "boolean") declared at each
    /// path, nested ones too: a provider coerces `"30"` to `30` (and `30` to `"30"`) by it,
    /// as CloudFormation does, before it reads the properties.
    pub scalar_types: BTreeMap<String, &'static str>,
    /// Top-level properties that may be given as a path of the project (a Lambda
    /// function's `Code`): a string there is packaged into an asset ([`crate::asset`]),
    /// cairn's, not the registry schema's.
    pub assets: Vec<String>,
    /// Attributes refused by `Fn::GetAtt` when a top-level property has a given value
    /// (cairn's, not the registry schema's): a `SecureString` parameter's `Value`.
    pub refused_attributes: Vec<RefusedAttribute>,
}

/// An attribute that `Fn::GetAtt` refuses, before anything is created, for a resource
/// whose top-level `property` is `value` in the template ([`TypeSchema::refused_attributes`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedAttribute {
    pub attribute: String,
    pub property: String,
    pub value: String,
    /// Why, and what to do instead (the error's text).
    pub why: String,
}

/// Everything a provider call needs to know about where and for whom it acts.
#[derive(Clone, Debug)]
pub struct OpContext {
    pub project: String,
    pub stack: String,
    /// The full logical id (`DataBucket.Bucket` inside a component).
    pub logical_id: String,
    pub type_name: String,
    pub region: String,
    pub account_id: String,
    pub partition: String,
    /// The stack's tags (from the stack file), to merge with the resource's own `Tags`.
    pub stack_tags: BTreeMap<String, String>,
    /// A random seed chosen and journaled before a create, so that a generated physical
    /// name is the same if the create has to be found again after a crash.
    pub name_seed: String,
    /// Where a long call reports that it is still waiting (the engine turns it into
    /// [`crate::exec::Event::Waiting`]; `up` shows "waiting for DBInstance to be available, 2m10s").
    pub progress: ProgressSink,
    /// The archives of local assets the properties name ([`crate::asset`]).
    pub assets: crate::asset::Assets,
    /// For a `delete`: take a final snapshot first (`DeletionPolicy: Snapshot`, or
    /// `UpdateReplacePolicy: Snapshot` for the old half of a replacement). Only set for a
    /// type whose schema has [`TypeSchema::final_snapshot`].
    pub final_snapshot: bool,
}

/// A callback for "still waiting for `what`, `elapsed` so far" (no-op by default).
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Arc<WaitingFn>>);

type WaitingFn = dyn Fn(&str, std::time::Duration) + Send + Sync;

impl ProgressSink {
    pub fn new(f: impl Fn(&str, std::time::Duration) + Send + Sync + 'static) -> Self {
        ProgressSink(Some(Arc::new(f)))
    }
    /// Report that the call is still waiting for `what` (`DBInstance to be available`).
    pub fn waiting(&self, what: &str, elapsed: std::time::Duration) {
        if let Some(f) = &self.0 {
            f(what, elapsed)
        }
    }
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "ProgressSink(..)" } else { "ProgressSink(none)" })
    }
}

impl OpContext {
    /// The ownership tags every taggable resource carries.
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("cairn:project".to_string(), self.project.clone()),
            ("cairn:stack".to_string(), self.stack.clone()),
            ("cairn:logical-id".to_string(), self.logical_id.clone()),
        ])
    }

    /// A physical name in CloudFormation's style: `{stack}-{logical id}-{suffix}`, cut to
    /// `max_len`, using only characters `allowed` accepts (others become `-`), and
    /// lower-cased when `lowercase`. Deterministic for a given seed.
    pub fn generated_name(&self, max_len: usize, lowercase: bool, allowed: impl Fn(char) -> bool) -> String {
        let suffix: String = self.name_seed.chars().take(12).collect();
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| if c == '.' { '-' } else { c })
                .map(|c| if lowercase { c.to_ascii_lowercase() } else { c })
                .map(|c| if allowed(c) { c } else { '-' })
                .collect()
        };
        let suffix = clean(&suffix);
        let budget = max_len.saturating_sub(suffix.len() + 1);
        let mut prefix = clean(&format!("{}-{}", self.stack, self.logical_id));
        if prefix.len() > budget {
            prefix.truncate(budget);
        }
        let prefix = prefix.trim_end_matches('-');
        format!("{prefix}-{suffix}")
    }
}

/// What a successful create or read gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceData {
    /// What `Ref` returns.
    pub physical_id: String,
    /// What `Fn::GetAtt` returns, by attribute name.
    pub attributes: BTreeMap<String, Value>,
}

/// What a read gives back: the resource's live properties, normalised to the shape the
/// user writes (so that comparing them with the desired properties shows only real drift).
#[derive(Clone, Debug, PartialEq)]
pub struct ReadResult {
    pub data: ResourceData,
    pub properties: Json,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    /// The service's error code (`MalformedPolicyDocument`, `BucketAlreadyExists`), when
    /// there is one.
    pub code: Option<String>,
    pub message: String,
    /// Whether retrying the same call may succeed (throttling, 5xx).
    pub retryable: bool,
    /// The AWS operation that failed (`PutBucketEncryption`), when known.
    pub operation: Option<String>,
    /// The HTTP status of the answer, when there was one (shown when there is no code).
    pub status: Option<u16>,
    /// A failed create that had already made the resource (an earlier call of the create
    /// succeeded): its physical id. The engine tracks it with what `read` returns and
    /// reports the step failed (invariant 9).
    pub created: Option<String>,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> Self {
        ProviderError { message: message.into(), ..Default::default() }
    }
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError { code: Some(code.into()), message: message.into(), ..Default::default() }
    }
    /// The same error, naming the AWS operation that failed.
    pub fn in_operation(mut self, operation: impl Into<String>) -> Self {
        self.operation = Some(operation.into());
        self
    }
    /// The same error, saying that the create had already made `physical_id`.
    pub fn after_creating(mut self, physical_id: impl Into<String>) -> Self {
        self.created = Some(physical_id.into());
        self
    }
}

impl ProviderError {
    /// How the error reads (see [`failure_detail`]).
    pub fn detail(&self) -> String {
        failure_detail(self.operation.as_deref(), self.code.as_deref(), self.status, &self.message)
    }
}

/// A provider failure on one line: the operation (when known), the error code and the
/// message, `PutBucketEncryption: Code: message`. An answer without a code shows its HTTP
/// status instead: `PutBucketEncryption: HTTP 400 with no error code: message`.
pub fn failure_detail(operation: Option<&str>, code: Option<&str>, status: Option<u16>, message: &str) -> String {
    let mut out = match operation {
        Some(op) => format!("{op}: "),
        None => String::new(),
    };
    match (code, status) {
        (Some(c), _) => out.push_str(c),
        (None, Some(status)) => {
            out.push_str(&format!("HTTP {status} with no error code"));
            if message.is_empty() {
                out.push_str(" and an empty answer");
            }
        }
        (None, None) => {}
    }
    if !message.is_empty() {
        if code.is_some() || status.is_some() {
            out.push_str(": ");
        }
        out.push_str(message);
    }
    out
}

/// A problem with a resource's properties, found before any call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The property path (`LifecycleConfiguration.Rules[0].Status`), empty for the whole.
    pub path: String,
    pub message: String,
}

/// A step of the conformance lifecycle every AWS type runs on the emulator
/// (`crates/cairn-cli/tests/conformance.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// `up` makes it.
    Create,
    /// What AWS holds equals the desired properties.
    ReadBack,
    /// `preview --refresh` right after shows no changes.
    NoChanges,
    /// An in-place update, read back.
    Update,
    /// A create-only change: a new resource, and the old one gone.
    Replace,
    /// A change below a nested create-only path replaces too.
    NestedReplace,
    /// The first call after the create is refused once: `up` fails and says so, the next
    /// `up` converges.
    PartialFailure,
    /// `destroy` deletes it.
    Delete,
    /// Nothing of it is left.
    Gone,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Create,
        Step::ReadBack,
        Step::NoChanges,
        Step::Update,
        Step::Replace,
        Step::NestedReplace,
        Step::PartialFailure,
        Step::Delete,
        Step::Gone,
    ];

    /// The step's name in `cairn types --json` (`read_back`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Create => "create",
            Step::ReadBack => "read_back",
            Step::NoChanges => "no_changes",
            Step::Update => "update",
            Step::Replace => "replace",
            Step::NestedReplace => "nested_replace",
            Step::PartialFailure => "partial_failure",
            Step::Delete => "delete",
            Step::Gone => "gone",
        }
    }
}

/// Which lifecycle steps the conformance suite verifies for a type on the emulator, and
/// which it cannot (with why).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conformance {
    pub verified: Vec<Step>,
    pub unverified: Vec<(Step, String)>,
}

/// What `cairn types` says of a type beyond its schema.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct About {
    /// What `Ref` returns ("the bucket name").
    pub reference: String,
    /// `None` for a type the conformance suite does not cover (cairn's own types, which the
    /// engine tests cover).
    pub conformance: Option<Conformance>,
}

#[async_trait]
pub trait ResourceType: Send + Sync + 'static {
    fn schema(&self) -> &TypeSchema;

    /// What `cairn types` says of the type: what `Ref` gives, what the conformance suite
    /// verifies.
    fn about(&self) -> About {
        About::default()
    }

    /// Check the properties before any call. Values may still be unknown (skip those).
    /// The default checks the schema: unknown properties, required ones, JSON types, then
    /// enums and patterns at any depth.
    fn check(&self, properties: &Value) -> Vec<CheckFailure> {
        check_against_schema(self.schema(), properties)
    }

    /// Whether two values of one top-level property mean the same (override for policy
    /// documents and other values AWS normalises). The default is equality.
    fn equivalent(&self, _property: &str, old: &Json, new: &Json) -> bool {
        old == new
    }

    async fn create(&self, ctx: &OpContext, properties: &Json) -> Result<ResourceData, ProviderError>;

    /// Read the live resource; `None` when it no longer exists.
    async fn read(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        properties: &Json,
    ) -> Result<Option<ReadResult>, ProviderError>;

    /// Update in place from `old` to `new` properties (no create-only property changed).
    async fn update(
        &self,
        ctx: &OpContext,
        physical_id: &str,
        old: &Json,
        new: &Json,
    ) -> Result<ResourceData, ProviderError>;

    async fn delete(&self, ctx: &OpContext, physical_id: &str, properties: &Json) -> Result<(), ProviderError>;

    /// After a crash between intent and result of a create: find the resource the create
    /// may have made (by ownership tags or by the deterministic name from `ctx.name_seed`).
    /// Types whose create has no lasting effect outside cairn return `Ok(None)`.
    async fn find(&self, ctx: &OpContext, properties: &Json) -> Result<Option<ResourceData>, ProviderError>;
}

/// The schema check every type gets by default.
pub fn check_against_schema(schema: &TypeSchema, properties: &Value) -> Vec<CheckFailure> {
    let mut out = Vec::new();
    let Some(map) = properties.as_map() else {
        if !matches!(properties, Value::Null | Value::Unknown) {
            out.push(CheckFailure {
                path: String::new(),
                message: format!("Properties must be a mapping, found {}", properties.kind()),
            });
        }
        for r in &schema.required {
            out.push(CheckFailure { path: r.clone(), message: format!("required property `{r}` is missing") });
        }
        return out;
    };
    for r in &schema.required {
        if !map.contains_key(r) {
            out.push(CheckFailure { path: r.clone(), message: format!("required property `{r}` is missing") });
        }
    }
    for (k, v) in map {
        match schema.properties.get(k) {
            None => {
                let help = crate::diag::did_you_mean(k, schema.properties.keys().map(String::as_str));
                let mut message = format!("`{}` has no property `{k}`", schema.type_name);
                if let Some(h) = help {
                    message.push_str(&format!(" ({h})"));
                }
                out.push(CheckFailure { path: k.clone(), message });
            }
            Some(ty) => {
                if let Some(m) = json_type_mismatch(ty, v) {
                    out.push(CheckFailure { path: k.clone(), message: m });
                }
            }
        }
    }
    if out.is_empty() {
        out = crate::schema::check_values(schema, properties);
    }
    out
}

fn json_type_mismatch(ty: &str, v: &Value) -> Option<String> {
    let v = v.reveal();
    if v.contains_unknown() {
        return None;
    }
    let ok = match ty {
        "" => true,
        "string" => matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)),
        "integer" => match v {
            Value::Number(n) => n.is_i64() || n.is_u64(),
            Value::String(s) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        "number" => v.as_f64().is_some(),
        "boolean" => v.as_bool().is_some(),
        "array" => matches!(v, Value::List(_)),
        "object" => matches!(v, Value::Map(_)),
        _ => true,
    };
    if ok {
        None
    } else {
        Some(format!("expected {}, found {}", article(ty), v.kind()))
    }
}

fn article(ty: &str) -> String {
    match ty {
        "integer" => "an integer".into(),
        "array" => "a list".into(),
        "object" => "a mapping".into(),
        other => format!("a {other}"),
    }
}

/// Where the account and partition come from (STS for AWS).
#[async_trait]
pub trait Identity: Send + Sync {
    async fn account_id(&self) -> Result<String, ProviderError>;
    fn partition(&self, region: &str) -> String {
        if region.starts_with("cn-") {
            "aws-cn".into()
        } else if region.starts_with("us-gov-") {
            "aws-us-gov".into()
        } else {
            "aws".into()
        }
    }
}

/// Where a template's SSM parameter references are read (the SSM Parameter Store for AWS):
/// read-only, before the plan ([`crate::ssm`]).
#[async_trait]
pub trait ParameterStore: Send + Sync {
    /// The values of `refs` in `region`, each decrypted when it is `secure`. A parameter
    /// that does not exist is an error naming it.
    async fn read(&self, region: &str, refs: &[crate::ssm::SsmRef]) -> Result<crate::ssm::SsmValues, ProviderError>;
}

/// All resource types the engine can use, by type name, the identity they act as, and
/// where SSM parameter references are read.
#[derive(Clone, Default)]
pub struct Registry {
    types: BTreeMap<String, Arc<dyn ResourceType>>,
    identity: Option<Arc<dyn Identity>>,
    parameters: Option<Arc<dyn ParameterStore>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn register(&mut self, t: Arc<dyn ResourceType>) {
        self.types.insert(t.schema().type_name.clone(), t);
    }
    pub fn set_identity(&mut self, identity: Arc<dyn Identity>) {
        self.identity = Some(identity);
    }
    pub fn identity(&self) -> Option<&Arc<dyn Identity>> {
        self.identity.as_ref()
    }
    pub fn set_parameter_store(&mut self, store: Arc<dyn ParameterStore>) {
        self.parameters = Some(store);
    }
    pub fn parameter_store(&self) -> Option<&Arc<dyn ParameterStore>> {
        self.parameters.as_ref()
    }
    pub fn get(&self, type_name: &str) -> Option<&Arc<dyn ResourceType>> {
        self.types.get(type_name)
    }
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.types.keys().map(String::as_str)
    }
}
