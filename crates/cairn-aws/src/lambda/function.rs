//! `AWS::Lambda::Function`: a Lambda function whose code is a .zip archive or a container
//! image, optionally connected to a VPC.
//!
//! | property | notes |
//! | --- | --- |
//! | `FunctionName` | string, create-only; generated when absent (`{stack}-{logical id}-{seed}`, 64 characters) |
//! | `PackageType` | `Zip` (default) or `Image`, create-only |
//! | `Code` | required; `{ZipFile}` (inline source) or `{S3Bucket, S3Key, S3ObjectVersion}` for a .zip archive, `{ImageUri}` (an ECR image) for `PackageType: Image`; write-only |
//! | `ImageConfig` | `{Command, EntryPoint, WorkingDirectory}`, overrides of the image's settings (`Image` only) |
//! | `Role` | the ARN of the execution role, required |
//! | `Runtime`, `Handler` | required by Lambda for a .zip archive; not taken for an image |
//! | `VpcConfig` | `{SubnetIds, SecurityGroupIds}`: the function's network interfaces in a VPC; removing it (or giving empty lists) takes the function out of the VPC |
//! | `MemorySize` | MB, default 128 |
//! | `Timeout` | seconds, default 3 |
//! | `Architectures` | `[x86_64]` (default) or `[arm64]` |
//! | `Environment` | `{Variables: {NAME: value}}`; values are sent as strings |
//! | `Description` | string |
//! | `Tags` | `[{Key, Value}]`, merged with the stack's tags and cairn's ownership tags |
//!
//! Left out (refused by `check`): `VpcConfig.Ipv6AllowedForDualStack`, `Code.SourceKMSKeyArn`, `Code.S3ObjectStorageMode`, `CapacityProviderConfig`,
//! `CodeSigningConfigArn`, `DeadLetterConfig`, `DurableConfig`, `EphemeralStorage`,
//! `FileSystemConfigs`, `FunctionScalingConfig`, `KmsKeyArn`, `Layers`,
//! `LoggingConfig`, `PublishToLatestPublished`, `RecursiveLoop`,
//! `ReservedConcurrentExecutions`, `RuntimeManagementConfig`, `SnapStart`, `TenancyConfig`,
//! `TracingConfig`.
//!
//! Inline code (`Code.ZipFile`), as CloudFormation does it: the source becomes `index.js`
//! (Node.js runtimes) or `index.py` (Python runtimes) in a .zip archive that cairn makes,
//! the same bytes for the same source ([`super::zip`]); the handler is then
//! `index.<function>`. Unlike CloudFormation, cairn does not add the `cfn-response` module
//! beside it. Every member of `Code` is write-only: `read` never compares the code, and a
//! change of the template's `Code` is what updates it.
//!
//! - `Ref`: the function name.
//! - `Fn::GetAtt`: `Arn` (`SnapStartResponse.*` are not given: `SnapStart` is left out).
//!
//! `create` calls `CreateFunction` (code, settings, VPC and tags in one call), retrying while
//! Lambda answers that the role "cannot be assumed by Lambda" or lacks the EC2 permissions a
//! VPC function needs (a new role or policy takes a few seconds to be usable), then waits
//! until the function's `State` is `Active` (a VPC function is `Pending` while Lambda makes
//! its network interfaces). `update`: changed code (the archive or `ImageUri`, or
//! `Architectures`, which Lambda takes with the code) is `UpdateFunctionCode`, changed
//! settings (`VpcConfig` and `ImageConfig` too; a removed `VpcConfig` is sent as empty
//! lists, a removed `ImageConfig` as empty overrides) `UpdateFunctionConfiguration`, each after waiting
//! until the last update is no longer in progress (`LastUpdateStatus`), and waited for;
//! tags are compared with the live ones ([`Cx::tag_update`](crate::kit::Cx::tag_update)):
//! `TagResource`, `UntagResource`, each only when needed. `find` looks up the deterministic
//! name and adopts the function when it carries this resource's ownership tags (a function
//! is tagged in the call that creates it).
//!
//! A VPC function's network interfaces outlive it: AWS deletes them up to 20 minutes after
//! the function. `delete` does not wait for them (CloudFormation's does); the
//! `AWS::EC2::SecurityGroup` and subnet that they use wait instead, when they are deleted.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment as LambdaEnvironment, FunctionCode, ImageConfig as LambdaImageConfig, LastUpdateStatus,
    PackageType, Runtime, State, VpcConfig as LambdaVpcConfig,
};
use cairn_core::asset::Asset;
use cairn_core::provider::{ProviderError, ResourceData, TypeSchema};
use cairn_core::Value;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use crate::kit::wait::Transient;
use crate::kit::{ids, AwsType, Cx, Fixture, Live, PropsError, Spec, Tag, Typed};
use crate::util::{loose_eq, scalar_string, sdk_error};
use crate::Aws;

pub const TYPE_NAME: &str = "AWS::Lambda::Function";

static SPEC: Spec = Spec {
    schema: LazyLock::new(|| TypeSchema {
        // `Code: functions/api`: a folder or file of the project, packaged by the CLI.
        assets: vec!["Code".to_string()],
        ..crate::schema::load(crate::schema::LAMBDA_FUNCTION, Some("FunctionName"), &[])
    }),
    not_found: &["ResourceNotFoundException"],
    timeout: Duration::from_secs(300),
    reference: "the function name",
};

/// Lambda's defaults for what the template leaves out.
const DEFAULT_MEMORY: i32 = 128;
const DEFAULT_TIMEOUT: i32 = 3;
const DEFAULT_ARCHITECTURE: &str = "x86_64";

/// Lambda's answer while a new role is not yet usable by it.
const ROLE_NOT_ASSUMABLE: Transient = Transient {
    code: "InvalidParameterValueException",
    message_contains: Some("cannot be assumed by Lambda"),
    waiting_for: "the role to be assumable by Lambda",
};

/// Lambda's answer while the role's new permissions for a VPC function (the
/// `ec2:CreateNetworkInterface` of `AWSLambdaVPCAccessExecutionRole`) are not yet visible.
const ROLE_LACKS_VPC_ACCESS: Transient = Transient {
    code: "InvalidParameterValueException",
    message_contains: Some("does not have permissions to call CreateNetworkInterface"),
    waiting_for: "the role's EC2 permissions to be visible to Lambda",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Props {
    function_name: Option<String>,
    package_type: Option<String>,
    code: Code,
    image_config: Option<ImageConfig>,
    vpc_config: Option<VpcConfig>,
    role: String,
    runtime: Option<String>,
    handler: Option<String>,
    memory_size: Option<i32>,
    timeout: Option<i32>,
    architectures: Option<Vec<String>>,
    environment: Option<Environment>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// `Code`: where the function's .zip archive comes from.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Code {
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    s3_key: Option<String>,
    s3_object_version: Option<String>,
    image_uri: Option<String>,
    /// A local asset: `Code: functions/api` in the template, packaged by the CLI
    /// ([`cairn_core::asset`]).
    #[serde(rename = "Cairn::Asset")]
    asset: Option<AssetRef>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct AssetRef {
    path: String,
    sha256: String,
}

/// `ImageConfig`: overrides of the container image's settings.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ImageConfig {
    #[serde(default)]
    command: Vec<String>,
    #[serde(default)]
    entry_point: Vec<String>,
    working_directory: Option<String>,
}

/// `VpcConfig`: the subnets and security groups of the function's network interfaces.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct VpcConfig {
    #[serde(default)]
    subnet_ids: Vec<String>,
    #[serde(default)]
    security_group_ids: Vec<String>,
}

impl VpcConfig {
    /// The same subnets and groups, in any order.
    fn same(&self, other: &VpcConfig) -> bool {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        sorted(&self.subnet_ids) == sorted(&other.subnet_ids)
            && sorted(&self.security_group_ids) == sorted(&other.security_group_ids)
    }

    fn is_empty(&self) -> bool {
        self.subnet_ids.is_empty() && self.security_group_ids.is_empty()
    }
}

/// `VpcConfig` as Lambda takes it; none is empty lists (out of the VPC).
fn lambda_vpc(v: Option<&VpcConfig>) -> LambdaVpcConfig {
    let v = v.cloned().unwrap_or_default();
    LambdaVpcConfig::builder()
        .set_subnet_ids(Some(v.subnet_ids))
        .set_security_group_ids(Some(v.security_group_ids))
        .build()
}

/// `ImageConfig` as Lambda takes it; none is empty overrides.
fn lambda_image_config(c: Option<&ImageConfig>) -> LambdaImageConfig {
    let c = c.cloned().unwrap_or_default();
    LambdaImageConfig::builder()
        .set_command(Some(c.command))
        .set_entry_point(Some(c.entry_point))
        .set_working_directory(c.working_directory)
        .build()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Environment {
    variables: Option<BTreeMap<String, Json>>,
}

/// The archive a function runs, resolved from `Code`.
#[derive(Debug, PartialEq)]
pub enum Source {
    /// Inline source: a .zip archive of one file that cairn makes.
    Inline { archive: Vec<u8> },
    /// A file or folder of the project, packaged by the CLI; uploaded as the archive.
    Asset(Asset),
    /// An archive in S3.
    S3 { bucket: String, key: String, version: Option<String> },
    /// A container image in ECR (`PackageType: Image`).
    Image { uri: String },
}

/// The file inline source becomes, by runtime (as CloudFormation names it).
fn inline_file(runtime: &str) -> Option<&'static str> {
    if runtime.starts_with("nodejs") {
        Some("index.js")
    } else if runtime.starts_with("python") {
        Some("index.py")
    } else {
        None
    }
}

impl Props {
    fn is_image(&self) -> bool {
        self.package_type.as_deref() == Some("Image")
    }

    fn source(&self) -> Result<Source, PropsError> {
        let err = |path: &str, message: String| PropsError { path: path.into(), message };
        let c = &self.code;
        let zip_given =
            c.zip_file.is_some() || c.s3_bucket.is_some() || c.s3_key.is_some() || c.s3_object_version.is_some();
        if self.is_image() {
            return match (&c.image_uri, zip_given || c.asset.is_some()) {
                (Some(uri), false) => Ok(Source::Image { uri: uri.clone() }),
                _ => Err(err("Code", "a function of `PackageType: Image` takes `Code: {ImageUri}` alone".into())),
            };
        }
        if c.image_uri.is_some() {
            return Err(err("Code.ImageUri", "is for a container image: give `PackageType: Image`".into()));
        }
        if let Some(a) = &c.asset {
            if c.zip_file.is_some() || c.s3_bucket.is_some() || c.s3_key.is_some() || c.s3_object_version.is_some() {
                return Err(err("Code", "is a local path: it takes nothing else".into()));
            }
            return Ok(Source::Asset(Asset { path: a.path.clone(), sha256: a.sha256.clone() }));
        }
        match (&c.zip_file, &c.s3_bucket, &c.s3_key) {
            (Some(text), None, None) => {
                if c.s3_object_version.is_some() {
                    return Err(err("Code.S3ObjectVersion", "takes `S3Bucket` and `S3Key`, not `ZipFile`".into()));
                }
                let runtime = self.runtime.as_deref().unwrap_or_default();
                let file = inline_file(runtime).ok_or_else(|| {
                    err(
                        "Code.ZipFile",
                        format!(
                            "inline code needs a Node.js or Python runtime (it becomes index.js or index.py), not `{runtime}`; put the archive in S3 and give `S3Bucket` and `S3Key`"
                        ),
                    )
                })?;
                Ok(Source::Inline { archive: cairn_core::zip::single_file(file, text.as_bytes()) })
            }
            (None, Some(bucket), Some(key)) => {
                Ok(Source::S3 { bucket: bucket.clone(), key: key.clone(), version: c.s3_object_version.clone() })
            }
            _ => Err(err(
                "Code",
                "give a path of the project (`Code: functions/api`), `ZipFile`, or `S3Bucket` and `S3Key`".into(),
            )),
        }
    }

    /// The environment variables as Lambda takes them (strings), or an error at the path of
    /// one that is not a scalar.
    fn variables(&self) -> Result<Option<HashMap<String, String>>, PropsError> {
        let Some(vars) = self.environment.as_ref().and_then(|e| e.variables.as_ref()) else { return Ok(None) };
        vars.iter()
            .map(|(k, v)| match scalar_string(v) {
                Some(s) => Ok((k.clone(), s)),
                None => Err(PropsError {
                    path: format!("Environment.Variables.{k}"),
                    message: "expected a string, number or boolean".into(),
                }),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    fn architectures(&self) -> Option<Vec<Architecture>> {
        self.architectures.as_ref().map(|a| a.iter().map(|s| Architecture::from(s.as_str())).collect())
    }

    /// Whether anything `UpdateFunctionConfiguration` sets differs.
    fn settings_differ(&self, other: &Props) -> Result<bool, PropsError> {
        Ok(self.role != other.role
            || self.runtime != other.runtime
            || self.handler != other.handler
            || self.memory_size != other.memory_size
            || self.timeout != other.timeout
            || self.description != other.description
            || self.variables()? != other.variables()?
            || self.image_config != other.image_config
            || !self.vpc_config.clone().unwrap_or_default().same(&other.vpc_config.clone().unwrap_or_default()))
    }
}

/// The `AWS::Lambda::Function` resource type.
pub struct Function;

impl Function {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(aws: Arc<Aws>) -> Typed<Function> {
        Typed::new(Function, aws)
    }
}

/// A character Lambda accepts in a function name (`[a-zA-Z0-9_-]`).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn function_name(cx: &Cx<'_>, p: &Props) -> String {
    p.function_name.clone().unwrap_or_else(|| cx.generated_name(64, false, name_char))
}

fn data(name: &str, arn: &str) -> ResourceData {
    ResourceData { physical_id: name.to_string(), attributes: BTreeMap::from([("Arn".to_string(), Value::from(arn))]) }
}

/// Lambda's limit on an archive sent in the call (a larger one goes through S3).
const DIRECT_UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

/// The archive of a local asset, as the run packaged it.
fn archive(cx: &Cx<'_>, asset: &Asset) -> Result<Vec<u8>, ProviderError> {
    let bytes = cx.ctx.assets.archive(asset).map_err(ProviderError::new)?;
    if bytes.len() > DIRECT_UPLOAD_LIMIT {
        return Err(ProviderError::new(format!(
                "the archive of `{}` is {} MB, and Lambda takes at most 50 MB in the call: upload it to S3 and give `Code: {{S3Bucket, S3Key}}`",
                asset.path,
                bytes.len() / (1024 * 1024)
        )));
    }
    Ok(bytes.as_ref().clone())
}

fn environment(vars: Option<HashMap<String, String>>) -> LambdaEnvironment {
    LambdaEnvironment::builder().set_variables(Some(vars.unwrap_or_default())).build()
}

/// The function once it has settled: `State` no longer `Pending` and no update in
/// progress. A failed function or update is an error with Lambda's reason.
async fn settled(
    cx: &Cx<'_>,
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    what: &str,
) -> Result<GetFunctionConfigurationOutput, ProviderError> {
    cx.wait_until(&format!("function {name} {what}"), || async {
        let c = lambda.get_function_configuration().function_name(name).send().await.map_err(sdk_error)?;
        if c.state() == Some(&State::Failed) {
            return Err(ProviderError::with_code(
                c.state_reason_code().map(|r| r.as_str().to_string()).unwrap_or_else(|| "Failed".into()),
                format!(
                    "function {name} is in state Failed: {}; fix the cause, then run `cairn up` again",
                    c.state_reason().unwrap_or("Lambda gave no reason")
                ),
            ));
        }
        if c.last_update_status() == Some(&LastUpdateStatus::Failed) {
            return Err(ProviderError::with_code(
                c.last_update_status_reason_code().map(|r| r.as_str().to_string()).unwrap_or_else(|| "Failed".into()),
                format!(
                    "the last update of function {name} failed: {}; fix the cause, then run `cairn up` again",
                    c.last_update_status_reason().unwrap_or("Lambda gave no reason")
                ),
            ));
        }
        let busy = c.state() == Some(&State::Pending) || c.last_update_status() == Some(&LastUpdateStatus::InProgress);
        Ok((!busy).then_some(c))
    })
    .await
}

async fn live_tags(lambda: &aws_sdk_lambda::Client, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = lambda.list_tags().resource(arn).send().await.map_err(sdk_error)?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

/// `Environment` values compared as Lambda keeps them (strings): `{"N": 1}` is `{"N": "1"}`.
fn same_environment(a: &Json, b: &Json) -> bool {
    let vars = |v: &Json| -> Option<BTreeMap<String, String>> {
        match v.get("Variables") {
            None | Some(Json::Null) => Some(BTreeMap::new()),
            Some(Json::Object(m)) => m.iter().map(|(k, v)| scalar_string(v).map(|s| (k.clone(), s))).collect(),
            Some(_) => None,
        }
    };
    match (vars(a), vars(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[async_trait]
impl AwsType for Function {
    type Props = Props;

    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn validate(&self, p: &Props) -> Result<(), PropsError> {
        for (value, path) in [(&p.runtime, "Runtime"), (&p.handler, "Handler")] {
            match (value.is_some(), p.is_image()) {
                (false, false) => {
                    return Err(PropsError {
                        path: path.into(),
                        message: format!("a function whose code is a .zip archive needs `{path}`"),
                    })
                }
                (true, true) => {
                    return Err(PropsError {
                        path: path.into(),
                        message: format!(
                        "a container image function takes no `{path}` (the image sets it; `ImageConfig` overrides it)"
                    ),
                    })
                }
                _ => {}
            }
        }
        if p.image_config.is_some() && !p.is_image() {
            return Err(PropsError {
                path: "ImageConfig".into(),
                message: "is for a container image function (`PackageType: Image`)".into(),
            });
        }
        if let Some(v) = &p.vpc_config {
            if v.subnet_ids.is_empty() != v.security_group_ids.is_empty() {
                return Err(PropsError {
                    path: "VpcConfig".into(),
                    message: "give both `SubnetIds` and `SecurityGroupIds` (or neither, for no VPC)".into(),
                });
            }
        }
        p.source()?;
        p.variables()?;
        Ok(())
    }

    fn equivalent(&self, property: &str, old: &Json, new: &Json) -> bool {
        match property {
            "Environment" => same_environment(old, new),
            _ => loose_eq(old, new),
        }
    }

    async fn create(&self, cx: &Cx<'_>, p: &Props) -> Result<ResourceData, ProviderError> {
        let name = function_name(cx, p);
        let code = match p.source()? {
            Source::Inline { archive } => FunctionCode::builder().zip_file(Blob::new(archive)).build(),
            Source::Asset(asset) => FunctionCode::builder().zip_file(Blob::new(archive(cx, &asset)?)).build(),
            Source::S3 { bucket, key, version } => {
                FunctionCode::builder().s3_bucket(bucket).s3_key(key).set_s3_object_version(version).build()
            }
            Source::Image { uri } => FunctionCode::builder().image_uri(uri).build(),
        };
        let variables = p.variables()?;
        let tags: HashMap<String, String> = cx.tags(&p.tags).into_iter().collect();
        let lambda: aws_sdk_lambda::Client = cx.client();
        let out = cx
            .retrying(&[ROLE_NOT_ASSUMABLE, ROLE_LACKS_VPC_ACCESS], || {
                let call = lambda
                    .create_function()
                    .function_name(&name)
                    .set_package_type(p.package_type.as_deref().map(PackageType::from))
                    .set_image_config(p.image_config.as_ref().map(|c| lambda_image_config(Some(c))))
                    .set_vpc_config(p.vpc_config.as_ref().filter(|v| !v.is_empty()).map(|v| lambda_vpc(Some(v))))
                    .role(&p.role)
                    .set_runtime(p.runtime.as_deref().map(Runtime::from))
                    .set_handler(p.handler.clone())
                    .code(code.clone())
                    .set_description(p.description.clone())
                    .set_memory_size(p.memory_size)
                    .set_timeout(p.timeout)
                    .set_architectures(p.architectures())
                    .set_environment(variables.clone().map(|v| environment(Some(v))))
                    .set_tags(Some(tags.clone()));
                async move { call.send().await.map_err(sdk_error) }
            })
            .await?;
        let arn = out.function_arn.unwrap_or_default();
        cx.created(&name, settled(cx, &lambda, &name, "to be active")).await?;
        Ok(data(&name, &arn))
    }

    async fn read(&self, cx: &Cx<'_>, physical_id: &str, desired: &Json) -> Result<Option<Live>, ProviderError> {
        let lambda: aws_sdk_lambda::Client = cx.client();
        let out = lambda.get_function().function_name(physical_id).send().await.map_err(sdk_error)?;
        let Some(c) = out.configuration else { return Ok(None) };
        let arn = c.function_arn.clone().unwrap_or_default();
        let wants = |k: &str| desired.get(k).is_some_and(|v| !v.is_null());
        let mut props = BTreeMap::new();
        if wants("FunctionName") {
            props.insert("FunctionName".to_string(), json!(physical_id));
        }
        // Every member of `Code` is write-only: nothing of it is compared, but for a local
        // asset, whose digest is the archive's as Lambda's `CodeSha256` gives it.
        let code = match desired.get("Code").and_then(Asset::from_json) {
            Some(a) => Asset { path: a.path, sha256: c.code_sha256.clone().unwrap_or_default() }.to_json(),
            None => json!({}),
        };
        props.insert("Code".into(), code);
        props.insert("Role".into(), json!(c.role.clone().unwrap_or_default()));
        if let Some(r) = &c.runtime {
            props.insert("Runtime".into(), json!(r.as_str()));
        }
        if let Some(h) = &c.handler {
            props.insert("Handler".into(), json!(h));
        }
        if let Some(m) = c.memory_size.filter(|m| *m != DEFAULT_MEMORY || wants("MemorySize")) {
            props.insert("MemorySize".into(), json!(m));
        }
        if let Some(t) = c.timeout.filter(|t| *t != DEFAULT_TIMEOUT || wants("Timeout")) {
            props.insert("Timeout".into(), json!(t));
        }
        let arch: Vec<&str> = c.architectures().iter().map(|a| a.as_str()).collect();
        if (!arch.is_empty() && arch != [DEFAULT_ARCHITECTURE]) || wants("Architectures") {
            props.insert("Architectures".into(), json!(arch));
        }
        let vars: Map<String, Json> = c
            .environment
            .as_ref()
            .and_then(|e| e.variables.as_ref())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
            .unwrap_or_default();
        if !vars.is_empty() {
            props.insert("Environment".into(), json!({"Variables": vars}));
        } else if let Some(env) = desired.get("Environment").filter(|v| !v.is_null()) {
            // No variables: in the user's shape (`{}` or `{Variables: {}}`).
            let shape = if env.get("Variables").is_some() { json!({"Variables": {}}) } else { json!({}) };
            props.insert("Environment".into(), shape);
        }
        if let Some(d) = c.description.as_ref().filter(|d| !d.is_empty() || wants("Description")) {
            props.insert("Description".into(), json!(d));
        }
        let package = c.package_type.as_ref().map(|t| t.as_str()).unwrap_or("Zip");
        if package != "Zip" || wants("PackageType") {
            props.insert("PackageType".into(), json!(package));
        }
        if let Some(i) = c.image_config_response.as_ref().and_then(|r| r.image_config.as_ref()) {
            let mut m = Map::new();
            if !i.command().is_empty() || desired.pointer("/ImageConfig/Command").is_some() {
                m.insert("Command".into(), json!(i.command()));
            }
            if !i.entry_point().is_empty() || desired.pointer("/ImageConfig/EntryPoint").is_some() {
                m.insert("EntryPoint".into(), json!(i.entry_point()));
            }
            if let Some(w) = &i.working_directory {
                m.insert("WorkingDirectory".into(), json!(w));
            }
            if !m.is_empty() || wants("ImageConfig") {
                props.insert("ImageConfig".into(), Json::Object(m));
            }
        } else if wants("ImageConfig") {
            props.insert("ImageConfig".into(), json!({}));
        }
        let vpc = c.vpc_config.as_ref().map(|v| VpcConfig {
            subnet_ids: v.subnet_ids().to_vec(),
            security_group_ids: v.security_group_ids().to_vec(),
        });
        let vpc = vpc.unwrap_or_default();
        if !vpc.is_empty() || wants("VpcConfig") {
            // The same subnets and groups in another order are shown in the template's order.
            let given: Option<VpcConfig> =
                desired.get("VpcConfig").and_then(|v| serde_json::from_value(v.clone()).ok());
            let shown = match given {
                Some(g) if g.same(&vpc) => desired["VpcConfig"].clone(),
                _ => json!({"SubnetIds": vpc.subnet_ids, "SecurityGroupIds": vpc.security_group_ids}),
            };
            props.insert("VpcConfig".into(), shown);
        }
        let tags = out.tags.unwrap_or_default().into_iter().collect();
        Ok(Some(Live { data: data(physical_id, &arn), properties: props, tags: Some(tags) }))
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        physical_id: &str,
        old: &Props,
        new: &Props,
    ) -> Result<ResourceData, ProviderError> {
        let lambda: aws_sdk_lambda::Client = cx.client();
        let mut current = settled(cx, &lambda, physical_id, "to finish its last update").await?;
        if old.code != new.code || old.architectures != new.architectures {
            let call = lambda.update_function_code().function_name(physical_id).set_architectures(new.architectures());
            let call = match new.source()? {
                Source::Inline { archive } => call.zip_file(Blob::new(archive)),
                Source::Asset(asset) => call.zip_file(Blob::new(archive(cx, &asset)?)),
                Source::S3 { bucket, key, version } => {
                    call.s3_bucket(bucket).s3_key(key).set_s3_object_version(version)
                }
                Source::Image { uri } => call.image_uri(uri),
            };
            call.send().await.map_err(sdk_error)?;
            current = settled(cx, &lambda, physical_id, "to take the new code").await?;
        }
        if old.settings_differ(new)? {
            let variables = new.variables()?;
            cx.retrying(&[ROLE_NOT_ASSUMABLE, ROLE_LACKS_VPC_ACCESS], || {
                let call = lambda
                    .update_function_configuration()
                    .function_name(physical_id)
                    .vpc_config(lambda_vpc(new.vpc_config.as_ref()))
                    .set_image_config(new.is_image().then(|| lambda_image_config(new.image_config.as_ref())))
                    .role(&new.role)
                    .set_runtime(new.runtime.as_deref().map(Runtime::from))
                    .set_handler(new.handler.clone())
                    .description(new.description.clone().unwrap_or_default())
                    .memory_size(new.memory_size.unwrap_or(DEFAULT_MEMORY))
                    .timeout(new.timeout.unwrap_or(DEFAULT_TIMEOUT))
                    .environment(environment(variables.clone()));
                async move { call.send().await.map_err(sdk_error) }
            })
            .await?;
            current = settled(cx, &lambda, physical_id, "to take the new settings").await?;
        }
        let arn = current.function_arn.clone().unwrap_or_default();
        let diff = cx.tag_update(&live_tags(&lambda, &arn).await?, &new.tags);
        let (client, resource) = (&lambda, arn.as_str());
        diff.apply(
            |keys| async move {
                client.untag_resource().resource(resource).set_tag_keys(Some(keys)).send().await.map_err(sdk_error)?;
                Ok(())
            },
            |set| async move {
                let tags = set.into_iter().collect();
                client.tag_resource().resource(resource).set_tags(Some(tags)).send().await.map_err(sdk_error)?;
                Ok(())
            },
        )
        .await?;
        Ok(data(physical_id, &arn))
    }

    async fn delete(&self, cx: &Cx<'_>, physical_id: &str, _p: &Props) -> Result<(), ProviderError> {
        let lambda: aws_sdk_lambda::Client = cx.client();
        lambda.delete_function().function_name(physical_id).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn find(&self, cx: &Cx<'_>, p: &Props) -> Result<Option<ResourceData>, ProviderError> {
        let name = function_name(cx, p);
        let lambda: aws_sdk_lambda::Client = cx.client();
        let out = lambda.get_function().function_name(&name).send().await.map_err(sdk_error)?;
        let Some(c) = out.configuration else { return Ok(None) };
        let tags = out.tags.unwrap_or_default().into_iter().collect();
        Ok(ids::is_owned(cx.ctx, &tags).then(|| data(&name, c.function_arn().unwrap_or_default())))
    }

    fn fixture(&self) -> Fixture {
        let role = json!({"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}});
        let create = json!({
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Exec", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 'v1'\n"},
            "MemorySize": 128,
            "Timeout": 5,
            "Architectures": ["x86_64"],
            "Environment": {"Variables": {"STAGE": "create"}},
            "Description": "cairn conformance",
            "Tags": [{"Key": "Team", "Value": "conformance"}]
        });
        let update = json!({
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Exec", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return 'v2'\n"},
            "MemorySize": 256,
            "Timeout": 10,
            "Architectures": ["x86_64"],
            "Environment": {"Variables": {"STAGE": "update", "RETRIES": 3}},
            "Description": "cairn conformance, updated",
            "Tags": [{"Key": "Team", "Value": "platform"}, {"Key": "Stage", "Value": "update"}]
        });
        let mut replace = update.clone();
        replace["FunctionName"] = json!("conf-fn-{uid}");
        Fixture {
            support: json!({"Exec": role}),
            create,
            update: Some(update),
            replace: Some(replace),
            nested_replace: None,
            // `CreateFunction` sends the code, settings and tags: a failure after it (the
            // wait for `Active`) leaves a complete function, which the engine reads back and
            // records as made. The partial failure is the refused create itself.
            partial_after: None,
            unverified: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Json) -> Result<Props, ProviderError> {
        Function::new(Aws::unconfigured()).parse(&v)
    }

    fn base(code: Json) -> Json {
        json!({"Runtime": "nodejs20.x", "Handler": "index.handler", "Role": "arn:aws:iam::123456789012:role/r", "Code": code})
    }

    #[test]
    fn a_local_asset_is_code_alone_and_passes_the_schema_check() {
        let asset = Asset { path: "functions/api".into(), sha256: Asset::digest(b"zip") };
        let t = Function::new(Aws::unconfigured());
        let props = base(asset.to_json());
        assert!(cairn_core::provider::ResourceType::check(&t, &cairn_core::Value::from_json(&props)).is_empty());
        assert_eq!(parse(props).unwrap().source().unwrap(), Source::Asset(asset.clone()));
        let mut both = asset.to_json();
        both["ZipFile"] = json!("x");
        let e = parse(base(both)).unwrap_err();
        assert_eq!(e.message, "Code: is a local path: it takes nothing else");
        assert!(cairn_core::provider::ResourceType::schema(&t).assets.contains(&"Code".to_string()));
    }

    #[test]
    fn inline_code_becomes_a_deterministic_archive_named_by_runtime() {
        let p = parse(base(json!({"ZipFile": "exports.handler = async () => 1;"}))).unwrap();
        let Source::Inline { archive } = p.source().unwrap() else { panic!("inline") };
        assert_eq!(archive, cairn_core::zip::single_file("index.js", b"exports.handler = async () => 1;"));
        assert_eq!(p.source().unwrap(), Source::Inline { archive });
        let mut py = base(json!({"ZipFile": "def handler(e, c): pass"}));
        py["Runtime"] = json!("python3.12");
        let Source::Inline { archive } = parse(py).unwrap().source().unwrap() else { panic!("inline") };
        assert_eq!(&archive[30..38], b"index.py");
        let mut java = base(json!({"ZipFile": "class A {}"}));
        java["Runtime"] = json!("java21");
        let e = parse(java).unwrap_err();
        assert!(e.message.starts_with("Code.ZipFile: inline code needs a Node.js or Python runtime"), "{}", e.message);
    }

    #[test]
    fn code_is_inline_or_s3_and_nothing_else() {
        let p = parse(base(json!({"S3Bucket": "b", "S3Key": "k.zip", "S3ObjectVersion": "3"}))).unwrap();
        assert_eq!(
            p.source().unwrap(),
            Source::S3 { bucket: "b".into(), key: "k.zip".into(), version: Some("3".into()) }
        );
        let e = parse(base(json!({"S3Bucket": "b"}))).unwrap_err();
        assert_eq!(
            e.message,
            "Code: give a path of the project (`Code: functions/api`), `ZipFile`, or `S3Bucket` and `S3Key`"
        );
        let e = parse(base(json!({"ZipFile": "x", "S3Bucket": "b", "S3Key": "k"}))).unwrap_err();
        assert_eq!(
            e.message,
            "Code: give a path of the project (`Code: functions/api`), `ZipFile`, or `S3Bucket` and `S3Key`"
        );
        let e = parse(base(json!({"ImageUri": "repo:tag"}))).unwrap_err();
        assert!(e.message.starts_with("Code.ImageUri: "), "{}", e.message);
        let mut no_handler = base(json!({"ZipFile": "x"}));
        no_handler.as_object_mut().unwrap().remove("Handler");
        assert_eq!(
            parse(no_handler).unwrap_err().message,
            "Handler: a function whose code is a .zip archive needs `Handler`"
        );
    }

    #[test]
    fn a_container_image_takes_image_uri_and_no_runtime() {
        let image = |extra: Json| {
            let mut v = json!({"PackageType": "Image", "Role": "arn:aws:iam::123456789012:role/r",
                               "Code": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1"}});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        let p = parse(image(json!({"ImageConfig": {"Command": ["app.handler"]}}))).unwrap();
        assert_eq!(
            p.source().unwrap(),
            Source::Image { uri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1".into() }
        );
        assert_eq!(lambda_image_config(p.image_config.as_ref()).command(), ["app.handler"]);
        let e = parse(image(json!({"Runtime": "python3.12"}))).unwrap_err();
        assert!(e.message.starts_with("Runtime: a container image function takes no `Runtime`"), "{}", e.message);
        let e = parse(image(json!({"Code": {"ImageUri": "r:1", "S3Bucket": "b", "S3Key": "k"}}))).unwrap_err();
        assert_eq!(e.message, "Code: a function of `PackageType: Image` takes `Code: {ImageUri}` alone");
        let mut zip = base(json!({"ZipFile": "x"}));
        zip["ImageConfig"] = json!({"Command": ["x"]});
        assert_eq!(
            parse(zip).unwrap_err().message,
            "ImageConfig: is for a container image function (`PackageType: Image`)"
        );
        // A removed ImageConfig is sent as empty overrides.
        let none = lambda_image_config(None);
        assert!(none.command().is_empty() && none.entry_point().is_empty() && none.working_directory.is_none());
    }

    #[test]
    fn vpc_config_is_both_lists_and_compares_as_sets() {
        let mut v = base(json!({"ZipFile": "x"}));
        v["VpcConfig"] = json!({"SubnetIds": ["subnet-a", "subnet-b"], "SecurityGroupIds": ["sg-1"]});
        let p = parse(v.clone()).unwrap();
        let other = VpcConfig {
            subnet_ids: vec!["subnet-b".into(), "subnet-a".into()],
            security_group_ids: vec!["sg-1".into()],
        };
        assert!(p.vpc_config.as_ref().unwrap().same(&other));
        let mut q = base(json!({"ZipFile": "x"}));
        q["VpcConfig"] = json!({"SubnetIds": ["subnet-a"], "SecurityGroupIds": ["sg-1"]});
        assert!(p.settings_differ(&parse(q).unwrap()).unwrap());
        // Removal is sent as empty lists: Lambda takes the function out of the VPC.
        let out = lambda_vpc(None);
        assert_eq!((out.subnet_ids(), out.security_group_ids()), (&[][..], &[][..]));
        assert!(!parse(base(json!({"ZipFile": "x"})))
            .unwrap()
            .settings_differ(&parse(base(json!({"ZipFile": "x"}))).unwrap())
            .unwrap());
        v["VpcConfig"] = json!({"SubnetIds": ["subnet-a"]});
        assert_eq!(
            parse(v).unwrap_err().message,
            "VpcConfig: give both `SubnetIds` and `SecurityGroupIds` (or neither, for no VPC)"
        );
    }

    #[test]
    fn environment_values_are_strings() {
        let mut v = base(json!({"ZipFile": "x"}));
        v["Environment"] = json!({"Variables": {"N": 3, "ON": true, "S": "s"}});
        let vars = parse(v.clone()).unwrap().variables().unwrap().unwrap();
        assert_eq!((vars["N"].as_str(), vars["ON"].as_str(), vars["S"].as_str()), ("3", "true", "s"));
        v["Environment"] = json!({"Variables": {"L": [1]}});
        assert_eq!(parse(v).unwrap_err().message, "Environment.Variables.L: expected a string, number or boolean");
        assert!(same_environment(&json!({"Variables": {"N": 3}}), &json!({"Variables": {"N": "3"}})));
        assert!(same_environment(&json!({}), &json!({"Variables": {}})));
        assert!(!same_environment(&json!({"Variables": {"N": 3}}), &json!({"Variables": {"N": "4"}})));
    }

    #[test]
    fn generated_names_fit_lambda() {
        let ctx = crate::test_ctx(TYPE_NAME, "Api.Handler");
        let aws = Aws::unconfigured();
        let cx = Cx { ctx: &ctx, aws: &aws, spec: &SPEC };
        let p = parse(base(json!({"ZipFile": "x"}))).unwrap();
        assert_eq!(function_name(&cx, &p), "dev-Api-Handler-abcdefghijkl");
        assert!(!name_char('.') && !name_char('/') && name_char('_'));
    }
}
